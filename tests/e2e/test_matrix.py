"""Matrix end to end against a real Synapse homeserver (started by the tests), with the real Rasa server,
action server and database: consumers and vendors are matrix-nio clients, as Element would be."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from nio import (
    AsyncClient,
    JoinedMembersResponse,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
    SyncResponse,
)
from nio.api import RoomPreset
from sqlalchemy import select

from catalog.models import Product
from checkout.models import Order
from tests.e2e.conftest import BotRunner, Stack, bot_process, link_code
from tests.support.synapse import SynapseServer, installed_python

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")


@pytest.fixture(scope="module")
def synapse() -> Iterator[SynapseServer]:
    if installed_python() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Synapse is not installed: run `make synapse-install`")
        pytest.skip("Synapse is not installed: run `make synapse-install`")
    with SynapseServer() as server:
        yield server


@pytest.fixture(scope="module")
def matrix_bot(stack: Stack, synapse: SynapseServer) -> Iterator[dict[str, str]]:
    bot = synapse.register("marche", password="bot-password")
    env = {
        "MATRIX_HOMESERVER": synapse.url,
        "MATRIX_USER_ID": bot.user_id,
        "MATRIX_PASSWORD": "bot-password",
        "MATRIX_DEVICE_ID": "SMARTKETTEST",
    }
    with BotRunner(bot_process(stack, env)):
        yield env


class MatrixUser:
    """A person using a Matrix client: opens a direct chat with the bot, writes, reads the answers."""

    def __init__(self, synapse: SynapseServer, localpart: str) -> None:
        account = synapse.register(localpart)
        self.client = AsyncClient(synapse.url, account.user_id, device_id=account.device_id)
        self.client.access_token = account.access_token
        self.user_id = account.user_id
        self.room_id = ""
        self.bot_id = ""
        self.received: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.next_batch = ""

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.client.close())
        self.loop.close()

    async def _sync(self, timeout_ms: int = 1000) -> None:
        response = await self.client.sync(timeout=timeout_ms, since=self.next_batch or None)
        assert isinstance(response, SyncResponse), response
        self.next_batch = response.next_batch
        room = response.rooms.join.get(self.room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText | RoomMessageNotice) and event.sender == self.bot_id:
                self.received.append(event.body)

    def open_direct_chat(self, bot_id: str, timeout: float = 30.0, encrypted: bool = False) -> None:
        self.bot_id = bot_id
        encryption = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}

        async def open_and_wait() -> None:
            await self._sync(0)
            created = await self.client.room_create(
                is_direct=True,
                invite=[bot_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=[encryption] if encrypted else [],
            )
            assert isinstance(created, RoomCreateResponse), created
            self.room_id = created.room_id
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                members = await self.client.joined_members(self.room_id)
                if isinstance(members, JoinedMembersResponse) and bot_id in {m.user_id for m in members.members}:
                    return
                await asyncio.sleep(0.2)
            raise AssertionError("the bot did not join the direct chat")

        self.run(open_and_wait())

    def say(self, text: str, expect: str = "", timeout: float = 40.0) -> str:
        """Send `text`; the bot's answer, once `expect` shows up (or once it stops writing)."""
        seen = len(self.received)

        async def exchange() -> str:
            await self.client.room_send(self.room_id, "m.room.message", {"msgtype": "m.text", "body": text})
            deadline = time.monotonic() + timeout
            quiet = 0
            while time.monotonic() < deadline:
                before = len(self.received)
                await self._sync(500)
                answer = "\n".join(self.received[seen:])
                if expect and expect.lower() in answer.lower():
                    return answer
                quiet = quiet + 1 if len(self.received) == before else 0
                if not expect and len(self.received) > seen and quiet >= 2:
                    return answer
            raise AssertionError(f"expected {expect!r}, got {self.received[seen:]}")

        return self.run(exchange())

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        async def wait() -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                match = next((m for m in self.received if needle in m), None)
                if match:
                    return match
                await self._sync(500)
            raise AssertionError(f"{needle!r} never arrived; got {self.received}")

        return self.run(wait())

    def quiet_for(self, seconds: float) -> list[str]:
        """Messages that arrive in the next `seconds` (to check that nothing is repeated)."""
        seen = len(self.received)

        async def listen() -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await self._sync(500)

        self.run(listen())
        return self.received[seen:]


@pytest.fixture
def people(synapse: SynapseServer) -> Iterator[list[MatrixUser]]:
    created: list[MatrixUser] = []
    yield created
    for person in created:
        person.close()


