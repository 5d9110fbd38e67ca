"""Matrix end-to-end encryption, end to end: a customer whose client encrypts the direct chat (as Element does
by default) shops and receives the QR-bill as encrypted attachments, against a real Synapse, Rasa, action server
and database. The bot's Matrix client is nio with its crypto store in the stack's data directory.

The bots and the encrypting customers of this module run on one event loop thread: nio's crypto stores go
through peewee's global model classes, which two threads must not use at once (one bot process has one store
and one loop, so production never shares them)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    MegolmEvent,
    RoomEncryptedFile,
    RoomEncryptedImage,
    RoomEncryptedMedia,
    RoomMessageMedia,
    RoomMessageNotice,
    RoomMessageText,
    SyncResponse,
)
from nio.crypto import decrypt_attachment
from sqlalchemy import select

from bot.__main__ import BotProcess
from bot.matrix_bot import MatrixChannel
from bot.matrix_crypto import STORE_FOLDER
from checkout.models import Order
from marketplace.i18n import translate
from payments.documents import payment_folder
from payments.models import PaymentLeg
from tests.e2e.conftest import Stack, bot_process
from tests.e2e.test_matrix import MatrixUser, people, synapse  # noqa: F401 - fixtures used by name
from tests.support.synapse import SynapseServer

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
GREETING_END = "Que cherchez-vous"


class LoopThread:
    """The one event loop thread of this module's bots and encrypting customers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="matrix-e2ee", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 300.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def shared() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@contextmanager
def running(shared: LoopThread, process: BotProcess) -> Iterator[MatrixChannel]:
    """A bot process (channels + outbox) on the shared loop; its Matrix channel."""
    shared.run(process.start())
    shared.run(process.wait_connected())
    try:
        yield next(c for c in process.channels if isinstance(c, MatrixChannel))
    finally:
        shared.run(process.stop())


class EncryptedCustomer(MatrixUser):
    """A person whose Matrix client encrypts: its own crypto store, keys uploaded, devices queried, and (as
    Element by default) room keys shared with devices it has not verified. Every answer of the bot must arrive
    encrypted; attachments are collected to be downloaded and decrypted."""

    def __init__(self, server: SynapseServer, localpart: str, store: Path, shared: LoopThread) -> None:
        super().__init__(server, localpart)
        self.shared = shared
        plain = self.client
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False, pickle_key="customer-test")
        self.client = AsyncClient(
            server.url, self.user_id, device_id=plain.device_id, store_path=str(store), config=config
        )
        self.client.room_send = partial(self.client.room_send, ignore_unverified_devices=True)  # type: ignore[method-assign]
        self.files: list[RoomEncryptedMedia] = []
        self.undecrypted: list[MegolmEvent] = []

        async def sign_in() -> None:
            self.client.restore_login(self.user_id, plain.device_id, plain.access_token)  # opens its store
            await plain.close()
            await self.client.keys_upload()

        self.run(sign_in())

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.shared.run(coro)

    def call(self, action: Callable[..., Any], *args: Any) -> Any:
        """A synchronous nio call that touches the store (trust, sessions), made on the shared loop too."""

        async def on_loop() -> Any:
            return action(*args)

        return self.run(on_loop())

    async def _keep_keys(self) -> None:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        await self.client.send_to_device_messages()

    async def _sync(self, timeout_ms: int = 1000) -> None:
        response = await self.client.sync(timeout=timeout_ms, since=self.next_batch or None)
        assert isinstance(response, SyncResponse), response
        self.next_batch = response.next_batch
        await self._keep_keys()
        room = response.rooms.join.get(self.room_id)
        for event in room.timeline.events if room else []:
            if event.sender != self.bot_id:
                continue
            assert not isinstance(event, RoomMessageMedia), "a file went out in clear to an encrypted room"
            if isinstance(event, MegolmEvent):
                self.undecrypted.append(event)
            elif isinstance(event, RoomEncryptedMedia):
                assert event.decrypted
                self.files.append(event)
            elif isinstance(event, RoomMessageText | RoomMessageNotice):
                assert event.decrypted, f"the bot answered in clear in an encrypted room: {event.body!r}"
                self.received.append(event.body.replace("\u00a0", " ").replace("\u202f", " "))

    def open_encrypted_chat(self, bot_id: str) -> None:
        self.open_direct_chat(bot_id, encrypted=True)
        self.run(self._sync(0))  # the room, its encryption and its members, then the bot's devices
        assert self.client.rooms[self.room_id].encrypted

    def download(self, event: RoomEncryptedMedia) -> tuple[bytes, bytes]:
        """The attachment as stored on the homeserver, and decrypted with the key its message carried."""

        async def fetch() -> bytes:
            response = await self.client.download(mxc=event.url)
            assert isinstance(response, DownloadResponse), response
            return response.body

        stored = self.run(fetch())
        return stored, decrypt_attachment(stored, event.key["k"], event.hashes["sha256"], event.iv)

    def wait_for_files(self, count: int, timeout: float = 60.0) -> list[RoomEncryptedMedia]:
        async def wait() -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while len(self.files) < count and asyncio.get_running_loop().time() < deadline:
                await self._sync(500)

        self.run(wait())
        assert len(self.files) >= count, f"{len(self.files)} files arrived; got {self.received}"
        return self.files


