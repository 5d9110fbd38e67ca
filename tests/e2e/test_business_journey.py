"""Issue 15, the whole business journey in one conversation per person, through the real Telegram channel (the
python-telegram-bot Application against the fake Bot API), the real Rasa server and the action server: a producer
registers by chat (a bad UID and a bad IBAN answered clearly), cannot sell yet, an admin approves by the inline
button the outbox brought, the producer gets their command menu, creates a product, gives it a photo (an oversized
one is refused), a customer finds it, orders and pays it (a camt.054 credit), the producer is told of the order and
reads their earnings. A shorter journey in German."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from catalog.models import Product
from checkout.models import Order, VendorOrder
from checkout.status import OrderStatus
from marketplace.accounts import Organisation, person_for_chat
from marketplace.applications import InvalidIban, InvalidUid, VendorApplication
from marketplace.crypto import KeyStore, bind_keys
from marketplace.i18n import error_message, translate
from marketplace.media import PHOTO_MAX_BYTES, PhotoRefused
from payments.camt import import_bank_file
from payments.models import PaymentLeg
from tests.e2e.conftest import BotRunner, Stack, bot_process
from tests.e2e.test_telegram import WAIT, TelegramUser, buttons, plain, texts, until
from tests.integration.test_bank_credits import Entry, camt054
from tests.support.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
GOOD_IBAN, BAD_IBAN = "CH93 0076 2011 6238 5295 7", "CH93 0076 2011 6238 5295 8"


def small_png(side: int = 16) -> bytes:
    """A real PNG (a plain orange square), as a phone would send a photo."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes((230, 120, 30)) * side for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[FakeTelegramAPI]:
    bind_keys(stack.db.engine, KeyStore(stack.settings.data_dir))  # read the sealed IBAN back
    with FakeTelegramAPI() as fake:
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
               "TELEGRAM_FILE_URL": fake.base_file_url}  # fmt: skip
        with BotRunner(bot_process(stack, env)):
            yield fake


def an_admin(stack: Stack, fake: FakeTelegramAPI) -> TelegramUser:
    """A person on Telegram with admin rights (as `admin_cli.py` gives them): they wrote to the bot once."""
    admin = TelegramUser(fake)
    admin.say("/start", expect="Que cherchez-vous")
    with stack.db.uow() as uow:
        person_for_chat(uow, f"telegram:{admin.id}", "fr").is_admin = True
        uow.commit()
    return admin


def latest_application(stack: Stack, user: TelegramUser) -> VendorApplication:
    with stack.db.uow() as uow:
        person = person_for_chat(uow, f"telegram:{user.id}")
        application = uow.session.scalar(
            select(VendorApplication).where(VendorApplication.person_id == person.id)
            .order_by(VendorApplication.id.desc())
        )  # fmt: skip
        assert application is not None
        uow.session.expunge(application)
        return application


def register(user: TelegramUser, answers: dict[str, str], lang: str, currency: str, *, mistakes: bool) -> str:
    """Fill the registration form from its first question (the trade name) to the accept button; returns the
    answer to it. With `mistakes`, a wrong UID and a wrong IBAN first: each gets its clear sentence."""
    t = lambda key, **params: translate(key, lang, **params)  # noqa: E731
    assert texts(user.say(answers["name"], expect=t("reply.registration.ask_uid")[:20])) == [
        t("reply.registration.ask_uid")
    ]
    if mistakes:
        refused = texts(user.say("CHE-109.322.552", expect=t("reply.registration.ask_uid")[:20]))
        assert refused[0].startswith(error_message(InvalidUid(value="CHE-109.322.552"), lang)), refused
    assert texts(user.say(answers["uid"], expect=t("reply.registration.ask_address")[:20])) == [
        t("reply.registration.ask_address")
    ]
    assert texts(user.say(answers["address"], expect=t("reply.registration.ask_iban")[:20])) == [
        t("reply.registration.ask_iban")
    ]
    if mistakes:
        refused = texts(user.say(BAD_IBAN, expect=t("reply.registration.ask_iban")[:20]))
        assert refused[0].startswith(error_message(InvalidIban(value="CH93"), lang)), refused
    share = t("reply.registration.ask_leman_share", currency=currency)
    assert texts(user.say(GOOD_IBAN, expect=share[:20])) == [share]
    user.press("20 %", expect=t("reply.registration.ask_categories")[:20])
    assert texts(user.say(answers["categories"], expect=t("reply.registration.ask_description")[:20])) == [
        t("reply.registration.ask_description")
    ]
    summary = "\n".join(texts(user.say(answers["description"], expect=answers["description"][:20])))
    assert answers["name"] in summary and GOOD_IBAN in summary and "20 %" in summary, summary
    accepted = user.press(t("button.registration.accept"), expect=answers["name"])
    return "\n".join(texts(accepted))


