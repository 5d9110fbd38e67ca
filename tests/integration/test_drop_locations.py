"""A courier's drops as map pins: after /runs, each drop still to do whose customer shared coordinates comes as
a location message — Telegram's sendLocation (the real TelegramChannel and router against the fake Bot API),
Matrix's m.location with a geo: URI. Only the courier of the order's own company gets it, and only while the
drop is to be done; a drop without coordinates, another company's courier, a drop delivered: no pin."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from bootstrap import App
from bot import telegram_bot
from bot.commands import Commands, Incoming
from bot.matrix_bot import location_content
from bot.rasa_client import BotMessage
from bot.router import Router
from bot.sharing import geo_uri, map_pin
from bot.telegram_bot import TelegramChannel
from marketplace.accounts import person_for_chat
from tests.integration.test_delivery_visibility import (  # noqa: F401 (the companies fixture)
    ADA,
    COURIER,
    OTHER,
    RUN_DAY,
    STRANGER,
    clock_commands,
    companies,
    place,
)
from tests.integration.test_share_location import ROOM, NoFloodLimits, ScriptedRasa, StubNio, matrix
from tests.support.clock import ManualClock
from tests.support.telegram_api import FakeTelegramAPI

PIN = ("46.198371", "6.142672")  # ADA's coordinates, to the six decimals a pin carries


def runs(commands: Commands, address: str) -> list[BotMessage]:
    return commands.handle(Incoming(address, "/runs", "fr"))


def pins(messages: list[BotMessage]) -> list[tuple[str, tuple[str, str]]]:
    return [(m.text, m.location) for m in messages if m.location is not None]


@pytest.mark.usefixtures("companies")
def test_a_drop_with_coordinates_comes_as_a_pin_to_its_own_courier_only(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    theirs = place(app, shop, OTHER, company="autre-velo")  # no coordinates shared
    commands = Commands(app, today=lambda: RUN_DAY)
    own = runs(commands, COURIER)
    assert pins(own) == [(f"📍 Arrêt 2 ({number}) : Rue de Carouge 50", PIN)]
    assert own[0].location is None and number in own[0].text, "the run itself stays one text message"
    stranger = runs(commands, STRANGER)
    assert pins(stranger) == [] and theirs in stranger[0].text
    assert not any("46.19" in m.text or "Carouge" in m.text for m in stranger)
    with app.db.uow() as uow:
        person_for_chat(uow, COURIER).language = "de"
        uow.commit()
    assert pins(runs(commands, COURIER)) == [(f"📍 Halt 2 ({number}): Rue de Carouge 50", PIN)]


@pytest.mark.usefixtures("companies")
def test_no_pin_once_the_drop_is_delivered(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    clock = ManualClock(time.time())
    commands = clock_commands(app, clock)
    assert len(pins(runs(commands, COURIER))) == 1
    commands.handle(Incoming(COURIER, f"/delivered {number} payé", "fr"))
    clock.advance(3600)  # within the grace period: the address is still shown, but there is nowhere to go
    assert "Rue de Carouge 50" in "\n".join(m.text for m in runs(commands, COURIER))
    assert pins(runs(commands, COURIER)) == []
    clock.advance(12 * 3600)
    assert pins(runs(commands, COURIER)) == []


def test_a_pin_is_a_place_on_the_globe() -> None:
    assert map_pin(Decimal("46.1983714"), Decimal("6.1426721")) == PIN
    assert map_pin(None, Decimal("6.1")) is None and map_pin(Decimal("91"), Decimal("6.1")) is None
    assert geo_uri(PIN) == "geo:46.198371,6.142672"


# --- rendered by the channels ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("companies")
def test_telegram_sends_the_pin_as_a_location_message(
    app: App, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_bot, "ChatRateLimiter", NoFloodLimits)
    number = place(app, shop, ADA)
    courier = int(COURIER.removeprefix("telegram:"))

    async def scenario() -> None:
        with FakeTelegramAPI(flood_limits=False) as fake:
            router = Router(ScriptedRasa(), Commands(app, today=lambda: RUN_DAY), "telegram")  # type: ignore[arg-type]
            channel = TelegramChannel(fake.token, router, base_url=fake.base_url, base_file_url=fake.base_file_url)
            await channel.start()
            try:
                fake.user_sends(courier, "/runs")
                run, label, location = await fake.wait_for_count_async(courier, 3, timeout=60)
            finally:
                await channel.stop()
            assert number in run.text and run.kind == "text"
            assert (label.kind, label.text) == ("text", f"📍 Arrêt 2 ({number}) : Rue de Carouge 50")
            assert location.kind == "location" and location.location == {"latitude": 46.198371, "longitude": 6.142672}
            assert fake.internal_errors == []

    asyncio.run(scenario())


def test_matrix_sends_the_pin_as_an_m_location_event(app: App) -> None:
    channel = matrix(app, ScriptedRasa())
    pin = BotMessage("📍 Arrêt 2 (GE-7K3Q9M) : Rue de Carouge 50", location=PIN)
    asyncio.run(channel.send(ROOM, [BotMessage("Votre tournée"), pin], answering="$runs"))
    stub: StubNio = channel.client  # type: ignore[assignment]
    text, located = stub.sent
    assert text == {"msgtype": "m.text", "body": "Votre tournée"}
    assert located == location_content("📍 Arrêt 2 (GE-7K3Q9M) : Rue de Carouge 50", PIN)
    assert (located["msgtype"], located["geo_uri"]) == ("m.location", "geo:46.198371,6.142672")
    assert located["body"] == "📍 Arrêt 2 (GE-7K3Q9M) : Rue de Carouge 50"
    assert located["org.matrix.msc3488.asset"] == {"type": "m.pin"}
