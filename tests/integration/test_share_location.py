"""Sharing a location or a phone number instead of typing it, through the real channels and the real router,
with Rasa scripted in process (its answers go through `to_messages` as on the wire).

Telegram: the real TelegramChannel (python-telegram-bot, long polling) against the local fake Bot API, where
people tap reply keyboard buttons and share locations and contact cards. Matrix: the MatrixChannel with a stub
nio client, fed the events nio makes of `m.location` messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from itertools import count
from typing import Any

import pytest
from nio import Event, RoomSendResponse

from bootstrap import App
from bot import telegram_bot
from bot.commands import Incoming
from bot.matrix_bot import MatrixChannel
from bot.rasa_client import BotMessage, to_messages
from bot.router import Router
from bot.telegram_bot import ChatRateLimiter, TelegramChannel
from marketplace.i18n import translate
from tests.support.telegram_api import FakeTelegramAPI, SentMessage

WAIT = 60.0  # seconds: a generous bound for what takes milliseconds
users = count(880001)

ASK_ADDRESS = [
    {"recipient_id": "x", "text": "À quelle adresse livrer ?"},
    {"recipient_id": "x", "custom": {"share": ["location", "contact"]}},
]


class ScriptedRasa:
    """Rasa's REST channel as the router sees it: records each turn's text and metadata, answers the next
    scripted JSON answer (read by `to_messages`, as AsyncRasaClient does)."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, str, dict[str, Any]]] = []
        self.answers: list[Any] = []

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotMessage]:
        self.turns.append((sender, text, metadata))
        return to_messages(self.answers.pop(0) if self.answers else [{"text": "D'accord."}])

    async def close(self) -> None:
        pass

    def texts(self) -> list[str]:
        return [text for _, text, _ in self.turns]


class People:
    """What the router asks of bot.commands: each person's language (the platform's unless set here)."""

    def __init__(self, languages: dict[str, str] | None = None) -> None:
        self.languages = languages or {}

    def menu_for(self, address: str, language: str | None = None) -> tuple[str, tuple[str, ...]]:
        return self.languages.get(address, language or "fr"), ()

    def is_vendor(self, _address: str) -> bool:
        return False

    def handle(self, _incoming: Incoming) -> list[BotMessage]:
        raise AssertionError("no work command in these conversations")


# --- Telegram -----------------------------------------------------------------------------------------


class NoFloodLimits(ChatRateLimiter):
    """The fake keeps no flood limits here, so neither does the bot: the turns run back to back."""

    def __init__(self) -> None:
        super().__init__(per_chat_burst=1_000_000, per_chat_period=1.0)
        self._base_limiter = None  # AIORateLimiter's overall 30/s


def keyboard_of(message: SentMessage) -> list[list[dict[str, Any]]]:
    return (message.reply_markup or {}).get("keyboard", [])


class TelegramChat:
    """One person in a private chat with the running bot."""

    def __init__(self, fake: FakeTelegramAPI, rasa: ScriptedRasa, language: str = "fr") -> None:
        self.fake, self.rasa, self.id, self.language = fake, rasa, next(users), language
        fake.user_sends(self.id, "/start", language_code=language)  # a bot writes only to people who wrote
        fake.take_updates()  # ...but that first message is not part of the scenario

    async def turn(self, act: Callable[[], object], *answer: Any, replies: int = 1) -> list[SentMessage]:
        """Do something (type, tap, share) with Rasa's next answer scripted; the bot's `replies` new messages."""
        seen = len(self.fake.messages_to(self.id))
        self.rasa.answers.extend(answer)
        act()
        messages = await self.fake.wait_for_count_async(self.id, seen + replies, timeout=WAIT)
        return messages[seen:]


