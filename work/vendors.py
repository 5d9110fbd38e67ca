"""What a vendor member does at work: their own products' stock, price and availability, and the orders
they have to prepare. One home for these rules; the chat commands (`bot/commands.py`), the sentences
understood by Rasa (`dialogues/actions/vendor.py`) and any later entry point only parse and render.

A vendor member only ever reaches their own vendor's products and orders: the matcher never looks
beyond them, and every change is checked again by the permission guard and written to the audit log.
Every operation here starts with the rights check of `marketplace.accounts` (`vendor_of` or
`ensure_may_act_for`): nobody acts for a suspended or pending vendor, nor while their own account is suspended.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import func, select

from catalog.audit import record_change
from catalog.models import Product
from catalog.services import (
    ProductView,
    bump_revision,
    check_price,
    check_quantity,
    get_product,
    list_products,
    view_product,
)
from catalog.text import fold, tokens
from checkout.drops import vendor_recipient
from checkout.models import VendorOrder
from checkout.services import change_status
from checkout.status import AT_VENDOR, TRANSITIONS, OrderStatus
from marketplace.accounts import Organisation, Person, Role, acting_for, ensure_may_act_for
from marketplace.db import UnitOfWork
from payments.services import payment_state

CANDIDATES_SHOWN = 5  # own products offered to choose from when a name is not exact
OPEN_ORDERS_SHOWN = 10  # open orders listed at once, newest first
FUZZY_FLOOR = 60  # rapidfuzz WRatio below which a product is not offered as a candidate


def vendor_of(person: Person) -> Organisation:
    """The vendor this person acts for, through the rights check every vendor operation passes: `NotLinked`
    when they are no vendor's member (yet), a refusal naming the vendor while it is suspended or pending, and
    `AccountSuspended` while the person is."""
    return acting_for(person, Role.VENDOR_MEMBER)


# --- which of my products? --------------------------------------------------------------------


@dataclass(frozen=True)
class OwnProductMatch:
    """The product a vendor member named (`exact`), or else the own products they may have meant."""

    exact: ProductView | None
    candidates: tuple[ProductView, ...] = ()


def _words(text: str) -> str:
    return " ".join(fold(text).split())


def match_own_product(uow: UnitOfWork, person: Person, query: str, lang: str) -> OwnProductMatch:
    """Which of the person's own vendor's products `query` means.

    In this order: the SKU, exactly but in any case (`abe-bou-1`: SKUs are matched as typed, not folded,
    since folding turns their dashes into spaces); a whole name in any language, accents and case aside;
    the longest whole name said inside a sentence ("j'ai encore 12 pots de miel d'acacia"); the product
    whose name holds every word said, plurals aside ("oeufs" for "Œufs (6)"); else up to `CANDIDATES_SHOWN`
    products whose names or SKU come close ("tomatos"), to confirm. Several products that fit equally
    (two jar sizes of "Miel de fleurs", every honey for "miel") are never guessed between: the closest
    are offered.
    """
    vendor = vendor_of(person)
    wanted, said = query.strip().casefold(), _words(query)
    if not said:
        return OwnProductMatch(None)
    products = list(uow.session.scalars(select(Product).where(Product.vendor_id == vendor.id).order_by(Product.id)))
    for product in products:
        if product.sku.casefold() == wanted:
            return OwnProductMatch(view_product(product, lang))
    names = {p.id: {_words(n) for n in p.names.values() if _words(n)} for p in products}

    def closeness(product: Product) -> float:
        return max(fuzz.WRatio(said, candidate) for candidate in [*names[product.id], _words(product.sku)])

    def one_or_closest(fitting: list[Product], confirm: bool = False) -> OwnProductMatch:
        """The one product that fits, or the closest ones to choose from (always, when a guess is to `confirm`)."""
        if len(fitting) == 1 and not confirm:
            return OwnProductMatch(view_product(fitting[0], lang))
        closest = sorted(fitting, key=closeness, reverse=True)[:CANDIDATES_SHOWN]  # stable: ties by id
        return OwnProductMatch(None, tuple(view_product(p, lang) for p in closest))

    same = [p for p in products if said in names[p.id]]
    if same:
        return one_or_closest(same)
    inside = {p.id: max((len(n) for n in names[p.id] if f" {n} " in f" {said} "), default=0) for p in products}
    longest = max(inside.values(), default=0)
    if longest:
        return one_or_closest([p for p in products if inside[p.id] == longest])
    words = set(tokens(query))
    holding = [p for p in products if words and any(words <= set(tokens(n)) for n in names[p.id])]
    if holding:
        return one_or_closest(holding)
    return one_or_closest([p for p in products if closeness(p) >= FUZZY_FLOOR], confirm=True)


def own_products(uow: UnitOfWork, person: Person, lang: str) -> list[ProductView]:
    """Every product of the person's vendor, on sale or not, by SKU."""
    return list_products(uow, lang, vendor_of(person).slug)