def test_a_purchase_by_numbered_choices_a_vendor_notified_and_stocking_up(
    stack: Stack, synapse: SynapseServer, matrix_bot: dict[str, str], people: list[MatrixUser]
) -> None:
    bot_id = matrix_bot["MATRIX_USER_ID"]
    vendor = MatrixUser(synapse, "fromagere")
    people.append(vendor)
    vendor.open_direct_chat(bot_id)
    linked = vendor.say(f"/link {link_code(stack, 'fromagerie-de-la-seymaz')}", expect="Fromagerie")
    assert "/products" in linked

    buyer = MatrixUser(synapse, "claire")
    people.append(buyer)
    buyer.open_direct_chat(bot_id)
    found = buyer.say("je cherche du gruyère", expect="Gruyère")
    assert re.search(r"^1\. ", found, re.M), "buttons become a numbered list"
    added = buyer.say("1", expect="panier")  # the number presses the first button
    assert "Gruyère" in added
    buyer.say("je veux commander", expect="Livraison")
    buyer.say("Livraison à domicile", expect="postal")  # a button's words work too
    slots = buyer.say("1205")
    assert re.search(r"^1\. ", slots, re.M)
    buyer.say("1", expect="payer")
    buyer.say("à la livraison", expect="Récapitulatif")
    placed = buyer.say("oui", expect="GE-")
    number = ORDER_NUMBER.search(placed)
    assert number, placed
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None
        assert order.person.identities[0].external_id == buyer.user_id
        vendors = {part.vendor.slug for part in order.vendor_orders}
    assert vendors == {"fromagerie-de-la-seymaz"}

    notice = vendor.wait_for(number[0])
    assert "Gruyère" in notice
    vendor.say("/stock gruyere aop doux 30", expect="30")
    with stack.db.uow() as uow:
        stocks = dict(
            uow.session.execute(
                select(Product.sku, Product.stock).where(Product.vendor.has(slug="fromagerie-de-la-seymaz"))
            ).all()
        )
    assert Decimal(30) in stocks.values()


def test_invites_to_rooms_that_are_not_direct_chats_are_declined(
    synapse: SynapseServer, matrix_bot: dict[str, str], people: list[MatrixUser]
) -> None:
    organiser = MatrixUser(synapse, "organiser")
    people.append(organiser)
    bot_id = matrix_bot["MATRIX_USER_ID"]

    async def invite_to_a_group() -> str:
        created = await organiser.client.room_create(name="Apéro", invite=[bot_id])
        assert isinstance(created, RoomCreateResponse)
        return created.room_id

    room_id = organiser.run(invite_to_a_group())
    time.sleep(3)

    async def members() -> set[str]:
        response = await organiser.client.joined_members(room_id)
        return {m.user_id for m in response.members}

    assert bot_id not in organiser.run(members())


def test_a_restarted_bot_answers_what_came_meanwhile_once_and_history_never_again(
    stack: Stack, synapse: SynapseServer, people: list[MatrixUser]
) -> None:
    bot = synapse.register("marche-restart", password="bot-password")
    env = {"MATRIX_HOMESERVER": synapse.url, "MATRIX_USER_ID": bot.user_id, "MATRIX_PASSWORD": "bot-password"}
    person = MatrixUser(synapse, "restart")
    people.append(person)
    with BotRunner(bot_process(stack, env)):
        person.open_direct_chat(bot.user_id)
        person.say("je cherche du miel", expect="Miel")
        answered_before = len(person.received)

    async def write_while_down() -> None:
        await person.client.room_send(person.room_id, "m.room.message", {"msgtype": "m.text", "body": "mon panier"})

    person.run(write_while_down())
    with BotRunner(bot_process(stack, env)):  # same account and device, a new process
        answer = person.wait_for("panier")
        later = person.quiet_for(4)
    new = person.received[answered_before:]
    assert answer in new
    assert not any("Miel de" in m for m in new), "the search before the restart is not answered again"
    assert new.count(answer) == 1 and answer not in later, "what came while the bot was down is answered once"


def test_an_encrypted_direct_chat_is_told_that_encryption_is_not_supported_yet(
    synapse: SynapseServer, matrix_bot: dict[str, str], people: list[MatrixUser]
) -> None:
    person = MatrixUser(synapse, "secret")
    people.append(person)
    person.open_direct_chat(matrix_bot["MATRIX_USER_ID"], encrypted=True)
    notice = person.wait_for("chiffr")
    assert "chiffré" in notice and "Traceback" not in notice
