"""Channel adapters without a network: routing, numbered choices, long button payloads."""

from __future__ import annotations

import asyncio
import html
from types import SimpleNamespace
from typing import Any

from bot.commands import Incoming
from bot.matrix_bot import MatrixChannel, NumberedChoices, txn_id
from bot.rasa_client import BotMessage, Button, RasaUnavailable
from bot.router import Router
from bot.telegram_bot import CALLBACK_LIMIT, PAGE_SIZE, TelegramChannel
from marketplace.settings import DEFAULT_CONFIG, load_settings


class FakeRasa:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotMessage]:
        if self.down:
            raise RasaUnavailable("connection refused")
        self.sent.append((sender, text, metadata))
        return [BotMessage(f"echo {text}")]


class FakeCommands:
    def __init__(self, vendor: bool = False) -> None:
        self.vendor, self.handled = vendor, []
        self.app = SimpleNamespace(settings=load_settings(DEFAULT_CONFIG, environ={}))  # the /start notice quotes it

    def is_vendor(self, _address: str) -> bool:
        return self.vendor

    def menu_for(self, _address: str, language: str | None = None) -> tuple[str, tuple[str, ...]]:
        return language or "fr", ("stock",) if self.vendor else ()

    def handle(self, incoming: Incoming) -> list[BotMessage]:
        self.handled.append(incoming.text)
        return [BotMessage("done")]


def route(text: str, rasa: FakeRasa, commands: FakeCommands | None = None, lang: str = "fr") -> list[BotMessage]:
    router = Router(rasa, commands or FakeCommands(), "telegram")  # type: ignore[arg-type]
    return asyncio.run(router.handle(Incoming("telegram:1", text, lang, "Ana")))


def test_consumer_commands_become_intents_and_text_goes_to_rasa_with_metadata() -> None:
    rasa = FakeRasa()
    route("/basket", rasa)
    route("/language de", rasa)
    route("je cherche du miel", rasa)
    route("/orders", rasa)
    assert [t for _, t, _ in rasa.sent] == [
        "/show_basket",
        '/change_language{"language": "de"}',
        "je cherche du miel",
        "/order_status",
    ]
    assert rasa.sent[0][2] == {"channel": "telegram", "language": "fr", "display_name": "Ana"}


def test_vendor_commands_never_reach_rasa_and_orders_depends_on_who_asks() -> None:
    rasa, commands = FakeRasa(), FakeCommands(vendor=True)
    route("/stock miel 12", rasa, commands)
    route("/orders", rasa, commands)
    assert commands.handled == ["/stock miel 12", "/orders"] and rasa.sent == []


def test_start_shows_the_privacy_notice_and_deep_links_open_a_product() -> None:
    rasa = FakeRasa()
    answer = route("/start p_84", rasa, lang="en")
    assert "Privacy" in answer[0].text
    assert rasa.sent[-1][1] == '/product_details{"product": "#84"}'


def test_unknown_commands_and_rasa_down_get_a_sentence_in_the_users_language() -> None:
    assert "/frobnicate" in route("/frobnicate", FakeRasa(), lang="de")[0].text
    assert "vorübergehend" in route("Käse?", FakeRasa(down=True), lang="de")[0].text
    assert "temporarily" in route("cheese?", FakeRasa(down=True), lang="en")[0].text


def test_matrix_buttons_are_a_numbered_list_answered_by_number_or_words() -> None:
    message = BotMessage(
        "Résultats", (Button("➕ 1. Miel de forêt", "/add_to_basket"), Button("🧺 Voir le panier", "/show_basket"))
    )
    assert MatrixChannel.render(message) == "Résultats\n1. ➕ 1. Miel de forêt\n2. 🧺 Voir le panier"
    choices = NumberedChoices()
    choices.offer("!room", message.buttons)
    assert choices.answer("!room", "2") == "/show_basket"
    assert choices.answer("!room", "voir le panier") == "/show_basket"
    assert choices.answer("!room", "3") is None and choices.answer("!other", "1") is None
    assert choices.answer("!room", "miel") is None, "a part of a button's words stays a sentence for Rasa"
    assert txn_id("outbox", "k") == txn_id("outbox", "k") != txn_id("outbox", "k2")


def test_telegram_long_payloads_travel_as_short_keys_and_long_lists_are_paged() -> None:
    channel = TelegramChannel("123:ABC", router=None)  # type: ignore[arg-type]
    payload = '/choose_delivery{"time_slot": "2026-11-25 17:00-19:00", "delivery_mode": "delivery"}'
    data = channel._callback_data(payload)
    assert len(data.encode()) <= CALLBACK_LIMIT and channel._payloads[data[2:]] == payload
    buttons = tuple(Button(f"b{n}", f"/p{n}") for n in range(PAGE_SIZE * 2 + 1))
    keyboard_id, markup = channel._keyboard(buttons)
    rows = markup.inline_keyboard
    assert keyboard_id and len(rows) == PAGE_SIZE + 1 and [b.text for b in rows[-1]] == ["1/3", "▶"]


def test_long_text_is_cut_for_telegram_without_breaking_an_escaped_entity() -> None:
    from bot.telegram_bot import html_chunks

    text = ("Pommes & poires <bio>\n" * 400) + "x" * 9000
    chunks = html_chunks(text)
    assert all(0 < len(c) <= 4096 for c in chunks)
    assert html.unescape("".join(chunks)).replace("\n", "") == text.replace("\n", "")
    assert not any(c.endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt")) for c in chunks)


def test_a_pressed_button_sends_its_payload_with_metadata_and_commands_stay_commands() -> None:
    rasa, commands = FakeRasa(), FakeCommands()
    router = Router(rasa, commands, "telegram")  # type: ignore[arg-type]
    asyncio.run(router.press(Incoming("telegram:1", '/add_to_basket{"product": "#84", "quantity": "1"}', "fr")))
    asyncio.run(router.press(Incoming("telegram:1", "/ready GE-7K3Q9M", "fr")))
    asyncio.run(router.press(Incoming("telegram:1", "/affirm", "fr")))
    assert [(sender, text, meta["language"], meta["channel"]) for sender, text, meta in rasa.sent] == [
        ("telegram:1", '/add_to_basket{"product": "#84", "quantity": "1"}', "fr", "telegram"),
        ("telegram:1", "/affirm", "fr", "telegram"),
    ]
    assert commands.handled == ["/ready GE-7K3Q9M"]