async def telegram_scenario(scenario: Callable[[FakeTelegramAPI, ScriptedRasa], Awaitable[None]],
                            people: People | None = None) -> FakeTelegramAPI:  # fmt: skip
    with FakeTelegramAPI(flood_limits=False) as fake:
        rasa = ScriptedRasa()
        router = Router(rasa, people or People(), "telegram")  # type: ignore[arg-type]
        channel = TelegramChannel(fake.token, router, base_url=fake.base_url, base_file_url=fake.base_file_url)
        await channel.start()
        try:
            await scenario(fake, rasa)
        finally:
            await channel.stop()
        assert fake.internal_errors == []
        return fake


@pytest.fixture(autouse=True)
def no_flood_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_bot, "ChatRateLimiter", NoFloodLimits)


def test_a_question_offers_the_share_keyboard_and_a_shared_location_reaches_rasa_as_a_payload() -> None:
    async def scenario(fake: FakeTelegramAPI, rasa: ScriptedRasa) -> None:
        ana = TelegramChat(fake, rasa)
        [question] = await ana.turn(lambda: fake.user_sends(ana.id, "livrez-moi"), ASK_ADDRESS)
        assert question.text == "À quelle adresse livrer ?"
        assert keyboard_of(question) == [
            [{"text": "📍 Partager ma position", "request_location": True}],
            [{"text": "📞 Partager mon numéro", "request_contact": True}],
        ]
        assert question.reply_markup["one_time_keyboard"] and question.reply_markup["resize_keyboard"]  # type: ignore[index]

        confirm = [{"text": "Vous êtes bien à Rue de Carouge 50, 1205 Genève ?"}]
        tap = partial(fake.user_taps, ana.id, "📍 Partager ma position", latitude=46.19831234567, longitude=6.1423)
        [answer] = await ana.turn(tap, confirm)
        sender, text, metadata = rasa.turns[-1]
        assert (sender, text) == (
            f"telegram:{ana.id}",
            '/share_location{"latitude": "46.198312", "longitude": "6.1423"}',
        )
        assert metadata["channel"] == "telegram" and metadata["language"] == "fr"
        assert answer.text == "Vous êtes bien à Rue de Carouge 50, 1205 Genève ?"
        assert answer.reply_markup == {"remove_keyboard": True}, "the next answer without an offer takes it away"
        assert fake.reply_keyboard(ana.id) is None

        [later] = await ana.turn(lambda: fake.user_sends(ana.id, "oui"), [{"text": "Noté."}])
        assert later.reply_markup is None, "removed once, not on every message"

    asyncio.run(telegram_scenario(scenario))


def test_only_the_persons_own_phone_number_is_taken() -> None:
    async def scenario(fake: FakeTelegramAPI, rasa: ScriptedRasa) -> None:
        jonas = TelegramChat(fake, rasa, language="de")
        ask_phone = [{"text": "Ihre Telefonnummer für den Kurier?"}, {"custom": {"share": ["contact"]}}]
        [question] = await jonas.turn(lambda: fake.user_sends(jonas.id, "Lieferung", language_code="de"), ask_phone)
        assert keyboard_of(question) == [[{"text": "📞 Meine Telefonnummer teilen", "request_contact": True}]]
        turns = len(rasa.turns)

        someone_else = partial(fake.user_shares_contact, jonas.id, "+41 79 765 43 21", contact_user_id=jonas.id + 1)
        [refusal] = await jonas.turn(someone_else)
        assert refusal.text == translate("share.contact_not_yours", "de")
        assert refusal.text.startswith("Ich nehme nur Ihre eigene Nummer")
        not_on_telegram = partial(fake.user_shares_contact, jonas.id, "+41 22 123 45 67")
        [refusal] = await jonas.turn(not_on_telegram)
        assert refusal.text == translate("share.contact_not_yours", "de")
        assert len(rasa.turns) == turns, "nothing of another person's card goes to Rasa"
        assert keyboard_of(refusal) == keyboard_of(question), "the sentence points to the button: it is there"

        own = partial(fake.user_taps, jonas.id, "📞 Meine Telefonnummer teilen", phone_number="41791234567")
        await jonas.turn(own, [{"text": "Danke!"}])
        assert rasa.texts()[turns:] == ['/share_contact{"phone": "+41791234567"}']
        assert fake.reply_keyboard(jonas.id) is None

    asyncio.run(telegram_scenario(scenario))