def approve_by_button(fake: FakeTelegramAPI, admin: TelegramUser, number: int) -> None:
    """The admin gets the application with Approve / Refuse as inline buttons, and presses Approve."""
    notice = fake.wait_for(admin.id, lambda m: f"/approve {number}" in str(m.reply_markup), timeout=WAIT)
    assert plain(notice.text).startswith(f"Nouvelle demande d'inscription à examiner :\nDemande n° {number} — ")
    assert notice.reply_markup == {"inline_keyboard": [
        [{"text": "✅ Approuver", "callback_data": f"/approve {number}"}],
        [{"text": "❌ Refuser (avec un motif)", "callback_data": f"/refuse {number}"}],
    ]}  # fmt: skip
    done = admin.press("Approuver", expect="approuvée")
    assert texts(done)[0].startswith(f"Demande n° {number} approuvée : ")


def test_a_producer_registers_is_approved_sells_a_product_with_a_photo_and_reads_their_earnings(
    stack: Stack, telegram: FakeTelegramAPI
) -> None:
    fake = telegram
    admin, producer, customer = an_admin(stack, fake), TelegramUser(fake), TelegramUser(fake)
    t = lambda key, **params: translate(key, "fr", **params)  # noqa: E731

    # 1. The producer applies, in her words; the kind (producer) is understood from the sentence.
    asked = producer.say("Je suis productrice et je veux vendre", expect=t("reply.registration.ask_trade_name")[:20])
    assert texts(asked)[-1] == t("reply.registration.ask_trade_name")
    answers = {
        "name": "Les Sureaux de Jussy",
        "uid": "CHE-109.322.551",
        "address": "Route de Jussy 40, 1254 Jussy",
        "categories": "confitures et sirops",
        "description": "Confitures et sirops de sureau de notre verger.",
    }
    submitted = register(producer, answers, "fr", stack.settings.local_currency.name, mistakes=True)
    application = latest_application(stack, producer)
    assert (application.kind, application.trade_name, application.uid, application.iban, application.status) == (
        "producer", "Les Sureaux de Jussy", "CHE-109.322.551", GOOD_IBAN.replace(" ", ""), "pending"
    )  # fmt: skip
    assert submitted == t("reply.registration.submitted", number=application.id, name="Les Sureaux de Jussy")

    # 2. Not approved yet: work commands are refused.
    assert texts(producer.say("/stock confiture 5", expect="réservé")) == [t("error.not_linked")]

    # 3. The admin approves by button; the producer is told, with her commands, and gets her command menu.
    approve_by_button(fake, admin, application.id)
    told = fake.wait_for(producer.id, lambda m: "Bonne nouvelle" in (m.text or ""), timeout=WAIT)
    assert plain(told.text).startswith(t("application.notify.approved", name="Les Sureaux de Jussy"))
    assert "/earnings — " in told.text and "/stock — " in told.text
    menu = {c["command"] for c in until(lambda: fake.commands_for({"type": "chat", "chat_id": producer.id}))}
    assert {"stock", "price", "products", "orders", "earnings", "invite", "members"} <= menu

    # 4. She creates a product by one message and puts it on sale.
    proposed = producer.say("nouveau produit : confiture de sureau, 250 g, 8.50, 12 pots, bio", expect="Nouveau")
    assert texts(proposed)[0].startswith("Nouveau produit : confiture de sureau — 8,50 CHF / 250 g — stock 12")
    assert [title for title, _ in buttons(proposed[-1])] == ["✅ Mettre en vente", "Annuler"]
    on_sale = producer.press("Mettre en vente", expect="en vente")
    assert texts(on_sale)[0].startswith("« confiture de sureau » est en vente")

    # 5. A photo (served by getFile) becomes its picture; an oversized one gets a clear answer, nothing stored.
    png, seen = small_png(), len(fake.messages_to(producer.id))
    fake.user_sends_photo(producer.id, png)
    saved = fake.wait_for(producer.id, lambda m: "Photo" in (m.text or ""), timeout=WAIT)
    assert saved.text == t("photo.saved", product="confiture de sureau")
    with stack.db.uow() as uow:
        jam = uow.session.scalar(
            select(Product).join(Product.vendor).where(Organisation.name == "Les Sureaux de Jussy")
        )
        assert jam is not None and jam.available and jam.photo_url.endswith(".png")
        jam_id, photo = jam.id, jam.photo_url
    assert (stack.settings.media_dir / photo).read_bytes() == png
    fake.user_sends_photo(producer.id, png, file_size=PHOTO_MAX_BYTES + 1)
    too_big = fake.wait_for(producer.id, lambda m: "trop grande" in (m.text or ""), timeout=WAIT)
    assert too_big.text == error_message(PhotoRefused("photo_too_large", max_mb=5), "fr")
    assert len(fake.messages_to(producer.id)) == seen + 2
    with stack.db.uow() as uow:
        assert uow.session.get(Product, jam_id).photo_url == photo  # type: ignore[union-attr]

    # 6. A customer finds it by search, orders it for pickup and pays in francs (the bank's camt.054).
    found = customer.say("confiture de sureau", expect="confiture de sureau")
    assert any("confiture de sureau — 8,50 CHF / 250 g — Les Sureaux de Jussy" in line for line in texts(found))
    customer.press("confiture de sureau", expect="Panier :")
    customer.say("je veux commander", expect="retrait ?")
    customer.press("Retrait", expect="retirer")
    slots = customer.press("Le Grain Vrac", expect="créneau")
    customer.press(buttons(slots[-1])[0][0], expect="payer")
    summary = "\n".join(texts(customer.press("Francs", expect="On confirme")))
    assert "• 1 × 250 g confiture de sureau — 8,50 CHF" in summary and "Total : 8,50 CHF" in summary, summary
    placed = customer.press("Confirmer", expect="Scannez-la")
    number = ORDER_NUMBER.search(placed[0].text)
    assert number is not None, texts(placed)
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        [leg] = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order.id))  # type: ignore[union-attr]
        report = import_bank_file(uow, camt054(Entry(leg.reference, "8.50", acct_ref=f"BANK-{number[0]}")),
                                  settings=stack.settings)  # fmt: skip
        uow.commit()
    assert report is not None
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None
        part = uow.session.scalar(select(VendorOrder).where(VendorOrder.order_id == order.id))
        assert part is not None and (part.status, part.goods_total) == (OrderStatus.PAID, Decimal("8.50"))
        commission, receives = part.commission, part.vendor_receives
    assert commission > 0 and commission + receives == Decimal("8.50")

    # 7. The producer was told of the order (outbox -> Telegram) and reads the sale, commission and net.
    notice = fake.wait_for(producer.id, lambda m: number[0] in (m.text or ""), timeout=WAIT)
    assert plain(notice.text).startswith(f"🛒 Nouvelle commande {number[0]}\n• 1 250 g confiture de sureau")
    earned = "\n".join(texts(producer.say("/earnings", expect="vos ventes de")))
    assert earned.startswith("Les Sureaux de Jussy — vos ventes de "), earned
    fr = lambda amount: f"{amount:.2f}".replace(".", ",") + " CHF"  # noqa: E731
    assert f"• {number[0]} du " in earned, earned
    assert f"ventes 8,50 CHF − commission {fr(commission)} = vous recevez {fr(receives)}" in earned, earned
    assert f"Vous recevez {fr(receives)}." in earned, earned


