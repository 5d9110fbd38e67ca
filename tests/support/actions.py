"""Running custom actions without Rasa: a Tracker built from a dict, a CollectingDispatcher, the test's marketplace.

As in RasaHQ financial-demo's `tests/test_actions.py`: no trained model, no server. An action runs through
its public `run` against the test database, and the test looks at what it said, the events it returned
and what the database holds afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bootstrap import App
from catalog.models import Product
from checkout.models import Basket, Order
from checkout.services import DeliveryChoice, add_to_basket, place_order
from dialogues.actions import base
from marketplace.accounts import person_for_chat
from marketplace.i18n import format_chf

# The chat addresses of the `shop` fixture's people (tests/conftest.py).
CONSUMER = "telegram:1001"
FARMER = "matrix:@anna:example.org"  # member of ferme-test (Tomates, Œufs)
CELLAR = "telegram:2002"  # member of cave-test (Chasselas)

# The checkout form's slots, in the order dialogues/domain.yml lists them.
CHECKOUT_FORM = ["delivery_mode", "delivery_address", "recipient_name", "delivery_phone", "pickup_point", "time_slot",
                 "payment_method", "order_confirmed"]  # fmt: skip
DOMAIN: dict[str, Any] = {"forms": {"checkout_form": {"required_slots": CHECKOUT_FORM}}}

# The buttons offered when there is nothing better to show (in French).
CATEGORY_BUTTONS = [
    ("Légumes", '/search_product{"category": "vegetables"}'),
    ("Fromages", '/search_product{"category": "cheese"}'),
    ("Boulangerie", '/search_product{"category": "bakery"}'),
    ("Miel", '/search_product{"category": "honey"}'),
    ("Vins", '/search_product{"category": "wine"}'),
]


@pytest.fixture
def served(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The test's marketplace, served to the actions in place of the cached `build_app()` of
    `dialogues.actions.base.marketplace()`; the files actions write (QR-bills) go under tmp_path."""
    app.settings = dataclasses.replace(app.settings, data_dir=tmp_path)
    monkeypatch.setattr(base, "build_app", lambda: app)
    base.marketplace.cache_clear()
    yield app
    base.marketplace.cache_clear()  # the next caller builds its own again


def tracker(
    text: str = "",
    intent: str = "",
    entities: dict[str, str] | None = None,
    *,
    sender: str = CONSUMER,
    lang: str | None = "fr",
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    """The tracker Rasa sends the action server after one user message (`lang` is the channel's metadata),
    after the events of `history` (e.g. `bot_uttered(...)`: what the bot said before)."""
    metadata = {"language": lang} if lang else {}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": name, "value": value} for name, value in (entities or {}).items()],
        "metadata": metadata,
    }
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": dict(slots or {}),
            "latest_message": latest,
            "events": [
                *(history or []),
                {"event": "action", "name": "action_listen"},
                {"event": "user", "text": text, "parse_data": latest, "metadata": metadata},
            ],
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


@dataclass
class Outcome:
    """What one action did: the messages it sent and the events it returned."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages if m.get("text"))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [(b["title"], b["payload"]) for m in self.messages for b in m.get("buttons") or []]

    @property
    def payloads(self) -> list[str]:
        return [payload for _, payload in self.buttons]

    @property
    def slots(self) -> dict[str, Any]:
        return {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}


def bot_uttered(message: dict[str, Any]) -> dict[str, Any]:
    """The event Rasa logs for a message an action sent (`create_bot_utterance` in rasa.core.actions.action):
    what channels show goes in `data`; anything else the action added, if not empty, in `metadata`."""
    shown = ("elements", "quick_replies", "buttons", "attachment", "image", "custom")
    metadata = {k: v for k, v in message.items() if k not in (*shown, "text") and v}
    data = {k: message.get(k) for k in shown}
    return {"event": "bot", "text": message.get("text"), "data": data, "metadata": metadata}


def run(action: Action, tracker: Tracker, domain: dict[str, Any] | None = None) -> Outcome:
    """Run the action as the action server does (`await action.run(dispatcher, tracker, domain)`)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN if domain is None else domain))
    return Outcome(dispatcher.messages, list(events))


def chf(amount: str | Decimal, lang: str = "fr") -> str:
    """An amount as the replies show it ("4,80 CHF" in French, "CHF 4.80" in German)."""
    return format_chf(Decimal(amount), lang)


def tomatoes_and_wine() -> list[str]:
    """How the replies list a basket of 2 kg of the `shop`'s Tomates and 1 Chasselas, vendor by vendor."""
    return [
        "Ferme Test",
        f"  • 2 kg Tomates — {chf('9.60')}",
        f"  Sous-total {chf('9.60')}, dont jusqu'à {chf('4.80')} en Léman",
        "Cave Test",
        f"  • 1 × 75 cl Chasselas — {chf('14.50')}",
        f"  Sous-total {chf('14.50')}, dont jusqu'à {chf('0.00')} en Léman",
    ]


# --- what the database holds ------------------------------------------------------------------


def basket_of(app: App, address: str = CONSUMER) -> dict[int, Decimal]:
    """The person's basket: product id -> quantity."""
    with app.db.uow() as uow:
        person = person_for_chat(uow, address)
        basket = uow.session.scalar(select(Basket).where(Basket.person_id == person.id))
        return {line.product_id: line.quantity for line in basket.lines} if basket else {}


def stock_of(app: App, product_id: int) -> Decimal:
    with app.db.uow() as uow:
        return uow.session.get(Product, product_id).stock


def price_of(app: App, product_id: int) -> Decimal:
    with app.db.uow() as uow:
        return uow.session.get(Product, product_id).price_chf


def orders_of(app: App, address: str = CONSUMER) -> list[dict[str, Any]]:
    """The person's orders, oldest first, as plain values read while the session is open."""
    with app.db.uow() as uow:
        person = person_for_chat(uow, address)
        orders = uow.session.scalars(select(Order).where(Order.person_id == person.id).order_by(Order.id))
        return [_order_values(order) for order in orders]


def _order_values(o: Order) -> dict[str, Any]:
    fields = ("number", "status", "postal_code", "goods_total", "delivery_fee", "total")
    return {name: getattr(o, name) for name in fields} | {
        "mode": o.delivery_mode,
        "slot": o.time_slot,
        "payment": o.payment_method,
        "lines": sorted((line.product_id, line.quantity) for part in o.vendor_orders for line in part.lines),
    }


def language_of(app: App, address: str) -> str:
    with app.db.uow() as uow:
        return person_for_chat(uow, address).language


# --- set-up through the core ------------------------------------------------------------------

PICKUP = DeliveryChoice("pickup", time_slot="2026-11-25 17:00-19:00", payment_method="on_delivery")


def placed_order(
    app: App, items: dict[int, str], address: str = CONSUMER, choice: DeliveryChoice = PICKUP, number: str = ""
) -> str:
    """An order placed by the core (not by an action): basket `items` (product id -> quantity), then checkout.
    `number` renames it, for tests whose outcome must not depend on the random order number."""
    with app.db.uow() as uow:
        person = person_for_chat(uow, address)
        for product_id, quantity in items.items():
            add_to_basket(uow, person, product_id, Decimal(quantity))
        order = place_order(uow, app.settings, person, choice)
        order.number = number or order.number
        uow.commit()
        return order.number
