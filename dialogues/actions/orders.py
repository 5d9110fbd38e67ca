"""Consumer actions on placed orders: status and cancellation of one's own orders."""

from __future__ import annotations

from rasa_sdk.events import EventType

from checkout.models import Order
from checkout.services import cancel_order, order_for_consumer, orders_of
from checkout.status import OrderStatus
from dialogues.actions.base import MarketplaceAction, Turn
from dialogues.actions.basket_requests import mentions_order
from dialogues.actions.parsing import parse_order_number
from dialogues.actions.shopping import payload, shop_if_asked
from payments.services import payment_state


def _wanted_order(turn: Turn) -> Order | None:
    """The order named in the message, else the person's latest one."""
    prefix = turn.app.settings.order_prefix
    number = parse_order_number(turn.entity("order_id"), prefix) or parse_order_number(turn.text, prefix)
    if number:
        return order_for_consumer(turn.uow, turn.person, number)
    latest = orders_of(turn.uow, turn.person, limit=1)
    return latest[0] if latest else None


class ActionOrderStatus(MarketplaceAction):
    action_name = "action_order_status"

    def handle(self, turn: Turn) -> list[EventType]:
        if not mentions_order(turn.text) and (shopped := shop_if_asked(turn)) is not None:  # misread « 2 kg de pommes »
            return shopped
        reply = turn.reply
        order = _wanted_order(turn)
        if order is None:
            reply.say("reply.orders.none")
            return []
        status = reply.t(f"status.{order.status}")
        reply.say("reply.orders.status", number=order.number, status=status, total=reply.chf(order.total))
        for part in order.vendor_orders:
            reply.line(f"  • {part.vendor.name}: {reply.t(f'status.{part.status}')}")
        if order.time_slot:
            reply.say("reply.orders.slot", slot=reply.slot(order.time_slot))
        payment = payment_state(turn.uow, order)
        if payment.legs:
            reply.say(
                f"reply.orders.payment_{payment.state}", paid=reply.chf(payment.paid), total=reply.chf(order.total)
            )
        if order.status == OrderStatus.PLACED:
            reply.button("button.cancel_order", payload("cancel_order", order_id=order.number))
        return []


class ActionCancelOrder(MarketplaceAction):
    action_name = "action_cancel_order"

    def handle(self, turn: Turn) -> list[EventType]:
        if not mentions_order(turn.text) and (shopped := shop_if_asked(turn)) is not None:  # misread « 2 kg de pommes »
            return shopped
        order = _wanted_order(turn)
        if order is None:
            turn.reply.say("reply.orders.none")
            return []
        cancel_order(turn.uow, turn.person, order.number)
        turn.reply.say("reply.orders.cancelled", number=order.number)
        return []
