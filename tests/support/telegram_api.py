"""A local fake of Telegram's Bot API, faithful enough to drive the real python-telegram-bot against it.

    with FakeTelegramAPI() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        ...  # start the app, then:
        fake.user_sends(42, "/start")
        reply = fake.wait_for(42)

What it speaks, as Telegram does:
- HTTP: GET or POST `/bot<token>/<method>` (method names case-insensitive) with a query string, a JSON body,
  a form-urlencoded body or multipart/form-data (PTB's way when it uploads a file: every parameter a part, the
  file a part with a filename; non-string values JSON-encoded). Answers `{"ok": true, "result": ...}` or
  `{"ok": false, "error_code": N, "description": ...}` (+ `parameters.retry_after` on 429). Files the bot
  uploaded can be fetched back by getFile and `GET /file/bot<token>/<file_path>`.
- Objects: User, Chat (private chats only: chat id == user id), Message (message ids increase per chat and
  are shared by the person's and the bot's messages), PhotoSize, Document, CallbackQuery, Update, BotCommand,
  Location (live ones move by `edited_message`; the bot sends one with sendLocation), Contact.
- Keyboards: inline keyboards checked as Telegram does; a reply keyboard (`keyboard` of KeyboardButtons, at
  most one `request_*` field each) stays with the person until a message removes it (`remove_keyboard`) or
  brings another; edits take inline keyboards only ("inline keyboard expected"), and the Message the bot gets
  back echoes inline keyboards only, as Telegram does.
- Text: leading/trailing whitespace trimmed; HTML parse mode parsed into entities with Telegram's own parser
  rules and error texts ("can't parse entities: Unsupported start tag "x" at byte offset 3", ...). One
  deliberate difference: by default (`strict_html=True`) a bare `&` or `>` is refused too. Telegram shows those
  as typed, but its documentation requires `&amp;`/`&gt;`, and a bare `&` usually means text was not escaped
  (the next product called "&lt;3" would then be mangled). `strict_html=False` gives Telegram's leniency.
  Markdown parse modes are accepted but not parsed.
- Flood limits (`flood_limits=True`): per private chat, a token bucket of `per_chat_burst` (3) messages
  refilled at `per_chat_per_second` (1/s) — a burst of 3, then one per second; overall, `global_per_second`
  (30/s, bursts of as many). Sends and edits count, once they are otherwise valid. A request arriving up to
  a tenth of the interval early (FLOOD_SLACK; 100 ms at 1/s) is let through: network jitter would otherwise
  turn a client that keeps exactly to the limit into a flaky 429.
  Over the limit: 429 "Too Many Requests: retry after N" with `parameters.retry_after` N (an integer >= 1).
- Time: flood limits, long-poll timeouts and `sent_at` read `clock` (default time.monotonic). A test that
  checks them passes a clock it moves itself (tests.support.clock.ManualClock), so that the outcome never
  depends on how fast a loaded machine runs; with a clock that stands still, a long poll ends only when an
  update arrives.

Test side (thread-safe; blocking waits have `*_async` twins for code running in an event loop):
user_sends, user_presses, user_taps (a reply keyboard button: request_location / request_contact share the
person's own location or number), user_shares_location, user_moves (a live location), user_shares_contact
(any contact card), user_blocks_bot, push_update, messages_to, reply_keyboard, wait_for, wait_for_count,
fail_next, and the records `requests`, `answered_callbacks`, `commands`, `flood_errors`, `internal_errors`.
A SentMessage's `text` is what the person sees (HTML parsed, trimmed); `raw_text` is what the bot sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import itertools
import json
import math
import mimetypes
import re
import socket
import struct
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

BOT_ID = 123456
BOT_USER = {
    "id": BOT_ID, "is_bot": True, "first_name": "Marché", "username": "marche_test_bot",
    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False,
}  # fmt: skip
FLOOD_SLACK = 0.1  # of a token: a request may arrive a tenth of the interval early
TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_DATA_LIMIT = 4096, 1024, 64

# Form and multipart values are all strings; Telegram reads each parameter as its declared type.
JSON_PARAMS = {
    "reply_markup", "commands", "scope", "entities", "caption_entities", "allowed_updates",
    "link_preview_options", "reply_parameters", "media",
}  # fmt: skip
INT_PARAMS = {
    "offset", "limit", "message_id", "cache_time", "reply_to_message_id", "max_connections", "live_period", "heading",
    "proximity_alert_radius",
}  # fmt: skip
FLOAT_PARAMS = {"timeout", "latitude", "longitude", "horizontal_accuracy"}
LIVE_FOREVER = 0x7FFFFFFF  # sendLocation's live_period for a live location edited without end
BOOL_PARAMS = {
    "show_alert", "disable_notification", "protect_content", "disable_web_page_preview", "drop_pending_updates",
    "allow_sending_without_reply", "has_spoiler", "disable_content_type_detection", "show_caption_above_media",
}  # fmt: skip
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document",
    "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
BOT_COMMAND = re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/])")

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
OTHER_GETUPDATES = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user", 404: "Not Found",
    409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
}  # fmt: skip


class ApiError(Exception):
    """A Bot API refusal: becomes `{"ok": false, "error_code": code, "description": ...}`."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def too_many_requests(seconds: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


# --- text: Telegram's HTML parse mode -------------------------------------------------------------

