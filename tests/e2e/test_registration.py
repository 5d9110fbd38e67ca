"""A business applies by chat in fr, de, it and en through the router, the real Rasa server (trained model) and the
action server; an admin decides with the button the outbox brought (pressed through the router), a non-admin
pressing it changes nothing; the applicant cannot sell before approval, and can after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bootstrap import App
from bot.commands import Commands, Incoming
from bot.rasa_client import AsyncRasaClient, BotMessage
from bot.router import Router
from catalog.services import CatalogSearch
from marketplace.accounts import person_for_chat
from marketplace.applications import InvalidIban, InvalidUid, VendorApplication
from marketplace.crypto import KeyStore, bind_keys
from marketplace.i18n import error_message, translate
from marketplace.outbox import OutboxMessage
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

GOOD_IBAN = "CH93 0076 2011 6238 5295 7"
BAD_IBAN = "CH93 0076 2011 6238 5295 8"


class Chat:
    """Messages typed or pressed by people, through one router as the bot process builds it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.loop = asyncio.new_event_loop()
        self.rasa = AsyncRasaClient(stack.rasa.url, timeout=60, secret=stack.rasa.secret)
        app = App(stack.settings, stack.db, CatalogSearch(stack.settings.default_language))
        self.router = Router(self.rasa, Commands(app), "telegram")
        self.last: list[BotMessage] = []

    def say(self, sender: str, text: str, lang: str) -> str:
        self.last = self.loop.run_until_complete(self.router.handle(Incoming(sender, text, lang)))
        return "\n".join(m.text for m in self.last)

    def press(self, sender: str, payload: str, lang: str) -> str:
        self.last = self.loop.run_until_complete(self.router.press(Incoming(sender, payload, lang)))
        return "\n".join(m.text for m in self.last)

    def button(self, title_part: str) -> str:
        return next(b.payload for m in self.last for b in m.buttons if title_part.lower() in b.title.lower())

    def close(self) -> None:
        self.loop.run_until_complete(self.rasa.close())
        self.loop.close()


@pytest.fixture
def chat(stack: Stack) -> Iterator[Chat]:
    bind_keys(stack.db.engine, KeyStore(stack.settings.data_dir))  # read the sealed address and IBAN back
    chat = Chat(stack)
    yield chat
    chat.close()


def admin_of(stack: Stack) -> str:
    sender = stack.new_sender()
    with stack.db.uow() as uow:
        person_for_chat(uow, sender, "fr").is_admin = True
        uow.commit()
    return sender