# --- stock, price, availability -------------------------------------------------------------------


def set_stock(uow: UnitOfWork, actor: Person, product_id: int, quantity: Decimal) -> Decimal:
    """A vendor member says how much is on hand now (only for their own products); the stock now."""
    product = get_product(uow, product_id)
    ensure_may_act_for(actor, product.vendor_id)
    new = check_quantity(quantity, product.unit, allow_zero=True)
    record_change(uow, actor, product.vendor_id, product.id, product.sku, "stock", product.stock, new)
    product.stock = new
    uow.session.flush()
    return new


def set_price(uow: UnitOfWork, actor: Person, product_id: int, price: Decimal) -> Decimal:
    """A vendor member changes a price (only of their own products); orders already placed keep the price
    they were placed at. The price now."""
    product = get_product(uow, product_id)
    ensure_may_act_for(actor, product.vendor_id)
    new = check_price(price)
    record_change(uow, actor, product.vendor_id, product.id, product.sku, "price", product.price_chf, new)
    product.price_chf = new
    uow.session.flush()
    return new


def set_availability(uow: UnitOfWork, actor: Person, product_id: int, available: bool) -> None:
    """A vendor member takes one of their products off sale or puts it back (the search index follows)."""
    product = get_product(uow, product_id)
    ensure_may_act_for(actor, product.vendor_id)
    record_change(uow, actor, product.vendor_id, product.id, product.sku, "available", product.available, available)
    product.available = available
    bump_revision(uow)
    uow.session.flush()


# --- orders to prepare ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderedItem:
    name: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class OpenOrder:
    """One vendor's part of an order still at the vendor's, as the vendor sees it."""

    number: str
    status: OrderStatus  # of this vendor's part
    payment: str  # of the whole order: "awaiting", "partial" or "paid"
    items: tuple[OrderedItem, ...]
    goods_total: Decimal  # this vendor's goods
    slot: str  # "2026-11-25 17:00-19:00", or "" when none was booked
    can_be_marked_ready: bool
    # The recipient's first name, to label the bag ("" when none was given). Never more of the address:
    # where and how to reach the customer is the courier's business (checkout/drops.py).
    recipient: str = ""


@dataclass(frozen=True)
class OpenOrders:
    vendor_name: str
    count: int  # all open orders; `orders` holds the newest OPEN_ORDERS_SHOWN of them
    orders: tuple[OpenOrder, ...]


def open_orders(uow: UnitOfWork, person: Person) -> OpenOrders:
    """The person's vendor's orders whose goods are still at the vendor's, newest first."""
    vendor = vendor_of(person)
    where = (VendorOrder.vendor_id == vendor.id, VendorOrder.status.in_([s.value for s in AT_VENDOR]))
    count = uow.session.scalar(select(func.count(VendorOrder.id)).where(*where)) or 0
    parts = uow.session.scalars(
        select(VendorOrder).where(*where).order_by(VendorOrder.id.desc()).limit(OPEN_ORDERS_SHOWN)
    )
    orders = tuple(
        OpenOrder(
            number=part.order.number,
            status=OrderStatus(part.status),
            payment=payment_state(uow, part.order).state,
            items=tuple(OrderedItem(line.name, line.quantity, line.unit) for line in part.lines),
            goods_total=part.goods_total,
            slot=part.order.time_slot,
            can_be_marked_ready=OrderStatus.PREPARED in TRANSITIONS[OrderStatus(part.status)],
            recipient=vendor_recipient(part.order),
        )
        for part in parts
    )
    return OpenOrders(vendor.name, count, orders)


def mark_ready(uow: UnitOfWork, person: Person, number: str) -> str:
    """The person's vendor has prepared its part of order `number` (the customer is told); its number."""
    return change_status(uow, person, number, OrderStatus.PREPARED, vendor_slug=vendor_of(person).slug).number
