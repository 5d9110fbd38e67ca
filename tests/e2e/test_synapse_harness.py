"""The Synapse harness starts a real homeserver, and Synapse drops a repeated client transaction id
(the Matrix outbox relies on it to never show a notification twice)."""

from __future__ import annotations

import asyncio
import os

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomMessageText, SyncResponse

from tests.support.synapse import SynapseServer, installed_python

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def synapse():  # type: ignore[no-untyped-def]
    if installed_python() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Synapse is not installed: run `make synapse-install`")
        pytest.skip("Synapse is not installed: run `make synapse-install`")
    with SynapseServer() as server:
        yield server


def test_two_people_talk_and_a_repeated_transaction_is_stored_once(synapse: SynapseServer) -> None:
    alice, bob = synapse.register("alice"), synapse.register("bob")

    async def scenario() -> list[str]:
        a = AsyncClient(synapse.url, alice.user_id, device_id=alice.device_id)
        b = AsyncClient(synapse.url, bob.user_id, device_id=bob.device_id)
        a.access_token, b.access_token = alice.access_token, bob.access_token
        try:
            created = await a.room_create(is_direct=True, invite=[bob.user_id])
            assert isinstance(created, RoomCreateResponse)
            first = await b.sync(timeout=0)
            assert created.room_id in first.rooms.invite
            await b.join(created.room_id)
            content = {"msgtype": "m.text", "body": "bonjour"}
            sent = [await a.room_send(created.room_id, "m.room.message", content, tx_id="same-key") for _ in range(2)]
            assert sent[0].event_id == sent[1].event_id
            bodies: list[str] = []
            since = first.next_batch
            for _ in range(10):
                response = await b.sync(timeout=500, since=since)
                assert isinstance(response, SyncResponse)
                since = response.next_batch
                room = response.rooms.join.get(created.room_id)
                bodies += [e.body for e in (room.timeline.events if room else []) if isinstance(e, RoomMessageText)]
                if bodies:
                    break
            return bodies
        finally:
            await a.close()
            await b.close()

    assert asyncio.run(scenario()) == ["bonjour"]
