"""Hostile input through every adapter: the command router, Telegram, Matrix, the terminal chat and the
action server, in process (Rasa is a fake; Telegram is the local fake Bot API; Matrix a stub nio client).

Properties, for arbitrary unicode, control characters, 100 kB messages, markup, SQL-looking text, junk
commands, malformed payloads, forged callback data, malformed answers from Rasa and odd trackers:
- nothing raises past the adapter;
- every reply is well formed for its platform (Telegram: HTML that parses, at most 4096 characters, callback
  data of 1 to 64 bytes, every button press answered; Matrix: UTF-8 JSON content within Synapse's event size);
- what the adapters say themselves is in the person's language (German people here);
- the database is unchanged by garbage.
Budget: tests/support/hostile.py (`make test` 50 examples per property, `make fuzz` 2000).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rasa_sdk
from hypothesis import example, given
from hypothesis import strategies as st
from nio import RoomMessageText, RoomSendError, RoomSendResponse, UploadResponse
from rasa_sdk.executor import ActionExecutor
from rich.console import Console
from telegram import Update

import bot.telegram_bot as telegram_bot
from bootstrap import App
from bot.commands import DIRECT, Commands, Incoming, command_of
from bot.matrix_bot import MatrixChannel, NumberedChoices
from bot.rasa_client import BotMessage, Button, RasaUnavailable, to_messages
from bot.router import MAX_TEXT, MENU, TO_INTENT, UNTYPABLE, Router, clean
from bot.telegram_bot import ChatRateLimiter, TelegramChannel
from bot.terminal import TerminalChat
from checkout.services import add_to_basket
from dialogues.action_server import Guard
from marketplace.accounts import (
    OrganisationKind,
    add_member,
    add_organisation,
    get_organisation,
    person_for_chat,
    remember_reply_to,
)
from marketplace.i18n import translate
from tests.support.actions import basket_of, served  # noqa: F401  (served: a fixture)
from tests.support.hostile import (
    ENTITY_NAMES,
    INTENTS,
    JSONISH,
    budget,
    callback_data,
    command_text,
    matrix_content_problems,
    rasa_answer,
    rasa_payload,
    says_in,
    snapshot,
    typed_text,
    well_formed_payload,
)
from tests.support.telegram_api import TEXT_LIMIT, FakeTelegramAPI, parse_html, trim

GERMAN = "telegram:4004"  # a consumer whose Telegram speaks German
GERMAN_VENDOR = "matrix:@lena:example.org"  # a member of ferme-test (the `shop` fixture), German in the chat
GERMAN_COURIER = "telegram:5005"  # a courier of velo-test
PEOPLE = (GERMAN, GERMAN_VENDOR, GERMAN_COURIER)
ROOM = "!lena:example.org"
RASA_SAID = "⟦rasa⟧"  # what the fake Rasa answers when a test does not give it an answer
OOPS = {translate("reply.oops", lang) for lang in ("fr", "de", "it", "en")}


class FakeRasa:
    """Rasa's REST channel in process: records what it is sent; answers `answer` (Rasa's JSON, read by the real
    `to_messages`), or RASA_SAID, or is down."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.answer: Any = None
        self.down = False

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotMessage]:
        self.sent.append((sender, text, metadata))
        if self.down:
            raise RasaUnavailable("connection refused")
        return [BotMessage(RASA_SAID)] if self.answer is None else to_messages(self.answer)


@pytest.fixture
def people(app: App, shop: dict[str, int], tmp_path: Path) -> Iterator[App]:
    """The `shop`, and three German speakers: a consumer with a kilo of tomatoes in the basket (so that checkout
    steps have something to work on), a member of ferme-test and a courier. Files the commands write (/mydata)
    go under tmp_path."""
    app.settings = dataclasses.replace(app.settings, data_dir=tmp_path)
    with app.db.uow() as uow:
        add_to_basket(uow, person_for_chat(uow, GERMAN, "de"), shop["tomato"], Decimal("1"))
        add_member(uow, person_for_chat(uow, GERMAN_VENDOR, "de"), get_organisation(uow, "ferme-test"))
        velo = add_organisation(uow, "velo-test", "Velo Test", OrganisationKind.DELIVERY)
        add_member(uow, person_for_chat(uow, GERMAN_COURIER, "de"), velo)
        remember_reply_to(uow, GERMAN_VENDOR, ROOM)
        uow.commit()
    yield app