def test_a_german_producer_registers_creates_a_product_and_reads_their_earnings(
    stack: Stack, telegram: FakeTelegramAPI
) -> None:
    fake = telegram
    admin, producer = an_admin(stack, fake), TelegramUser(fake, "de")
    t = lambda key, **params: translate(key, "de", **params)  # noqa: E731

    kinds = producer.say("/register", expect=t("reply.registration.ask_kind")[:20])
    assert texts(kinds)[-1].startswith(t("reply.registration.ask_kind"))
    producer.press(t("application.kind.producer"), expect=t("reply.registration.ask_trade_name")[:20])
    answers = {
        "name": "Hof zur Linde",
        "uid": "CHE-116.281.710",
        "address": "Dorfstrasse 3, 1233 Bernex",
        "categories": "Gemüse und Sirup",
        "description": "Gemüse und Sirup vom Familienbetrieb in Bernex.",
    }
    submitted = register(producer, answers, "de", stack.settings.local_currency.name, mistakes=False)
    application = latest_application(stack, producer)
    assert submitted == t("reply.registration.submitted", number=application.id, name="Hof zur Linde")
    assert texts(producer.say("/earnings", expect=t("error.not_linked")[:20])) == [t("error.not_linked")]

    approve_by_button(fake, admin, application.id)
    told = fake.wait_for(producer.id, lambda m: "Gute Nachricht" in (m.text or ""), timeout=WAIT)
    assert plain(told.text).startswith(t("application.notify.approved", name="Hof zur Linde"))
    menu = until(lambda: fake.commands_for({"type": "chat", "chat_id": producer.id}))
    assert {"command": "earnings", "description": t("bot.menu.work.earnings")} in menu

    proposed = producer.say("neues Produkt: Holundersirup, 50 cl, 9.80, 24 Flaschen", expect="Neues Produkt")
    assert texts(proposed)[0].startswith("Neues Produkt: Holundersirup — CHF 9.80 / 50 cl — ")
    producer.press("Zum Verkauf", expect="Holundersirup")
    with stack.db.uow() as uow:
        syrup = uow.session.scalar(select(Product).join(Product.vendor).where(Organisation.name == "Hof zur Linde"))
        assert syrup is not None and syrup.available and syrup.price_chf == Decimal("9.80")
    earned = texts(producer.say("/earnings", expect="Hof zur Linde"))
    assert earned[0].startswith("Hof zur Linde: noch keine Verkäufe im "), earned