HTML_TAGS = {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "tg-spoiler",
             "tg-emoji", "span", "blockquote"}  # fmt: skip
ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
    "a": "text_link",
}  # fmt: skip
CHAR_REF = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|(lt|gt|amp|quot));")
NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def char_ref(text: str, at: int) -> tuple[str, int] | None:
    """The character an HTML entity at `at` stands for and where it ends (Telegram knows 4 names + numbers)."""
    match = CHAR_REF.match(text, at)
    if not match:
        return None
    if match[3]:
        return NAMED_REFS[match[3]], match.end()
    code = int(match[1]) if match[1] else int(match[2], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str | None
    offset: int  # UTF-16 offset of the tag's content in the parsed text


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the text shown and its entities, or Telegram's 400 for bad markup.

    Follows tdlib's parser (td/telegram/MessageEntity.cpp, parse_html): its error texts, `</>` closing the
    innermost tag, unquoted attribute values, unknown attributes ignored. See the module docstring on `strict`.
    """

    def fail(message: str) -> ApiError:
        return bad_request(f"can't parse entities: {message}")

    def byte(at: int) -> int:
        return len(source[:at].encode())

    out: list[str] = []
    position = 0  # UTF-16 length of the text so far
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "&":
            ref = char_ref(source, i)
            if ref:
                out.append(ref[0])
                position += utf16_len(ref[0])
                i = ref[1]
                continue
            if strict:
                raise fail(f'Unescaped "&" at byte offset {byte(i)}; use &amp;')
        elif char == ">" and strict:
            raise fail(f'Unescaped ">" at byte offset {byte(i)}; use &gt;')
        if char != "<":
            out.append(char)
            position += utf16_len(char)
            i += 1
            continue

        begin = i
        i += 1
        if i < n and source[i] == "/":  # an end tag
            i += 1
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte(begin)}")
            start = i
            while i < n and not source[i].isspace() and source[i] != ">":
                i += 1
            name = source[start:i].lower()
            while i < n and source[i].isspace():
                i += 1
            if i >= n or source[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {byte(begin)}")
            i += 1
            tag = stack.pop()
            if name and name != tag.name:
                raise fail(
                    f'Unmatched end tag at byte offset {byte(begin)}, expected "</{tag.name}>", found "</{name}>"'
                )
            if position > tag.offset:
                _add_entity(entities, tag, position - tag.offset, "".join(out))
            continue

        start = i  # a start tag
        while i < n and not source[i].isspace() and source[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte(begin)}")
        name = source[start:i].lower()
        if name not in HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte(begin)}')
        argument = None
        while True:  # attributes, up to the closing ">"
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise fail(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
            if source[i] == ">":
                i += 1
                break
            attribute_start = i
            while i < n and not source[i].isspace() and source[i] not in "=>/\"'":
                i += 1
            attribute = source[attribute_start:i].lower()
            if not attribute:
                raise fail(f'Empty attribute name in the tag "{name}" at byte offset {byte(begin)}')
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise fail(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
            if source[i] != "=":  # an attribute without a value
                if name == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                continue
            i += 1
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise fail(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
            if source[i] in "\"'":
                quote, value_chars = source[i], []
                i += 1
                while i < n and source[i] != quote:
                    ref = char_ref(source, i) if source[i] == "&" else None
                    if ref:
                        value_chars.append(ref[0])
                        i = ref[1]
                    else:
                        value_chars.append(source[i])
                        i += 1
                if i >= n:
                    raise fail(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
                i += 1
                value = "".join(value_chars)
            else:  # an unquoted name token
                token_start = i
                while i < n and ((source[i].isascii() and source[i].isalnum()) or source[i] in ".-"):
                    i += 1
                value = source[token_start:i].lower()
                if i >= n:
                    raise fail(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
                if not source[i].isspace() and source[i] != ">":
                    raise fail(f"Unexpected end of name token at byte offset {byte(i)}")
            if name == "a" and attribute == "href":
                argument = value
            elif name == "code" and attribute == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif name == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif name == "tg-emoji" and attribute == "emoji-id":
                argument = value
        if name == "span" and argument != "spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte(begin)}')
        stack.append(_OpenTag(name, argument, position))
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _add_entity(entities: list[dict[str, Any]], tag: _OpenTag, length: int, text: str) -> None:
    entity: dict[str, Any] = {"type": ENTITY_TYPES[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "blockquote" and tag.argument:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "code" and tag.argument:
        entity["language"] = tag.argument
    elif tag.name == "tg-emoji":
        if not (tag.argument or "").isdigit():
            raise bad_request("can't parse entities: Invalid custom emoji identifier specified")
        entity["custom_emoji_id"] = tag.argument
    elif tag.name == "a":
        url = tag.argument or text.encode("utf-16-le")[2 * tag.offset :].decode("utf-16-le")
        if not url.strip():
            return  # Telegram drops a link it cannot use, silently
        entity["url"] = url if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) else f"http://{url}"
    elif tag.name == "pre" and entities and entities[-1]["type"] == "code":
        inner = entities[-1]  # <pre><code class="language-x">: one pre entity with its language
        if (inner["offset"], inner["length"]) == (tag.offset, length):
            inner["type"] = "pre"
            return
    entities.append(entity)


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram drops leading and trailing whitespace, and clips the entities to what is left."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    clipped = []
    for entity in entities:
        start, stop = max(0, entity["offset"] - shift), min(end, entity["offset"] + entity["length"] - shift)
        if stop > start:
            clipped.append({**entity, "offset": start, "length": stop - start})
    return stripped, clipped


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities Telegram's clients send along with a person's message."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in BOT_COMMAND.finditer(text)
    ]


# --- files -----------------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    file_name: str
    mime_type: str


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes | None  # None for a file Telegram would have fetched from a URL
    file_name: str
    mime_type: str
    file_path: str  # for getFile and downloads, e.g. "photos/file_3.png"
    width: int = 0
    height: int = 0


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image; None if it is none of those."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


# --- what the bot sent -----------------------------------------------------------------------------


@dataclass
class Version:
    """A bot message's content: as sent, then after each edit."""

    text: str  # as shown to the person: HTML parsed, whitespace trimmed (the caption for photos and documents)
    raw_text: str  # as the bot sent it
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    params: dict[str, Any]  # the request's parameters
    date: int = field(default_factory=lambda: int(time.time()))
    at: float = field(default_factory=time.monotonic)  # the fake's clock


@dataclass(repr=False)
class SentMessage:
    """A bot message in a chat; `text`, `reply_markup`... are its latest version's."""

    message_id: int
    chat_id: int
    kind: str  # "text", "photo", "document" or "location"
    versions: list[Version]
    file: bytes | str | None = None  # the uploaded bytes, or the file_id / URL the bot sent
    stored_file: StoredFile | None = None
    location: dict[str, Any] | None = None  # a location message's Location object, as Telegram returns it
    deleted: bool = False

    @property
    def text(self) -> str:
        return self.versions[-1].text

    @property
    def caption(self) -> str | None:
        return None if self.kind in ("text", "location") else self.text

    @property
    def raw_text(self) -> str:
        return self.versions[-1].raw_text

    @property
    def parse_mode(self) -> str | None:
        return self.versions[-1].parse_mode

    @property
    def entities(self) -> list[dict[str, Any]]:
        return self.versions[-1].entities

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.versions[-1].reply_markup

    @property
    def edits(self) -> list[Version]:
        """The message's content after each edit, oldest first (empty when never edited)."""
        return self.versions[1:]

    @property
    def sent_at(self) -> float:
        """The fake's clock (time.monotonic() unless a test gave another) when Telegram took the message."""
        return self.versions[0].at

    @property
    def file_id(self) -> str | None:
        return self.stored_file.file_id if self.stored_file else None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard as (text, callback_data or url) pairs, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data") or b.get("url") or "") for row in rows for b in row]

    def __repr__(self) -> str:
        edited = f", {len(self.edits)} edits" if self.edits else ""
        return f"<{self.kind} #{self.message_id} to {self.chat_id}: {self.text!r}, buttons {self.buttons}{edited}>"


class TokenBucket:
    """Up to `capacity` requests at once, refilled at `rate` per second of `clock`."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.rate, self.clock = capacity, rate, clock
        self.tokens, self.stamp = capacity, clock()

    def wait(self) -> float:
        """0 if a request may go now, else the seconds until one may."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        missing = 1 - FLOOD_SLACK - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class _Chat:
    user: dict[str, Any]
    next_message_id: int = 1
    blocked: bool = False
    sent: list[SentMessage] = field(default_factory=list)
    # Sends and edits in order, as (message, version index): what wait_for walks through.
    events: list[tuple[SentMessage, int]] = field(default_factory=list)
    waited: int = 0  # events before this index were passed by an earlier wait_for
    received: set[int] = field(default_factory=set)  # ids of the person's messages
    keyboard: dict[str, Any] | None = None  # the reply keyboard the person has, as the bot last sent it
    live_location: dict[str, Any] | None = None  # the person's live location message, while it is shared

    def json(self) -> dict[str, Any]:
        chat = {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}
        chat.update({k: self.user[k] for k in ("last_name", "username") if k in self.user})
        return chat


# --- the fake ----------------------------------------------------------------------------------------


class FakeTelegramAPI:
    """The Bot API on 127.0.0.1 (a free port) for one bot, `token`; see the module docstring.

    start()/stop() or `with`; `base_url` and `base_file_url` go to ApplicationBuilder. Only private chats
    exist: a chat is known once its person wrote (user_sends), as a bot cannot write to anyone first.
    """

    def __init__(
        self,
        token: str = f"{BOT_ID}:TEST-TOKEN",
        *,
        flood_limits: bool = True,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        global_per_second: float = 30.0,
        strict_html: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.clock = clock
        self.flood_limits = flood_limits
        self.strict_html = strict_html
        self._per_chat = (per_chat_burst, per_chat_per_second)
        self._global_bucket = TokenBucket(global_per_second, global_per_second, clock)
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._lock = threading.Condition()
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(10_001)
        self._query_ids = itertools.count(4_400_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._poll_generation = 0  # a new getUpdates ends the one waiting, as on Telegram
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._failures: dict[str, list[ApiError]] = defaultdict(list)
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._allowed_updates: list[str] = []
        self._server: _Server | None = None
        self.webhook = ""  # the URL set by setWebhook
        self.webhook_secret = ""
        # Records for assertions:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.flood_errors = 0
        self.internal_errors: list[str] = []  # bugs in this fake (answered 500): tests may assert it is empty

    # --- server --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...): PTB appends the token and `/<method>`."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> FakeTelegramAPI:
        self._server = _Server(self)
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-telegram", daemon=True)
        serve.start()  # polling for shutdown every 50 ms: stop() is quick
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            self._lock.notify_all()  # long polls notice the server is gone
        server.shutdown()
        server.close_connections()  # kept-alive connections would otherwise go on being served
        server.server_close()

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, handler: _Handler) -> None:
        url = urlparse(handler.path)
        path = unquote(url.path)  # PTB quotes file download URLs, the token's ":" included
        status, body, content_type = 200, b"", "application/json"
        try:
            api = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
            download = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
            match = api or download
            if match is None:
                raise ApiError(404, "Not Found")
            if match[1] != self.token:
                raise ApiError(401, "Unauthorized")
            if download:
                body, content_type = self._download(match[2])
            else:
                method, params = match[2], read_params(handler, url.query)
                with self._lock:
                    self.requests.append((method, params))
                result = self._call(method, params)
                body = json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()
        except ApiError as error:
            status, body = error.code, json.dumps(error.body(), ensure_ascii=False).encode()
        except Exception as error:
            self.internal_errors.append(traceback.format_exc())
            status = 500
            body = json.dumps({"ok": False, "error_code": 500, "description": f"fake Bot API bug: {error!r}"}).encode()
        with contextlib.suppress(OSError):  # the client went away (a cancelled long poll, the fake stopping)
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        with self._lock:
            failures = self._failures.get(method.lower())
            if failures:
                error = failures.pop(0)
                if error.code == 429:
                    self.flood_errors += 1
                raise error
        handler = METHODS.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(self, params)

    # --- flood limits --------------------------------------------------------------------------

    def _flood_check(self, chat_id: int) -> None:
        """Count one message against the limits, or refuse it with 429. Call with the lock held."""
        if not self.flood_limits:
            return
        chat_bucket = self._chat_buckets.get(chat_id)
        if chat_bucket is None:
            chat_bucket = self._chat_buckets[chat_id] = TokenBucket(*self._per_chat, self.clock)
        wait = max(self._global_bucket.wait(), chat_bucket.wait())
        if wait:
            self.flood_errors += 1
            raise too_many_requests(max(1, math.ceil(wait)))
        self._global_bucket.take()
        chat_bucket.take()

    # --- parameters and content ----------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _content(self, params: dict[str, Any], key: str, limit: int) -> tuple[str, list[dict[str, Any]]]:
        """The text (or caption) as it will be shown, and its entities."""
        raw = str(params.get(key) or "")
        parse_mode = params.get("parse_mode") or None
        explicit = params.get("entities" if key == "text" else "caption_entities")
        if parse_mode is not None and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        if explicit is not None:
            text, entities = raw, list(explicit)
        elif parse_mode and parse_mode.lower() == "html":
            text, entities = parse_html(raw, strict=self.strict_html)
        else:
            text, entities = raw, []
        text, entities = trim(text, entities)
        if len(text) > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        return text, entities

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            if inline_only:
                raise bad_request("inline keyboard expected")
            return check_reply_keyboard(markup)
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
            if len(button) == 1:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
        return markup

    def _check_reply(self, chat: _Chat, params: dict[str, Any]) -> None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        allowed = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
        known = message_id in chat.received or any(m.message_id == message_id for m in chat.sent)
        if message_id and not known and not allowed:
            raise bad_request("message to be replied not found")

    def _file(self, params: dict[str, Any], kind: str) -> tuple[StoredFile, bytes | str]:
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            size = image_size(value.data) if kind == "photo" else (0, 0)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            if kind == "photo" and (sum(size) > 10_000 or max(size) > 20 * max(1, min(size))):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return self._new_file(kind, value.data, value.file_name, value.mime_type, size), value.data
        if value in self._files:
            return self._files[value], value
        if re.match(r"^https?://", value):  # Telegram would fetch it; here it stays a URL
            name = urlparse(value).path.rsplit("/", 1)[-1] or "file"
            mime = mimetypes.guess_type(name)[0] or ("image/jpeg" if kind == "photo" else "application/octet-stream")
            return self._new_file(kind, None, name, mime, (320, 320) if kind == "photo" else (0, 0)), value
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _new_file(self, kind: str, data: bytes | None, name: str, mime: str, size: tuple[int, int]) -> StoredFile:
        number = next(self._file_ids)
        path = f"{kind}s/file_{number}{mimetypes.guess_extension(mime) or ''}"
        stored = StoredFile(f"BQACAgQAAxkDAAI{number:06d}", f"AgAD{number:06d}", data, name, mime, path, *size)
        self._files[stored.file_id] = stored
        return stored

    # --- JSON objects --------------------------------------------------------------------------

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        version = message.versions[-1]
        result: dict[str, Any] = {
            "message_id": message.message_id, "from": BOT_USER, "chat": self._chats[message.chat_id].json(),
            "date": message.versions[0].date,
        }  # fmt: skip
        if message.edits:
            result["edit_date"] = version.date
        text_key, entities_key = ("text", "entities") if message.kind == "text" else ("caption", "caption_entities")
        if version.text:
            result[text_key] = version.text
        if version.entities:
            result[entities_key] = version.entities
        stored = message.stored_file
        if stored is not None:
            file = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if stored.data is not None:
                file["file_size"] = len(stored.data)
            if message.kind == "photo":
                result["photo"] = photo_sizes(stored)
            else:
                result["document"] = {**file, "file_name": stored.file_name, "mime_type": stored.mime_type}
        sent = message.versions[0].params
        if message.location is not None:
            result["location"] = message.location
        if reply_to := (sent.get("reply_parameters") or {}).get("message_id") or sent.get("reply_to_message_id"):
            result["reply_to_message"] = {"message_id": reply_to, "chat": result["chat"], "date": result["date"]}
        if version.reply_markup and "inline_keyboard" in version.reply_markup:  # other keyboards are not echoed
            result["reply_markup"] = version.reply_markup
        return result

    # --- Bot API methods (each gets the request's parameters; the result becomes "result"; see METHODS) ---

    def _get_me(self, _p: dict[str, Any]) -> Any:
        return BOT_USER

    def _log_out(self, _p: dict[str, Any]) -> Any:
        return True

    def _delete_webhook(self, p: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = self.webhook_secret = ""
            if p.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _set_webhook(self, p: dict[str, Any]) -> Any:
        url = str(p.get("url") or "")
        if url and not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self.webhook, self.webhook_secret = url, str(p.get("secret_token") or "")
            if p.get("allowed_updates") is not None:
                self._allowed_updates = list(p["allowed_updates"])
            if p.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, _p: dict[str, Any]) -> Any:
        with self._lock:
            info: dict[str, Any] = {"url": self.webhook, "has_custom_certificate": False,
                                    "pending_update_count": len(self._updates)}  # fmt: skip
            if self.webhook:
                info.update(max_connections=40, ip_address="127.0.0.1")
            return info

    def _get_updates(self, p: dict[str, Any]) -> Any:
        offset, limit = int(p.get("offset") or 0), min(100, max(1, int(p.get("limit") or 100)))
        deadline = self.clock() + max(0.0, float(p.get("timeout") or 0))
        with self._lock:
            if self.webhook:
                raise ApiError(409, WEBHOOK_ACTIVE)
            if p.get("allowed_updates") is not None:
                self._allowed_updates = list(p["allowed_updates"])
            if offset > 0:  # confirms every earlier update: they are never returned again
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:  # the last -offset updates; the earlier ones are forgotten
                self._updates = self._updates[offset:]
            self._poll_generation += 1
            generation = self._poll_generation
            self._lock.notify_all()
            while True:
                if self._poll_generation != generation:
                    raise ApiError(409, OTHER_GETUPDATES)
                allowed = self._allowed_updates  # unwanted kinds are dropped, never delivered
                self._updates = [u for u in self._updates if not allowed or update_kind(u) in allowed]
                remaining = deadline - self.clock()
                if self._updates or remaining <= 0 or self._server is None:
                    return self._updates[:limit]
                self._lock.wait(min(remaining, 1.0))

    def _send_message(self, p: dict[str, Any]) -> Any:
        text, entities = self._content(p, "text", TEXT_LIMIT)
        if not text:
            raise bad_request("message text is empty")
        return self._send(p, "text", text, entities, "text")

    def _send_photo(self, p: dict[str, Any]) -> Any:
        return self._send_file(p, "photo")

    def _send_document(self, p: dict[str, Any]) -> Any:
        return self._send_file(p, "document")

    def _send_file(self, p: dict[str, Any], kind: str) -> Any:
        caption, entities = self._content(p, "caption", CAPTION_LIMIT)
        return self._send(p, kind, caption, entities, "caption")

    def _send_location(self, p: dict[str, Any]) -> Any:
        """A point on the map (sendLocation): latitude and longitude in degrees, optionally `horizontal_accuracy`
        (0-1500 m) and, for a live location, `live_period` (60-86400 s, or LIVE_FOREVER), `heading` (1-360) and
        `proximity_alert_radius` (1-100000 m). The bot API server's own checks: an empty coordinate, then a
        position off the globe; the reply carries the Location as Telegram stores it."""
        for name in ("latitude", "longitude"):
            if p.get(name) in (None, ""):
                raise bad_request(f"{name} is empty")
        try:
            latitude, longitude = float(p["latitude"]), float(p["longitude"])
            accuracy = float(p.get("horizontal_accuracy") or 0)
        except (TypeError, ValueError) as error:
            raise bad_request("wrong location specified") from error
        if not (abs(latitude) <= 90 and abs(longitude) <= 180):  # NaN fails too
            raise bad_request("wrong location specified")
        live = int(p.get("live_period") or 0)
        if live and not (60 <= live <= 86400 or live == LIVE_FOREVER):
            raise bad_request("wrong live period specified")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if 0 < accuracy <= 1500:
            location["horizontal_accuracy"] = accuracy
        if live:
            location["live_period"] = live
            heading, radius = int(p.get("heading") or 0), int(p.get("proximity_alert_radius") or 0)
            if 1 <= heading <= 360:
                location["heading"] = heading
            if 1 <= radius <= 100000:
                location["proximity_alert_radius"] = radius
        return self._send(p, "location", "", [], "text", location)

    def _send(
        self,
        p: dict[str, Any],
        kind: str,
        text: str,
        entities: list[dict[str, Any]],
        key: str,
        location: dict[str, Any] | None = None,
    ) -> Any:
        markup = self._check_markup(p.get("reply_markup"))
        with self._lock:
            chat = self._chat(p)
            self._check_reply(chat, p)
            stored, sent_file = self._file(p, kind) if kind not in ("text", "location") else (None, None)
            self._flood_check(chat.user["id"])  # last: only messages Telegram would deliver count
            raw = str(p.get(key) or "")
            version = Version(text, raw, p.get("parse_mode") or None, entities, markup, p, at=self.clock())
            message = SentMessage(chat.next_message_id, chat.user["id"], kind, [version], sent_file, stored,
                                  location=location)  # fmt: skip
            chat.next_message_id += 1
            chat.sent.append(message)
            chat.events.append((message, 0))
            if markup and "keyboard" in markup:  # the person's keyboard until another replaces or removes it
                chat.keyboard = markup
            elif markup and markup.get("remove_keyboard"):
                chat.keyboard = None
            self._lock.notify_all()
            return self._message_json(message)

    def _edit(self, p: dict[str, Any], key: str | None) -> Any:
        """An edit of the text (key "text"), the caption ("caption") or only the keyboard (None)."""
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # the fake has no inline mode
        markup = self._check_markup(p.get("reply_markup"), inline_only=True)
        content = self._content(p, key, TEXT_LIMIT if key == "text" else CAPTION_LIMIT) if key else None
        with self._lock:
            chat = self._chat(p)
            message = next((m for m in chat.sent if m.message_id == p.get("message_id") and not m.deleted), None)
            if message is None:
                raise bad_request("message to edit not found")
            current = message.versions[-1]
            if key == "text" and message.kind != "text":
                raise bad_request("there is no text in the message to edit")
            if key == "caption" and message.kind in ("text", "location"):
                raise bad_request("there is no caption in the message to edit")
            if content is not None and key == "text" and not content[0]:
                raise bad_request("message text is empty")
            text, entities = content if content is not None else (current.text, current.entities)
            if (text, entities, markup) == (current.text, current.entities, current.reply_markup):
                raise bad_request(NOT_MODIFIED)
            self._flood_check(chat.user["id"])
            if key:
                raw, parse_mode = str(p.get(key) or ""), p.get("parse_mode") or None
            else:
                raw, parse_mode = current.raw_text, current.parse_mode
            message.versions.append(Version(text, raw, parse_mode, entities, markup, p, at=self.clock()))
            chat.events.append((message, len(message.versions) - 1))
            self._lock.notify_all()
            return self._message_json(message)

    def _edit_message_text(self, p: dict[str, Any]) -> Any:
        return self._edit(p, "text")

    def _edit_message_caption(self, p: dict[str, Any]) -> Any:
        return self._edit(p, "caption")

    def _edit_message_reply_markup(self, p: dict[str, Any]) -> Any:
        return self._edit(p, None)

    def _delete_message(self, p: dict[str, Any]) -> Any:
        with self._lock:
            chat = self._chat(p)
            message = next((m for m in chat.sent if m.message_id == p.get("message_id") and not m.deleted), None)
            if message is None:
                raise bad_request("message to delete not found")
            message.deleted = True
        return True

    def _answer_callback_query(self, p: dict[str, Any]) -> Any:
        if len(str(p.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            if self._callback_queries.pop(str(p.get("callback_query_id")), None) is None:
                raise bad_request(QUERY_TOO_OLD)
            self.answered_callbacks.append(dict(p))
        return True

    def _set_my_commands(self, p: dict[str, Any]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request('parameter "commands" can\'t be parsed as a list of BotCommand')
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            key = commands_key(p)
            if commands:
                self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
            else:
                self._commands.pop(key, None)
        return True

    def _get_my_commands(self, p: dict[str, Any]) -> Any:
        with self._lock:
            return self._commands.get(commands_key(p), [])

    def _delete_my_commands(self, p: dict[str, Any]) -> Any:
        with self._lock:
            self._commands.pop(commands_key(p), None)
        return True

    def _send_chat_action(self, p: dict[str, Any]) -> Any:
        with self._lock:
            self._chat(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _get_file(self, p: dict[str, Any]) -> Any:
        with self._lock:
            stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        result: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                  "file_path": stored.file_path}  # fmt: skip
        if stored.data is not None:
            result["file_size"] = len(stored.data)
        return result

    def _download(self, path: str) -> tuple[bytes, str]:
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == path and f.data is not None), None)
        if stored is None or stored.data is None:
            raise ApiError(404, "Not Found")
        return stored.data, stored.mime_type

    # --- test side: people -------------------------------------------------------------------------

    def _person(self, user_id: int, first_name: str, language_code: str, username: str | None) -> _Chat:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        user["language_code"] = language_code
        chat = self._chats.get(user_id)
        if chat is None:
            chat = self._chats[user_id] = _Chat(user)
        chat.user = user
        if chat.blocked:  # writing again unblocks the bot, and Telegram tells the bot so
            chat.blocked = False
            self._push(member_update(chat, "kicked", "member"))
        return chat

    def _push(self, update: dict[str, Any]) -> int:
        """Queue an update (with the lock held)."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._lock.notify_all()
        return update_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue any update object (without its update_id): stickers, photos, edited messages..."""
        with self._lock:
            return self._push(update)

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ana",
        language_code: str = "fr",
        username: str | None = None,
    ) -> int:
        """A person writes to the bot in their private chat; returns the update id."""
        with self._lock:
            chat = self._person(user_id, first_name, language_code, username)
            message: dict[str, Any] = {"message_id": chat.next_message_id, "from": chat.user, "chat": chat.json(),
                                       "date": int(time.time()), "text": text}  # fmt: skip
            chat.received.add(chat.next_message_id)
            chat.next_message_id += 1
            if entities := command_entities(text):
                message["entities"] = entities
            return self._push({"message": message})

    def user_presses(self, user_id: int, message_id: int, callback_data: str) -> str:
        """A person presses an inline button of a bot message; returns the callback query id."""
        with self._lock:
            chat = self._chats.get(user_id)
            message = next((m for m in chat.sent if m.message_id == message_id), None) if chat else None
            if chat is None or message is None or message.deleted:
                raise AssertionError(f"no bot message {message_id} in chat {user_id}")
            rows = (message.reply_markup or {}).get("inline_keyboard", [])
            if callback_data not in [button.get("callback_data") for row in rows for button in row]:
                # A person can only press what the message shows now (an edit may have replaced the keyboard).
                raise AssertionError(f"message {message_id} has no button {callback_data!r}: {message.buttons}")
            query_id = str(next(self._query_ids))
            self._callback_queries[query_id] = {"chat_id": user_id, "message_id": message_id}
            query = {"id": query_id, "from": chat.user, "message": self._message_json(message),
                     "chat_instance": str(-7_000_000_000 - user_id), "data": callback_data}  # fmt: skip
            self._push({"callback_query": query})
            return query_id

    def _from_person(self, user_id: int, content: dict[str, Any]) -> tuple[_Chat, dict[str, Any]]:
        """A new message of the person (with the lock held): `content` is what it carries (text, location...)."""
        chat = self._chats.get(user_id)
        if chat is None:
            raise AssertionError(f"user {user_id} never wrote to the bot (user_sends first)")
        message = {"message_id": chat.next_message_id, "from": chat.user, "chat": chat.json(),
                   "date": int(time.time()), **content}  # fmt: skip
        chat.received.add(chat.next_message_id)
        chat.next_message_id += 1
        return chat, message

    def user_sends_photo(self, user_id: int, data: bytes, *, caption: str = "", file_size: int | None = None) -> int:
        """A person sends a photo (PNG or JPEG bytes): getFile serves it; `file_size` overrides the size the
        update announces (Telegram's figure, which a bot checks before downloading)."""
        size = image_size(data) or (16, 16)
        with self._lock:
            stored = self._new_file("photo", data, "photo.png", "image/png", size)
            sizes = photo_sizes(stored)
            if file_size is not None:
                sizes[-1]["file_size"] = file_size
            content: dict[str, Any] = {"photo": sizes, **({"caption": caption} if caption else {})}
            _, message = self._from_person(user_id, content)
            return self._push({"message": message})

    def user_shares_location(
        self, user_id: int, latitude: float, longitude: float, *, live_period: int | None = None
    ) -> int:
        """The person sends a location from the attachment menu (with `live_period`: a live one, which then moves
        with user_moves); returns the update id."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location.update(live_period=live_period, horizontal_accuracy=12.5)
        with self._lock:
            chat, message = self._from_person(user_id, {"location": location})
            chat.live_location = message if live_period is not None else None
            return self._push({"message": message})

    def user_moves(self, user_id: int, latitude: float, longitude: float) -> int:
        """The person's live location moves: Telegram sends the same message again as `edited_message`."""
        with self._lock:
            chat = self._chats.get(user_id)
            if chat is None or chat.live_location is None:
                raise AssertionError(f"user {user_id} shares no live location")
            moved = {**chat.live_location["location"], "latitude": latitude, "longitude": longitude}
            chat.live_location = {**chat.live_location, "location": moved, "edit_date": int(time.time())}
            return self._push({"edited_message": chat.live_location})

    def user_shares_contact(
        self, user_id: int, phone_number: str, *, first_name: str = "Léa", contact_user_id: int | None = None
    ) -> int:
        """The person sends a contact card from their address book: anyone's number, with that person's Telegram
        user id when they use Telegram (`contact_user_id`). Returns the update id."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        with self._lock:
            _, message = self._from_person(user_id, {"contact": contact})
            return self._push({"message": message})

    def user_taps(
        self,
        user_id: int,
        text: str,
        *,
        latitude: float | None = None,
        longitude: float | None = None,
        phone_number: str | None = None,
    ) -> int:
        """The person taps a button of the reply keyboard they have: a `request_location` button sends where they
        are (`latitude`, `longitude`), a `request_contact` one their own number (`phone_number`, with their own
        user id), a plain one its text. Returns the update id."""
        with self._lock:
            chat = self._chats.get(user_id)
            rows = (chat.keyboard or {}).get("keyboard", []) if chat else []
            buttons = [{"text": b} if isinstance(b, str) else b for row in rows for b in row]
            button = next((b for b in buttons if b.get("text") == text), None)
            if chat is None or button is None:
                raise AssertionError(f"user {user_id} has no keyboard button {text!r}: {buttons}")
            if button.get("request_location"):
                assert latitude is not None and longitude is not None, "where is the person?"
                content: dict[str, Any] = {"location": {"latitude": latitude, "longitude": longitude}}
            elif button.get("request_contact"):
                assert phone_number is not None, "what is the person's number?"
                content = {"contact": {"phone_number": phone_number, "first_name": chat.user["first_name"],
                                       "user_id": user_id}}  # fmt: skip
            else:
                content = {"text": text}
            _, message = self._from_person(user_id, content)
            return self._push({"message": message})

    def user_blocks_bot(self, user_id: int) -> int:
        """The person blocks the bot: sends get 403 until they write again. Returns the my_chat_member update id."""
        with self._lock:
            chat = self._chats[user_id]
            chat.blocked = True
            return self._push(member_update(chat, "member", "kicked"))

    def take_updates(self) -> list[dict[str, Any]]:
        """Remove and return the queued updates (to deliver them by webhook instead of getUpdates)."""
        with self._lock:
            updates, self._updates = self._updates, []
            return updates

    def fail_next(
        self,
        method: str,
        count: int = 1,
        error_code: int = 502,
        description: str | None = None,
        *,
        retry_after: int = 1,
    ) -> None:
        """The next `count` calls of `method` fail with that error (a 429 carries `retry_after`)."""
        if error_code == 429:
            error = too_many_requests(retry_after)
        else:
            error = ApiError(error_code, description or DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error"))
        with self._lock:
            self._failures[method.lower()].extend([error] * count)

    # --- test side: what the bot did ---------------------------------------------------------------

    @property
    def commands(self) -> dict[str, list[dict[str, str]]]:
        """The command menus of the default scope, by language code ("" for the default one)."""
        with self._lock:
            return {lang: list(cmds) for (scope, lang), cmds in self._commands.items() if scope == "default"}

    def commands_for(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return list(self._commands.get(commands_key({"scope": scope, "language_code": language_code}), []))

    def reply_keyboard(self, chat_id: int) -> list[dict[str, Any]] | None:
        """The buttons of the reply keyboard the person has now (plain ones as {"text": ...}), or None."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or chat.keyboard is None:
                return None
            rows = chat.keyboard["keyboard"]
            return [{"text": b} if isinstance(b, str) else dict(b) for row in rows for b in row]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every bot message to that chat, in order (edited ones show their latest version)."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return list(chat.sent) if chat else []

    def wait_for(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 10.0
    ) -> SentMessage:
        """The next bot message, or edit of one, in that chat that matches `predicate`.

        A cursor walks through the chat's sends and edits: each wait starts after what the previous wait
        returned, so it finds what arrived before the call as well as what arrives during it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                chat = self._chats.get(chat_id)
                events = chat.events if chat else []
                for index in range(chat.waited if chat else 0, len(events)):
                    message, version = events[index]
                    current = version == len(message.versions) - 1 and not message.deleted
                    if current and (predicate is None or predicate(message)):
                        chat.waited = index + 1  # type: ignore[union-attr]
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = chat.sent if chat else []
                    raise AssertionError(f"no matching bot message to {chat_id} within {timeout} s; got {seen}")
                self._lock.wait(min(remaining, 1.0))

    def wait_for_count(self, chat_id: int, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """All bot messages to that chat, once there are at least `count`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages_to(chat_id)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = self.messages_to(chat_id)
                    raise AssertionError(f"{len(seen)} of {count} bot messages to {chat_id} within {timeout} s: {seen}")
                self._lock.wait(min(remaining, 1.0))
            return self.messages_to(chat_id)

    async def wait_for_async(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 10.0
    ) -> SentMessage:
        """wait_for without blocking the event loop (the bot under test may run in it)."""
        return await asyncio.to_thread(self.wait_for, chat_id, predicate, timeout)

    async def wait_for_count_async(self, chat_id: int, count: int, timeout: float = 10.0) -> list[SentMessage]:
        return await asyncio.to_thread(self.wait_for_count, chat_id, count, timeout)


METHODS: dict[str, Callable[[FakeTelegramAPI, dict[str, Any]], Any]] = {
    "getme": FakeTelegramAPI._get_me,
    "logout": FakeTelegramAPI._log_out,
    "close": FakeTelegramAPI._log_out,
    "deletewebhook": FakeTelegramAPI._delete_webhook,
    "setwebhook": FakeTelegramAPI._set_webhook,
    "getwebhookinfo": FakeTelegramAPI._get_webhook_info,
    "getupdates": FakeTelegramAPI._get_updates,
    "sendmessage": FakeTelegramAPI._send_message,
    "sendphoto": FakeTelegramAPI._send_photo,
    "senddocument": FakeTelegramAPI._send_document,
    "sendlocation": FakeTelegramAPI._send_location,
    "editmessagetext": FakeTelegramAPI._edit_message_text,
    "editmessagecaption": FakeTelegramAPI._edit_message_caption,
    "editmessagereplymarkup": FakeTelegramAPI._edit_message_reply_markup,
    "deletemessage": FakeTelegramAPI._delete_message,
    "answercallbackquery": FakeTelegramAPI._answer_callback_query,
    "setmycommands": FakeTelegramAPI._set_my_commands,
    "getmycommands": FakeTelegramAPI._get_my_commands,
    "deletemycommands": FakeTelegramAPI._delete_my_commands,
    "sendchataction": FakeTelegramAPI._send_chat_action,
    "getfile": FakeTelegramAPI._get_file,
}


REQUEST_FIELDS = ("request_contact", "request_location", "request_poll", "request_users", "request_chat", "web_app")


def check_reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    """A ReplyKeyboardMarkup, ReplyKeyboardRemove or ForceReply as Telegram checks it; kept as sent."""
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for button in itertools.chain.from_iterable(rows):
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            if sum(1 for name in REQUEST_FIELDS if button.get(name)) > 1:
                raise bad_request("can't parse keyboard button: only one of the optional fields can be used")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def update_kind(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    scope_key = "default" if scope == {"type": "default"} else json.dumps(scope, sort_keys=True)
    return scope_key, str(params.get("language_code") or "")


def member_update(chat: _Chat, old: str, new: str) -> dict[str, Any]:
    """The my_chat_member update Telegram sends when a person blocks or unblocks the bot."""

    def member(status: str) -> dict[str, Any]:
        return {"status": status, "user": BOT_USER, **({"until_date": 0} if status == "kicked" else {})}

    return {"my_chat_member": {"chat": chat.json(), "from": chat.user, "date": int(time.time()),
                               "old_chat_member": member(old), "new_chat_member": member(new)}}  # fmt: skip


def photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    """A thumbnail (90 px on the long side) then the photo itself, as Telegram lists them."""
    full = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": stored.width,
            "height": stored.height, "file_size": len(stored.data or b"")}  # fmt: skip
    scale = 90 / max(stored.width, stored.height, 1)
    if scale >= 1:
        return [full]
    thumbnail = {"file_id": f"{stored.file_id}_s", "file_unique_id": f"{stored.file_unique_id}_s",
                 "width": max(1, round(stored.width * scale)), "height": max(1, round(stored.height * scale)),
                 "file_size": min(full["file_size"], 1500)}  # fmt: skip
    return [thumbnail, full]


# --- HTTP ------------------------------------------------------------------------------------------


def read_params(handler: BaseHTTPRequestHandler, query: str) -> dict[str, Any]:
    """The request's parameters, typed as Telegram reads them."""
    raw = read_body(handler)
    content_type = handler.headers.get("Content-Type", "")
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if content_type.startswith("application/json"):
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as error:
                raise bad_request("can't parse JSON encoded request data") from error
            params.update(body if isinstance(body, dict) else {})
    elif content_type.startswith("multipart/form-data"):
        params.update(parse_multipart(raw, content_type))
    elif raw:
        params.update(parse_qsl(raw.decode(), keep_blank_values=True))
    return {key: typed(key, value) for key, value in params.items()}


def typed(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError as error:
            if key == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object") from error
            raise bad_request(f"can't parse {key} JSON object") from error
    if key == "chat_id" or key in INT_PARAMS:
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if key in FLOAT_PARAMS:
        with contextlib.suppress(ValueError):
            return float(value)
    if key in BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline().strip():  # trailers
            pass
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """multipart/form-data: plain fields as strings, file parts (those with a filename) as Uploads."""
    boundary = email.message_from_string(f"Content-Type: {content_type}\n\n").get_param("boundary")
    if not isinstance(boundary, str):
        raise bad_request("can't parse multipart/form-data: no boundary")
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = email.message_from_string(head.decode("utf-8", "replace") + "\n\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = data.removesuffix(b"\r\n")
        filename = headers.get_filename()
        if filename is None:
            params[name] = data.decode()
        else:
            params[name] = Upload(data, unquote(filename), headers.get_content_type())
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx pool expects
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent: tests and benchmarks print nothing


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a thread per connection; a long poll must not hold up the others

    def __init__(self, fake: FakeTelegramAPI) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def close_connections(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is no news
