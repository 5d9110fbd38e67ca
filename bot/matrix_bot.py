"""The Matrix channel (matrix-nio): direct chats with the bot, answers rendered for plain Matrix clients.

- Joins a room only when invited to a direct chat (`is_direct`) or when the room is listed in config.
- Never answers its own messages, nor anything from before it first started: the sync token is stored
  in the database (before the batch is handled, so a crash can drop an answer but never repeat one),
  and replies use transaction ids derived from the message they answer, which Synapse deduplicates.
- Buttons become a numbered list; people answer with the number or the button's words (`NumberedChoices`).
- Images are uploaded and sent as `m.image`, documents (QR-bill PDFs) as `m.file`.
- A shared location (`m.location`, its `geo:` URI) goes to Rasa as the same payload as on Telegram
  (bot/sharing.py); Matrix has no "share my location" button, so a question that offers it gets a hint line.
- Encrypted rooms (Element's direct chats are encrypted by default) work with matrix-nio's own end-to-end
  encryption: the crypto store, its key and the trust given to devices are in bot/matrix_crypto.py. Keys are
  uploaded at start, the people's devices queried and judged after every sync, answers encrypted, images and
  QR-bills uploaded as encrypted attachments. A message that cannot be decrypted (its key never came) gets a
  key request, a few seconds for the key to arrive, then a short notice asking to send it again.
- The room a person talks in is written to the database at each message, never kept in memory: after an
  erasure (/forget) nothing here still links the person to their room, and their next message records it anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
import re
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import vodozemac
from nio import (
    AsyncClient,
    AsyncClientConfig,
    EncryptionError,
    InviteMemberEvent,
    KeysUploadResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MemoryDownloadResponse,
    OlmUnverifiedDeviceError,
    RoomCreateResponse,
    RoomMessageImage,
    RoomMessageText,
    RoomMessageUnknown,
    RoomSendResponse,
    SendRetryError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.api import RoomPreset
from nio.store import SqliteStore

from bot.channel import ChannelConfigError
from bot.commands import Incoming
from bot.cursors import read_cursor, save_cursor
from bot.dispatcher import PermanentSendError, TemporarySendError
from bot.matrix_crypto import STORE_KEY, CryptoStore, TofuClient, trust_known_devices
from bot.photos import receive_photo
from bot.rasa_client import BotMessage, Button
from bot.router import Router
from bot.sharing import geo_payload
from catalog.text import fold
from marketplace.accounts import person_for_chat, remember_reply_to
from marketplace.db import Database
from marketplace.i18n import translate
from marketplace.media import MediaPolicy, MediaRefused, fetch_public

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
# A numbered list stops answering numbers after this long: by then "2" is more likely a quantity than a choice.
CHOICES_TTL = 3600.0
MAX_CHOICE_ROOMS = 10_000  # rooms whose last list is remembered (the least recently offered are forgotten)
# Characters of one message body: Synapse refuses events over 64 KiB, and a character takes up to 6 bytes of JSON.
MAX_BODY = 8_000
# An undecryptable message waits this long for its key (it usually comes in the same sync, sometimes just after)
# before the person is asked to send it again; at most this many wait at once, the others are asked at once.
KEY_WAIT = 5.0
MAX_WAITING = 1_000
# A room the bot just opened is usable for encrypted sends once a sync has shown it; this long at most.
NEW_ROOM_WAIT = 10.0


def _words(text: str) -> str:
    """ "➕ 1. Miel de forêt" -> "miel de foret": what is left to type once emoji and numbering are gone."""
    return " ".join(re.sub(r"[^\w\s]|\b\d+\b", " ", fold(text)).split())


def txn_id(*parts: str) -> str:
    """A transaction id Synapse deduplicates on: the same message sent twice is stored once."""
    return "smk" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def body_chunks(body: str, limit: int = MAX_BODY) -> list[str]:
    """A message body in pieces Synapse accepts, cut between lines where possible; blank pieces are left out."""
    chunks, current = [], ""
    for line in body.splitlines(keepends=True):
        while len(line) > limit:
            chunks, current, line = [*chunks, current, line[:limit]], "", line[limit:]
        if len(current) + len(line) > limit:
            chunks, current = [*chunks, current], ""
        current += line
    return [chunk for chunk in (*chunks, current) if chunk.strip()]


def location_uri(content: Any) -> str | None:
    """The `geo:` URI of an `m.location` event's content: `geo_uri`, or the extensible-events form
    (MSC3488: `m.location.uri`) that newer clients send alongside it."""
    if not isinstance(content, dict):
        return None
    if isinstance(content.get("geo_uri"), str):
        return content["geo_uri"]
    for key in ("m.location", "org.matrix.msc3488.location"):
        block = content.get(key)
        if isinstance(block, dict) and isinstance(block.get("uri"), str):
            return block["uri"]
    return None


class NumberedChoices:
    """The buttons last offered in each room, answered by their number or their words.

    A room's list is forgotten as soon as the bot starts another answer there, after `ttl` seconds, and
    beyond `max_rooms` rooms, so an old list never answers a later number and memory stays bounded."""

    def __init__(
        self, ttl: float = CHOICES_TTL, max_rooms: int = MAX_CHOICE_ROOMS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.max_rooms, self.clock = ttl, max_rooms, clock
        self._offered: OrderedDict[str, tuple[float, tuple[Button, ...]]] = OrderedDict()  # oldest offer first

    def __len__(self) -> int:
        return len(self._offered)

    def offer(self, room_id: str, buttons: tuple[Button, ...]) -> None:
        now = self.clock()
        self._offered.pop(room_id, None)
        if buttons:
            self._offered[room_id] = (now, buttons)
        while self._offered and (
            len(self._offered) > self.max_rooms or now - next(iter(self._offered.values()))[0] > self.ttl
        ):
            self._offered.popitem(last=False)

    def forget(self, room_id: str) -> None:
        self._offered.pop(room_id, None)

    def answer(self, room_id: str, text: str) -> str | None:
        """The payload of the button this text chooses in the room's live list, if it chooses one."""
        offered_at, buttons = self._offered.get(room_id, (0.0, ()))
        if not buttons or self.clock() - offered_at > self.ttl:
            self.forget(room_id)
            return None
        answer = text.strip().rstrip(".)")
        if answer in [str(number) for number in range(1, len(buttons) + 1)]:  # not int(): "²", 5000 digits
            return buttons[int(answer) - 1].payload
        # All of a button's words ("livraison a domicile" for "🚲 Livraison à domicile"); a part of them
        # ("miel") stays a sentence for Rasa, since people also just type what they look for.
        said = _words(text)
        return next((b.payload for b in buttons if said and _words(b.title) == said), None)


