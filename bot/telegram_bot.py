"""The Telegram channel (python-telegram-bot 22): messages to the router, answers rendered natively.

Rasa buttons become inline keyboards (paginated by editing the message when long), images are sent as
photos, text is HTML-escaped for the HTML parse mode. When the checkout asks for an address or a phone
number, a reply keyboard offers to share the person's location or own number (`request_location`,
`request_contact`); what they share goes to Rasa as a payload (bot/sharing.py), and the keyboard is removed
with the next message that does not offer it. A map pin (`BotMessage.location`: a courier's drop) is its text,
then a location message (sendLocation). Outgoing requests go through a rate limiter that
keeps to Telegram's flood limits: about 30 messages/s overall, about 1/s per chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import html
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from aiolimiter import AsyncLimiter
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channel import ChannelConfigError
from bot.commands import Incoming, command_of
from bot.dispatcher import PermanentSendError, TemporarySendError
from bot.photos import receive_photo
from bot.rasa_client import BotMessage, Button
from bot.router import MENU, Router
from bot.sharing import contact_payload, location_payload
from marketplace.i18n import resolve_language, translate
from marketplace.media import MediaPolicy, MediaRefused

log = logging.getLogger(__name__)

PAGE_SIZE = 6  # buttons per page of a long list
MAX_TEXT = 4096
CALLBACK_LIMIT = 64  # bytes Telegram accepts in callback_data
TELEGRAM_LANGUAGES = ("fr", "de", "it", "en")
MAX_KEYBOARD_CHATS = 50_000  # chats whose share keyboard is still up (the least recent are forgotten)

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def html_chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Escaped text in pieces Telegram accepts: cut between lines where possible, never inside `&amp;`."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        escaped = html.escape(line)
        while len(escaped) > limit:  # one very long line: cut it by characters, then escape each piece
            piece, line = line[: limit // 6], line[limit // 6 :]
            if current:
                chunks.append(current)
                current = ""
            chunks.append(html.escape(piece))
            escaped = html.escape(line)
        if len(current) + len(escaped) > limit:
            chunks.append(current)
            current = ""
        current += escaped
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


class ChatRateLimiter(AIORateLimiter):
    """PTB's limiter (30 requests/s overall, 20/min per group) plus a per-chat limit for private chats,
    which AIORateLimiter leaves alone: bursts of 3, then about 1 message per second.

    A 429 is waited out (its `retry_after`) and retried here rather than inside AIORateLimiter, so that
    every attempt takes its own place in the chat's budget: a retried request counts twice, as it does
    on Telegram's side. A network error with an answer (a 5xx: the request was not carried out) is
    retried with back-off; a timeout is not, since the message may have gone out and would show twice.
    getUpdates is left to PTB's updater, which retries polling with its own back-off."""

    def __init__(
        self, retries: int = 3, per_chat_burst: int = 3, per_chat_period: float = 3.0, backoff: float = 0.5
    ) -> None:
        super().__init__(max_retries=0)
        self.backoff = backoff
        # With max_retries=0 PTB logs every 429 as an error with a traceback; we retry and log it ourselves.
        logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
        self.retries = retries
        self._chat_rate = (per_chat_burst, per_chat_period)
        self._chat_limiters: OrderedDict[int, AsyncLimiter] = OrderedDict()

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.pop(chat_id, None) or AsyncLimiter(*self._chat_rate)
        self._chat_limiters[chat_id] = limiter
        if len(self._chat_limiters) > 10_000:  # forget the least recently used chats
            self._chat_limiters.popitem(last=False)
        return limiter

    # PTB passes every argument by keyword; rate_limit_args (per-call max_retries) has no use here: retries are ours.
    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[override]  # noqa: ARG002
        try:
            chat_id = int(data.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            chat_id = 0
        for attempt in range(self.retries + 1):
            try:
                if chat_id > 0:
                    async with self._chat_limiter(chat_id):
                        return await super().process_request(callback, args, kwargs, endpoint, data, 0)
                return await super().process_request(callback, args, kwargs, endpoint, data, 0)
            except RetryAfter as exc:
                if attempt == self.retries:
                    raise
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.info("Telegram flood limit: waiting %.1f s", seconds)
                await asyncio.sleep(seconds + 0.1)
            except NetworkError as exc:
                # BadRequest is a NetworkError in PTB, but sending the same request again only fails again.
                if isinstance(exc, TimedOut | BadRequest) or endpoint == "getUpdates" or attempt == self.retries:
                    raise
                log.warning("Telegram %s failed (%s): retry %d of %d", endpoint, exc, attempt + 1, self.retries)
                await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


@dataclass
class Keyboard:
    """A long list of buttons shown a page at a time."""

    buttons: tuple[Button, ...]


class TelegramChannel:
    name = "telegram"
    idempotent = False  # Telegram has no idempotency key: a message sent twice is shown twice

    def __init__(
        self,
        token: str,
        router: Router,
        *,
        base_url: str | None = None,
        base_file_url: str | None = None,
        webhook_url: str = "",
        webhook_listen: str = "127.0.0.1",
        webhook_port: int = 8443,
        webhook_secret: str = "",
        languages: tuple[str, ...] = TELEGRAM_LANGUAGES,
        poll_interval: float = 0.0,
        media: MediaPolicy | None = None,
    ) -> None:
        # RetryAfter.retry_after as a timedelta, as PTB will always give it from its next major version.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        self.router = router
        self.languages = languages
        self.webhook_url = webhook_url
        self.webhook_listen, self.webhook_port = webhook_listen, webhook_port
        # Telegram repeats this secret in every webhook call; updates without it are refused.
        self.webhook_secret = webhook_secret or hashlib.sha256(token.encode()).hexdigest()[:32]
        self.poll_interval = poll_interval
        self.media = media or MediaPolicy()  # which photos and files may be sent: https URLs only by default
        self._payloads: OrderedDict[str, str] = OrderedDict()  # short callback id -> long payload
        self._keyboards: OrderedDict[str, Keyboard] = OrderedDict()
        self._chat_locks: dict[int, asyncio.Lock] = {}
        # Chats where a share keyboard is up: the next message without one takes it away.
        self._share_keyboards: OrderedDict[int, None] = OrderedDict()
        builder: ApplicationBuilder = ApplicationBuilder().token(token).rate_limiter(ChatRateLimiter())
        if base_url:
            builder = builder.base_url(base_url).base_file_url(base_file_url or base_url)
        # Many people at once, each person's messages in order (see _lock).
        self.app: Application = builder.concurrent_updates(True).build()
        self.app.add_handler(MessageHandler(filters.TEXT, self.on_text))
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(filters.LOCATION, self.on_location))
        self.app.add_handler(MessageHandler(filters.CONTACT, self.on_contact))
        self.app.add_handler(MessageHandler(filters.PHOTO | filters.Document.IMAGE, self.on_photo))
        self.app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_other))
        self.app.add_error_handler(self.on_error)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.app.initialize()
        except InvalidToken as exc:
            raise ChannelConfigError(f"Telegram refused the bot token ({exc})") from exc
        await self._register_commands(self.app)
        await self.app.start()
        me = self.app.bot
        if self.webhook_url:
            await self.app.updater.start_webhook(
                listen=self.webhook_listen,
                port=self.webhook_port,
                url_path=urlparse(self.webhook_url).path.lstrip("/"),
                webhook_url=self.webhook_url,
                secret_token=self.webhook_secret,
            )
            log.info("Telegram connected as @%s (webhook %s)", me.username, self.webhook_url)
        else:
            await self.app.updater.start_polling(poll_interval=self.poll_interval, drop_pending_updates=False)
            log.info("Telegram connected as @%s (long polling)", me.username)
        self.router.commands.telegram_username = me.username or ""  # for /invite's deep links

    async def stop(self) -> None:
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _register_commands(self, app: Application) -> None:
        """The command menu, in every supported language (and the default one for the others)."""
        for lang in (*self.languages, ""):
            commands = [BotCommand(c, translate(f"bot.menu.{c}", lang or self.languages[0])) for c in MENU]
            await app.bot.set_my_commands(commands, language_code=lang or None)

    async def _register_work_commands(self, chat_id: int, address: str) -> None:
        """A linked vendor or courier gets their own commands in this chat's menu, in their language."""
        lang, work = await asyncio.to_thread(self.router.commands.menu_for, address)
        if not work:
            return
        commands = [BotCommand(c, translate(f"bot.menu.work.{c}", lang)) for c in work]
        commands += [BotCommand(c, translate(f"bot.menu.{c}", lang)) for c in MENU if c not in work]
        try:
            await self.app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:  # the menu is a convenience: the commands work without it
            log.warning("Telegram: no command menu for chat %s: %s", chat_id, exc)

    # --- incoming ------------------------------------------------------------------------------

    def incoming(self, update: Update, text: str) -> Incoming:
        user = update.effective_user
        assert user is not None
        lang = resolve_language(self.languages, platform=user.language_code)
        return Incoming(f"telegram:{user.id}", text, lang, user.first_name or "")

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._chat_locks.setdefault(chat_id, asyncio.Lock())

    async def on_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Forward what a person typed; answer in the same chat."""
        message = update.effective_message
        if message is None or update.effective_user is None or update.effective_user.is_bot:
            return
        async with self._lock(message.chat_id):
            incoming = self.incoming(update, message.text or "")
            replies = await self.router.handle(incoming)
            await self._answer(message.chat_id, incoming, replies)
            if (command_of(incoming.text) or ("",))[0] == "link":
                await self._register_work_commands(message.chat_id, incoming.address)

    async def on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: a page turn, or a payload for the router. Always answered."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        data = query.data or ""
        if data.startswith("pg:"):
            await query.answer()
            await self._turn_page(query.message.chat.id, query.message.message_id, data)
            return
        payload = self._payloads.get(data[2:], "") if data.startswith("k:") else data
        if not payload:  # a button from before a restart whose long payload we no longer hold
            lang = await self.router.language(self.incoming(update, data))  # the person's, as in every answer
            await query.answer(translate("bot.button_expired", lang))
            return
        await query.answer()
        chat_id = query.message.chat.id
        async with self._lock(chat_id):
            incoming = self.incoming(update, payload)
            await self._answer(chat_id, incoming, await self.router.press(incoming))

    async def on_location(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared location: its coordinates go to Rasa as a payload. A live location counts once, as first
        sent: its updates come as edits, and are ignored (the person is on the move, the address is not)."""
        message = update.message  # None for an edit
        if message is None or message.location is None or update.effective_user is None:
            return
        location = message.location
        payload = location_payload(location.latitude, location.longitude)
        await self._share(update, message.chat_id, payload, refusal="share.location_invalid", offer="location")

    async def on_contact(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: only the person's own number (what "Share my phone number" sends) is taken; someone
        else's contact card is refused, and nothing of it is kept or sent on."""
        message, user = update.message, update.effective_user
        if message is None or message.contact is None or user is None:
            return
        if message.contact.user_id != user.id:
            await self._share(update, message.chat_id, None, refusal="share.contact_not_yours", offer="contact")
            return
        payload = contact_payload(message.contact.phone_number)
        await self._share(update, message.chat_id, payload, refusal="share.contact_invalid", offer="contact")

    async def _share(self, update: Update, chat_id: int, payload: str | None, refusal: str, offer: str) -> None:
        """Press the payload for the person, like a button; without one, say why in their language, with the
        button that shares the right thing (the sentence points to it)."""
        async with self._lock(chat_id):
            incoming = self.incoming(update, payload or "")
            if payload is None:
                lang = await self.router.language(incoming)
                await self.send(chat_id, [BotMessage(translate(refusal, lang), share=(offer,))], lang)
                return
            await self._answer(chat_id, incoming, await self.router.press(incoming))

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo (its largest size) or an image sent as a file: a vendor's product picture (bot/photos.py)."""
        message = update.message
        if message is None or update.effective_user is None:
            return
        sent = max(message.photo, key=lambda size: size.width * size.height) if message.photo else message.document
        if sent is None:
            return

        async def fetch() -> bytes:
            return bytes(await (await context.bot.get_file(sent.file_id)).download_as_bytearray())

        async with self._lock(message.chat_id):
            incoming = self.incoming(update, message.caption or "")
            replies = await receive_photo(self.router, incoming, sent.file_size, fetch)
            await self._answer(message.chat_id, incoming, replies)

    async def on_other(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, voice, photos: say what the bot understands. (Locations and contacts have their handlers;
        an edit of anything, a live location moving, gets no answer.)"""
        if update.message and update.effective_user:
            lang = await self.router.language(self.incoming(update, ""))
            await self.send(update.message.chat_id, [BotMessage(translate("bot.text_only", lang))])

    async def on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram handler failed: %s", context.error, exc_info=context.error)

    # --- outgoing ------------------------------------------------------------------------------

    def _callback_data(self, payload: str) -> str:
        if 0 < len(payload.encode()) <= CALLBACK_LIMIT:  # Telegram refuses empty callback data
            return payload
        short = hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()
        self._payloads[short] = payload
        self._payloads.move_to_end(short)
        if len(self._payloads) > 50_000:
            self._payloads.popitem(last=False)
        return f"k:{short}"

    def _markup(self, buttons: tuple[Button, ...], keyboard_id: str = "", page: int = 0) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        shown = buttons[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] if keyboard_id else buttons
        # A button needs a visible title: Telegram refuses an empty one, and with it the whole message.
        rows = [
            [InlineKeyboardButton(b.title.strip()[:64] or "…", callback_data=self._callback_data(b.payload))]
            for b in shown
        ]
        if keyboard_id:
            pages = (len(buttons) + PAGE_SIZE - 1) // PAGE_SIZE
            nav = []
            if page > 0:
                nav.append(InlineKeyboardButton("◀", callback_data=f"pg:{keyboard_id}:{page - 1}"))
            nav.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=f"pg:{keyboard_id}:{page}"))
            if page < pages - 1:
                nav.append(InlineKeyboardButton("▶", callback_data=f"pg:{keyboard_id}:{page + 1}"))
            rows.append(nav)
        return InlineKeyboardMarkup(rows)

    def _keyboard(self, buttons: tuple[Button, ...]) -> tuple[str, InlineKeyboardMarkup | None]:
        if len(buttons) <= PAGE_SIZE:
            return "", self._markup(buttons)
        keyboard_id = hashlib.blake2b(repr(buttons).encode(), digest_size=6).hexdigest()
        self._keyboards[keyboard_id] = Keyboard(buttons)
        if len(self._keyboards) > 10_000:
            self._keyboards.popitem(last=False)
        return keyboard_id, self._markup(buttons, keyboard_id, 0)

    async def _turn_page(self, chat_id: int, message_id: int, data: str) -> None:
        _, keyboard_id, page = [*data.split(":"), "", ""][:3]
        keyboard = self._keyboards.get(keyboard_id)
        if keyboard is None or not page.isdecimal() or int(page) * PAGE_SIZE >= len(keyboard.buttons):
            return  # forgotten, or callback data no button of ours carries (a modified client)
        try:
            await self.app.bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=self._markup(keyboard.buttons, keyboard_id, int(page)),
            )
        except BadRequest as exc:  # "message is not modified": the same page pressed again
            log.debug("page not turned: %s", exc)

    async def _answer(self, chat_id: int, incoming: Incoming, replies: list[BotMessage]) -> None:
        """Send the replies; a share keyboard is labelled in the person's language (looked up only then)."""
        lang = await self.router.language(incoming) if any(reply.share for reply in replies) else ""
        await self.send(chat_id, replies, lang)

    async def send(self, chat_id: int, replies: list[BotMessage], lang: str = "") -> None:
        for reply in replies:
            try:
                await self._send_one(chat_id, reply, lang or self.languages[0])
            except TelegramError as exc:
                log.warning("Telegram send to a chat failed: %s", exc)

    @staticmethod
    def share_keyboard(share: tuple[str, ...], lang: str) -> ReplyKeyboardMarkup | None:
        """One button a row for each thing the person may share; it hides once used (one_time_keyboard)."""
        rows = []
        if "location" in share:
            rows.append([KeyboardButton(translate("share.location", lang), request_location=True)])
        if "contact" in share:
            rows.append([KeyboardButton(translate("share.contact", lang), request_contact=True)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True) if rows else None

    def _removal(self, chat_id: int) -> ReplyKeyboardRemove | None:
        return ReplyKeyboardRemove() if chat_id in self._share_keyboards else None

    def _shown(self, chat_id: int, markup: ReplyMarkup | None) -> None:
        """Remember what a sent message did to the chat's share keyboard."""
        if isinstance(markup, ReplyKeyboardMarkup):
            self._share_keyboards.pop(chat_id, None)
            self._share_keyboards[chat_id] = None
            if len(self._share_keyboards) > MAX_KEYBOARD_CHATS:
                self._share_keyboards.popitem(last=False)
        elif isinstance(markup, ReplyKeyboardRemove):
            self._share_keyboards.pop(chat_id, None)

    async def _send_one(self, chat_id: int, reply: BotMessage, lang: str) -> int:
        """One reply as a message (or a few: a long text in parts). A message carries one keyboard: inline buttons
        if it has any, else the share keyboard, else the removal of a share keyboard still up. A question with both
        buttons and something to share keeps its buttons and is followed by a short prompt with the keyboard."""
        _, inline = self._keyboard(reply.buttons)
        keyboard = self.share_keyboard(reply.share, lang)
        if keyboard is not None and not (reply.text or reply.image or reply.document):  # the offer alone
            reply = BotMessage(translate("share.prompt", lang), reply.buttons)
        markup: ReplyMarkup | None = inline or keyboard or self._removal(chat_id)
        if reply.location is not None:
            message_id = await self._send_location(chat_id, reply, markup)
        else:
            message_id = await self._send_content(chat_id, reply, markup)
        self._shown(chat_id, markup)
        if keyboard is not None and inline is not None:
            sent = await self.app.bot.send_message(chat_id, html.escape(translate("share.prompt", lang)),
                                                   parse_mode=ParseMode.HTML, reply_markup=keyboard)  # fmt: skip
            self._shown(chat_id, keyboard)
            message_id = sent.message_id
        return message_id

    async def _send_location(self, chat_id: int, reply: BotMessage, markup: ReplyMarkup | None) -> int:
        """A map pin: its text first (a location message has no caption), then the location with the keyboard."""
        assert reply.location is not None
        if reply.text or reply.image or reply.document:
            await self._send_content(chat_id, dataclasses.replace(reply, location=None), None)
        latitude, longitude = (float(value) for value in reply.location)  # the Bot API takes degrees as floats
        sent = await self.app.bot.send_location(chat_id, latitude=latitude, longitude=longitude, reply_markup=markup)
        return sent.message_id

    async def _send_content(self, chat_id: int, reply: BotMessage, markup: ReplyMarkup | None) -> int:
        text = html.escape(reply.text)
        if reply.document:
            data = await self._photo(reply.document, "document")
            if isinstance(data, bytes):
                name = os.path.basename(reply.document)
                sent = await self.app.bot.send_document(chat_id, data, filename=name, caption=text[:1024] or None,
                                                        parse_mode=ParseMode.HTML, reply_markup=markup)  # fmt: skip
                return sent.message_id
        if reply.image:
            photo = await self._photo(reply.image, "image")
            if photo is not None:
                caption = text if len(text) <= 1024 else None
                try:
                    sent = await self.app.bot.send_photo(
                        chat_id, photo, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
                    )
                except BadRequest as exc:  # Telegram could not fetch or read it: the text still goes out
                    log.warning("Telegram refused an image: %s", exc)
                else:
                    if caption is not None or not text:
                        return sent.message_id
        chunks = html_chunks(reply.text) or ["…"]
        message_id = 0
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self.app.bot.send_message(
                chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
            )
            message_id = sent.message_id
        return message_id

    async def _photo(self, reference: str, kind: str) -> str | bytes | None:
        """An https URL on a public host, which Telegram fetches itself, or the bytes of a file in the media or
        payments folder (QR-bills); None for anything else (`self.media` says what passes), with a warning that
        names neither the person nor the reference."""
        try:
            url = self.media.remote_url(reference)
            return url if url is not None else await asyncio.to_thread(self.media.read_local, reference)
        except MediaRefused as refused:
            log.warning("Telegram: %s not sent: %s", kind, refused.reason)
            return None

    # --- outbox --------------------------------------------------------------------------------

    async def deliver(
        self, destination: str, text: str, key: str, buttons: tuple[tuple[str, str], ...] = ()
    ) -> str:
        """Send one outbox message; classify failures for the dispatcher. Telegram takes no idempotency key
        (`idempotent = False`); the key only says when an approved applicant gets their work commands' menu.
        Buttons carry bot commands (an admin's Approve / Refuse)."""
        markup = self._markup(tuple(Button(title, payload) for title, payload in buttons))
        try:
            sent = await self.app.bot.send_message(
                int(destination), html.escape(text), parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise TemporarySendError(str(exc), retry_after=seconds) from exc
        except Forbidden as exc:  # the person blocked the bot
            raise PermanentSendError(str(exc)) from exc
        except BadRequest as exc:  # chat not found, and the like: retrying will not help
            raise PermanentSendError(str(exc)) from exc
        except (NetworkError, TelegramError) as exc:
            raise TemporarySendError(str(exc)) from exc
        if key.startswith("application:") and key.endswith(":approved"):  # a new owner: their work commands' menu
            await self._register_work_commands(int(destination), f"telegram:{destination}")
        return str(sent.message_id)
