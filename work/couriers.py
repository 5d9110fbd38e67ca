"""A courier's day: the run of their own company, and an order reported delivered with the cash collected
when it was paid on delivery.

The day's run and the picked-up/delivered steps are in `checkout/runs.py`, what a courier may see of an
address in `checkout/drops.py`; what the courier collects (the total rounded to 5 centimes) and the
confirmation of that payment are in `payments/services.py`. These use cases join them, so that every entry
point shows a run and reports a delivery the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from checkout.runs import Run, courier_company, mark_delivered, run_for
from marketplace.accounts import Person
from marketplace.db import UnitOfWork
from marketplace.settings import DeliverySettings
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


def address_grace(settings: DeliverySettings) -> timedelta:
    """How long after a drop is done its courier still sees the address ([delivery] address_grace_hours)."""
    return timedelta(hours=settings.address_grace_hours)


def courier_run(
    uow: UnitOfWork, courier: Person, day: date, settings: DeliverySettings, *, now: datetime | None = None
) -> Run:
    """The run of the courier's own company on `day`: drops with their full address and phone until delivered
    plus the deployment's grace period (NotACourier, or a refusal while the company is suspended)."""
    return run_for(uow, courier_company(courier), day, now=now, grace=address_grace(settings))