def our_replies(replies: list[BotMessage]) -> list[str]:
    """The texts the adapters wrote themselves (not the fake Rasa's)."""
    return [r.text for r in replies if r.text != RASA_SAID]


def assert_well_formed(replies: list[BotMessage]) -> None:
    assert isinstance(replies, list) and replies, "every message gets an answer"
    for reply in replies:
        assert isinstance(reply, BotMessage)
        assert all(isinstance(v, str) for v in (reply.text, reply.image, reply.document))
        assert all(isinstance(b.title, str) and isinstance(b.payload, str) for b in reply.buttons)


def assert_rasa_got_only_clean_text(rasa: FakeRasa) -> None:
    """Rasa gets text without untypable characters, within the limit, and a payload only when we made it."""
    ours = set(TO_INTENT.values())
    for _, text, metadata in rasa.sent:
        assert not UNTYPABLE.search(text) and len(text) <= MAX_TEXT
        assert not UNTYPABLE.search(metadata["display_name"])
        if text.strip().startswith("/"):
            assert text in ours or text.startswith(('/change_language{"language": ', '/product_details{"product": "#'))


# --- the router -------------------------------------------------------------------------------------


UNKNOWN = ["/oublier", "/aide du miel", "/xyz", "/ intent{}", '/ add_to_basket{"product": "#1"}', "/_x", "/",
           "/OUBLIER@marche_bot", "/\u202etegrof"]  # fmt: skip


@pytest.mark.parametrize("command", UNKNOWN)
def test_an_unknown_command_is_answered_with_the_commands_this_person_can_use(people: App, command: str) -> None:
    rasa = FakeRasa()
    router = Router(rasa, Commands(people), "telegram")  # type: ignore[arg-type]
    consumer = asyncio.run(router.handle(Incoming(GERMAN, command, "de")))
    vendor = asyncio.run(router.handle(Incoming(GERMAN_VENDOR, command, "fr")))  # Matrix: no platform language
    courier = asyncio.run(router.handle(Incoming("telegram:5005", command, "en")))
    if command.startswith("/aide"):  # a French alias of /help: Rasa's help, in any language
        assert [t for _, t, _ in rasa.sent] == ["/help"] * 3
        return
    assert rasa.sent == [], "an unknown command never reaches Rasa as an unknown intent"
    shown = [line.split(" — ")[0] for line in consumer[0].text.splitlines()[1:-1]]
    assert shown == [f"/{c}" for c in MENU]
    assert consumer[0].text.splitlines()[-1] == translate("bot.unknown_command.hint", "de")
    assert "/help — Was ich kann" in consumer[0].text and "/stock" not in consumer[0].text
    assert "/stock — Bestand: /stock PRODUKT MENGE" in vendor[0].text and "/runs" not in vendor[0].text
    assert "/runs — " in courier[0].text and "/stock" not in courier[0].text
    for answer in (consumer, vendor, courier):
        assert says_in(answer[0].text, "de"), answer[0].text
        assert "\u202e" not in answer[0].text


def test_a_newcomer_gets_the_commands_in_the_language_of_their_telegram(people: App) -> None:
    router = Router(FakeRasa(), Commands(people), "telegram")  # type: ignore[arg-type]
    answer = asyncio.run(router.handle(Incoming("telegram:7007", "/oublier", "it")))
    assert answer[0].text.startswith(translate("bot.unknown_command", "it", command="/oublier"))
    assert "/basket — " + translate("bot.menu.basket", "it") in answer[0].text


