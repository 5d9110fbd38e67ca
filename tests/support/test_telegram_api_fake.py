"""The fake Bot API behaves like Telegram for what python-telegram-bot sends it (checked with PTB itself).

No Rasa, no network: these run in the core pass. Where Telegram's behaviour depends on time (flood limits,
long polls) the fake runs on a clock that only the test moves, so a slow machine cannot change an outcome.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.clock import ManualClock
from tests.support.telegram_api import ApiError, FakeTelegramAPI, parse_html

USER = 42
WAIT = 60.0  # seconds: a generous bound on waits for something that normally takes milliseconds


@pytest.fixture(autouse=True)
def retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the bot sets it (bot.telegram_bot): PTB gives RetryAfter.retry_after as a timedelta."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"button {d}", callback_data=d)] for d in data])


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def with_bot(fake: FakeTelegramAPI, scenario: Callable[[Bot], Awaitable[None]]) -> None:
    async def run() -> None:
        async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
            await scenario(bot)

    asyncio.run(run())


def ptb(description: str) -> re.Pattern[str]:
    """A Telegram description as PTB shows it: it drops "Bad Request: " and capitalize()s the rest."""
    return re.compile(re.escape(description), re.IGNORECASE)


def seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait (without blocking the event loop) until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"still not true after {timeout} s"
        await asyncio.sleep(0.01)


def post(fake: FakeTelegramAPI, method: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{fake.base_url}{fake.token}/{method}", body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI(clock=clock) as fake:
        fake.user_sends(USER, "hello")  # a bot may only write to people who wrote first
        yield fake
        assert fake.internal_errors == []


def test_get_me_wrong_tokens_and_unknown_methods(fake: FakeTelegramAPI) -> None:
    async def scenario(bot: Bot) -> None:
        me = await bot.get_me()
        assert me.is_bot and me.username == "marche_test_bot"
        other = Bot("999:WRONG", base_url=fake.base_url)
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await other.initialize()  # PTB's initialize() is a getMe
        await other.shutdown()

    with_bot(fake, scenario)
    assert post(fake, "frobnicate", b"", "application/json") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert post(fake, "GETME", b"", "application/json")[1]["result"]["id"] == 123456  # case-insensitive methods


def test_a_message_with_an_inline_keyboard_and_html(fake: FakeTelegramAPI) -> None:
    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "<b>Miel</b> &amp; co", parse_mode="HTML", reply_markup=keyboard("buy"))
        assert sent.text == "Miel & co" and sent.entities[0].type == "bold"
        assert sent.chat.type == "private" and sent.chat.id == USER and sent.from_user.is_bot
        assert sent.reply_markup.inline_keyboard[0][0].callback_data == "buy"
        second = await bot.send_message(USER, "  trimmed  ")
        assert second.message_id > sent.message_id and second.text == "trimmed"

    with_bot(fake, scenario)
    first = fake.messages_to(USER)[0]
    assert (first.kind, first.text, first.raw_text, first.parse_mode) == (
        "text",
        "Miel & co",
        "<b>Miel</b> &amp; co",
        "HTML",
    )
    assert first.reply_markup == {"inline_keyboard": [[{"text": "button buy", "callback_data": "buy"}]]}
    assert first.buttons == [("button buy", "buy")]
    assert first.message_id == 2, "message ids are per chat, shared with the person's messages"


def test_bad_requests_use_telegrams_descriptions() -> None:
    async def scenario(bot: Bot) -> None:
        refused = {
            'can\'t parse entities: Unsupported start tag "" at byte offset 2': ("1 < 2", "HTML"),
            'can\'t parse entities: Unsupported start tag "script"': ("<script>", "HTML"),
            "can't parse entities: Can't find end tag corresponding to start tag \"b\"": ("<b>bold", "HTML"),
            'Unescaped "&"': ("fish & chips", "HTML"),  # strict_html: Telegram itself would show it as typed
            "message text is empty": (" ", None),
            "message is too long": ("x" * 4097, None),
            "unsupported parse_mode": ("x", "Plain"),
        }
        for description, (text, parse_mode) in refused.items():
            with pytest.raises(BadRequest, match=ptb(description)):
                await bot.send_message(USER, text, parse_mode=parse_mode)
        await bot.send_message(USER, "x" * 4096)
        with pytest.raises(BadRequest, match=ptb("BUTTON_DATA_INVALID")):
            await bot.send_message(USER, "x", reply_markup=keyboard("é" * 33))  # 66 bytes
        await bot.send_message(USER, "x", reply_markup=keyboard("é" * 32))  # 64 bytes: fine
        with pytest.raises(BadRequest, match=ptb("chat not found")):
            await bot.send_message(999, "x")
        with pytest.raises(BadRequest, match=ptb("message caption is too long")):
            await bot.send_photo(USER, png(2, 2), caption="x" * 1025)
        with pytest.raises(
            BadRequest, match=ptb("query is too old and response timeout expired or query ID is invalid")
        ):
            await bot.answer_callback_query("123")

    with FakeTelegramAPI(flood_limits=False) as fake:
        fake.user_sends(USER, "hello")
        with_bot(fake, scenario)
        assert [m.text for m in fake.messages_to(USER)] == ["x" * 4096, "x"]


def test_html_parsing_follows_telegram() -> None:
    text, entities = parse_html('<b>a <i>b</i></b> <a href="https://x.ch/?a=1&amp;b=2">lien</a> &lt;3 &#x27;é&#39;')
    assert text == "a b lien <3 'é'"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 4, "url": "https://x.ch/?a=1&b=2"},
    ]
    assert parse_html("😀<u>x</u>")[1] == [{"type": "underline", "offset": 2, "length": 1}], "UTF-16 offsets"
    assert parse_html('<pre><code class="language-py">x</code></pre>')[1] == [
        {"type": "pre", "offset": 0, "length": 1, "language": "py"}
    ]
    assert parse_html("<span class=tg-spoiler>s</span><tg-spoiler>t</>")[0] == "st"
    assert parse_html("fish & chips > 3", strict=False)[0] == "fish & chips > 3", "Telegram itself lets it pass"
    for bad in ("<b>x</i>", "<span>x</span>", "<b", "x</b>", "a > b"):
        with pytest.raises(ApiError, match="can't parse entities"):
            parse_html(bad)


def test_the_per_chat_flood_limit_gives_retry_after(fake: FakeTelegramAPI) -> None:
    fake.user_sends(USER + 1, "hello")

    async def scenario(bot: Bot) -> None:
        for n in range(3):
            await bot.send_message(USER, f"burst {n}")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(USER, "over the burst of 3")
        assert seconds(refused.value.retry_after) == 1, "0.9 s to wait (a tenth of slack), rounded up"
        await bot.send_message(USER + 1, "another chat has its own budget")

    with_bot(fake, scenario)
    assert fake.flood_errors == 1
    assert [m.text for m in fake.messages_to(USER)] == ["burst 0", "burst 1", "burst 2"]


def test_the_flood_budget_refills_and_can_be_switched_off(clock: ManualClock) -> None:
    async def scenario(bot: Bot) -> None:
        for _ in range(3):
            await bot.send_message(USER, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(USER, "x")
        clock.advance(0.2)  # 4 per second here: 0.8 of a message
        with pytest.raises(RetryAfter):
            await bot.send_message(USER, "x")
        clock.advance(0.05)
        await bot.send_message(USER, "refilled")

    with FakeTelegramAPI(per_chat_per_second=4, clock=clock) as fake:
        fake.user_sends(USER, "hello")
        with_bot(fake, scenario)
        assert [m.text for m in fake.messages_to(USER)] == ["x", "x", "x", "refilled"] and fake.flood_errors == 2

    async def unlimited(bot: Bot) -> None:
        for _ in range(10):
            await bot.send_message(USER, "x")

    with FakeTelegramAPI(flood_limits=False) as fake:
        fake.user_sends(USER, "hello")
        with_bot(fake, unlimited)
        assert len(fake.messages_to(USER)) == 10 and fake.flood_errors == 0


def test_a_polling_application_gets_messages_commands_and_button_presses() -> None:
    seen: list[Any] = []

    async def on_start(_update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(("start", context.args))

    async def on_text(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.effective_message is not None
        seen.append((update.effective_message.text, update.effective_user.language_code))
        await update.effective_message.reply_text("pick", reply_markup=keyboard("go", "stay"))

    async def on_button(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("noted", show_alert=True)
        seen.append((query.data, query.message.text))
        await query.edit_message_text(f"picked {query.data}")

    async def scenario(fake: FakeTelegramAPI) -> None:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
        app.add_handler(CommandHandler("start", on_start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
        app.add_handler(CallbackQueryHandler(on_button))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0)  # type: ignore[union-attr]
            fake.user_sends(7, "/start p_123")
            fake.user_sends(7, "du miel", language_code="de")
            pick = await fake.wait_for_async(7, timeout=WAIT)
            query_id = fake.user_presses(7, pick.message_id, "go")
            edited = await fake.wait_for_async(7, timeout=WAIT)
            assert edited is pick and edited.text == "picked go" and len(edited.edits) == 1
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()
        assert fake.answered_callbacks == [{"callback_query_id": query_id, "text": "noted", "show_alert": True}]

    with FakeTelegramAPI() as fake:
        asyncio.run(scenario(fake))
        assert seen == [("start", ["p_123"]), ("du miel", "de"), ("go", "pick")]
        [message] = fake.messages_to(7)
        assert message.text == "picked go" and message.reply_markup is None, "an edit without a keyboard drops it"
        assert message.edits[0].text == "picked go" and message.versions[0].text == "pick"
        methods = [method for method, _ in fake.requests]
        assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
        assert fake.internal_errors == []


def test_edits(fake: FakeTelegramAPI) -> None:
    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard("a"))
        with pytest.raises(BadRequest, match=ptb("message is not modified: specified new message content")):
            await bot.edit_message_text("<strong>v1</strong>", USER, sent.message_id, parse_mode="HTML",
                                        reply_markup=keyboard("a"))  # fmt: skip
        edited = await bot.edit_message_text("v2", USER, sent.message_id, reply_markup=keyboard("a"))
        assert edited.text == "v2" and edited.edit_date is not None
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("b"))
        with pytest.raises(BadRequest, match=ptb("message to edit not found")):
            await bot.edit_message_text("x", USER, 999)

    with_bot(fake, scenario)
    [message] = fake.messages_to(USER)
    assert (message.text, message.buttons, len(message.edits)) == ("v2", [("button b", "b")], 2)
    assert fake.wait_for(USER) is message, "the latest version is what a wait sees"


def test_command_menus_per_language(fake: FakeTelegramAPI) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.set_my_commands([BotCommand("basket", "Mon panier")], language_code="fr")
        await bot.set_my_commands([BotCommand("basket", "Basket")])
        assert (await bot.get_my_commands(language_code="fr"))[0].description == "Mon panier"
        with pytest.raises(BadRequest, match=ptb("BOT_COMMAND_INVALID")):
            await bot.set_my_commands([BotCommand("Panier!", "x")])
        await bot.delete_my_commands(language_code="fr")

    with_bot(fake, scenario)
    assert fake.commands == {"": [{"command": "basket", "description": "Basket"}]}


def test_photos_and_documents(fake: FakeTelegramAPI) -> None:
    fake.flood_limits = False
    image = png(200, 100)

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_photo(USER, image, caption="<i>QR</i>", parse_mode="HTML")
        assert sent.caption == "QR" and (sent.photo[-1].width, sent.photo[-1].height) == (200, 100)
        assert sent.photo[0].width == 90, "a thumbnail first, as Telegram lists sizes"
        again = await bot.send_photo(USER, sent.photo[-1].file_id)
        assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
        await bot.send_photo(USER, "https://example.org/miel.jpg")
        with pytest.raises(BadRequest, match=ptb("IMAGE_PROCESS_FAILED")):
            await bot.send_photo(USER, b"not an image")
        with pytest.raises(BadRequest, match=ptb("wrong file identifier/HTTP URL specified")):
            await bot.send_photo(USER, "no-such-file-id")
        document = await bot.send_document(USER, b"%PDF-1.4", filename="facture.pdf", caption="Facture")
        assert (document.document.file_name, document.document.mime_type) == ("facture.pdf", "application/pdf")
        file = await bot.get_file(document.document.file_id)
        assert await file.download_as_bytearray() == b"%PDF-1.4"

    with_bot(fake, scenario)
    photo, again, by_url, document = fake.messages_to(USER)
    assert (photo.kind, photo.caption, photo.file) == ("photo", "QR", image)
    assert again.file == photo.file_id and by_url.file == "https://example.org/miel.jpg"
    assert (document.kind, document.text, document.file) == ("document", "Facture", b"%PDF-1.4")


def test_locations_sent_by_the_bot(fake: FakeTelegramAPI) -> None:
    fake.flood_limits = False

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_location(USER, latitude=46.1983, longitude=6.1423, reply_markup=keyboard("go"))
        assert (sent.location.latitude, sent.location.longitude) == (46.1983, 6.1423)
        assert sent.text is None and sent.caption is None and sent.reply_markup == keyboard("go")
        live = await bot.send_location(USER, 46.2, 6.15, live_period=600, heading=90, horizontal_accuracy=20)
        assert (live.location.live_period, live.location.heading) == (timedelta(seconds=600), 90)
        assert live.location.horizontal_accuracy == 20
        with pytest.raises(BadRequest, match=ptb("wrong location specified")):
            await bot.send_location(USER, latitude=91, longitude=6.1)
        with pytest.raises(BadRequest, match=ptb("wrong live period specified")):
            await bot.send_location(USER, 46.2, 6.15, live_period=30)
        with pytest.raises(BadRequest, match=ptb("there is no text in the message to edit")):
            await bot.edit_message_text("no", chat_id=USER, message_id=sent.message_id)

    with_bot(fake, scenario)
    pin, live = fake.messages_to(USER)
    assert (pin.kind, pin.text, pin.caption, pin.location) == ("location", "", None, {"latitude": 46.1983,
                                                                                    "longitude": 6.1423})  # fmt: skip
    assert live.location == {"latitude": 46.2, "longitude": 6.15, "horizontal_accuracy": 20.0, "live_period": 600,
                             "heading": 90}  # fmt: skip
    form = f"chat_id={USER}&latitude=&longitude=6.1".encode()
    status, body = post(fake, "sendLocation", form, "application/x-www-form-urlencoded")
    assert (status, body["description"]) == (400, "Bad Request: latitude is empty")
    form = f"chat_id={USER}&latitude=46.2&longitude=6.15".encode()
    status, body = post(fake, "sendLocation", form, "application/x-www-form-urlencoded")
    assert body["result"]["location"] == {"latitude": 46.2, "longitude": 6.15}


def test_get_updates_confirms_long_polls_and_conflicts(fake: FakeTelegramAPI) -> None:
    async def scenario(bot: Bot) -> None:
        first, *rest = await bot.get_updates(timeout=0)
        assert first.message.text == "hello" and rest == []
        again = await bot.get_updates(offset=first.update_id + 1, timeout=0)
        assert again == (), "confirmed updates are never returned again"
        # The fake's clock stands still, so this poll can only end because an update arrives.
        polls = sum(method == "getUpdates" for method, _ in fake.requests)
        poll = asyncio.create_task(bot.get_updates(offset=first.update_id + 1, timeout=5, read_timeout=WAIT))
        await until(lambda: sum(method == "getUpdates" for method, _ in fake.requests) > polls)
        fake.user_sends(USER, "/help")
        [update] = await poll
        assert update.update_id > first.update_id and update.message.entities[0].type == "bot_command"
        await bot.set_webhook("https://example.org/hook")
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()

    with_bot(fake, scenario)


def test_what_people_do(fake: FakeTelegramAPI) -> None:
    fake.take_updates()
    fake.user_sends(USER, "😀 see /help@marche_test_bot", first_name="Léa")
    fake.user_sends(USER, "/start p_123")
    fake.user_blocks_bot(USER)
    sent, deep_link, blocked = fake.take_updates()
    message = sent["message"]
    assert message["from"] == {"id": USER, "is_bot": False, "first_name": "Léa", "language_code": "fr"}
    assert message["chat"] == {"id": USER, "type": "private", "first_name": "Léa"}
    assert message["entities"] == [{"type": "bot_command", "offset": 7, "length": 21}]
    assert deep_link["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert blocked["my_chat_member"]["new_chat_member"]["status"] == "kicked"

    async def scenario(bot: Bot) -> None:
        with pytest.raises(Forbidden, match=ptb("bot was blocked by the user")):
            await bot.send_message(USER, "x")

    with_bot(fake, scenario)
    with pytest.raises(AssertionError, match="no bot message 99"):
        fake.user_presses(USER, 99, "x")


def test_raw_http_bodies_json_form_and_multipart(fake: FakeTelegramAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Oui", "callback_data": "yes"}]]}
    as_json = json.dumps({"chat_id": USER, "text": "json", "reply_markup": markup}).encode()
    status, body = post(fake, "sendMessage", as_json, "application/json")
    assert status == 200 and body["result"]["reply_markup"] == markup and isinstance(body["result"]["date"], int)
    form = f"chat_id={USER}&text=form&reply_markup={json.dumps(markup)}".encode()
    assert post(fake, "sendMessage", form, "application/x-www-form-urlencoded")[1]["result"]["text"] == "form"
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n42\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="document"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\na;b\r\n1;2\r\n--XX--\r\n"
    )
    status, body = post(fake, "sendDocument", multipart, "multipart/form-data; boundary=XX")
    assert body["result"]["document"]["file_name"] == "a.csv" and fake.messages_to(USER)[-1].file == b"a;b\r\n1;2"
    status, body = post(fake, "sendMessage", form, "application/x-www-form-urlencoded")  # a 4th at once
    assert status == 429 and body["parameters"]["retry_after"] >= 1 and body["error_code"] == 429
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    assert [m.text for m in fake.messages_to(USER)] == ["json", "form", ""]


def test_injected_failures_and_waiting(fake: FakeTelegramAPI) -> None:
    fake.fail_next("sendMessage", 1, error_code=502)
    fake.fail_next("sendMessage", 1, error_code=429, retry_after=3)

    async def scenario(bot: Bot) -> None:
        with pytest.raises(NetworkError, match=ptb("Bad Gateway")):
            await bot.send_message(USER, "lost")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(USER, "lost")
        assert seconds(refused.value.retry_after) == 3
        await bot.send_message(USER, "one")
        await bot.send_message(USER, "two")

    with_bot(fake, scenario)
    assert fake.flood_errors == 1
    assert fake.wait_for(USER, lambda m: m.text == "two").text == "two"
    with pytest.raises(AssertionError, match="'one'"):
        fake.wait_for(USER, timeout=0)  # "one" was passed by the previous wait
    assert [m.text for m in fake.wait_for_count(USER, 2, timeout=0)] == ["one", "two"]


def test_reply_keyboards_and_what_people_share_with_them(fake: FakeTelegramAPI) -> None:
    share = ReplyKeyboardMarkup(
        [[KeyboardButton("where", request_location=True)], [KeyboardButton("number", request_contact=True)]],
        one_time_keyboard=True,
    )

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "Address?", reply_markup=share)
        assert sent.reply_markup is None, "Telegram echoes inline keyboards only"
        with pytest.raises(BadRequest, match=ptb("inline keyboard expected")):
            await bot.edit_message_text("Address, please?", USER, sent.message_id, reply_markup=share)  # type: ignore[arg-type]
        for broken in ({"keyboard": "where"}, {"keyboard": [[{"text": 1}]]}, {"remove_keyboard": False},
                       {"keyboard": [[{"text": "x", "request_location": True, "request_contact": True}]]}):  # fmt: skip
            with pytest.raises(BadRequest):
                await bot.send_message(USER, "x", reply_markup=broken)  # type: ignore[arg-type]

    with_bot(fake, scenario)
    assert fake.reply_keyboard(USER) == [
        {"text": "where", "request_location": True},
        {"text": "number", "request_contact": True},
    ]
    fake.take_updates()
    fake.user_taps(USER, "where", latitude=46.2, longitude=6.15)
    fake.user_taps(USER, "number", phone_number="41791234567")
    fake.user_shares_location(USER, 46.3, 6.2, live_period=600)
    fake.user_moves(USER, 46.31, 6.21)
    fake.user_shares_contact(USER, "+41 22 123 45 67", first_name="Léa", contact_user_id=77)
    tapped_location, tapped_contact, live, moved, card = fake.take_updates()
    assert tapped_location["message"]["location"] == {"latitude": 46.2, "longitude": 6.15}
    assert tapped_contact["message"]["contact"] == {"phone_number": "41791234567", "first_name": "Ana", "user_id": USER}
    assert live["message"]["location"]["live_period"] == 600
    assert moved["edited_message"]["message_id"] == live["message"]["message_id"]
    assert moved["edited_message"]["location"]["latitude"] == 46.31 and "edit_date" in moved["edited_message"]
    assert card["message"]["contact"] == {"phone_number": "+41 22 123 45 67", "first_name": "Léa", "user_id": 77}
    update = Update.de_json(moved, None)  # type: ignore[arg-type]
    assert update.edited_message is not None and update.edited_message.location.live_period == timedelta(seconds=600)  # type: ignore[union-attr]
    with pytest.raises(AssertionError, match="no keyboard button 'elsewhere'"):
        fake.user_taps(USER, "elsewhere")

    async def remove(bot: Bot) -> None:
        await bot.send_message(USER, "Thanks.", reply_markup=ReplyKeyboardRemove())

    with_bot(fake, remove)
    assert fake.reply_keyboard(USER) is None
