"""Personal data rights by chat: `/mydata` sends the person the JSON file of everything held about them (and
nothing about anyone else), `/forget` erases them only once they answer its question, and the words for both,
understood by Rasa, run the same commands. Through the real router and commands, with Rasa scripted in process
(its answers read by `to_messages`, as on the wire); then through the Telegram fake Bot API, the Matrix channel
with a stub nio client, and the terminal chat.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageText
from rich.console import Console
from sqlalchemy import select

from bootstrap import App
from bot import telegram_bot
from bot.commands import ERASE_NO, ERASE_YES, QUESTION_TTL, Commands, Incoming
from bot.matrix_bot import MatrixChannel
from bot.rasa_client import BotMessage, Button, to_messages
from bot.router import Router
from bot.telegram_bot import ChatRateLimiter, TelegramChannel
from bot.terminal import TerminalChat
from catalog.models import Product
from checkout.services import get_order
from dialogues.actions import ActionForgetMe, ActionInterruptCheckout, ActionRequestMyData
from marketplace.accounts import ChatIdentity, Membership, Organisation, person_for_chat
from marketplace.i18n import error_message, translate
from marketplace.media import MediaPolicy
from privacy.conversations import conversation_events
from privacy.erase import OpenOrders
from privacy.notice import duration
from tests.integration.test_matrix_channel import FakeNioClient
from tests.integration.test_privacy_erase import stored_text
from tests.integration.test_privacy_export import (  # staff, tracker: fixtures
    ADA,
    ADA_TOO,
    COURIER,
    FARMER,
    NOW,
    Someone,
    converse,
    customer,
    staff,  # noqa: F401
    tracker,  # noqa: F401
)
from tests.support.actions import run, served  # noqa: F401 (served: a fixture)
from tests.support.actions import tracker as turn
from tests.support.telegram_api import FakeTelegramAPI, SentMessage

LANGS = ("fr", "de", "it", "en")
YES_TYPED = {"fr": "Oui", "de": "ja", "it": "sì", "en": "yes"}
WAIT = 60.0  # seconds: a generous bound for what takes milliseconds


class ScriptedRasa:
    """Rasa's REST channel as the router sees it: records each turn, answers the next scripted JSON answer."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.answers: list[Any] = []

    async def send(self, _sender: str, text: str, _metadata: dict[str, Any]) -> list[BotMessage]:
        self.texts.append(text)
        return to_messages(self.answers.pop(0) if self.answers else [{"text": "D'accord."}])

    async def close(self) -> None:
        pass


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def asks(command: str, caption: str = "") -> list[dict[str, Any]]:
    """What action_request_my_data and action_forget_me answer: the command for the bot to run."""
    return [{"recipient_id": "x", "custom": {"command": command, "caption": caption}}]


class Chat:
    """One person talking to the real router (real commands, scripted Rasa)."""

    def __init__(self, router: Router, address: str, lang: str = "fr") -> None:
        self.router, self.address, self.lang = router, address, lang
        self.last: list[BotMessage] = []

    @property
    def rasa(self) -> ScriptedRasa:
        return self.router.rasa  # type: ignore[return-value]

    def say(self, text: str, *answer: Any) -> list[BotMessage]:
        self.rasa.answers.extend(answer)
        self.last = asyncio.run(self.router.handle(Incoming(self.address, text, self.lang)))
        return self.last

    def press(self, payload: str) -> list[BotMessage]:
        self.last = asyncio.run(self.router.press(Incoming(self.address, payload, self.lang)))
        return self.last

    def text(self) -> str:
        return "\n".join(m.text for m in self.last)

    def yes(self) -> str:
        """The "yes" button of /forget's question just asked."""
        [yes] = [b.payload for m in self.last for b in m.buttons if b.payload.startswith(ERASE_YES)]
        return yes


