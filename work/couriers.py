"""A courier reports an order delivered, and the cash collected when it was paid on delivery.

The day's run and the picked-up/delivered steps are in `checkout/runs.py`; what the courier collects
(the total rounded to 5 centimes) and the confirmation of that payment are in `payments/services.py`.
This use case joins them, so that every entry point reports a delivery the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from checkout.runs import mark_delivered
from marketplace.accounts import Person
from marketplace.db import UnitOfWork
from payments.services import cash_due, confirm_on_delivery


@dataclass(frozen=True)
class Delivery:
    order: str  # its number
    collected: Decimal | None = None  # cash confirmed as collected, None when no payment was recorded
    rounding: Decimal = Decimal(0)  # the cash rounding line within `collected`


def report_delivered(uow: UnitOfWork, courier: Person, number: str, *, paid: bool) -> Delivery:
    """Order `number` was handed over; with `paid`, the courier also collected its payment on delivery
    (an order paid otherwise has nothing to collect, and only the delivery is recorded)."""
    order = mark_delivered(uow, courier, number)
    if not paid or confirm_on_delivery(uow, courier, order) is None:
        return Delivery(order.number)
    collected, rounding = cash_due(order)
    return Delivery(order.number, collected, rounding)
