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
    RoomMemberEvent,
    RoomMessageNotice,
    RoomMessageText,
    SyncResponse,
)
from nio.api import RoomPreset
from sqlalchemy import select

from catalog.models import Product
from checkout.models import Order
from tests.e2e.conftest import BotRunner, Stack, bot_process, link_code
from tests.support.shop import basket_lines
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
                # As read: amounts are formatted with no-break spaces ("18,50\u00a0CHF"), which read as spaces.
                self.received.append(event.body.replace("\u00a0", " ").replace("\u202f", " "))

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

    def say(self, text: str, expect: str, timeout: float = 60.0) -> str:
        """Send `text`; the bot's answer, once its last message (the one that contains `expect`) arrived."""
        seen = len(self.received)

        async def exchange() -> str:
            await self.client.room_send(self.room_id, "m.room.message", {"msgtype": "m.text", "body": text})
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                await self._sync(500)
                if any(expect.lower() in message.lower() for message in self.received[seen:]):
                    return "\n".join(self.received[seen:])
            raise AssertionError(f"expected {expect!r}, got {self.received[seen:]}")

        return self.run(exchange())

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        async def wait() -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                match = next((m for m in self.received if needle in m), None)
                if match:
                    return match
                await self._sync(500)
            raise AssertionError(f"{needle!r} never arrived; got {self.received}")

        return self.run(wait())

    def membership_of(self, user_id: str, room_id: str, timeout: float = 60.0) -> str:
        """The first answer of `user_id` to an invite to `room_id`: "join" or "leave" (a declined invite)."""

        async def wait() -> str:
            since = None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                response = await self.client.sync(timeout=500, since=since)
                assert isinstance(response, SyncResponse), response
                since = response.next_batch
                room = response.rooms.join.get(room_id)
                for event in room.timeline.events if room else []:
                    member = isinstance(event, RoomMemberEvent) and event.state_key == user_id
                    if member and event.membership in ("join", "leave"):
                        return event.membership
            raise AssertionError(f"{user_id} never answered the invite to {room_id}")

        return self.run(wait())