@pytest.fixture
def commands(app: App, tmp_path: Path) -> Commands:
    return Commands(app, now=Clock(), exports=tmp_path / "exports")


@pytest.fixture
def router(commands: Commands) -> Router:
    return Router(ScriptedRasa(), commands, "telegram")  # type: ignore[arg-type]


def known(app: App, address: str) -> bool:
    platform, _, external_id = address.partition(":")
    with app.db.uow() as uow:
        query = select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
        return uow.session.scalar(query) is not None


def exported_file(replies: list[BotMessage], commands: Commands) -> tuple[Path, dict]:
    [reply] = replies
    path = Path(reply.document)
    assert path.parent == commands.exports and path.name.startswith("personal-data-") and path.suffix == ".json"
    return path, json.loads(path.read_text("utf-8"))


def erased_only(app: App, gone: Someone, kept: Someone) -> None:
    """No table row nor tracker event holds anything of `gone`; everything of `kept` is still there."""
    text = stored_text(app)
    assert [value for value in gone.private if value in text] == []
    assert [value for value in kept.private if value not in text] == []
    with app.db.uow() as uow:
        assert conversation_events(uow, gone.address) == []
        assert conversation_events(uow, kept.address) != []


# --- /mydata ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_mydata_sends_a_json_file_of_everything_about_the_person_and_nothing_about_another(
    app: App, shop: dict[str, int], router: Router, commands: Commands
) -> None:
    number = customer(app, shop, ADA)
    customer(app, shop, ADA_TOO)
    converse(app, ADA)
    converse(app, ADA_TOO)

    replies = Chat(router, ADA.address).say("/mydata")

    assert [m.text for m in replies] == [translate("privacy.mydata.sent", "fr")]
    path, data = exported_file(replies, commands)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [identity["address"] for identity in data["chat_identities"]] == [ADA.address]
    assert data["account"]["display_name"] == ADA.name
    assert [order["number"] for order in data["orders"]] == [number]
    assert [conversation["address"] for conversation in data["conversations"]] == [ADA.address]
    raw = path.read_text("utf-8")
    assert all(value in raw for value in (ADA.chat_id, ADA.street, ADA.phone))
    assert [value for value in ADA_TOO.private if value in raw] == []


def test_the_file_is_deleted_from_the_server_soon_after_and_leftovers_are_swept(app: App, tmp_path: Path) -> None:
    commands = Commands(app, now=Clock(), exports=tmp_path / "exports", export_keep=0.2)
    router = Router(ScriptedRasa(), commands, "telegram")  # type: ignore[arg-type]
    path, _ = exported_file(Chat(router, "telegram:4242").say("/mydata"), commands)
    deadline = time.monotonic() + WAIT
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists()

    left = commands.exports / "personal-data-left-by-a-stopped-bot.json"
    left.write_text("{}")
    os.utime(left, (time.time() - 3600, time.time() - 3600))
    fresh = commands.exports / "personal-data-just-written.json"
    fresh.write_text("{}")
    assert Commands(app, exports=commands.exports).sweep_exports() == 1
    assert not left.exists() and fresh.exists()


@pytest.mark.usefixtures("shop")
def test_the_words_understood_by_rasa_run_the_same_commands(app: App, router: Router, commands: Commands) -> None:
    ana = Chat(router, "telegram:5151")
    replies = ana.say("qu'est-ce que vous savez sur moi ?", asks("/mydata", "envoyez /mydata"))
    _, data = exported_file(replies, commands)
    assert [identity["address"] for identity in data["chat_identities"]] == ["telegram:5151"]

    replies = ana.say("oubliez-moi", asks("/forget", "envoyez /forget"))
    assert replies[0].text.startswith(translate("privacy.forget.question", "fr", years=duration(10, "years", "fr")))
    assert [b.title for b in replies[0].buttons] == ["Oui, tout effacer", "Non"]
    assert ana.rasa.texts == ["qu'est-ce que vous savez sur moi ?", "oubliez-moi"]

    # Only those two: any other command an answer names is not run (the farmer's stock stays), its caption shows.
    farmer = Chat(router, FARMER)
    assert [m.text for m in farmer.say("bonjour", asks("/stock EGG 0", "Bonjour"))] == ["Bonjour"]
    with app.db.uow() as uow:
        assert uow.session.scalar(select(Product.stock).where(Product.sku == "EGG")) == Decimal(3)


