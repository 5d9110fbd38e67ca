"""Delivery runs: what a courier of a delivery company picks up and drops on a given day, in order,
and the two steps couriers report (picked up, delivered).

A drop carries what the company's courier may see of its address (`checkout/drops.py`): the full address
and phone until the drop is done plus the grace period, then only the postal code and locality."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from checkout.drops import DEFAULT_GRACE, DropAddress, courier_view
from checkout.models import Order, VendorOrder
from checkout.payment import PaymentMethod
from checkout.services import get_order, move_part
from checkout.status import CLOSED, OrderStatus
from marketplace.accounts import Organisation, Person, Role, acting_for
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.errors import OrderNotFound
from marketplace.money import round_cash


@dataclass(frozen=True)
class RunItem:
    name: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class Stop:
    kind: str  # "pickup" at a vendor, "drop" at a customer
    order: str
    slot: str
    where: str  # vendor name and place, or the customer's postal code and locality
    items: tuple[RunItem, ...] = ()
    collect: Decimal = Decimal(0)  # to collect from the customer (payment on delivery)
    done: bool = False
    address: DropAddress | None = None  # drops: what the courier may see of where to go now


@dataclass
class Run:
    company: str
    day: date
    stops: list[Stop] = field(default_factory=list)


def courier_company(person: Person) -> Organisation:
    """The delivery company this courier works for, through the rights check every courier step passes (runs,
    picked up, delivered, cash): `NotACourier`, or a refusal naming the company while it is suspended."""
    return acting_for(person, Role.COURIER)


def _items(part: VendorOrder) -> tuple[RunItem, ...]:
    return tuple(RunItem(line.name, line.quantity, line.unit) for line in part.lines)


def _street_key(street: str) -> list[str | int]:
    """ "Rue de Carouge 8" before "Rue de Carouge 50": house numbers compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", street.casefold())]


def _drop_order(order: Order) -> tuple:
    """Drops go by slot, then postal code, then street, then order."""
    return (order.time_slot, order.postal_code, _street_key(order.delivery_street or ""), order.id)


def run_for(
    uow: UnitOfWork,
    company: Organisation,
    day: date,
    *,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> Run:
    """The day's run: first every pick-up (by slot, then vendor), then every drop (by slot, postal code, street).
    A drop shows its full address until it was delivered `grace` ago (at `now`), then its postal code only."""
    moment = now or utcnow()
    orders = uow.session.scalars(
        select(Order)
        .where(Order.delivery_company_id == company.id, Order.time_slot.startswith(day.isoformat()))
        .order_by(Order.time_slot, Order.id)
    ).all()
    run = Run(company.name, day)
    pickups: list[Stop] = []
    drops: list[tuple[tuple, Stop]] = []
    for order in orders:
        parts = [p for p in order.vendor_orders if OrderStatus(p.status) not in CLOSED]
        if not parts:
            continue
        slot = order.time_slot.partition(" ")[2]
        for part in parts:
            picked = OrderStatus(part.status) in (OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
            where = f"{part.vendor.name}, {part.vendor.place}" if part.vendor.place else part.vendor.name
            pickups.append(Stop("pickup", order.number, slot, where, _items(part), done=picked))
        delivered = all(OrderStatus(p.status) == OrderStatus.DELIVERED for p in parts)
        # Cash is counted in 5 centimes: the courier collects the rounded total.
        collect = round_cash(order.total)[0] if order.payment_method == PaymentMethod.ON_DELIVERY else Decimal(0)
        items = tuple(item for part in parts for item in _items(part))
        address = courier_view(order, company.id, moment, grace)
        where = address.place if address else order.postal_code
        drop = Stop("drop", order.number, slot, where, items, collect, delivered, address)
        drops.append((_drop_order(order), drop))
    drops.sort(key=lambda keyed: keyed[0])
    run.stops = sorted(pickups, key=lambda s: (s.slot, s.where)) + [stop for _, stop in drops]
    return run


def _courier_order(uow: UnitOfWork, courier: Person, number: str) -> Order:
    company = courier_company(courier)
    order = get_order(uow, number)
    if order.delivery_company_id != company.id:
        raise OrderNotFound(order=number)  # not this company's: do not reveal it exists
    return order


def _advance(uow: UnitOfWork, part: VendorOrder, target: OrderStatus, courier: Person) -> None:
    """Walk a vendor's part forward to `target`: goods in the courier's hands were prepared, even if
    the vendor forgot to say so."""
    path = (OrderStatus.PREPARED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
    for step in path[: path.index(target) + 1]:
        current = OrderStatus(part.status)
        if current in path and path.index(current) >= path.index(step):
            continue
        move_part(uow, part, step, courier)


def _advance_order(uow: UnitOfWork, courier: Person, number: str, step: OrderStatus) -> Order:
    order = _courier_order(uow, courier, number)
    for part in order.vendor_orders:
        if OrderStatus(part.status) not in CLOSED:
            _advance(uow, part, step, courier)
    uow.session.flush()
    return order


def courier_drop(
    uow: UnitOfWork, courier: Person, number: str, *, now: datetime | None = None, grace: timedelta = DEFAULT_GRACE
) -> DropAddress:
    """Where the courier takes order `number` (to send it as a location, say), as far as they may see it now;
    OrderNotFound for an order of another company, exactly as for one that does not exist."""
    order = _courier_order(uow, courier, number)
    address = courier_view(order, order.delivery_company_id or 0, now or utcnow(), grace)
    assert address is not None  # _courier_order checked the company
    return address


def mark_picked_up(uow: UnitOfWork, courier: Person, number: str) -> Order:
    """The courier took the goods of every open part of the order."""
    return _advance_order(uow, courier, number, OrderStatus.OUT_FOR_DELIVERY)


def mark_delivered(uow: UnitOfWork, courier: Person, number: str) -> Order:
    return _advance_order(uow, courier, number, OrderStatus.DELIVERED)