def numbered(answer: str, needle: str) -> str:
    """The number of the last listed choice containing `needle` (the buttons come after the text)."""
    numbers = re.findall(rf"^(\d+)\. .*{re.escape(needle)}", answer, re.M)
    assert numbers, f"no choice {needle!r} in {answer!r}"
    return numbers[-1]


@pytest.fixture(scope="module")
def e2ee_bot(stack: Stack, synapse: SynapseServer, shared: LoopThread) -> Iterator[tuple[str, MatrixChannel]]:  # noqa: F811
    bot = synapse.register("marche-chiffre", password="bot-password")
    env = {
        "MATRIX_HOMESERVER": synapse.url,
        "MATRIX_USER_ID": bot.user_id,
        "MATRIX_PASSWORD": "bot-password",
        "MATRIX_DEVICE_ID": "SMARTKETE2EE",
    }
    with running(shared, bot_process(stack, env)) as channel:
        yield bot.user_id, channel


def test_an_encrypted_direct_chat_shops_and_gets_the_qr_bill_as_encrypted_attachments(
    stack: Stack,
    synapse: SynapseServer,  # noqa: F811
    e2ee_bot: tuple[str, MatrixChannel],
    people: list[MatrixUser],  # noqa: F811
    shared: LoopThread,
    tmp_path: Path,
) -> None:
    bot_id, _ = e2ee_bot
    buyer = EncryptedCustomer(synapse, "chiffree", tmp_path / "buyer-store", shared)
    people.append(buyer)
    buyer.open_encrypted_chat(bot_id)
    assert "Panier :" in buyer.say("ajoute un pot de miel de forêt", expect="Panier :")
    mode = buyer.say("je veux commander", expect="retrait ?")
    points = buyer.say(numbered(mode, "Retrait"), expect="Le Grain Vrac")
    slots = buyer.say(numbered(points, "Le Grain Vrac"), expect="créneau")
    payment = buyer.say("1", expect="payer")
    summary = buyer.say(numbered(payment, "Francs"), expect="On confirme")
    assert "Paiement : en francs (QR-facture). On confirme ?" in summary, (slots, summary)
    placed = buyer.say("oui", expect="Scannez-la")
    number = ORDER_NUMBER.search(placed)
    assert number, placed

    image, document = buyer.wait_for_files(2)
    assert isinstance(image, RoomEncryptedImage) and isinstance(document, RoomEncryptedFile)
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None and order.payment_method == "chf"
        [leg] = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order.id))
        stem = f"{order.number}-{leg.id}-qr-bill"
    folder = payment_folder(stack.settings)
    stored_png, png = buyer.download(image)
    stored_pdf, pdf = buyer.download(document)
    assert png.startswith(b"\x89PNG") and png == (folder / f"{stem}.png").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf == (folder / f"{stem}.pdf").read_bytes()
    assert stored_png != png and stored_pdf != pdf, "the homeserver's media store holds ciphertext only"
    assert (image.body, document.body) == (f"{stem}.png", f"{stem}.pdf")
    assert buyer.undecrypted == [], "every answer of the bot could be decrypted"

    # The same bot, in the same run, still talks in plain rooms.
    plain = MatrixUser(synapse, "enclair")
    people.append(plain)
    plain.open_direct_chat(bot_id)
    assert GREETING_END in plain.say("bonjour", expect=GREETING_END)