@pytest.mark.usefixtures("served")
@pytest.mark.parametrize(
    ("action", "intent", "command"),
    [(ActionRequestMyData(), "request_my_data", "/mydata"), (ActionForgetMe(), "forget_me", "/forget")],
)
def test_the_actions_for_the_words_answer_with_the_command_for_the_bot(action, intent: str, command: str) -> None:
    done = run(action, turn("...", intent, lang="de"))
    caption = translate(f"privacy.words.{command[1:]}", "de")
    assert to_messages(done.messages) == [BotMessage(caption, command=command)]
    assert caption.endswith(f"{command}.")  # what a client that does not run it shows: the command to send

    # In the middle of checkout, the same, then the form takes up its question again.
    checkout = turn("...", intent, active_loop="checkout_form")
    interrupted = to_messages(run(ActionInterruptCheckout(), checkout).messages)
    assert [m.command for m in interrupted] == [command, ""]
    assert interrupted[-1].text == translate("reply.checkout.resume", "fr")


# --- /forget ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_forget_without_its_answer_changes_nothing(app: App, shop: dict[str, int], router: Router) -> None:
    customer(app, shop, ADA)
    converse(app, ADA)
    before = stored_text(app)
    ada = Chat(router, ADA.address)

    [question] = ada.say("/forget")
    code = ada.yes().removeprefix(ERASE_YES + " ")
    assert [(b.title, b.payload) for b in question.buttons] == [
        ("Oui, tout effacer", f"{ERASE_YES} {code}"), ("Non", ERASE_NO),
    ]  # fmt: skip
    assert len(code) >= 12
    assert stored_text(app) == before

    expired = translate("privacy.forget.expired", "fr")
    assert [m.text for m in ada.say("/forget yes")] == [expired], "typed without the question's code"
    assert [m.text for m in ada.press(f"{ERASE_YES} {code[::-1]}")] == [expired], "a forged button"
    assert [m.text for m in ada.press(f"{ERASE_YES} {code}")] == [expired], "the question was closed meanwhile"
    assert ada.text() == expired and not ada.rasa.texts
    ada.say("oui")  # a yes that answers no question of ours is a sentence for Rasa
    assert ada.rasa.texts == ["oui"]
    assert stored_text(app) == before


@pytest.mark.usefixtures("staff", "tracker")
def test_the_yes_button_erases_the_person_and_leaves_another_untouched(
    app: App, shop: dict[str, int], router: Router
) -> None:
    number = customer(app, shop, ADA)
    customer(app, shop, ADA_TOO)
    converse(app, ADA)
    converse(app, ADA_TOO)
    ada = Chat(router, ADA.address)
    ada.say("/forget")

    [done] = ada.press(ada.yes())

    assert done.text.startswith(translate("privacy.erased.done", "fr") + "\n\n")
    assert number in done.text and "31 décembre 2036" in done.text  # kept anonymised, 10 years after its year
    erased_only(app, ADA, ADA_TOO)
    with app.db.uow() as uow:
        assert get_order(uow, number).person_id is None
    assert not known(app, ADA.address) and known(app, ADA_TOO.address)


