"""The terminal chat goes through the same router as Telegram and Matrix: work commands to `bot.commands`,
everything else to Rasa (here a stub: no Rasa server), and its own controls (/producer, /consumer) stay local."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from bootstrap import App
from bot.commands import Commands
from bot.rasa_client import BotMessage, Button
from bot.router import Router
from bot.terminal import CHANNEL, TerminalChat, is_quit
from catalog.models import Product
from demo import DEMO_CONSUMER, load_demo, vendor_chat_address


class StubRasa:
    """Stands in for AsyncRasaClient: remembers every message and answers with one fixed message and button."""

    url = "http://stub"

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, Any]]] = []

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        self.received.append((sender, text, metadata or {}))
        return [BotMessage("Voici du miel.", (Button("Miel de forêt", '/add_to_basket{"product": "#85"}'),))]

    async def close(self) -> None:
        pass


@pytest.fixture
def demo_app(app: App) -> App:
    with app.db.uow() as uow:
        load_demo(uow)
        uow.commit()
    return app


@pytest.fixture
def rasa() -> StubRasa:
    return StubRasa()


@pytest.fixture
def screen() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def terminal(demo_app: App, rasa: StubRasa, screen: io.StringIO) -> TerminalChat:
    router = Router(rasa, Commands(demo_app), CHANNEL)  # type: ignore[arg-type]
    return TerminalChat(router, DEMO_CONSUMER, "fr", Console(file=screen, width=200))


def typed(terminal: TerminalChat, *lines: str) -> list[list[BotMessage]]:
    async def conversation() -> list[list[BotMessage]]:
        return [await terminal.type_line(line) for line in lines]

    return asyncio.run(conversation())


def stock_of(app: App, sku: str) -> Decimal:
    with app.db.uow() as uow:
        return uow.session.scalars(select(Product.stock).where(Product.sku == sku)).one()


def test_stock_command_typed_as_the_demo_producer_changes_the_stock(
    demo_app: App, terminal: TerminalChat, rasa: StubRasa, screen: io.StringIO
) -> None:
    _, answer = typed(terminal, "/producer abeilles-du-saleve", "/stock miel de forêt 12")
    assert [m.text for m in answer] == ["Stock de « Miel de forêt » : 12 (500 g)."]
    assert stock_of(demo_app, "ABE-MIEL-3") == Decimal(12)
    assert terminal.sender == vendor_chat_address("abeilles-du-saleve")
    assert rasa.received == []  # a work command never reaches Rasa
    assert screen.getvalue().splitlines() == [
        "Vous parlez maintenant comme membre de abeilles-du-saleve.",
        "bot  Stock de « Miel de forêt » : 12 (500 g).",
    ]


def test_an_ambiguous_product_is_asked_back_and_a_number_chooses_it(
    demo_app: App, terminal: TerminalChat, rasa: StubRasa, screen: io.StringIO
) -> None:
    _, question = typed(terminal, "/producer abeilles-du-saleve", "/stock miel 12")
    assert [m.text for m in question] == ["Lequel de vos produits voulez-vous dire par « miel » ?"]
    assert [(b.title, b.payload) for b in terminal.buttons][:3] == [
        ("Miel de fleurs (ABE-MIEL-1)", "/stock ABE-MIEL-1 12"),
        ("Miel de fleurs (ABE-MIEL-2)", "/stock ABE-MIEL-2 12"),
        ("Miel de forêt (ABE-MIEL-3)", "/stock ABE-MIEL-3 12"),
    ]
    assert "      [3] Miel de forêt (ABE-MIEL-3)" in screen.getvalue().splitlines()
    assert stock_of(demo_app, "ABE-MIEL-3") == Decimal(40)  # unchanged until the producer chooses

    [answer] = typed(terminal, "3")  # presses the button: its payload goes to the commands, not to Rasa
    assert [m.text for m in answer] == ["Stock de « Miel de forêt » : 12 (500 g)."]
    assert stock_of(demo_app, "ABE-MIEL-3") == Decimal(12)
    assert rasa.received == []


def test_work_commands_are_refused_to_the_demo_consumer(demo_app: App, terminal: TerminalChat) -> None:
    [answer] = typed(terminal, "/stock miel de forêt 12")
    assert len(answer) == 1 and "/link" in answer[0].text
    assert stock_of(demo_app, "ABE-MIEL-3") == Decimal(40)


def test_sentences_and_numbered_buttons_go_to_rasa_with_the_terminal_metadata(
    terminal: TerminalChat, rasa: StubRasa
) -> None:
    first, pressed = typed(terminal, "je cherche du miel", "1")
    assert [m.text for m in first] == ["Voici du miel."]
    metadata = {"channel": "terminal", "language": "fr", "display_name": ""}
    assert rasa.received == [
        (DEMO_CONSUMER, "je cherche du miel", metadata),
        (DEMO_CONSUMER, '/add_to_basket{"product": "#85"}', metadata),  # the button's payload, not "1"
    ]
    assert [m.text for m in pressed] == ["Voici du miel."]


def test_consumer_goes_back_and_quit_is_a_terminal_control(terminal: TerminalChat, rasa: StubRasa) -> None:
    typed(terminal, "/producer abeilles-du-saleve", "/consumer", "bonjour")
    assert terminal.sender == DEMO_CONSUMER
    assert [sender for sender, _, _ in rasa.received] == [DEMO_CONSUMER]
    assert is_quit("/quit") and is_quit("/exit") and not is_quit("quit")