def test_a_message_the_bot_cannot_decrypt_gets_a_key_request_and_a_notice(
    synapse: SynapseServer,  # noqa: F811
    e2ee_bot: tuple[str, MatrixChannel],
    people: list[MatrixUser],  # noqa: F811
    shared: LoopThread,
    tmp_path: Path,
) -> None:
    bot_id, channel = e2ee_bot
    person = EncryptedCustomer(synapse, "cachottiere", tmp_path / "store", shared)
    people.append(person)
    person.open_encrypted_chat(bot_id)
    [bot_device] = person.client.device_store.active_user_devices(bot_id)
    person.call(
        person.client.blacklist_device, bot_device
    )  # her client keeps the room key from the bot: it cannot decrypt
    notice = person.say("je cherche du miel", expect="déchiffrer")
    assert notice == translate("bot.matrix.undecryptable", "fr")
    withheld = person.client.olm.outbound_group_sessions[person.room_id].id
    assert withheld in channel.client.outgoing_key_requests, "the bot asked for the missing key"

    # Not a dead end: once her client shares a room key with the bot again, it answers as usual.
    person.call(person.client.unblacklist_device, bot_device)
    person.call(person.client.olm.rotate_outbound_group_session, person.room_id)
    assert GREETING_END in person.say("bonjour", expect=GREETING_END)
    assert person.received[0] == notice and person.undecrypted == []


def test_a_restarted_bot_reuses_its_crypto_store_same_device_same_keys(
    stack: Stack,
    synapse: SynapseServer,  # noqa: F811
    people: list[MatrixUser],  # noqa: F811
    shared: LoopThread,
    tmp_path: Path,
) -> None:
    bot = synapse.register("marche-memoire", password="bot-password")
    env = {"MATRIX_HOMESERVER": synapse.url, "MATRIX_USER_ID": bot.user_id, "MATRIX_PASSWORD": "bot-password"}
    person = EncryptedCustomer(synapse, "fidele", tmp_path / "store", shared)
    people.append(person)
    with running(shared, bot_process(stack, env)) as channel:
        first = channel.client
        device_id, identity = first.device_id, dict(first.olm.account.identity_keys)
        person.open_encrypted_chat(bot.user_id)
        assert GREETING_END in person.say("bonjour", expect=GREETING_END)

    with running(shared, bot_process(stack, env)) as channel:
        again = channel.client
        assert (again.device_id, dict(again.olm.account.identity_keys)) == (device_id, identity)
        # Her client's room key was shared with the bot's device before the restart and is not shared again:
        # the bot reads her next message only because its store kept that key.
        answer = person.say("mon panier", expect="panier")
        assert "Votre panier est vide." in answer
    [known] = person.client.device_store.active_user_devices(bot.user_id)
    assert (known.id, known.ed25519) == (device_id, identity["ed25519"]), "the homeserver has the same keys"
    stores = sorted(p.name for p in (stack.settings.data_dir / STORE_FOLDER).glob(f"{bot.user_id}_*.db"))
    assert stores == [f"{bot.user_id}_{device_id}.db"]