class MatrixChannel:
    name = "matrix"
    idempotent = True  # sends carry transaction ids derived from the outbox key

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        router: Router,
        db: Database,
        *,
        access_token: str = "",
        password: str = "",
        device_id: str = "SMARTKETPLACE",
        allowed_rooms: tuple[str, ...] = (),
        default_language: str = "fr",
        clock: Callable[[], float] = time.monotonic,
        media: MediaPolicy | None = None,
        store: CryptoStore | None = None,
    ) -> None:
        self.router = router
        self.media = media or MediaPolicy()  # which photos and files may be sent: https URLs only by default
        self.db = db
        self.password = password
        self.allowed_rooms = set(allowed_rooms)
        self.default_language = default_language
        self.clock = clock
        # Without a store the channel knows plain rooms only (the tests of rendering, with a fake client); the bot
        # process always gives one (bot/__main__.py refuses to start without its key).
        self.store = store
        if store is not None:
            # The sync position stays in our database (bot/cursors.py): nio's copy would be a second truth.
            config = AsyncClientConfig(
                encryption_enabled=True, store=SqliteStore, pickle_key=store.key, store_sync_tokens=False,
                request_timeout=60,
            )  # fmt: skip
            self.client: AsyncClient = TofuClient(
                homeserver, user_id, device_id=device_id, store_path=str(store.path), config=config
            )
        else:
            config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False, request_timeout=60)
            self.client = AsyncClient(homeserver, user_id, device_id=device_id, config=config)
        if access_token:
            self.client.access_token = access_token
            self.client.user_id = user_id
        self.cursor_name = f"matrix:{user_id}"
        self._token = ""
        self.choices = NumberedChoices(clock=clock)
        # Messages waiting for their key: event id -> (room, event, when to give up); bounded by MAX_WAITING.
        self._waiting: OrderedDict[str, tuple[str, MegolmEvent, float]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def user_id(self) -> str:
        return self.client.user_id

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.store is not None:
            await asyncio.to_thread(self.store.prepare)
            if not self.client.access_token:  # the password login keeps the configured device id
                self._open_store(self.client.device_id or "")
        if not self.client.access_token:
            # nio logs in as the configured device id, and then opens that device's crypto store.
            response = await self.client.login(self.password, device_name="SmartketPlace bot")
            if not isinstance(response, LoginResponse):
                if getattr(response, "status_code", "") == "M_FORBIDDEN":
                    raise ChannelConfigError(f"Matrix refused the login of {self.user_id}: {response}")
                raise ConnectionError(f"Matrix login failed for {self.user_id}: {response}")
        elif self.store is not None and self.client.olm is None:
            await self._restore_login()
        if self.store is not None:
            await self._upload_keys()
        self._token = await asyncio.to_thread(self._load_cursor)
        if not self._token:
            # First start ever: take the current position and ignore all history before it.
            first = await self.client.sync(timeout=0, full_state=True)
            if not isinstance(first, SyncResponse):
                if getattr(first, "status_code", "") == "M_UNKNOWN_TOKEN":
                    raise ChannelConfigError(f"Matrix refused the access token of {self.user_id}")
                raise ConnectionError(f"Matrix sync failed for {self.user_id}: {first}")
            self._token = first.next_batch
            await asyncio.to_thread(self._save_cursor, self._token)
        log.info("Matrix connected as %s on %s", self.user_id, self.client.homeserver)
        self._task = asyncio.create_task(self._sync_loop(), name="matrix-sync")

    async def _restore_login(self) -> None:
        """With an access token: the device it belongs to (keys are per device), then that device's store."""
        whoami = await self.client.whoami()
        if not isinstance(whoami, WhoamiResponse):
            if getattr(whoami, "status_code", "") == "M_UNKNOWN_TOKEN":
                raise ChannelConfigError(f"Matrix refused the access token of {self.user_id}")
            raise ConnectionError(f"Matrix whoami failed for {self.user_id}: {whoami}")
        device_id = whoami.device_id or self.client.device_id or ""
        if device_id != self.client.device_id:
            log.warning("MATRIX_DEVICE_ID differs from the access token's device; using the token's (%s)", device_id)
        self._open_store(device_id)
        self.client.restore_login(self.user_id, device_id, self.client.access_token)

    def _open_store(self, device_id: str) -> None:
        """Open the device's crypto store (creating its account the first time) before talking to anyone, so
        that a wrong key is a configuration error, said once, not a connection retried forever."""
        self.client.user_id = self.client.user_id or self.client.user
        self.client.device_id = device_id
        try:
            self.client.load_store()
        except (vodozemac.PickleException, vodozemac.LibolmPickleException, ImportError) as exc:
            raise ChannelConfigError(
                f"the Matrix crypto store in {self.store.path if self.store else '?'} cannot be opened with this "
                f"{STORE_KEY.env}: it was sealed with another key (restore that key, or start a new MATRIX_DEVICE_ID)"
            ) from exc

    async def _upload_keys(self) -> None:
        """Publish the device's keys if the homeserver does not have them yet (first start, or one-time keys
        running low); a restart with the same store publishes nothing new."""
        if self.client.olm is None:
            raise ChannelConfigError(f"the Matrix crypto store of {self.user_id} could not be opened")
        trust_known_devices(self.client, [user_id for user_id, _ in self.client.device_store.items()])
        if not self.client.should_upload_keys:
            return
        uploaded = await self.client.keys_upload()
        if isinstance(uploaded, KeysUploadResponse):
            return
        if getattr(uploaded, "status_code", "") in ("M_UNKNOWN", "M_INVALID_PARAM", "M_BAD_JSON"):
            raise ChannelConfigError(
                f"Matrix refused the encryption keys of device {self.client.device_id} ({uploaded}): its crypto "
                "store was probably lost or replaced; set a new MATRIX_DEVICE_ID"
            )
        raise ConnectionError(f"Matrix key upload failed: {uploaded}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    def _load_cursor(self) -> str:
        with self.db.uow() as uow:
            return read_cursor(uow, self.cursor_name)

    def _save_cursor(self, token: str) -> None:
        with self.db.uow() as uow:
            save_cursor(uow, self.cursor_name, token)
            uow.commit()

    async def _sync_loop(self) -> None:
        delay = 1.0
        # The first sync of a process asks for the full state: which rooms exist and which are encrypted, so that
        # nothing goes out unencrypted to an encrypted room the process has not heard of yet.
        full_state = True
        while not self._stopping.is_set():
            try:
                response = await self.client.sync(
                    timeout=self._sync_timeout_ms(), since=self._token, full_state=full_state or None
                )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                response = exc
            except Exception as exc:  # nio failing on one batch (a malformed event, a crypto error) must not stop us
                log.error("Matrix sync batch could not be read (%s); skipping it", type(exc).__name__)  # no content
                response = exc
                if self.client.next_batch and self.client.next_batch != self._token:  # past it, not stuck on it
                    self._token = self.client.next_batch
            if not isinstance(response, SyncResponse):
                log.warning("Matrix sync failed (%s); retrying in %.0f s", response, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay, full_state = 1.0, False
            # nio has stored the room keys this sync brought before we move past it.
            self._token = response.next_batch
            await asyncio.to_thread(self._save_cursor, self._token)
            try:
                await self._keep_keys()
                await self._handle(response)
                await self._retry_waiting()
            except Exception:  # one bad event must not stop the bot
                log.exception("Matrix batch handling failed")

    def _sync_timeout_ms(self) -> int:
        """Long polling, shorter while a message waits for its key (so the notice is not late)."""
        if not self._waiting:
            return SYNC_TIMEOUT_MS
        first_deadline = min(deadline for _, _, deadline in self._waiting.values())
        return max(0, min(SYNC_TIMEOUT_MS, int((first_deadline - self.clock()) * 1000)))

    async def _keep_keys(self) -> None:
        """What nio's sync_forever does between syncs: publish one-time keys when they run low, query the devices
        of people in encrypted rooms (judged by TofuClient), open Olm sessions where needed, send queued
        to-device messages."""
        if self.store is None:
            return
        try:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            if self.client.outgoing_to_device_messages:
                await self.client.send_to_device_messages()
        except (aiohttp.ClientError, TimeoutError, OSError, LocalProtocolError) as exc:
            log.warning("Matrix key maintenance failed (%s); trying again after the next sync", type(exc).__name__)

    # --- incoming ------------------------------------------------------------------------------

    async def _handle(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        per_room: dict[str, list[Any]] = defaultdict(list)
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if getattr(event, "sender", self.user_id) != self.user_id:
                    per_room[room_id].append(event)
        # Rooms in parallel, each room's messages in order.
        await asyncio.gather(*(self._on_room_events(room_id, events) for room_id, events in per_room.items()))

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        invite = next(
            (
                e
                for e in invite_state
                if isinstance(e, InviteMemberEvent) and e.state_key == self.user_id and e.membership == "invite"
            ),
            None,
        )
        if invite is None:
            return
        if not (invite.content.get("is_direct") or room_id in self.allowed_rooms):
            log.info("declining an invite to a room that is not a direct chat")
            await self.client.room_leave(room_id)
            return
        joined = await self.client.join(room_id)
        if getattr(joined, "room_id", None):
            address = f"matrix:{invite.sender}"
            await asyncio.to_thread(self._remember_room, address, room_id)

    def _remember_room(self, address: str, room_id: str) -> None:
        """Note the person's room in the database, at every message: a copy in memory would outlive an erasure
        (/forget here, or by an admin in another process) and then never write the room again."""
        with self.db.uow() as uow:
            person_for_chat(uow, address, self.default_language)
            remember_reply_to(uow, address, room_id)
            uow.commit()

    async def _on_room_events(self, room_id: str, events: list[Any]) -> None:
        room = self.client.rooms.get(room_id)
        for event in events:  # in an encrypted room nio has already decrypted what it could
            if isinstance(event, RoomMessageText):
                await self._on_text(room_id, room, event)
            elif isinstance(event, RoomMessageUnknown) and event.msgtype == "m.location":  # nio has no class for it
                await self._on_location(room_id, room, event)
            elif isinstance(event, RoomMessageImage):
                await self._on_image(room_id, event)
            elif isinstance(event, MegolmEvent):
                await self._on_undecryptable(room_id, event)

    async def _on_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        """A message whose key we do not have: ask for the key, and give it a few seconds to arrive
        (`_retry_waiting`) before asking the person to send the message again."""
        if self.store is not None:
            try:
                await self.client.request_room_key(event)
            except LocalProtocolError:
                pass  # already asked for this session's key
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("Matrix room key request failed (%s)", type(exc).__name__)
        if self.store is None or len(self._waiting) >= MAX_WAITING:
            await self._tell_undecryptable(room_id, event)
            return
        self._waiting[event.event_id] = (room_id, event, self.clock() + KEY_WAIT)

    async def _retry_waiting(self) -> None:
        """After each sync: the waiting messages whose key came are handled as if they had just arrived; those
        past their wait get the notice."""
        now = self.clock()
        for event_id, (room_id, event, deadline) in list(self._waiting.items()):
            try:
                decrypted = self.client.decrypt_event(event)
            except (EncryptionError, LocalProtocolError):
                decrypted = None
            if decrypted is not None and not isinstance(decrypted, MegolmEvent):
                del self._waiting[event_id]
                await self._on_room_events(room_id, [decrypted])
            elif now >= deadline:
                del self._waiting[event_id]
                await self._tell_undecryptable(room_id, event)

    async def _tell_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        log.info("a Matrix message could not be decrypted; the sender is asked to send it again")
        incoming = Incoming(f"matrix:{event.sender}", "", self.default_language, "", room_id)
        text = translate("bot.matrix.undecryptable", await self.router.language(incoming))
        content = {"msgtype": "m.notice", "body": text}
        await self._send_content(room_id, content, txn_id(event.event_id, "undecryptable"))

    async def _on_text(self, room_id: str, room: MatrixRoom | None, event: RoomMessageText) -> None:
        address = f"matrix:{event.sender}"
        await asyncio.to_thread(self._remember_room, address, room_id)
        name = room.user_name(event.sender) if room is not None else ""
        payload = self.choices.answer(room_id, event.body)
        incoming = Incoming(address, payload or event.body, self.default_language, name or "", room_id)
        replies = await (self.router.press(incoming) if payload else self.router.handle(incoming))
        await self.send(room_id, replies, event.event_id, await self._share_language(incoming, replies))

    async def _on_location(self, room_id: str, room: MatrixRoom | None, event: RoomMessageUnknown) -> None:
        """A shared location: its `geo:` URI as the share_location payload, pressed for the person like a button;
        a URI that is not a well-formed position gets a sentence in the person's language."""
        address = f"matrix:{event.sender}"
        await asyncio.to_thread(self._remember_room, address, room_id)
        name = room.user_name(event.sender) if room is not None else ""
        payload = geo_payload(location_uri(event.content))
        incoming = Incoming(address, payload or "", self.default_language, name or "", room_id)
        if payload is None:
            lang = await self.router.language(incoming)
            await self.send(room_id, [BotMessage(translate("share.location_invalid", lang))], event.event_id, lang)
            return
        replies = await self.router.press(incoming)
        await self.send(room_id, replies, event.event_id, await self._share_language(incoming, replies))

    async def _on_image(self, room_id: str, event: RoomMessageImage) -> None:
        """An `m.image`: a vendor's product picture (bot/photos.py), downloaded from its mxc:// URL. Its body is a
        caption only when the event also names the file (`filename`), as newer clients send it."""
        address = f"matrix:{event.sender}"
        await asyncio.to_thread(self._remember_room, address, room_id)
        content = event.source.get("content", {})
        caption = event.body if content.get("filename") and content.get("filename") != event.body else ""
        info = content.get("info") if isinstance(content.get("info"), dict) else {}
        size = info.get("size") if isinstance(info.get("size"), int) else None

        async def fetch() -> bytes:
            response = await self.client.download(mxc=event.url)
            if not isinstance(response, MemoryDownloadResponse):
                raise OSError(f"download failed: {type(response).__name__}")
            return response.body

        incoming = Incoming(address, caption, self.default_language, "", room_id)
        await self.send(room_id, await receive_photo(self.router, incoming, size, fetch), event.event_id)

    async def _share_language(self, incoming: Incoming, replies: list[BotMessage]) -> str:
        """The person's language for a share hint, looked up only when a reply has one."""
        return await self.router.language(incoming) if any(reply.share for reply in replies) else ""

    # --- outgoing ------------------------------------------------------------------------------

    @staticmethod
    def render(message: BotMessage, lang: str = "fr") -> str:
        lines = [message.text] if message.text else []
        lines += [f"{number}. {button.title}" for number, button in enumerate(message.buttons, 1)]
        if "location" in message.share:  # no request button on Matrix: say that a location can be sent
            lines.append(translate("share.location_hint", lang))
        return "\n".join(lines)

    async def send(self, room_id: str, replies: list[BotMessage], answering: str = "", lang: str = "") -> None:
        self.choices.forget(room_id)  # a new answer begins: the previous list no longer applies, even if this fails
        offered: tuple[Button, ...] = ()
        for index, reply in enumerate(replies):
            key = txn_id(answering or str(id(reply)), str(index))
            if reply.image:
                await self._send_file(room_id, reply.image, key + "i", "m.image")
            if reply.document:
                await self._send_file(room_id, reply.document, key + "d", "m.file")
            offered = reply.buttons or offered
            for part, body in enumerate(body_chunks(self.render(reply, lang or self.default_language))):
                tx = key + (f"p{part}" if part else "")  # the first part keeps the key it always had
                await self._send_content(room_id, {"msgtype": "m.text", "body": body}, tx)
        self.choices.offer(room_id, offered)

    def _encrypted(self, room_id: str) -> bool:
        """Whether the room is encrypted, as nio knows it (its store keeps the list across restarts)."""
        if self.store is None:
            return False
        room = self.client.rooms.get(room_id)
        return room_id in self.client.encrypted_rooms or bool(room is not None and room.encrypted)

    async def _room_send(self, room_id: str, content: dict[str, Any], tx: str) -> Any:
        """nio's room_send, which encrypts for an encrypted room (sharing the room key with the devices judged
        trustworthy: see bot/matrix_crypto.py)."""
        if self.store is None:
            return await self.client.room_send(room_id, "m.room.message", content, tx_id=tx)
        try:
            try:
                return await self.client.room_send(room_id, "m.room.message", content, tx_id=tx)
            except OlmUnverifiedDeviceError:
                # A device nio stored without our judging it (a query answered while we were not looking):
                # judge the room's devices now, once, and send again.
                room = self.client.rooms.get(room_id)
                trust_known_devices(self.client, list(room.users) if room is not None else [])
                return await self.client.room_send(room_id, "m.room.message", content, tx_id=tx)
        except (LocalProtocolError, SendRetryError, OlmUnverifiedDeviceError) as exc:
            # e.g. a room this process has not synced yet: the outbox tries again later
            raise TemporarySendError(f"Matrix could not send yet: {type(exc).__name__}") from exc

    async def _send_content(self, room_id: str, content: dict[str, Any], tx: str) -> str:
        response = await self._room_send(room_id, content, tx)
        if isinstance(response, RoomSendResponse):
            return response.event_id
        status = getattr(response, "status_code", "") or ""
        if status == "M_LIMIT_EXCEEDED":
            retry_ms = getattr(response, "retry_after_ms", None) or 1000
            raise TemporarySendError(str(response), retry_after=retry_ms / 1000)
        if status in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN"):
            raise PermanentSendError(str(response))
        raise TemporarySendError(str(response))

    async def _send_file(self, room_id: str, source: str, tx: str, msgtype: str) -> None:
        """Upload the bytes of an https URL on a public host (fetched with `fetch_public`: every address and
        redirect checked, size and time bounded, an image for `m.image`) or of a file in the media or payments
        folder, and post them as `msgtype` (`m.image`, `m.file`). Anything else is not sent, with a warning
        that names neither the person nor the reference; the text of the reply goes out all the same."""
        image = msgtype == "m.image"
        mime = ""
        try:
            if self.media.remote_url(source) is not None:
                fetched = await fetch_public(source, self.media, image=image)
                data, mime = fetched.data, fetched.content_type
            else:
                data = await asyncio.to_thread(self.media.read_local, source)
        except MediaRefused as refused:
            log.warning("%s not sent: %s", msgtype, refused.reason)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("%s not sent: %s", msgtype, type(exc).__name__)
            return
        name = Path(source.split("?", 1)[0]).name or ("image.png" if image else "file")
        mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
        # In an encrypted room the file is encrypted before it leaves (AES-CTR, key and hash in the message,
        # itself encrypted): the homeserver's media store only ever holds ciphertext.
        encrypt = self._encrypted(room_id)
        options = {"encrypt": True} if encrypt else {}
        uploaded, keys = await self.client.upload(
            lambda *_: data, content_type=mime, filename=name, filesize=len(data), **options
        )
        if not isinstance(uploaded, UploadResponse):
            log.warning("%s upload failed: %s", msgtype, uploaded)
            return
        content: dict[str, Any] = {"msgtype": msgtype, "body": name, "info": {"mimetype": mime, "size": len(data)}}
        if encrypt:
            content["file"] = {"url": uploaded.content_uri, "mimetype": mime, **(keys or {})}
        else:
            content["url"] = uploaded.content_uri
        await self._send_content(room_id, content, tx)

    # --- outbox --------------------------------------------------------------------------------

    async def _direct_room(self, user_id: str) -> str:
        """Open a direct chat with someone we never talked to in a room (and remember it)."""
        created = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat
        )
        if not isinstance(created, RoomCreateResponse):
            raise TemporarySendError(f"could not open a direct chat: {created}")
        await asyncio.to_thread(self._remember_room, f"matrix:{user_id}", created.room_id)
        if self.store is not None:  # nio sends only to rooms a sync has shown it
            deadline = self.clock() + NEW_ROOM_WAIT
            while created.room_id not in self.client.rooms and self.clock() < deadline:
                await asyncio.sleep(0.2)
        return created.room_id

    async def deliver(self, destination: str, text: str, key: str) -> str:
        try:
            room_id = destination if destination.startswith("!") else await self._direct_room(destination)
            return await self._send_content(room_id, {"msgtype": "m.text", "body": text}, txn_id("outbox", key))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TemporarySendError(str(exc) or type(exc).__name__) from exc