def test_a_message_too_long_is_refused_in_the_persons_language_and_never_reaches_rasa(people: App) -> None:
    rasa = FakeRasa()
    router = Router(rasa, Commands(people), "matrix")  # type: ignore[arg-type]
    answer = asyncio.run(router.handle(Incoming(GERMAN_VENDOR, "Honig " * 20_000, "fr")))
    assert [m.text for m in answer] == [translate("bot.too_long", "de", limit=MAX_TEXT)] and rasa.sent == []


def test_rasa_down_is_said_in_the_language_the_person_chose(people: App) -> None:
    rasa = FakeRasa()
    rasa.down = True
    router = Router(rasa, Commands(people), "matrix")  # type: ignore[arg-type]
    answer = asyncio.run(router.handle(Incoming(GERMAN_VENDOR, "Käse?", "fr")))
    assert [m.text for m in answer] == [translate("bot.unavailable", "de")]


@budget()
@given(text=st.one_of(typed_text(surrogates=True), command_text()), who=st.sampled_from(PEOPLE))
@example(text="\x00/forget", who=GERMAN).via("NUL first")
@example(text="/stock <b>Tomates</b> 1e309", who=GERMAN_VENDOR).via("markup in a vendor command")
@example(text="/price Tomates '; DROP TABLE products; --", who=GERMAN_VENDOR).via("SQL in a price")
@example(text="/delivered GE-XXXXXX paid", who=GERMAN_COURIER).via("an unknown order")
@example(text="/link ' OR '1'='1", who=GERMAN).via("SQL in a link code")
@example(text="/start p_\u0662\u0663", who=GERMAN).via("Arabic-Indic digits in a deep link")
def test_typed_garbage_through_the_router(people: App, text: str, who: str) -> None:
    rasa = FakeRasa()
    router = Router(rasa, Commands(people), "telegram")  # type: ignore[arg-type]
    before = snapshot(people.db)
    replies = asyncio.run(router.handle(Incoming(who, text, "de", display_name=text[:100])))
    assert_well_formed(replies)
    assert_rasa_got_only_clean_text(rasa)
    for said in our_replies(replies):
        assert says_in(said, "de"), said[:300]
    assert snapshot(people.db) == before


@budget()
@given(data=st.one_of(rasa_payload(), callback_data()), who=st.sampled_from(PEOPLE))
@example(data='/add_to_basket{"product": ', who=GERMAN)
@example(data="/forget", who=GERMAN)
@example(data="/stock TOM 0", who=GERMAN)
@example(data="/price CHA 0.01", who=GERMAN_VENDOR).via("another vendor's product")
def test_forged_button_payloads_through_the_router(people: App, data: str, who: str) -> None:
    rasa = FakeRasa()
    router = Router(rasa, Commands(people), "telegram")  # type: ignore[arg-type]
    before = snapshot(people.db)
    replies = asyncio.run(router.press(Incoming(who, data, "de")))
    assert_well_formed(replies)
    for _, sent, _ in rasa.sent:
        assert not sent.strip().startswith("/") or well_formed_payload(sent), "a malformed payload never reaches Rasa"
    data, command = clean(data), command_of(clean(data))  # what the router works with: controls dropped
    if data.strip().startswith("/") and not well_formed_payload(data) and not (command and command[0] in DIRECT):
        assert replies[-1].text.endswith(translate("bot.unknown_command.hint", "de")), "it gets the commands"
    for said in our_replies(replies):
        assert says_in(said, "de"), said[:300]
    assert snapshot(people.db) == before


@budget()
@given(answer=rasa_answer())
@example(answer=[{"text": "ok", "buttons": [{"title": "no payload"}]}])
@example(answer=[{"text": {"nested": "dict"}, "image": 12, "custom": "not a dict"}])
@example(answer={"not": "a list"})
def test_malformed_answers_from_rasa_become_well_formed_messages(people: App, answer: Any) -> None:
    rasa = FakeRasa()
    rasa.answer = answer
    router = Router(rasa, Commands(people), "telegram")  # type: ignore[arg-type]
    replies = asyncio.run(router.handle(Incoming(GERMAN, "Honig?", "de")))
    assert isinstance(replies, list)
    for reply in replies:
        assert all(isinstance(v, str) for v in (reply.text, reply.image, reply.document))
        assert all(isinstance(b.title, str) and isinstance(b.payload, str) for b in reply.buttons)