@pytest.mark.usefixtures("staff", "tracker")
def test_a_typed_yes_counts_only_as_the_answer_to_the_question_just_asked(
    app: App, shop: dict[str, int], router: Router
) -> None:
    customer(app, shop, ADA)
    customer(app, shop, ADA_TOO)
    converse(app, ADA)
    converse(app, ADA_TOO)
    before = stored_text(app)
    ada = Chat(router, ADA.address)

    ada.say("/forget")
    assert [m.text for m in ada.say("non")] == [translate("privacy.forget.cancelled", "fr")]
    ada.say("/forget")
    ada.say("je cherche du miel")  # another subject: the question is no longer open
    ada.say("oui")
    assert ada.rasa.texts == ["je cherche du miel", "oui"]
    assert stored_text(app) == before

    ada.say("/forget")
    [done] = ada.say("Oui !")
    assert done.text.startswith(translate("privacy.erased.done", "fr"))
    erased_only(app, ADA, ADA_TOO)


@pytest.mark.usefixtures("staff")
def test_orders_under_way_block_the_erasure_and_are_named(app: App, shop: dict[str, int], router: Router) -> None:
    delivered = customer(app, shop, ADA)
    ada = Chat(router, ADA.address)
    ada.say("/forget")
    yes = ada.yes()
    under_way = customer(app, shop, ADA, delivered=False)  # ordered while the question was open
    before = stored_text(app)

    [refused] = ada.press(yes)

    assert refused.text == error_message(OpenOrders([under_way]), "fr")
    assert under_way in refused.text and delivered not in refused.text and not refused.buttons
    assert stored_text(app) == before
    [asked_again] = ada.say("/forget")
    assert asked_again.text == refused.text, "said at once, before any question"


@pytest.mark.parametrize("lang", LANGS)
def test_in_each_language(app: App, router: Router, commands: Commands, lang: str) -> None:
    address = f"telegram:{6100 + LANGS.index(lang)}"
    person = Chat(router, address, lang)
    [sent] = person.say("/mydata")
    assert sent.text == translate("privacy.mydata.sent", lang)
    assert exported_file([sent], commands)[1]["account"]["language"] == lang

    [question] = person.say("/forget")
    assert question.text == translate("privacy.forget.question", lang, years=duration(10, "years", lang))
    assert [b.title for b in question.buttons] == [translate(f"privacy.forget.{k}", lang) for k in ("yes", "no")]
    assert [m.text for m in person.press(ERASE_NO)] == [translate("privacy.forget.cancelled", lang)]
    assert known(app, address)

    person.say("/forget")
    [done] = person.say(YES_TYPED[lang])
    assert done.text == "\n\n".join(translate(f"privacy.erased.{k}", lang) for k in ("done", "nothing_kept"))
    assert not known(app, address)


@pytest.mark.usefixtures("shop", "staff")
@pytest.mark.parametrize(("address", "business"), [(FARMER, "Ferme Test"), (COURIER, "Vélo Test")])
def test_a_vendor_member_or_a_courier_erases_their_person_and_the_business_data_stays(
    app: App, router: Router, address: str, business: str
) -> None:
    def business_data() -> list[tuple]:
        with app.db.uow() as uow:
            products = uow.session.execute(select(Product.sku, Product.price_chf, Product.stock, Product.vendor_id))
            organisations = uow.session.scalars(select(Organisation.name).order_by(Organisation.id))
            return [*products.all(), *organisations]

    before = business_data()
    worker = Chat(router, address)
    [question] = worker.say("/forget")
    assert question.text.endswith(translate("privacy.forget.question.organisations", "fr", organisations=business))
    [done] = worker.press(worker.yes())

    assert translate("privacy.erased.organisations", "fr", organisations=business) in done.text
    assert not known(app, address)
    assert business_data() == before
    with app.db.uow() as uow:
        members = uow.session.scalars(select(Membership).join(Organisation).where(Organisation.name == business))
        assert list(members) == []


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    "typed",
    ["/forget <b>x</b>", "/forget yes ' OR '1'='1", "/forget yes " + "a" * 4000, "/forget no no no", "/forget yes%",
     "/forget yes é", "/FORGET@marche_bot yes", "/forget \u202eyes", "/mydata ../../etc/passwd", "/mydata <script>"],
)  # fmt: skip
def test_junk_after_the_commands_erases_nobody(app: App, shop: dict[str, int], router: Router, typed: str) -> None:
    customer(app, shop, ADA)
    before = stored_text(app)
    ada = Chat(router, ADA.address)
    ada.say("/forget")
    replies = ada.say(typed)
    assert replies and all(reply.text for reply in replies)
    assert stored_text(app) == before


