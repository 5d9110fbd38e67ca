"""The Matrix channel against a fake matrix-nio client: what goes out to a room, and how a typed number is
understood. The router behind it is a fake Rasa; the database is the test one (rooms are remembered)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageText, RoomSendError, RoomSendResponse, UploadResponse
from sqlalchemy import select

from bootstrap import App
from bot.commands import Incoming
from bot.dispatcher import TemporarySendError
from bot.matrix_bot import CHOICES_TTL, MatrixChannel
from bot.rasa_client import BotMessage, Button
from marketplace.accounts import ChatIdentity
from marketplace.media import MediaPolicy
from tests.support.clock import ManualClock

ROOM = "!claire:test"
SLOTS = BotMessage("Choisissez un créneau", (Button("Lundi 17h", "/slot_monday"), Button("Mardi 17h", "/slot_tuesday")))


class FakeNioClient:
    """What MatrixChannel uses of nio's AsyncClient: upload and room_send, recorded."""

    def __init__(self) -> None:
        self.user_id = "@marche:test"
        self.uploads: list[tuple[bytes, str, str]] = []
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.refuse_texts = False

    async def upload(self, provider, content_type: str, filename: str, filesize: int):  # type: ignore[no-untyped-def]
        data = provider(None, None)
        assert len(data) == filesize
        self.uploads.append((data, content_type, filename))
        return UploadResponse(f"mxc://test/{len(self.uploads)}"), None

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any], tx_id: str):  # type: ignore[no-untyped-def]
        assert message_type == "m.room.message"
        if self.refuse_texts and content["msgtype"] == "m.text":
            return RoomSendError("Internal server error", status_code="M_UNKNOWN_ERROR")
        self.sent.append((room_id, content, tx_id))
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)


class FakeRouter:
    """Answers each turn with the next scripted reply; records what was typed and what was pressed."""

    def __init__(self, *replies: list[BotMessage]) -> None:
        self.replies = list(replies)
        self.turns: list[tuple[str, str]] = []

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        self.turns.append(("typed", incoming.text))
        return self.replies.pop(0)

    async def press(self, incoming: Incoming) -> list[BotMessage]:
        self.turns.append(("pressed", incoming.text))
        return self.replies.pop(0)


def channel(app: App, router: FakeRouter | None = None, clock: ManualClock | None = None) -> MatrixChannel:
    matrix = MatrixChannel(
        "http://matrix.test",
        "@marche:test",
        router or FakeRouter(),
        app.db,
        access_token="t",
        clock=clock or ManualClock(),
    )
    matrix.client = FakeNioClient()  # type: ignore[assignment]
    return matrix


def claire_says(matrix: MatrixChannel, text: str, event: int) -> None:
    message = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "sender": "@claire:test",
            "event_id": f"$claire{event}",
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": text},
        }
    )
    asyncio.run(matrix._on_text(ROOM, None, message))


def test_a_qr_bill_pdf_goes_out_as_a_file_and_a_qr_code_as_an_image(app: App, tmp_path: Path) -> None:
    pdf, png = tmp_path / "GE-7K3Q9M.pdf", tmp_path / "GE-7K3Q9M.png"
    pdf.write_bytes(b"%PDF-1.7 qr-bill")  # 16 bytes
    png.write_bytes(b"\x89PNG qr-code")  # 12 bytes
    matrix = channel(app)
    matrix.media = MediaPolicy(payments_dir=tmp_path)  # the files are in the deployment's payments folder
    asyncio.run(matrix.send(ROOM, [BotMessage("QR-facture", image=str(png), document=str(pdf))], answering="$e1"))
    client: FakeNioClient = matrix.client  # type: ignore[assignment]
    assert client.uploads == [
        (b"\x89PNG qr-code", "image/png", "GE-7K3Q9M.png"),
        (b"%PDF-1.7 qr-bill", "application/pdf", "GE-7K3Q9M.pdf"),
    ]
    assert [content for _, content, _ in client.sent] == [
        {
            "msgtype": "m.image",
            "body": "GE-7K3Q9M.png",
            "url": "mxc://test/1",
            "info": {"mimetype": "image/png", "size": 12},
        },
        {
            "msgtype": "m.file",
            "body": "GE-7K3Q9M.pdf",
            "url": "mxc://test/2",
            "info": {"mimetype": "application/pdf", "size": 16},
        },
        {"msgtype": "m.text", "body": "QR-facture"},
    ]


def test_a_number_presses_the_button_of_the_list_just_offered(app: App) -> None:
    router = FakeRouter([SLOTS], [BotMessage("Comment voulez-vous payer ?")])
    matrix = channel(app, router)
    claire_says(matrix, "je veux commander", 1)
    claire_says(matrix, "2", 2)
    assert router.turns == [("typed", "je veux commander"), ("pressed", "/slot_tuesday")]
    sent = [content["body"] for _, content, _ in matrix.client.sent]  # type: ignore[attr-defined]
    assert sent == ["Choisissez un créneau\n1. Lundi 17h\n2. Mardi 17h", "Comment voulez-vous payer ?"]
    with app.db.uow() as uow:
        identity = uow.session.scalars(select(ChatIdentity)).one()
        assert (identity.external_id, identity.reply_to) == ("@claire:test", ROOM)


def test_an_answer_without_buttons_forgets_the_list(app: App) -> None:
    router = FakeRouter([SLOTS], [BotMessage("Voici votre panier : vide.")], [BotMessage("2 quoi ?")])
    matrix = channel(app, router)
    claire_says(matrix, "je veux commander", 1)
    claire_says(matrix, "mon panier", 2)
    claire_says(matrix, "2", 3)
    assert router.turns == [("typed", "je veux commander"), ("typed", "mon panier"), ("typed", "2")]
    assert len(matrix.choices) == 0, "nothing is kept for a room whose last answer offered no list"


def test_a_list_expires_so_a_number_typed_much_later_is_a_sentence(app: App) -> None:
    clock = ManualClock()
    router = FakeRouter([SLOTS], [BotMessage("2 quoi ?")])
    matrix = channel(app, router, clock)
    claire_says(matrix, "je veux commander", 1)
    clock.advance(CHOICES_TTL + 1)
    claire_says(matrix, "2", 2)
    assert router.turns == [("typed", "je veux commander"), ("typed", "2")]
    assert len(matrix.choices) == 0


def test_an_answer_that_failed_half_way_does_not_leave_the_old_list_answering(app: App) -> None:
    basket = BotMessage("Votre panier", (Button("Commander", "/checkout"),))
    router = FakeRouter([SLOTS], [basket], [BotMessage("2 quoi ?")])
    matrix = channel(app, router)
    claire_says(matrix, "je veux commander", 1)
    matrix.client.refuse_texts = True  # type: ignore[attr-defined]
    with pytest.raises(TemporarySendError):
        claire_says(matrix, "mon panier", 2)
    matrix.client.refuse_texts = False  # type: ignore[attr-defined]
    claire_says(matrix, "2", 3)
    assert router.turns[-1] == ("typed", "2")


def test_lists_are_kept_for_a_bounded_number_of_rooms(app: App) -> None:
    matrix = channel(app)
    matrix.choices.max_rooms = 3
    for n in range(5):
        asyncio.run(matrix.send(f"!room{n}:test", [SLOTS], answering=f"$e{n}"))
    assert len(matrix.choices) == 3
    assert matrix.choices.answer("!room0:test", "1") is None
    assert matrix.choices.answer("!room4:test", "1") == "/slot_monday"