# --- Telegram -----------------------------------------------------------------------------------------


class NoFloodLimits(ChatRateLimiter):
    """The local fake keeps no flood limits here, so neither does the bot: the examples run back to back."""

    def __init__(self) -> None:
        super().__init__(per_chat_burst=1_000_000, per_chat_period=1.0)
        self._base_limiter = None  # AIORateLimiter's overall 30/s


class TelegramHarness:
    """The real TelegramChannel, initialised against the fake Bot API on one event loop; updates are handed
    to its handlers as PTB would."""

    def __init__(self, fake: FakeTelegramAPI, router: Router, runner: asyncio.Runner) -> None:
        self.fake, self.runner = fake, runner
        self.channel = TelegramChannel(fake.token, router, base_url=fake.base_url, base_file_url=fake.base_file_url)
        runner.run(self.channel.app.initialize())
        self.updates = 0

    def user(self, user_id: int, language_code: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Jonas", "language_code": language_code}

    def text(self, user_id: int, text: str, language_code: str = "de") -> None:
        self.updates += 1
        chat = {"id": user_id, "type": "private", "first_name": "Jonas"}
        message = {"message_id": 10_000 + self.updates, "date": 0, "chat": chat,
                   "from": self.user(user_id, language_code), "text": text}  # fmt: skip
        update = Update.de_json({"update_id": self.updates, "message": message}, self.channel.app.bot)
        self.runner.run(self.channel.on_text(update, None))  # type: ignore[arg-type]

    def press(self, user_id: int, data: str, language_code: str = "de") -> str:
        """A callback query with any data, as a modified client can send; returns its id."""
        self.updates += 1
        query_id = str(900_000 + self.updates)
        with self.fake._lock:  # the fake answers only queries it issued: register this forged one
            self.fake._callback_queries[query_id] = {"chat_id": user_id, "message_id": 1}
        chat = {"id": user_id, "type": "private", "first_name": "Jonas"}
        message = {"message_id": 1, "date": 0, "chat": chat, "text": "…"}
        query = {"id": query_id, "from": self.user(user_id, language_code), "chat_instance": "1", "data": data,
                 "message": message}  # fmt: skip
        update = Update.de_json({"update_id": self.updates, "callback_query": query}, self.channel.app.bot)
        self.runner.run(self.channel.on_button(update, None))  # type: ignore[arg-type]
        return query_id


SENDS = {"sendmessage", "sendphoto", "senddocument", "editmessagereplymarkup", "editmessagetext"}


def telegram_problems(method: str, params: dict[str, Any]) -> list[str]:
    """Why Telegram would refuse this request: HTML that does not parse, too long, bad callback data."""
    problems = []
    key = "text" if "text" in params else "caption" if "caption" in params else None
    if key is not None and params.get("parse_mode", "").upper() == "HTML":
        try:
            shown, _ = trim(*parse_html(str(params[key]), strict=True))
        except Exception as exc:  # the fake's ApiError: Telegram's 400
            problems.append(f"{method}: {exc}")
        else:
            if len(shown) > (TEXT_LIMIT if key == "text" else 1024) or (key == "text" and not shown):
                problems.append(f"{method}: {len(shown)} characters")
    markup = params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
        for button in row:
            data = str(button.get("callback_data", ""))
            if not 1 <= len(data.encode()) <= 64:
                problems.append(f"{method}: callback data of {len(data.encode())} bytes")
            if not str(button.get("text", "")).strip():
                problems.append(f"{method}: a button without text")
    return problems


def test_hostile_updates_through_the_telegram_channel(people: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_bot, "ChatRateLimiter", NoFloodLimits)
    user_id = int(GERMAN.split(":")[1])
    rasa = FakeRasa()
    with FakeTelegramAPI(flood_limits=False) as fake, asyncio.Runner() as runner:
        harness = TelegramHarness(fake, Router(rasa, Commands(people), "telegram"), runner)  # type: ignore[arg-type]
        fake.user_sends(user_id, "Hallo", language_code="de")  # a bot writes only to people who wrote first

        @budget()
        @given(
            kind=st.sampled_from(["text", "press"]),
            sent=st.one_of(typed_text(), command_text(), callback_data()),
            answer=st.one_of(st.none(), rasa_answer()),
            language_code=st.sampled_from(["de", "de-CH", None]),
        )
        @example(kind="press", sent="pg:a:b:c", answer=None, language_code="de")
        @example(kind="press", sent="pg:x:y", answer=None, language_code="de")
        @example(kind="press", sent="k:" + "f" * 24, answer=None, language_code="de")
        @example(kind="text", sent="Honig", answer=[{"text": "", "buttons": [{"title": "x", "payload": ""}]}],
                 language_code="de")  # fmt: skip
        @example(kind="text", sent="Honig", answer=[{"text": "<b>&" * 30_000}], language_code="de")
        @example(kind="text", sent="/oublier", answer=None, language_code=None)
        def check(kind: str, sent: str, answer: Any, language_code: str | None) -> None:
            rasa.answer = answer
            start, shown_before = len(fake.requests), len(fake.messages_to(user_id))
            before = snapshot(people.db)
            if kind == "text":
                harness.text(user_id, sent, language_code)  # type: ignore[arg-type]
            else:
                query_id = harness.press(user_id, sent, language_code)  # type: ignore[arg-type]
                answered = [c for c in fake.answered_callbacks if c.get("callback_query_id") == query_id]
                assert len(answered) == 1, "every button press is answered"
                if answered[0].get("text"):
                    assert answered[0]["text"] == translate("bot.button_expired", "de")
            requests = [(m.lower(), p) for m, p in fake.requests[start:]]
            problems = [problem for method, params in requests for problem in telegram_problems(method, params)]
            assert problems == []
            sends = [p for m, p in requests if m in SENDS - {"editmessagereplymarkup", "editmessagetext"}]
            assert len(fake.messages_to(user_id)) - shown_before == len(sends), "Telegram took every message"
            assert fake.internal_errors == []
            if answer is None:
                for params in sends:
                    said = str(params.get("text") or params.get("caption") or "")
                    if RASA_SAID not in said:
                        assert says_in(fake_shown(said), "de"), said[:300]
            assert snapshot(people.db) == before

        check()
        runner.run(harness.channel.app.shutdown())


def fake_shown(html_text: str) -> str:
    return parse_html(html_text)[0]


# --- Matrix -------------------------------------------------------------------------------------------


class StubNio:
    """What MatrixChannel uses of nio's AsyncClient, refusing what Synapse refuses: events over 64 KiB."""

    def __init__(self) -> None:
        self.user_id = "@marche:example.org"
        self.rooms: dict[str, Any] = {}
        self.sent: list[dict[str, Any]] = []
        self.refused: list[str] = []

    async def upload(self, provider, content_type: str, filename: str, filesize: int):  # type: ignore[no-untyped-def]  # noqa: ARG002
        return UploadResponse("mxc://example.org/1"), None

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any], tx_id: str):  # type: ignore[no-untyped-def]  # noqa: ARG002
        self.sent.append(content)
        problems = matrix_content_problems(content)
        if problems:
            self.refused.extend(problems)
            return RoomSendError("; ".join(problems), status_code="M_TOO_LARGE")
        return RoomSendResponse(f"$e{len(self.sent)}", room_id)


