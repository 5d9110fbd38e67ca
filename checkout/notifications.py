"""What the marketplace tells people on its own, written to the outbox in the caller's transaction.

Texts are rendered here, in each recipient's language, so the dispatcher only has to deliver them.
"""

from __future__ import annotations

from checkout.drops import vendor_recipient
from checkout.models import Order, VendorOrder
from checkout.status import OrderStatus
from marketplace.accounts import Organisation, Person, Role
from marketplace.db import UnitOfWork
from marketplace.i18n import format_chf, format_number, format_slot, translate, unit_label
from marketplace.outbox import enqueue


def _items(vendor_order: VendorOrder, lang: str) -> str:
    return "\n".join(
        translate(
            "notify.item",
            lang,
            quantity=format_number(line.quantity, lang),
            unit=unit_label(line.unit, lang),
            name=line.name,
        )
        for line in vendor_order.lines
    )


def _members(org: Organisation, role: Role) -> list[Person]:
    return [m.person for m in org.members if m.role == role]


def _when(order: Order, lang: str) -> str:
    mode = translate(f"notify.mode.{order.delivery_mode}", lang)
    return f"{mode} {format_slot(order.time_slot, lang)}".strip()


def _when_for_vendor(order: Order, lang: str) -> str:
    """The slot, and the recipient's first name to label the bag: all a vendor learns of the customer (never the
    street, phone or coordinates: checkout/drops.py)."""
    when, name = _when(order, lang), vendor_recipient(order)
    return f"{when}, {translate('vendor.recipient', lang, name=name)}" if name else when


def new_order(uow: UnitOfWork, order: Order) -> None:
    """Each vendor's members learn of their part of a new order; the delivery company of a new drop."""
    for part in order.vendor_orders:
        for person in _members(part.vendor, Role.VENDOR_MEMBER):
            lang = person.language
            text = translate(
                "notify.vendor.new_order",
                lang,
                order=order.number,
                items=_items(part, lang),
                total=format_chf(part.goods_total, lang),
                when=_when_for_vendor(order, lang),
            )
            key = f"order:{order.number}:new:vendor:{part.vendor_id}:person:{person.id}"
            enqueue(uow, key, person, "new_order", text)
    if order.delivery_company is not None:
        for person in _members(order.delivery_company, Role.COURIER):
            text = translate(
                "notify.courier.new_drop",
                person.language,
                order=order.number,
                postal_code=order.postal_code,
                when=format_slot(order.time_slot, person.language),
                stops=len(order.vendor_orders),
            )
            enqueue(uow, f"order:{order.number}:new:courier:person:{person.id}", person, "new_run", text)


def status_changed(uow: UnitOfWork, order: Order, vendor_order: VendorOrder, new: OrderStatus) -> None:
    """The customer hears of each step; couriers hear when goods are ready to pick up."""
    if order.person is not None and new in (
        OrderStatus.PREPARED,
        OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    ):
        lang = order.person.language
        text = translate(f"notify.customer.{new.value}", lang, order=order.number, vendor=vendor_order.vendor.name)
        key = f"order:{order.number}:{new.value}:vendor:{vendor_order.vendor_id}:person:{order.person.id}"
        enqueue(uow, key, order.person, f"order_{new.value}", text)
    if new is OrderStatus.PREPARED and order.delivery_company is not None:
        for person in _members(order.delivery_company, Role.COURIER):
            text = translate(
                "notify.courier.ready",
                person.language,
                order=order.number,
                vendor=vendor_order.vendor.name,
                place=vendor_order.vendor.place,
            )
            key = f"order:{order.number}:ready:vendor:{vendor_order.vendor_id}:courier:{person.id}"
            enqueue(uow, key, person, "pickup_ready", text)
    if new is OrderStatus.CANCELLED:
        for person in _members(vendor_order.vendor, Role.VENDOR_MEMBER):
            text = translate("notify.vendor.cancelled", person.language, order=order.number)
            key = f"order:{order.number}:cancelled:vendor:{vendor_order.vendor_id}:person:{person.id}"
            enqueue(uow, key, person, "order_cancelled", text)
