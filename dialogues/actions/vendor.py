"""Producer actions: stock and price by sentence, orders to prepare — on their own products only."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType

from catalog.services import ProductView, set_price, set_stock
from catalog.taxonomy import format_quantity
from checkout.services import vendor_orders
from checkout.status import OrderStatus
from dialogues.actions.base import MarketplaceAction, Turn
from dialogues.actions.parsing import parse_amount, parse_quantity
from dialogues.actions.shopping import ask_which, resolve_product, unit_name
from marketplace.accounts import Organisation, Role


def own_vendor(turn: Turn) -> Organisation | None:
    membership = next((m for m in turn.person.memberships if m.role == Role.VENDOR_MEMBER), None)
    return membership.organisation if membership else None


def own_product(turn: Turn, intent: str, **entities: str) -> tuple[ProductView | None, list[EventType]]:
    """The product of the speaker's own vendor this message is about, or the question to ask instead."""
    vendor = own_vendor(turn)
    if vendor is None:
        turn.reply.say("reply.vendor.only_vendors")
        return None, []
    product, results = resolve_product(turn, vendor=vendor.slug)
    if product is None:
        return None, ask_which(turn, results, turn.entity("product") or turn.text, intent, **entities)
    return product, []


class ActionUpdateStock(MarketplaceAction):
    action_name = "action_update_stock"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        quantity = parse_quantity(turn.entity("quantity") or turn.text)
        extra = {"quantity": format_quantity(quantity)} if quantity is not None else {}
        product, events = own_product(turn, "update_stock", **extra)
        if product is None:
            return events
        if quantity is None:
            turn.reply.say("reply.vendor.which_quantity", product=product.name)
            return []
        updated = set_stock(turn.uow, turn.person, product.id, quantity)
        turn.reply.say(
            "reply.vendor.stock_set",
            product=product.name,
            stock=format_quantity(updated.stock),
            unit=unit_name(turn.reply, updated.unit),
        )
        return []


class ActionUpdatePrice(MarketplaceAction):
    action_name = "action_update_price"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        price = parse_amount(turn.entity("amount")) or parse_amount(turn.text)
        product, events = own_product(turn, "update_price", **({"amount": str(price)} if price is not None else {}))
        if product is None:
            return events
        if price is None:
            turn.reply.say("reply.vendor.which_price", product=product.name)
            return []
        old = product.price.amount
        set_price(turn.uow, turn.person, product.id, price)
        reply = turn.reply
        reply.say("reply.vendor.price_set", product=product.name, old=reply.chf(old), new=reply.chf(price))
        return []


class ActionVendorOrders(MarketplaceAction):
    action_name = "action_vendor_orders"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        vendor = own_vendor(turn)
        if vendor is None:
            turn.reply.say("reply.vendor.only_vendors")
            return []
        reply = turn.reply
        open_parts = [
            part
            for part in vendor_orders(turn.uow, turn.person, vendor.slug)
            if part.status in (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.PREPARED)
        ]
        if not open_parts:
            reply.say("reply.vendor.no_orders")
            return []
        reply.say("reply.vendor.orders", count=len(open_parts))
        for part in open_parts[:10]:
            order = part.order
            when = order.time_slot or "—"
            reply.line(f"{order.number} · {reply.t(f'status.{part.status}')} · {when} · {reply.chf(part.goods_total)}")
            for line in part.lines:
                reply.line(f"  • {format_quantity(line.quantity)} × {line.name}")
        return []