def test_hostile_messages_through_the_matrix_channel(people: App) -> None:
    rasa = FakeRasa()
    matrix = MatrixChannel(
        "http://matrix.test", "@marche:example.org", Router(rasa, Commands(people), "matrix"), people.db,  # type: ignore[arg-type]
        access_token="t",
    )  # fmt: skip
    client = StubNio()
    matrix.client = client  # type: ignore[assignment]
    events = iter(range(1, 10**9))

    with asyncio.Runner() as runner:

        @budget()
        @given(body=st.one_of(typed_text(surrogates=True), command_text()), answer=st.one_of(st.none(), rasa_answer()))
        @example(body="Honig", answer=[{"text": "é" * 100_000}])
        @example(body="/oublier", answer=None)
        @example(body="\ud83d/xyz", answer=None)
        @example(body="1", answer=None)
        def check(body: str, answer: Any) -> None:
            rasa.answer = answer
            client.sent.clear()
            before = snapshot(people.db)
            event = RoomMessageText.from_dict({
                "type": "m.room.message", "sender": "@lena:example.org", "event_id": f"$lena{next(events)}",
                "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body},
            })  # fmt: skip
            client.refused.clear()
            runner.run(matrix._on_text(ROOM, None, event))
            assert client.refused == []
            if answer is None:
                assert client.sent, "every message gets an answer"
                for content in client.sent:
                    if RASA_SAID not in content["body"]:
                        assert says_in(content["body"], "de"), content["body"][:300]
            assert snapshot(people.db) == before

        check()