def test_a_question_with_buttons_keeps_them_and_the_keyboard_comes_with_a_short_prompt() -> None:
    async def scenario(fake: FakeTelegramAPI, rasa: ScriptedRasa) -> None:
        lea = TelegramChat(fake, rasa, language="it")
        again = [
            {"text": "Consegna in Rue de Carouge 50 come l'ultima volta?",
             "buttons": [{"title": "Sì", "payload": "/affirm"}]},
            {"custom": {"share": ["location"]}},
        ]  # fmt: skip
        question, prompt = await lea.turn(
            lambda: fake.user_sends(lea.id, "ordino", language_code="it"), again, replies=2
        )
        assert question.buttons == [("Sì", "/affirm")]
        assert prompt.text == "Oppure usi il pulsante in fondo allo schermo 👇"
        assert keyboard_of(prompt) == [[{"text": "📍 Condividi la mia posizione", "request_location": True}]]

        slots = [{"text": "Quale fascia oraria?", "buttons": [{"title": "Lunedì 17-19", "payload": "/slot"}]}]
        [asked] = await lea.turn(lambda: fake.user_presses(lea.id, question.message_id, "/affirm"), slots)
        assert asked.buttons == [("Lunedì 17-19", "/slot")]
        assert fake.reply_keyboard(lea.id) is not None, "one keyboard per message: the inline one goes first"
        [done] = await lea.turn(lambda: fake.user_presses(lea.id, asked.message_id, "/slot"), [{"text": "Perfetto."}])
        assert done.reply_markup == {"remove_keyboard": True} and fake.reply_keyboard(lea.id) is None
        assert rasa.texts()[-2:] == ["/affirm", "/slot"]

    asyncio.run(telegram_scenario(scenario))


def test_a_live_location_counts_once_and_an_impossible_one_gets_a_sentence() -> None:
    async def scenario(fake: FakeTelegramAPI, rasa: ScriptedRasa) -> None:
        ana = TelegramChat(fake, rasa, language="en")
        await ana.turn(lambda: fake.user_shares_location(ana.id, 46.2, 6.15, live_period=900), [{"text": "Got it."}])
        assert rasa.texts() == ['/share_location{"latitude": "46.2", "longitude": "6.15"}']
        fake.user_moves(ana.id, 46.21, 6.16)  # an edited_message: ignored, and not answered
        [impossible] = await ana.turn(lambda: fake.user_shares_location(ana.id, 123.0, 6.15))  # a modified client
        assert impossible.text == translate("share.location_invalid", "en")
        assert keyboard_of(impossible) == [[{"text": "📍 Share my location", "request_location": True}]]
        [typed] = await ana.turn(lambda: fake.user_sends(ana.id, "Rue de Carouge 50", language_code="en"))
        assert typed.reply_markup == {"remove_keyboard": True}
        assert rasa.texts() == ['/share_location{"latitude": "46.2", "longitude": "6.15"}', "Rue de Carouge 50"]
        assert translate("bot.text_only", "en") not in [m.text for m in fake.messages_to(ana.id)]
        assert typed.text == "D'accord."

    asyncio.run(telegram_scenario(scenario))


def test_a_share_offer_with_no_question_before_it_still_shows_its_keyboard() -> None:
    async def scenario(fake: FakeTelegramAPI, rasa: ScriptedRasa) -> None:
        ana = TelegramChat(fake, rasa)
        [offer] = await ana.turn(lambda: fake.user_sends(ana.id, "mon numéro"), [{"custom": {"share": ["contact"]}}])
        assert offer.text == translate("share.prompt", "fr") and keyboard_of(offer)

    asyncio.run(telegram_scenario(scenario))


# --- Matrix ---------------------------------------------------------------------------------------------

ROOM = "!claire:test"