# The applicant's words in each language: how they start, and their answers.
SCRIPTS = {
    "fr": ("Je suis productrice et je voudrais vendre chez vous", "Ferme du Chêne",
           "CHE-109.322.551", "Route de Chancy 12, 1213 Onex", "légumes et fromages",
           "Légumes de saison cultivés sans pesticides à Onex."),
    "de": ("/register", "Hof zur Linde", "CHE-116.281.710", "Dorfstrasse 3, 1233 Bernex", "Gemüse und Eier",
           "Gemüse und Eier vom Familienbetrieb in Bernex."),
    "it": ("Sono un produttore di miele e vorrei vendere qui", "Apicoltura Rossi", "nessuno",
           "Chemin du Rucher 7, 1255 Veyrier", "miele", "Miele di fiori e di bosco dalle nostre arnie."),
    "en": ("I have a shop and would like to sell with you", "Corner Grocery", "CHE-105.909.036",
           "Rue du Marché 20, 1204 Genève", "grocery and wine", "A neighbourhood grocery with local produce."),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
def test_a_business_applies_by_chat_and_an_admin_approves_by_button(stack: Stack, chat: Chat, lang: str) -> None:
    start, name, uid, address, categories, description = SCRIPTS[lang]
    applicant, admin = stack.new_sender(), admin_of(stack)
    t = lambda key, **params: translate(key, lang, **params)  # noqa: E731

    answer = chat.say(applicant, start, lang)
    if lang == "de":  # `/register` does not say what kind: the buttons ask
        assert answer.startswith(t("reply.registration.ask_kind"))
        answer = chat.press(applicant, chat.button(t("application.kind.producer")), lang)
    assert answer == t("reply.registration.ask_trade_name")
    assert chat.say(applicant, name, lang) == t("reply.registration.ask_uid")
    if lang == "fr":  # a wrong check digit, then the right number
        refused = chat.say(applicant, "CHE-109.322.552", lang)
        assert refused.startswith(error_message(InvalidUid(value="CHE-109.322.552"), lang))
    assert chat.say(applicant, uid, lang) == t("reply.registration.ask_address")
    assert chat.say(applicant, address, lang) == t("reply.registration.ask_iban")
    refused = chat.say(applicant, BAD_IBAN, lang)
    assert refused.startswith(error_message(InvalidIban(value="CH93"), lang))
    currency = stack.settings.local_currency.name
    assert chat.say(applicant, GOOD_IBAN, lang) == t("reply.registration.ask_leman_share", currency=currency)
    if lang == "fr":  # a correction in the middle: the name is asked again, then the form goes on
        assert chat.say(applicant, "changer le nom", lang) == t("reply.registration.ask_trade_name")
        name = "Ferme du Grand Chêne"
        assert chat.say(applicant, name, lang) == t("reply.registration.ask_leman_share", currency=currency)
    assert chat.press(applicant, chat.button("20 %"), lang).startswith(t("reply.registration.ask_categories")[:20])
    assert chat.say(applicant, categories, lang) == t("reply.registration.ask_description")
    summary = chat.say(applicant, description, lang)
    assert name in summary and "CH93 0076 2011 6238 5295 7" in summary and "20 %" in summary
    done = chat.press(applicant, chat.button(t("button.registration.accept")), lang)
    assert done.startswith(t("reply.registration.submitted", number="", name="")[:12])

    with stack.db.uow() as uow:
        application = uow.session.scalar(
            select(VendorApplication).join(VendorApplication.applicant).order_by(VendorApplication.id.desc())
        )
        number = application.id
        assert (application.trade_name, application.leman_share_pct, application.status) == (name, 20, "pending")
        assert application.uid == ("" if lang == "it" else uid)
        notice = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == f"application:{number}:new:admin:"
                                                                 f"{person_for_chat(uow, admin).id}"))
        approve = next(payload for _, payload in notice.buttons if payload.startswith("/approve"))

    # Not a vendor yet: work commands are refused.
    assert chat.say(applicant, "/stock miel 5", lang) == t("error.not_linked")
    # Someone else pressing the admin's button (a forged callback): nothing happens.
    assert chat.press(stack.new_sender(), approve, lang) == t("error.not_admin")
    assert chat.press(applicant, approve, lang) == t("error.not_admin")
    # The admin presses it: through the router to the command.
    assert chat.press(admin, approve, "fr").startswith(f"Demande n° {number} approuvée")
    with stack.db.uow() as uow:
        told = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == f"application:{number}:approved"))
        assert told.text.startswith(t("application.notify.approved", name=name)[:15])
    assert chat.say(applicant, "/stock miel 5", lang) != t("error.not_linked")


def test_registration_is_cancelled_by_a_word(stack: Stack, chat: Chat) -> None:
    applicant = stack.new_sender()
    assert chat.say(applicant, "je veux inscrire mon magasin", "fr") == translate("reply.registration.ask_trade_name",
                                                                                   "fr")
    assert chat.say(applicant, "annuler", "fr") == translate("reply.registration.cancelled", "fr")
    with stack.db.uow() as uow:
        person = person_for_chat(uow, applicant)
        assert uow.session.scalar(select(VendorApplication).where(VendorApplication.person_id == person.id)) is None
    # The conversation goes on normally afterwards.
    assert "miel" in chat.say(applicant, "je cherche du miel", "fr").lower()


def test_a_refusal_reaches_the_applicant_in_their_language(stack: Stack, chat: Chat) -> None:
    applicant, admin = stack.new_sender(), admin_of(stack)
    chat.say(applicant, "I do bike repairs and want to sign up as a service provider", "en")
    for answer in ("Velo Fix", "none", "Rue de Lyon 5, 1203 Genève", GOOD_IBAN, "0", "repairs",
                   "Bike repairs in Geneva, at your place."):  # fmt: skip
        chat.say(applicant, answer, "en")
    chat.press(applicant, "/affirm", "en")
    with stack.db.uow() as uow:
        number = uow.session.scalar(select(VendorApplication.id).order_by(VendorApplication.id.desc()))
    assert "/refuse" in chat.press(admin, f"/refuse {number}", "fr")  # the button: asks for the reason
    chat.say(admin, f"/refuse {number} Zone déjà couverte", "fr")
    with stack.db.uow() as uow:
        told = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.key == f"application:{number}:refused"))
        assert told.text == translate("application.notify.refused", "en", name="Velo Fix", reason="Zone déjà couverte")