# --- the terminal chat ----------------------------------------------------------------------------------


def test_hostile_lines_in_the_terminal_chat(people: App) -> None:
    out = io.StringIO()
    chat = TerminalChat(Router(FakeRasa(), Commands(people), "terminal"), GERMAN, "de",  # type: ignore[arg-type]
                        Console(file=out, width=200, color_system=None))  # fmt: skip

    with asyncio.Runner() as runner:

        @budget()
        @given(line=st.one_of(typed_text(), command_text()))
        @example(line="/oublier")
        @example(line="\x1b]0;pwned\x07/xyz [bold]x[/bold]")
        def check(line: str) -> None:
            out.truncate(0)
            out.seek(0)
            answer = runner.run(chat.type_line(line))
            if line.strip() and "\x1b" in line:
                assert "\x1b" not in out.getvalue(), "no terminal escape from what was typed"
            for said in our_replies(answer):
                assert says_in(said, "de"), said[:300]

        check()


# --- the action server ---------------------------------------------------------------------------------

SENDERS = st.one_of(
    st.just(GERMAN),
    st.sampled_from(["telegram:999999", "matrix:@zz:example.org", "telegram:4004" + "0" * 300]),  # someone new
    # Ids none of our bots builds: the action server's guard refuses them before any action runs.
    st.sampled_from(["", "bob", "terminal:admin", "matrix:@x", "telegram:abc", "telegram:4004\n", "telegram:-1",
                     "x" * 10_000, "\x00", "slack:1", " telegram:4004"]),
    st.text(max_size=30),
)  # fmt: skip
VALUE = st.one_of(typed_text(), JSONISH)
ENTITY_SLOTS = ["product", "quantity", "unit", "amount", "category", "label", "vendor", "order_id"]
FORM_SLOTS = ["delivery_mode", "postal_code", "time_slot", "payment_method", "order_confirmed"]
SLOT_NAMES = [*ENTITY_SLOTS, *FORM_SLOTS, "language", "shown_products", "requested_slot"]
LANGUAGE = st.sampled_from([None, "de", "xx", "", "DE-ch", 1, ["de"], {"de": 1}])  # in metadata: any JSON
CHOSEN = st.sampled_from([None, "de", "", "xx", "DE-ch"])  # the language slot: only our actions set it


