"""A whole home-delivery checkout on Telegram through the real stack: the real python-telegram-bot Application
against the fake Bot API, the real Rasa server with the trained model, the action server and the database.

The customer searches, adds, checks out, shares their location and their own number with the reply keyboard (a
contact card of somebody else is refused), confirms; the order holds the coordinates and the phone, sealed at
rest, and `admin_cli.py order show` prints them; the courier of the order's company gets the drop in /runs and
its map pin as a location message, a courier of another company gets neither. Then named addresses through the
real NLU: a new address named after the order, chosen by its name at the next checkout."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

import admin_cli
from checkout.address_book import list_addresses, order_delivery
from checkout.models import Order
from marketplace.accounts import Organisation, OrganisationKind, add_member, get_organisation, person_for_chat
from marketplace.i18n import translate
from tests.e2e.conftest import BotRunner, Conversation, Stack, bot_process
from tests.e2e.test_telegram import ORDER_NUMBER, WAIT, TelegramUser, buttons, plain, texts, until
from tests.support.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.e2e

LATITUDE, LONGITUDE = 46.1983, 6.1423  # where the customer stands: Rue de Carouge, Geneva
OWN_NUMBER = "41791234567"  # what Telegram sends for "Share my phone number": no "+"


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[tuple[FakeTelegramAPI, BotRunner]]:
    """The bot process with its Telegram channel, polling the fake Bot API (as tests/e2e/test_telegram.py)."""
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url,
        }
        with BotRunner(bot_process(stack, env)) as runner:
            yield fake, runner


def member_of(stack: Stack, company: str, user: TelegramUser) -> None:
    with stack.db.uow() as uow:
        add_member(uow, person_for_chat(uow, f"telegram:{user.id}"), get_organisation(uow, company))
        uow.commit()


def test_a_home_delivery_checkout_with_location_and_phone_shared_on_telegram(stack: Stack, telegram, monkeypatch):  # type: ignore[no-untyped-def]
    fake, _ = telegram
    buyer = TelegramUser(fake)
    found = buyer.say("je cherche du miel de forêt", expect="Miel de forêt")
    assert buttons(found[-1])[0][0] == "➕ 1. Miel de forêt"
    buyer.press("Miel de forêt", expect="Panier :")
    buyer.press("Commander", expect="retrait ?")
    asked = buyer.press("Livraison à domicile", expect="quelle adresse")  # with the share keyboard
    assert texts(asked) == [translate("reply.checkout.ask_address", "fr")]
    assert until(lambda: fake.reply_keyboard(buyer.id)) == [
        {"text": translate("share.location", "fr"), "request_location": True}
    ]

    # "Share my location": the update carries a `location`; the street is still asked, for the courier.
    seen = len(fake.messages_to(buyer.id))
    fake.user_taps(buyer.id, translate("share.location", "fr"), latitude=LATITUDE, longitude=LONGITUDE)
    located = buyer._answer(seen, expect="j'ai votre position")
    assert texts(located) == [translate("reply.checkout.location_received", "fr")]
    noted = buyer.say("Rue de Carouge 50, 1205 Genève", expect="quel nom")
    assert texts(noted)[0].startswith("📍 Adresse notée : Rue de Carouge 50, 1205 Genève")
    buyer.press("Ana", expect="bouton en bas")  # the phone question (its inline button), then the keyboard's prompt
    assert until(lambda: fake.reply_keyboard(buyer.id)) == [
        {"text": translate("share.contact", "fr"), "request_contact": True}
    ]

    # A contact card of somebody else is refused, and nothing of it reaches Rasa; the own number is taken.
    seen = len(fake.messages_to(buyer.id))
    fake.user_shares_contact(buyer.id, "+41 79 765 43 21", first_name="Léa", contact_user_id=buyer.id + 1)
    refused = buyer._answer(seen, expect="votre propre numéro")
    assert texts(refused) == [translate("share.contact_not_yours", "fr")]
    seen = len(fake.messages_to(buyer.id))
    fake.user_taps(buyer.id, translate("share.contact", "fr"), phone_number=OWN_NUMBER)
    slots = buyer._answer(seen, expect="créneau")
    slot = buttons(slots[-1])[0][0]
    buyer.press(slot, expect="payer")
    summary = texts(buyer.press("À la livraison", expect="On confirme"))[0].splitlines()
    assert summary[-3:] == [
        f"Livraison à Rue de Carouge 50, 1205 Genève, pour Ana, {plain(slot)}",
        "Téléphone pour le coursier : +41791234567",
        "Paiement : à la livraison. On confirme ?",
    ]
    placed = buyer.press("Confirmer", expect="À payer à la livraison")
    number = ORDER_NUMBER.search(placed[0].text)
    assert number, texts(placed)
    number = number[0]
    assert "Donner un nom" not in placed[0].text, "a first address is the person's home already"

    # The order holds the coordinates and the phone; the database holds them sealed.
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number))
        kept = order_delivery(order)
        assert (kept.street, kept.recipient_name, kept.phone) == ("Rue de Carouge 50", "Ana", "+41791234567")
        assert (kept.latitude, kept.longitude) == (Decimal("46.1983000"), Decimal("6.1423000"))
        company, day = order.delivery_company.slug, order.time_slot[:10]
        raw = uow.session.execute(
            text("SELECT delivery_phone, delivery_latitude, delivery_longitude, delivery_street FROM orders "
                 "WHERE number = :number"), {"number": number},
        ).one()  # fmt: skip
        saved = list_addresses(uow, person_for_chat(uow, f"telegram:{buyer.id}"))
        assert [(a.label, a.street, a.latitude) for a in saved] == [
            ("home", "Rue de Carouge 50", Decimal("46.1983000"))
        ]
    for value in raw:
        assert value.startswith("v1:"), "sealed at rest"
        assert not any(clear in value for clear in ("41791234567", "46.19", "6.142", "Carouge"))

    monkeypatch.setenv("DATABASE_URL", stack.settings.database_url)
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(stack.settings.data_dir))
    shown = CliRunner().invoke(admin_cli.cli, ["--lang", "fr", "order", "show", number], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "46.1983000, 6.1423000" in shown.output and "+41791234567" in shown.output

    # The courier of the order's company: the drop in /runs, then its map pin as a location message.
    courier = TelegramUser(fake)
    member_of(stack, company, courier)
    run = courier.say(f"/runs {day}", expect="Arrêt")
    assert number in run[0].text and "Rue de Carouge 50" in run[0].text and "tel:+41791234567" in run[0].text
    # Other tests of the session deliver to the same street that day: this order's pin is the one after its label.
    fake.wait_for(courier.id, lambda m: m.kind == "text" and plain(m.text).endswith(f"({number}) : Rue de Carouge 50"),
                  timeout=WAIT)  # fmt: skip
    pin = fake.wait_for(courier.id, lambda m: m.kind == "location", timeout=WAIT)
    assert pin.location == {"latitude": LATITUDE, "longitude": LONGITUDE}

    # A courier of another company: nothing of this order, and no location at all.
    with stack.db.uow() as uow:
        delivery = (Organisation.kind == OrganisationKind.DELIVERY, Organisation.slug != company)
        other = uow.session.scalar(select(Organisation.slug).where(*delivery))
    stranger = TelegramUser(fake)
    member_of(stack, other, stranger)
    theirs = stranger.say(f"/runs {day}", expect=day)
    assert number not in "".join(m.text for m in theirs) and "Carouge 50" not in "".join(m.text for m in theirs)
    assert not [m for m in fake.messages_to(stranger.id) if m.kind == "location"]


def test_a_new_address_named_after_the_order_then_chosen_by_its_name(stack: Stack, french: Conversation) -> None:
    """Through the real NLU: the first address is home; a second one is offered a name and pressed « Travail »;
    the next checkout takes « livre au travail »; « enregistre cette adresse comme bureau »… in words too."""

    def order_to(address: str) -> str:
        french.say("ajoute un pot de miel de forêt")
        french.say("je veux commander")
        french.say("livraison à domicile")
        if french.buttons and french.buttons[0][0] == "✅ Oui":  # « comme la dernière fois ? »
            french.press("Une autre adresse")
        french.say(address)
        french.say("Marie Dupont")
        french.say("non")
        french.press(french.buttons[0][0])
        french.say("à la livraison")
        return french.say("oui")

    assert "Donner un nom" not in order_to("Rue de Carouge 50, 1205 Genève")
    placed = order_to("Boulevard Carl-Vogt 101, 1205 Genève")
    assert "Donner un nom à Boulevard Carl-Vogt 101, 1205 Genève ?" in placed
    assert [title for title, _ in french.buttons] == ["🏠 Domicile", "💼 Travail", "Pas de nom"]
    assert french.press("Travail") == (
        "🏷️ C'est noté : Boulevard Carl-Vogt 101, 1205 Genève s'appelle désormais « Travail »."
    )

    french.say("ajoute un pot de miel de forêt")
    french.say("je veux commander")
    asked = french.say("livraison à domicile")
    assert asked == "Livrer à Boulevard Carl-Vogt 101 comme la dernière fois ?"
    home = french.say("non, livre à la maison")
    assert home == "📍 Adresse notée : Rue de Carouge 50, 1205 Genève\nQuel créneau vous convient ?"
    french.press(french.buttons[0][0])
    assert "pour Marie Dupont" in french.say("à la livraison")  # the recipient kept with the saved address
    assert "Donner un nom" not in french.say("oui")

    listed = french.say("mes adresses")
    assert "1. Domicile : Rue de Carouge 50" in listed and "2. Travail : Boulevard Carl-Vogt 101" in listed
    renamed = french.say("l'adresse 2 s'appelle chez maman")
    assert renamed == "🏷️ C'est noté : Boulevard Carl-Vogt 101, 1205 Genève s'appelle désormais « chez maman »."
    with stack.db.uow() as uow:
        labels = {a.street: a.label for a in list_addresses(uow, person_for_chat(uow, french.sender))}
    assert labels == {"Rue de Carouge 50": "home", "Boulevard Carl-Vogt 101": "chez maman"}