def test_the_question_expires(app: App, tmp_path: Path) -> None:
    clock = Clock()
    router = Router(ScriptedRasa(), Commands(app, now=clock, exports=tmp_path), "telegram")  # type: ignore[arg-type]
    ana = Chat(router, "telegram:7007")
    ana.say("/forget")
    clock.now += QUESTION_TTL + timedelta(seconds=1)
    assert [m.text for m in ana.press(ana.yes())] == [translate("privacy.forget.expired", "fr")]
    assert known(app, "telegram:7007")


# --- Telegram, Matrix, the terminal ------------------------------------------------------------------------------


class NoFloodLimits(ChatRateLimiter):
    def __init__(self) -> None:
        super().__init__(per_chat_burst=1_000_000, per_chat_period=1.0)
        self._base_limiter = None


async def telegram(app: App, commands: Commands, scenario: Callable[[FakeTelegramAPI], Awaitable[None]]) -> None:
    with FakeTelegramAPI(flood_limits=False) as fake:
        router = Router(ScriptedRasa(), commands, "telegram")  # type: ignore[arg-type]
        media = MediaPolicy(app.settings.media_dir, None, commands.exports)  # as bot/__main__.py builds it
        channel = TelegramChannel(fake.token, router, base_url=fake.base_url, base_file_url=fake.base_file_url,
                                  media=media)  # fmt: skip
        await channel.start()
        try:
            await scenario(fake)
        finally:
            await channel.stop()
        assert fake.internal_errors == []


@pytest.mark.usefixtures("staff", "tracker")
def test_telegram_sends_the_file_as_a_document_and_the_yes_button_erases(
    app: App, shop: dict[str, int], commands: Commands, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_bot, "ChatRateLimiter", NoFloodLimits)
    user = 990017
    eve = Someone(f"telegram:{user}", "Eve Lamarr", "Rue du Rhône 4", "079 444 12 12", "CH1000000000000000001")
    customer(app, shop, eve)
    customer(app, shop, ADA)
    converse(app, eve)
    converse(app, ADA)

    async def scenario(fake: FakeTelegramAPI) -> None:
        async def sent_after(act: Callable[[], object], replies: int = 1) -> list[SentMessage]:
            seen = len(fake.messages_to(user))
            act()
            return (await fake.wait_for_count_async(user, seen + replies, timeout=WAIT))[seen:]

        [document] = await sent_after(lambda: fake.user_sends(user, "/mydata", language_code="fr"))
        assert document.kind == "document" and document.caption == translate("privacy.mydata.sent", "fr")
        assert document.stored_file is not None and document.stored_file.file_name.endswith(".json")
        assert isinstance(document.file, bytes)
        data = json.loads(document.file)
        raw = document.file.decode("utf-8")
        assert [identity["id"] for identity in data["chat_identities"]] == [str(user)]
        assert eve.street in raw and [value for value in ADA.private if value in raw] == []

        [question] = await sent_after(lambda: fake.user_sends(user, "/forget", language_code="fr"))
        [(yes_title, yes), (_, _no)] = question.buttons
        assert yes_title == "Oui, tout effacer" and known(app, eve.address)
        [done] = await sent_after(lambda: fake.user_presses(user, question.message_id, yes))
        assert done.text.startswith(translate("privacy.erased.done", "fr"))

    asyncio.run(telegram(app, commands, scenario))
    erased_only(app, eve, ADA)
    assert list(commands.exports.iterdir()) == [], "the erased person's file went with them"