def trackers() -> st.SearchStrategy[dict[str, Any]]:
    """Trackers as Rasa could send them after hostile messages: odd values anywhere a person's input reaches
    (text, entity values, slots, metadata), keys missing, huge texts, unknown sender ids."""
    entity = st.one_of(
        st.fixed_dictionaries({"entity": st.sampled_from(ENTITY_NAMES), "value": VALUE}),
        st.fixed_dictionaries({}, optional={"entity": JSONISH, "value": JSONISH, "start": JSONISH}),
    )
    metadata = st.one_of(st.fixed_dictionaries({}, optional={"language": LANGUAGE, "channel": VALUE}), JSONISH)
    latest = st.fixed_dictionaries(
        {},
        optional={
            "text": st.one_of(typed_text(), rasa_payload(), st.none()),
            "intent": st.fixed_dictionaries({"name": st.sampled_from(INTENTS)}, optional={"confidence": JSONISH}),
            "entities": st.lists(entity, max_size=5),
            "metadata": metadata,
        },
    )
    # Slots filled from entities hold whatever a payload's entity held; the others only what our actions set.
    from_entities = st.dictionaries(st.sampled_from(ENTITY_SLOTS), VALUE, max_size=4)
    ours = st.fixed_dictionaries({}, optional={
        "language": CHOSEN, "delivery_mode": typed_text(), "postal_code": typed_text(), "time_slot": typed_text(),
        "payment_method": typed_text(), "order_confirmed": st.booleans(), "shown_products": st.lists(st.integers()),
        "requested_slot": st.sampled_from(["delivery_mode", "postal_code", "time_slot", "payment_method",
                                           "order_confirmed"]),
    })  # fmt: skip
    slots = st.builds(lambda a, b: a | b, from_entities, ours)
    # Rasa's own events, well formed (rasa-sdk reads them before any action of ours runs).
    slot_events = st.fixed_dictionaries(
        {"event": st.just("slot"), "name": st.sampled_from(ENTITY_SLOTS), "value": VALUE}
    )
    return st.fixed_dictionaries(
        {"sender_id": SENDERS},
        optional={
            "slots": slots,
            "latest_message": latest,
            "events": st.lists(slot_events, max_size=2),
            "active_loop": st.just({}) | st.fixed_dictionaries({"name": st.sampled_from(["checkout_form", "x"])}),
            "latest_action_name": st.sampled_from(["action_listen", "", "x"]),
        },
    )  # fmt: skip


def test_odd_trackers_through_the_action_server(served: App, people: App) -> None:  # noqa: F811
    assert served is people
    (tomato,) = basket_of(served, GERMAN)
    executor = ActionExecutor()
    executor.register_package("dialogues.actions")
    names = sorted(name for name in executor.actions if name)  # the base class registers itself as ""
    domain = {
        "forms": {"checkout_form": {"required_slots": FORM_SLOTS}},
        "slots": {n: {"type": "any"} for n in SLOT_NAMES},
    }
    guard = Guard("s" * 43, demo=False, languages=served.settings.languages)  # what the server checks first

    with asyncio.Runner() as runner:

        @budget()
        @given(action=st.sampled_from(names), tracker=trackers())
        @example(action="action_small_talk", tracker={"sender_id": GERMAN, "latest_message": {"metadata": ["de"]}})
        @example(action="action_add_to_basket", tracker={"sender_id": GERMAN, "latest_message": {
            "entities": [{"entity": "product", "value": ["#1"]}]}})  # fmt: skip
        @example(action="action_change_language", tracker={"sender_id": GERMAN, "latest_message": {"text": None}})
        def check(action: str, tracker: dict[str, Any]) -> None:
            before = snapshot(served.db)
            call = {"next_action": action, "sender_id": tracker["sender_id"], "tracker": tracker, "domain": domain,
                    "version": rasa_sdk.__version__}  # fmt: skip
            response = guard.refusal(call)
            if response is None:
                result = runner.run(executor.run(call))
                assert result is not None
                response = result.model_dump()
            else:
                assert snapshot(served.db) == before, "a refused sender changes nothing"
            json.dumps(response)  # what the action server sends back to Rasa is JSON
            for message in response["responses"]:
                assert isinstance(message.get("text") or "", str)
                assert not OOPS & set((message.get("text") or "").splitlines()), f"{action} failed inside"
                for button in message.get("buttons") or []:
                    assert isinstance(button["title"], str) and isinstance(button["payload"], str)
            if tracker["sender_id"] == GERMAN and german(tracker):
                for message in response["responses"]:
                    said = message.get("text") or ""
                    assert not any_other_language(said), said[:300]
                if action not in ("action_clear_basket", "action_change_language"):
                    assert snapshot(served.db) == before
            # Emptying the basket is one action's job whatever it is sent; a word like "ital" in any text asks for
            # Italian: what they change is put back for the next example.
            refill = not basket_of(served, GERMAN)
            with served.db.uow() as uow:
                person = person_for_chat(uow, GERMAN)
                person.language = "de"
                if refill:
                    add_to_basket(uow, person, tomato, Decimal("1"))
                uow.commit()

        check()


