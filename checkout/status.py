"""Order status machine: the one table of allowed transitions, checked in one place."""

from __future__ import annotations

import enum

from marketplace.errors import IllegalTransition


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    PREPARED = "prepared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # A vendor may prepare before the money arrives (payment on delivery, slow bank transfers).
    S.PLACED: frozenset({S.PAID, S.PREPARED, S.CANCELLED}),
    S.PAID: frozenset({S.PREPARED, S.REFUNDED}),
    S.PREPARED: frozenset({S.OUT_FOR_DELIVERY, S.REFUNDED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# The goods are still at the vendor's: the vendor's open orders (to prepare, or waiting for the courier).
AT_VENDOR = frozenset({S.PLACED, S.PAID, S.PREPARED})
# Leaving for one of these gives the reserved stock back, as long as the goods never left the vendor.
RESTOCKING_FROM = AT_VENDOR
CLOSED = frozenset({S.CANCELLED, S.REFUNDED})

# Progress order, used to summarise an order made of several vendor orders.
PROGRESS = (S.PLACED, S.PAID, S.PREPARED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.REFUNDED, S.CANCELLED)


def ensure_transition(current: OrderStatus, new: OrderStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(current=current.value, new=new.value)


def gives_stock_back(current: OrderStatus, new: OrderStatus) -> bool:
    return new in CLOSED and current in RESTOCKING_FROM


def summarise(statuses: list[OrderStatus]) -> OrderStatus:
    """The status of a whole order: the least advanced of its open vendor orders."""
    open_ones = [s for s in statuses if s not in CLOSED]
    if open_ones:
        return min(open_ones, key=PROGRESS.index)
    return S.REFUNDED if S.REFUNDED in statuses else S.CANCELLED
