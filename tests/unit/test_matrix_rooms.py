"""The Matrix channel's rooms: nothing about a person kept in memory after an erasure, messages that cannot be
decrypted, and what goes out to an encrypted room. A fake nio client; the test database (rooms are noted)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import EncryptionError, MegolmEvent, RoomMessageText, RoomSendResponse, UploadResponse
from sqlalchemy import select

from bootstrap import App
from bot.commands import Incoming
from bot.matrix_bot import KEY_WAIT, MatrixChannel
from bot.matrix_crypto import CryptoStore
from bot.rasa_client import BotMessage
from marketplace.accounts import ChatIdentity, person_for_chat
from marketplace.i18n import translate
from marketplace.media import MediaPolicy
from marketplace.secrets import MissingSecret
from privacy.erase import erase_person
from tests.support.clock import ManualClock

ROOM = "!claire:test"
CLAIRE = "@claire:test"


class FakeNioClient:
    """What MatrixChannel uses of nio's AsyncClient with a crypto store, recorded."""

    def __init__(self) -> None:
        self.user_id = "@marche:test"
        self.rooms: dict[str, Any] = {}
        self.encrypted_rooms: set[str] = set()
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.uploads: list[tuple[bytes, bool]] = []  # bytes, encrypted
        self.key_requests: list[str] = []
        self.keys: dict[str, RoomMessageText] = {}  # session id -> what decrypting gives once its key came

    async def room_send(self, room_id: str, _type: str, content: dict[str, Any], tx_id: str) -> Any:
        self.sent.append((room_id, content, tx_id))
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)

    async def upload(self, provider, **options: Any) -> Any:  # type: ignore[no-untyped-def]
        self.uploads.append((provider(None, None), options.get("encrypt", False)))
        keys = {"key": {"k": "secret"}, "iv": "iv", "hashes": {"sha256": "h"}, "v": "v2"}
        return UploadResponse(f"mxc://test/{len(self.uploads)}"), (keys if options.get("encrypt") else None)

    async def request_room_key(self, event: MegolmEvent) -> None:
        self.key_requests.append(event.session_id)

    def decrypt_event(self, event: MegolmEvent) -> Any:
        if event.session_id not in self.keys:
            raise EncryptionError("missing session")
        return self.keys[event.session_id]


class FakeRouter:
    def __init__(self, language: str = "fr") -> None:
        self.lang = language
        self.turns: list[str] = []

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        self.turns.append(incoming.text)
        return [BotMessage(f"vu : {incoming.text}")]

    async def press(self, incoming: Incoming) -> list[BotMessage]:
        return await self.handle(incoming)

    async def language(self, _incoming: Incoming) -> str:
        return self.lang


def channel(  # type: ignore[no-untyped-def]
    app: App, client: FakeNioClient, router: FakeRouter | None = None, clock: ManualClock | None = None, store=True
):
    matrix = MatrixChannel(
        "http://matrix.test",
        "@marche:test",
        router or FakeRouter(),
        app.db,
        access_token="t",
        clock=clock or ManualClock(),
        store=CryptoStore(Path("/nonexistent/matrix-store"), "k" * 43) if store else None,  # never opened here
    )
    matrix.client = client  # type: ignore[assignment]
    return matrix


def text_event(body: str, number: int) -> RoomMessageText:
    return RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "sender": CLAIRE,
            "event_id": f"$claire{number}",
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": body},
        }
    )


def undecryptable(session: str, number: int) -> MegolmEvent:
    return MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "sender": CLAIRE,
            "event_id": f"$sealed{number}",
            "origin_server_ts": 1,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "sender_key": "curve",
                "ciphertext": "AwgA",
                "session_id": session,
                "device_id": "PHONE",
            },
        }
    )


# --- erasure ------------------------------------------------------------------------------------


def test_after_an_erasure_the_next_message_notes_the_room_again_and_no_memory_names_the_person(app: App) -> None:
    client = FakeNioClient()
    matrix = channel(app, client)
    asyncio.run(matrix._on_room_events(ROOM, [text_event("bonjour", 1)]))
    with app.db.uow() as uow:
        erase_person(uow, person_for_chat(uow, f"matrix:{CLAIRE}"), datetime.now(UTC))
        uow.commit()
    with app.db.uow() as uow:
        assert uow.session.scalars(select(ChatIdentity)).all() == []
    assert CLAIRE not in repr(vars(matrix)), "the channel keeps nothing that names the erased person"

    asyncio.run(matrix._on_room_events(ROOM, [text_event("me revoilà", 2)]))  # she writes again, same room
    with app.db.uow() as uow:
        identity = uow.session.scalars(select(ChatIdentity)).one()
        assert (identity.external_id, identity.reply_to) == (CLAIRE, ROOM), "notifications reach her again"


