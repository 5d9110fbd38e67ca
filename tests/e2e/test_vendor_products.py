"""Step 11 end to end, through the real Rasa server and action server on the demo catalog (and, for photos, the
real python-telegram-bot Application against the fake Bot API): a producer creates a product by one message and
gives it a photo, a customer finds it by search and orders it, the producer sees the order and their earnings;
an oversized photo gets a clear answer; a vendor not approved yet cannot sell; creation and earnings in
fr/de/it/en."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from catalog.models import Product
from marketplace.accounts import OrganisationKind, add_member, add_organisation, person_for_chat
from marketplace.media import PHOTO_MAX_BYTES
from tests.e2e.conftest import BotRunner, Conversation, Stack, bot_process, link_code
from tests.support.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
VENDOR = "abeilles-du-saleve"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00" + b"\x00" * 64)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def product(stack: Stack, name: str) -> Product | None:
    with stack.db.uow() as uow:
        found = next((p for p in uow.session.scalars(select(Product)) if name in p.names.values()), None)
        if found is not None:
            uow.session.expunge(found)
        return found


def member(stack: Stack, lang: str, vendor: str = VENDOR) -> Conversation:
    return Conversation(stack, stack.new_member(vendor), lang, [])


def test_a_producer_creates_a_product_a_customer_finds_and_orders_it_and_the_producer_sees_it(stack: Stack) -> None:
    producer = member(stack, "fr")
    proposed = plain(producer.say("nouveau produit : confiture de rhubarbe, 370 g, 8.50, 20 pots, bio"))
    assert proposed.splitlines()[0].startswith("Nouveau produit : confiture de rhubarbe — 8,50 CHF / 370 g — stock 20")
    assert [title for title, _ in producer.buttons] == ["✅ Mettre en vente", "Annuler"]
    assert producer.press("Mettre en vente").startswith("« confiture de rhubarbe » est en vente")
    assert producer.say("en allemand : Rhabarberkonfitüre").startswith(
        "« confiture de rhubarbe » s'appelle maintenant « Rhabarberkonfitüre » en allemand"
    )

    customer = Conversation(stack, stack.new_sender(), "fr", [])
    found = plain(customer.say("je cherche de la confiture de rhubarbe"))
    assert "confiture de rhubarbe — 8,50 CHF / 370 g — Les Abeilles du Salève — Bio" in found
    added = plain(customer.say("ajoute 2 pots de confiture de rhubarbe"))
    assert added.startswith("C'est dans le panier : 2 × 370 g confiture de rhubarbe."), added
    german = Conversation(stack, stack.new_sender(), "de", [])
    assert "Rhabarberkonfitüre" in german.say("ich suche Rhabarberkonfitüre")

    assert customer.say("je veux commander") == "Livraison à domicile ou retrait ?"
    customer.press("Retrait")
    customer.press(customer.buttons[0][0])  # the pickup point
    customer.press(customer.buttons[0][0])  # the slot
    assert customer.say("paiement à la livraison").endswith("On confirme ?")
    number = ORDER_NUMBER.search(customer.say("oui"))
    assert number is not None, customer.last

    orders = plain(producer.say("mes commandes"))
    assert number[0] in orders and "confiture de rhubarbe" in orders
    earned = plain(producer.say("combien j'ai gagné ce mois"))
    assert earned.startswith("Les Abeilles du Salève — vos ventes de ")
    assert f"• {number[0]} du " in earned and "ventes 17,00 CHF" in earned and "commission 0,85 CHF" in earned


@pytest.mark.parametrize(
    ("lang", "new", "summary", "confirm", "earnings", "earned"),
    [
        ("de", "neues Produkt: Rhabarberkompott, 370 g, 8.50, 12 Gläser, Bio",
         "Neues Produkt: Rhabarberkompott — CHF 8.50", "Zum Verkauf", "wie viel habe ich diesen Monat verdient",
         "Les Abeilles du Salève — Ihre Verkäufe im "),
        ("it", "nuovo prodotto: composta di rabarbaro, 370 g, 8.50, 12 vasetti, bio",
         "Nuovo prodotto: composta di rabarbaro — CHF 8.50", "Metti in vendita", "quanto ho guadagnato questo mese",
         "Les Abeilles du Salève — le vostre vendite di "),
        ("en", "new product: rhubarb compote, 370 g, 8.50, 12 jars, organic", "New product: rhubarb compote — CHF 8.50",
         "Put on sale", "how much did i earn this month", "Les Abeilles du Salève — your sales in "),
    ],
)  # fmt: skip
def test_creation_and_earnings_in_german_italian_and_english(
    stack: Stack, lang: str, new: str, summary: str, confirm: str, earnings: str, earned: str
) -> None:
    producer = member(stack, lang)
    assert plain(producer.say(new)).startswith(summary)
    producer.press(confirm)
    name = summary.split(": ", 1)[1].split(" — ")[0]
    assert product(stack, name) is not None and product(stack, name).available  # type: ignore[union-attr]
    assert plain(producer.say(earnings)).startswith(earned)


def test_a_vendor_not_approved_yet_cannot_sell(stack: Stack) -> None:
    with stack.db.uow() as uow:
        add_organisation(uow, "ferme-en-attente", "Ferme en attente", OrganisationKind.PRODUCER,
                         pending=True)  # fmt: skip
        uow.commit()
    producer = member(stack, "fr", "ferme-en-attente")
    answer = producer.say("nouveau produit : sirop de sureau, 50 cl, 9.80, 24 bouteilles")
    assert "Ferme en attente" in answer and producer.buttons == []
    assert product(stack, "sirop de sureau") is None


# --- photos through Telegram -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as fake:
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
               "TELEGRAM_FILE_URL": fake.base_file_url}  # fmt: skip
        with BotRunner(bot_process(stack, env)):
            yield fake


def answer(fake: FakeTelegramAPI, user: int, seen: int, expect: str) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        texts = [m.text or "" for m in fake.messages_to(user)[seen:]]
        if any(expect in t for t in texts):
            return "\n".join(texts)
        time.sleep(0.05)
    raise AssertionError(f"expected {expect!r}, got {[m.text for m in fake.messages_to(user)[seen:]]}")


def send_photo(fake: FakeTelegramAPI, user: int, data: bytes, size: int, caption: str = "") -> int:
    """The person sends a photo: the fake keeps the file for getFile, the update carries its sizes."""
    stored = fake._new_file("photo", data, "photo.png", "image/png", (16, 16))
    chat = fake._chats[user]
    message: dict[str, Any] = {"message_id": chat.next_message_id, "from": chat.user, "chat": chat.json(),
                               "date": int(time.time()), "photo": [
                                   {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                    "width": 16, "height": 16, "file_size": size}]}  # fmt: skip
    if caption:
        message["caption"] = caption
    chat.received.add(chat.next_message_id)
    chat.next_message_id += 1
    return fake.push_update({"message": message})


def test_a_photo_sent_in_telegram_becomes_the_products_picture_and_an_oversized_one_is_refused(
    stack: Stack, telegram: FakeTelegramAPI
) -> None:
    fake, user = telegram, 660001
    seen = len(fake.messages_to(user))
    fake.user_sends(user, f"/link {link_code(stack, VENDOR)}")
    answer(fake, user, seen, "C'est fait")
    seen = len(fake.messages_to(user))
    send_photo(fake, user, PNG, len(PNG), caption="miel de forêt")
    assert "📷 Photo enregistrée pour « Miel de forêt »." in answer(fake, user, seen, "Photo")
    honey = product(stack, "Miel de forêt")
    assert honey is not None and honey.photo_url.startswith("products/") and honey.photo_url.endswith(".png")
    assert (stack.settings.media_dir / honey.photo_url).read_bytes() == PNG

    seen = len(fake.messages_to(user))
    send_photo(fake, user, PNG, PHOTO_MAX_BYTES + 1, caption="miel de forêt")
    assert "Cette photo est trop grande : 5 Mo au plus." in answer(fake, user, seen, "trop grande")
    assert product(stack, "Miel de forêt").photo_url == honey.photo_url  # type: ignore[union-attr]

    stranger = 660002
    seen = len(fake.messages_to(stranger))
    fake.user_sends(stranger, "bonjour")
    answer(fake, stranger, seen, "")
    seen = len(fake.messages_to(stranger))
    send_photo(fake, stranger, PNG, len(PNG))
    assert "seulement les messages écrits" in answer(fake, stranger, seen, "écrits")


def test_the_earnings_command_skips_rasa_and_refuses_consumers(stack: Stack, telegram: FakeTelegramAPI) -> None:
    fake, user = telegram, 660003
    with stack.db.uow() as uow:
        from marketplace.accounts import get_organisation

        add_member(uow, person_for_chat(uow, f"telegram:{user}"), get_organisation(uow, VENDOR))
        uow.commit()
    seen = len(fake.messages_to(user))
    fake.user_sends(user, "/earnings")
    assert answer(fake, user, seen, "Les Abeilles du Salève").startswith("Les Abeilles du Salève")
    consumer = 660004
    seen = len(fake.messages_to(consumer))
    fake.user_sends(consumer, "/earnings 2026-11")
    assert answer(fake, consumer, seen, "réservé").startswith("Ceci est réservé aux producteurs")
    assert Decimal(1)  # nothing else to check: the figures are tested with the actions