@pytest.fixture
def people() -> Iterator[list[MatrixUser]]:
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
    linked = vendor.say(f"/link {link_code(stack, 'fromagerie-de-la-seymaz')}", expect="C'est fait")
    assert linked == (
        "C'est fait : vous agissez maintenant pour Fromagerie de la Seymaz. "
        "Essayez /products, /orders, /stock miel 12 ou /price miel 9.50."
    )

    buyer = MatrixUser(synapse, "claire")
    people.append(buyer)
    buyer.open_direct_chat(bot_id)
    found = buyer.say("je cherche du gruyère", expect="salé 18 mois")
    assert found == (  # buttons become a numbered list
        "Voici ce que j'ai trouvé (3) :\n"
        "1. Gruyère AOP d'alpage 12 mois — 34,50 CHF / kg — Fromagerie de la Seymaz — AOP\n"
        "2. Gruyère AOP doux — 24,80 CHF / kg — Fromagerie de la Seymaz — AOP\n"
        "3. Gruyère AOP salé 18 mois — 9,40 CHF / 250 g — Fromagerie de la Seymaz — AOP\n"
        "1. ➕ 1. Gruyère AOP d'alpage 12 mois\n2. ➕ 2. Gruyère AOP doux\n3. ➕ 3. Gruyère AOP salé 18 mois"
    )
    added = buyer.say("1", expect="Commander")  # the number presses the first button
    assert added == (
        "C'est dans le panier : 1 kg Gruyère AOP d'alpage 12 mois. Vous en avez 1 kg.\n"
        "Panier : 34,50 CHF de marchandises.\n1. 🧺 Voir le panier\n2. ✅ Commander"
    )
    assert basket_lines(stack.db, buyer.user_id) == [("SEY-ALP-1", Decimal(1))]
    assert buyer.say("je veux commander", expect="Retrait") == (
        "Livraison à domicile ou retrait ?\n1. 🚲 Livraison à domicile\n2. 🏪 Retrait"
    )
    assert buyer.say("Livraison à domicile", expect="adresse").startswith("À quelle adresse faut-il livrer ?")  # words
    buyer.say("Rue de Carouge 50, 1205 Genève", expect="quel nom")
    buyer.say("Claire Martin", expect="coursier")
    slots = buyer.say("non", expect="créneau")
    first_slot = re.search(r"^1\. (.+)$", slots, re.M)
    assert slots.startswith("Quel créneau vous convient ?\n1. ") and first_slot, slots
    assert buyer.say("1", expect="À la livraison") == (
        "Total 40,50 CHF, dont jusqu'à 10,35 CHF payables en Léman. Comment souhaitez-vous payer ?\n"
        "1. Francs (QR-facture)\n2. Tout en Léman\n3. Mixte : max. en Léman, reste en francs\n4. À la livraison"
    )
    assert buyer.say("à la livraison", expect="Annuler") == (
        "Récapitulatif de votre commande :\nFromagerie de la Seymaz\n"
        "  • 1 kg Gruyère AOP d'alpage 12 mois — 34,50 CHF\n"
        "  Sous-total 34,50 CHF, dont jusqu'à 10,35 CHF en Léman\n"
        "Livraison : 6,00 CHF\nTotal : 40,50 CHF (jusqu'à 10,35 CHF payables en Léman)\n"
        f"Livraison à Rue de Carouge 50, 1205 Genève, pour Claire Martin, {first_slot[1]}\n"
        "Paiement : à la livraison. On confirme ?\n1. ✅ Confirmer\n2. ✏️ Changer l'adresse\n3. ✖ Annuler"
    )
    placed = buyer.say("oui", expect="À payer à la livraison")
    number = ORDER_NUMBER.search(placed)
    assert number, placed
    assert placed == (
        f"Merci ! Votre commande {number[0]} est enregistrée. Total : 40,50 CHF.\n"
        "Vos producteurs la voient déjà dans leurs commandes. Demandez « où en est ma commande » à tout moment.\n"
        "À payer à la livraison : 40,50 CHF (espèces, carte ou Léman papier)."
    )
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None and order.person is not None
        assert order.person.identities[0].external_id == buyer.user_id
        assert (order.delivery_mode, order.postal_code, order.payment_method) == ("delivery", "1205", "on_delivery")
        assert (order.goods_total, order.delivery_fee, order.total) == (
            Decimal("34.50"),
            Decimal("6.00"),
            Decimal("40.50"),
        )
        lines = [(p.vendor.slug, line.sku, line.quantity) for p in order.vendor_orders for line in p.lines]
    assert lines == [("fromagerie-de-la-seymaz", "SEY-ALP-1", Decimal(1))]
    assert basket_lines(stack.db, buyer.user_id) == []

    notice = vendor.wait_for(number[0])
    assert notice == (
        f"🛒 Nouvelle commande {number[0]}\n• 1 kg Gruyère AOP d'alpage 12 mois\nTotal : 34,50 CHF\n"
        f"Livraison {first_slot[1]}\nRépondez /ready {number[0]} quand elle est prête."
    )
    stock_query = select(Product.sku, Product.stock).where(Product.vendor.has(slug="fromagerie-de-la-seymaz"))
    with stack.db.uow() as uow:
        before = dict(uow.session.execute(stock_query).all())
    assert vendor.say("/stock gruyere aop doux 30", expect="Stock de") == "Stock de « Gruyère AOP doux » : 30 (kg)."
    with stack.db.uow() as uow:
        after = dict(uow.session.execute(stock_query).all())
    assert after == before | {"SEY-GRU-1": Decimal(30)} and before["SEY-GRU-1"] != Decimal(30)


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
    assert organiser.membership_of(bot_id, room_id) == "leave"

    async def members() -> set[str]:
        response = await organiser.client.joined_members(room_id)
        assert isinstance(response, JoinedMembersResponse), response
        return {m.user_id for m in response.members}

    assert organiser.run(members()) == {organiser.user_id}


def test_a_restarted_bot_answers_what_came_meanwhile_once_and_history_never_again(
    stack: Stack, synapse: SynapseServer, people: list[MatrixUser]
) -> None:
    bot = synapse.register("marche-restart", password="bot-password")
    env = {"MATRIX_HOMESERVER": synapse.url, "MATRIX_USER_ID": bot.user_id, "MATRIX_PASSWORD": "bot-password"}
    person = MatrixUser(synapse, "restart")
    people.append(person)
    with BotRunner(bot_process(stack, env)):
        person.open_direct_chat(bot.user_id)
        person.say("je cherche du miel", expect="Miel de forêt")
        answered_before = len(person.received)

    async def write_while_down() -> None:
        await person.client.room_send(person.room_id, "m.room.message", {"msgtype": "m.text", "body": "mon panier"})

    person.run(write_while_down())
    with BotRunner(bot_process(stack, env)):  # same account and device, a new process
        person.wait_for("Votre panier est vide.")
        # A message written after it is answered: the bot is past everything before it (a room's messages are
        # handled in order), so anything it was going to repeat would have come by now.
        person.say("bonjour", expect="Que cherchez-vous")
    categories = "1. Légumes\n2. Fromages\n3. Boulangerie\n4. Miel\n5. Vins"
    assert person.received[answered_before:] == [
        f"Votre panier est vide.\n{categories}",  # what came while the bot was down, answered once
        "Bonjour ! Je suis l'assistant de GE consomme local : produits et services locaux, payables en francs "
        f"ou en Léman. Que cherchez-vous ?\n{categories}\n6. 🧺 Voir le panier",
    ], "the search before the restart is not answered again"