class StubNio:
    """What MatrixChannel uses of nio's AsyncClient here: its rooms and room_send, recorded."""

    def __init__(self) -> None:
        self.user_id = "@marche:test"
        self.rooms: dict[str, Any] = {}
        self.sent: list[dict[str, Any]] = []

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any], tx_id: str):  # type: ignore[no-untyped-def]
        assert message_type == "m.room.message" and tx_id
        self.sent.append(content)
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)


def matrix(app: App, rasa: ScriptedRasa, people: People | None = None) -> MatrixChannel:
    router = Router(rasa, people or People(), "matrix")  # type: ignore[arg-type]
    channel = MatrixChannel("http://matrix.test", "@marche:test", router, app.db, access_token="t")
    channel.client = StubNio()  # type: ignore[assignment]
    return channel


def claire_sends(channel: MatrixChannel, content: dict[str, Any], event: int) -> list[str]:
    """An event of Claire's in the room, parsed by nio as a sync would; the bodies the bot sent back."""
    parsed = Event.parse_event({"type": "m.room.message", "sender": "@claire:test", "event_id": f"$c{event}",
                                "origin_server_ts": 1, "content": content})  # fmt: skip
    stub: StubNio = channel.client  # type: ignore[assignment]
    seen = len(stub.sent)
    asyncio.run(channel._on_room_events(ROOM, [parsed]))
    return [sent["body"] for sent in stub.sent[seen:]]


def test_a_matrix_location_reaches_rasa_as_the_same_payload(app: App) -> None:
    rasa = ScriptedRasa()
    channel = matrix(app, rasa)
    rasa.answers.append([{"text": "Vous êtes bien à Rue de Carouge 50 ?"}])
    location = {"msgtype": "m.location", "body": "Position", "geo_uri": "geo:46.19831234567,6.1423;u=35"}
    assert claire_sends(channel, location, 1) == ["Vous êtes bien à Rue de Carouge 50 ?"]
    assert rasa.turns[-1][:2] == (
        "matrix:@claire:test",
        '/share_location{"latitude": "46.198312", "longitude": "6.1423"}',
    )
    assert rasa.turns[-1][2]["channel"] == "matrix"

    newer = {"msgtype": "m.location", "body": "Position", "m.location": {"uri": "geo:46.2,6.15"}}
    claire_sends(channel, newer, 2)
    assert rasa.texts()[-1] == '/share_location{"latitude": "46.2", "longitude": "6.15"}'


@pytest.mark.parametrize(
    "content",
    [
        {"msgtype": "m.location", "body": "ici", "geo_uri": "geo:46.2;6.15"},
        {"msgtype": "m.location", "body": "ici", "geo_uri": "geo:246.2,6.15"},
        {"msgtype": "m.location", "body": "ici", "geo_uri": 'geo:46.2,6.15?q=", "phone": "+41'},
        {"msgtype": "m.location", "body": "ici"},
    ],
)
def test_a_malformed_matrix_location_gets_a_sentence_in_the_persons_language(app: App, content: dict[str, Any]) -> None:
    rasa = ScriptedRasa()
    channel = matrix(app, rasa, People({"matrix:@claire:test": "de"}))
    assert claire_sends(channel, content, 1) == [translate("share.location_invalid", "de")]
    assert rasa.turns == []


def test_a_matrix_question_that_offers_a_location_says_it_can_be_sent(app: App) -> None:
    rasa = ScriptedRasa()
    channel = matrix(app, rasa, People({"matrix:@claire:test": "en"}))
    rasa.answers.append([{"text": "Which address?", "buttons": [{"title": "Pickup", "payload": "/pickup"}]},
                         {"custom": {"share": ["location", "contact"]}}])  # fmt: skip
    [body] = claire_sends(channel, {"msgtype": "m.text", "body": "deliver please"}, 1)
    assert body == f"Which address?\n1. Pickup\n{translate('share.location_hint', 'en')}"
    assert claire_sends(channel, {"msgtype": "m.text", "body": "1"}, 2) == ["D'accord."]
    assert rasa.texts() == ["deliver please", "/pickup"], "the list still answers its numbers"