# --- messages that cannot be decrypted -------------------------------------------------------------


def test_an_undecryptable_message_gets_a_key_request_then_a_notice_in_the_persons_language(app: App) -> None:
    client, clock, router = FakeNioClient(), ManualClock(), FakeRouter("de")
    matrix = channel(app, client, router, clock)
    asyncio.run(matrix._on_room_events(ROOM, [undecryptable("S1", 1)]))
    assert client.key_requests == ["S1"] and client.sent == [], "the key may still come: no notice yet"
    asyncio.run(matrix._retry_waiting())
    assert client.sent == []
    clock.advance(KEY_WAIT)
    asyncio.run(matrix._retry_waiting())
    assert [(room, content) for room, content, _ in client.sent] == [
        (ROOM, {"msgtype": "m.notice", "body": translate("bot.matrix.undecryptable", "de")})
    ]
    assert router.turns == [] and len(matrix._waiting) == 0
    asyncio.run(matrix._retry_waiting())
    assert len(client.sent) == 1, "told once"


def test_a_key_that_comes_in_time_gets_the_message_answered_as_usual(app: App) -> None:
    client, clock, router = FakeNioClient(), ManualClock(), FakeRouter()
    matrix = channel(app, client, router, clock)
    asyncio.run(matrix._on_room_events(ROOM, [undecryptable("S2", 2)]))
    client.keys["S2"] = text_event("je cherche du miel", 2)  # the room key arrived with the next sync
    clock.advance(1)
    asyncio.run(matrix._retry_waiting())
    assert router.turns == ["je cherche du miel"]
    assert [content["body"] for _, content, _ in client.sent] == ["vu : je cherche du miel"]


def test_without_a_crypto_store_the_notice_comes_at_once(app: App) -> None:
    client = FakeNioClient()
    matrix = channel(app, client, store=False)
    asyncio.run(matrix._on_room_events(ROOM, [undecryptable("S3", 3)]))
    assert [content["msgtype"] for _, content, _ in client.sent] == ["m.notice"] and client.key_requests == []


# --- sending to an encrypted room --------------------------------------------------------------------


def test_files_for_an_encrypted_room_are_encrypted_attachments(app: App, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "GE-7K3Q9M.pdf"
    pdf.write_bytes(b"%PDF-1.7 qr-bill")
    client = FakeNioClient()
    client.encrypted_rooms.add(ROOM)
    matrix = channel(app, client)
    matrix.media = MediaPolicy(payments_dir=tmp_path)
    asyncio.run(matrix.send(ROOM, [BotMessage("QR-facture", document=str(pdf))], answering="$e1"))
    assert client.uploads == [(b"%PDF-1.7 qr-bill", True)]
    file_message = client.sent[0][1]
    assert "url" not in file_message, "no plain link to the file"
    assert file_message == {
        "msgtype": "m.file",
        "body": "GE-7K3Q9M.pdf",
        "info": {"mimetype": "application/pdf", "size": 16},
        "file": {
            "url": "mxc://test/1", "mimetype": "application/pdf",
            "key": {"k": "secret"}, "iv": "iv", "hashes": {"sha256": "h"}, "v": "v2",
        },
    }  # fmt: skip


# --- the bot process ---------------------------------------------------------------------------------


def test_a_production_bot_process_without_the_store_key_does_not_start(app: App, tmp_path: Path) -> None:
    from bot.__main__ import build_process
    from marketplace.secrets import CHANNEL

    deployment = replace(app, settings=replace(app.settings, data_dir=tmp_path, demo=False))
    env = {"MATRIX_HOMESERVER": "https://matrix.example.org", "MATRIX_USER_ID": "@marche:example.org",
           "MATRIX_PASSWORD": "p", CHANNEL.env: "s" * 64}  # fmt: skip
    with pytest.raises(MissingSecret, match="SMARTKET_MATRIX_STORE_KEY"):
        build_process(deployment, env)
    demo = replace(app, settings=replace(app.settings, data_dir=tmp_path, demo=True))
    [matrix] = build_process(demo, env).channels  # the demo makes the key, 0600
    assert isinstance(matrix, MatrixChannel) and matrix.store is not None
    assert (tmp_path / "secrets" / "matrix-store-key").stat().st_mode & 0o777 == 0o600