def german(tracker: dict[str, Any]) -> bool:
    """The tracker leaves the German person German: no other language chosen in a slot or in the metadata."""
    slot = (tracker.get("slots") or {}).get("language")
    metadata = (tracker.get("latest_message") or {}).get("metadata")
    platform = metadata.get("language") if isinstance(metadata, dict) else None
    return all(not isinstance(v, str) or v[:2].lower() not in ("fr", "it", "en") for v in (slot, platform))


def any_other_language(said: str) -> bool:
    from tests.support.hostile import languages_of

    found = set().union(*(languages_of(line) for line in said.splitlines())) if said.strip() else set()
    return bool(found) and "de" not in found


def test_an_unknown_command_lists_the_commands_on_matrix_and_in_the_terminal(people: App) -> None:
    rasa = FakeRasa()
    matrix = MatrixChannel("http://matrix.test", "@marche:example.org", Router(rasa, Commands(people), "matrix"),  # type: ignore[arg-type]
                           people.db, access_token="t")  # fmt: skip
    client = StubNio()
    matrix.client = client  # type: ignore[assignment]
    content = {"msgtype": "m.text", "body": "/oublier"}
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "sender": "@lena:example.org",
            "event_id": "$1",
            "origin_server_ts": 1,
            "content": content,
        }
    )
    asyncio.run(matrix._on_text(ROOM, None, event))
    out = io.StringIO()
    chat = TerminalChat(Router(rasa, Commands(people), "terminal"), GERMAN, "de", Console(file=out, width=300))  # type: ignore[arg-type]
    asyncio.run(chat.type_line("/aide-moi"))
    assert rasa.sent == []
    (said,) = [content["body"] for content in client.sent]
    assert said.startswith(translate("bot.unknown_command", "de", command="/oublier"))
    assert "/stock — Bestand: /stock PRODUKT MENGE" in said  # Lena is a member of ferme-test
    assert translate("bot.unknown_command", "de", command="/aide-moi") in out.getvalue()
    assert "/basket — Mein Warenkorb" in out.getvalue() and "/stock" not in out.getvalue()


def test_every_shape_of_our_own_buttons_still_reaches_rasa(people: App) -> None:
    from checkout.payment import PaymentMethod
    from dialogues.actions.shopping import add_payload, payload

    ours = [
        add_payload(84, ["#85", "miel de forêt"], quantity="2"),
        payload("choose_delivery", time_slot="2026-11-25 17:00-19:00"),
        payload("choose_payment", payment_method=PaymentMethod.MIXED),
        payload("search_product", category="vegetables"),
        payload("affirm"),
    ]
    rasa = FakeRasa()
    router = Router(rasa, Commands(people), "telegram")  # type: ignore[arg-type]
    for data in ours:
        asyncio.run(router.press(Incoming(GERMAN, data, "de")))
    assert [text for _, text, _ in rasa.sent] == ours


@pytest.mark.parametrize("typed", ["²", "٣", "0" * 5000, "1" * 4301, "-1", "1e3"])
def test_odd_digits_never_press_a_button_on_matrix_or_in_the_terminal(people: App, typed: str) -> None:
    offered = (Button("Lundi 17h", "/slot_monday"), Button("Mardi 17h", "/slot_tuesday"))
    choices = NumberedChoices()
    choices.offer(ROOM, offered)
    assert choices.answer(ROOM, typed) is None and choices.answer(ROOM, "2") == "/slot_tuesday"
    rasa = FakeRasa()
    chat = TerminalChat(Router(rasa, Commands(people), "terminal"), GERMAN, "de", Console(file=io.StringIO()))  # type: ignore[arg-type]
    chat.buttons = list(offered)
    answer = asyncio.run(chat.type_line(typed))
    assert answer and not any(text.startswith("/slot_") for _, text, _ in rasa.sent), "a sentence, not a button"