def matrix_says(matrix: MatrixChannel, sender: str, text: str, event: int) -> None:
    message = RoomMessageText.from_dict({
        "type": "m.room.message", "sender": sender, "event_id": f"$m{event}", "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": text},
    })  # fmt: skip
    asyncio.run(matrix._on_text("!claire:test", None, message))


@pytest.mark.usefixtures("staff", "tracker")
def test_matrix_sends_the_file_as_m_file_and_a_typed_number_answers_the_question(
    app: App, shop: dict[str, int], commands: Commands
) -> None:
    claire = Someone("matrix:@claire:test", "Claire Dubois", "Avenue de Champel 8", "078 333 22 11", "CH20000000002")
    customer(app, shop, claire)
    customer(app, shop, ADA)
    converse(app, claire)
    converse(app, ADA)
    router = Router(ScriptedRasa(), commands, "matrix")  # type: ignore[arg-type]
    matrix = MatrixChannel("http://matrix.test", "@marche:test", router, app.db, access_token="t",
                           media=MediaPolicy(exports_dir=commands.exports))  # fmt: skip
    client = FakeNioClient()
    matrix.client = client  # type: ignore[assignment]

    matrix_says(matrix, "@claire:test", "/mydata", 1)
    [(data, mime, name)] = client.uploads
    assert mime == "application/json" and name.startswith("personal-data-")
    assert [content["msgtype"] for _, content, _ in client.sent] == ["m.file", "m.text"]
    assert [i["address"] for i in json.loads(data)["chat_identities"]] == [claire.address]
    assert [value for value in ADA.private if value in data.decode("utf-8")] == []

    matrix_says(matrix, "@claire:test", "/forget", 2)
    assert client.sent[-1][1]["body"].endswith("\n1. Oui, tout effacer\n2. Non")
    assert known(app, claire.address)
    matrix_says(matrix, "@claire:test", "1", 3)
    assert client.sent[-1][1]["body"].startswith(translate("privacy.erased.done", "fr"))
    erased_only(app, claire, ADA)


def test_the_terminal_shows_where_the_file_is_and_a_number_answers_the_question(app: App, commands: Commands) -> None:
    screen = io.StringIO()
    router = Router(ScriptedRasa(), commands, "terminal")  # type: ignore[arg-type]
    chat = TerminalChat(router, "terminal:ana", "fr", Console(file=screen, width=400))
    [sent] = asyncio.run(chat.type_line("/mydata"))
    assert sent.document in screen.getvalue()
    assert json.loads(Path(sent.document).read_text("utf-8"))["chat_identities"][0]["address"] == "terminal:ana"
    assert known(app, "terminal:ana")

    asyncio.run(chat.type_line("/forget"))
    assert "[1] Oui, tout effacer" in screen.getvalue() and known(app, "terminal:ana")
    [done] = asyncio.run(chat.type_line("1"))  # the number presses the button shown with it
    assert done.text.startswith(translate("privacy.erased.done", "fr"))
    assert not known(app, "terminal:ana")


def test_rasa_answers_without_a_command_are_untouched(router: Router) -> None:
    replies = Chat(router, "telegram:8008").say("bonjour", [{"text": "Bonjour !", "buttons": [
        {"title": "Panier", "payload": "/show_basket"}]}])  # fmt: skip
    assert replies == [BotMessage("Bonjour !", (Button("Panier", "/show_basket"),))]


def test_an_answer_with_no_erasure_question_leaves_typed_yes_to_rasa(app: App, router: Router) -> None:
    ana = Chat(router, "telegram:8009")
    ana.say("/mydata")
    ana.say("oui")
    assert ana.rasa.texts == ["oui"] and known(app, "telegram:8009")
    with app.db.uow() as uow:
        assert person_for_chat(uow, "telegram:8009").language == "fr"