def test_an_italian_applicant_is_refused_by_button_and_reads_why_in_italian(
    stack: Stack, telegram: FakeTelegramAPI
) -> None:
    fake = telegram
    admin, applicant = an_admin(stack, fake), TelegramUser(fake, "it")
    t = lambda key, **params: translate(key, "it", **params)  # noqa: E731

    asked = applicant.say(
        "Sono un produttore di miele e vorrei vendere qui", expect=t("reply.registration.ask_trade_name")[:20]
    )
    assert texts(asked)[-1] == t("reply.registration.ask_trade_name")
    answers = {
        "name": "Apicoltura Rossi",
        "uid": "nessuno",
        "address": "Chemin du Rucher 7, 1255 Veyrier",
        "categories": "miele",
        "description": "Miele di fiori e di bosco dalle nostre arnie.",
    }
    register(applicant, answers, "it", stack.settings.local_currency.name, mistakes=False)
    number = latest_application(stack, applicant).id

    fake.wait_for(admin.id, lambda m: f"/refuse {number}" in str(m.reply_markup), timeout=WAIT)
    asked_why = admin.press("Refuser", expect="motif")
    assert texts(asked_why) == [translate("command.refuse.reason", "fr", number=number)]
    done = admin.say(f"/refuse {number} Zone déjà couverte", expect="refusée")
    assert texts(done) == [translate("command.refuse.done", "fr", number=number)]
    told = fake.wait_for(applicant.id, lambda m: "non è stata accettata" in (m.text or ""), timeout=WAIT)
    assert told.text == t("application.notify.refused", name="Apicoltura Rossi", reason="Zone déjà couverte")
    assert not fake.commands_for({"type": "chat", "chat_id": applicant.id})  # no work menu
    assert texts(applicant.say("/stock miele 5", expect=t("error.not_linked")[:20])) == [t("error.not_linked")]
