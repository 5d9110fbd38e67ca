"""Payment deadlines: orders still unpaid after the configured delay are cancelled, their stock released
and the customer and vendors told (through the outbox). Orders paid on delivery have no deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from checkout.models import Order, VendorOrder
from checkout.payment import PaymentMethod
from checkout.services import move_part
from checkout.status import OrderStatus
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.settings import Settings
from payments.models import HintStatus, LegStatus, LemanTransaction
from payments.services import legs_of


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _hinted(uow: UnitOfWork, references: list[str]) -> bool:
    waiting = (HintStatus.UNVERIFIED, HintStatus.PENDING)
    query = select(LemanTransaction.id).where(
        LemanTransaction.reference.in_(references), LemanTransaction.status.in_(waiting)
    )
    return uow.session.scalar(query.limit(1)) is not None


def cancel_overdue(uow: UnitOfWork, settings: Settings, now: datetime | None = None) -> list[str]:
    """Cancel every order placed before the deadline whose money has not (all) arrived. Returns numbers."""
    hours = settings.payments.deadline_hours if settings.payments else 48
    limit = (now or utcnow()) - timedelta(hours=hours)
    candidates = uow.session.scalars(
        select(Order)
        .where(
            Order.payment_method != PaymentMethod.ON_DELIVERY,
            Order.vendor_orders.any(VendorOrder.status == OrderStatus.PLACED),
        )
        .order_by(Order.id)
    ).all()
    cancelled = []
    for order in candidates:
        if _aware(order.created_at) > limit:
            continue
        if any(OrderStatus(p.status) is not OrderStatus.PLACED for p in order.vendor_orders):
            continue  # a vendor already prepared part of it: a person decides
        legs = legs_of(uow, order)
        if any(leg.received > 0 or leg.status != LegStatus.AWAITING for leg in legs):
            continue  # some money is there or on its way: a person decides, not the clock
        if _hinted(uow, [leg.reference for leg in legs]):
            continue  # an e-Léman payment announced for it is still being checked on the node
        for leg in legs:
            leg.status = LegStatus.CANCELLED
        for part in order.vendor_orders:
            move_part(uow, part, OrderStatus.CANCELLED, None)
        cancelled.append(order.number)
    uow.session.flush()
    return cancelled
