"""Checkout service layer: basket, placing orders (with atomic stock reservation), order status."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from catalog.models import Product
from catalog.services import ProductView, check_quantity, get_product, view_product
from catalog.taxonomy import localized
from checkout import delivery, notifications
from checkout.models import Basket, BasketLine, Order, OrderLine, StatusChange, VendorOrder
from checkout.payment import PaymentMethod
from checkout.pricing import PricedLine, Quote, quote
from checkout.status import CLOSED, OrderStatus, ensure_transition, gives_stock_back
from marketplace.accounts import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    Person,
    ensure_may_act_for,
    get_organisation,
    has_admin_rights,
)
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.errors import (
    DeliveryNotAvailable,
    EmptyBasket,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    OrderNotFound,
    ProductUnavailable,
)
from marketplace.i18n import format_sale_quantity
from marketplace.settings import Settings

ORDER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: order numbers are read aloud and typed


# --- basket ----------------------------------------------------------------------------------


def _basket(uow: UnitOfWork, person: Person) -> Basket:
    basket = uow.session.scalar(select(Basket).where(Basket.person_id == person.id))
    if basket is None:
        basket = Basket(person_id=person.id)
        uow.session.add(basket)
        uow.session.flush()
    return basket


def _line(basket: Basket, product_id: int) -> BasketLine | None:
    return next((line for line in basket.lines if line.product_id == product_id), None)


def _ensure_sellable(product: Product, quantity: Decimal, lang: str) -> None:
    if not product.available or not product.vendor.is_approved:
        raise ProductUnavailable(product=localized(product.names, lang))
    if quantity > product.stock:
        raise InsufficientStock(
            product=localized(product.names, lang), available=format_sale_quantity(product.stock, product.unit, lang)
        )


def set_basket_quantity(uow: UnitOfWork, person: Person, product_id: int, quantity: Decimal) -> Decimal:
    """Set how much of a product is in the basket (0 removes it). Returns the new quantity."""
    product = get_product(uow, product_id)
    check_quantity(quantity, product.unit, allow_zero=True)
    basket = _basket(uow, person)
    basket.updated_at = utcnow()  # a change of its lines is a change of the basket: retention counts from it
    line = _line(basket, product_id)
    if quantity == 0:
        if line is not None:
            basket.lines.remove(line)
        uow.session.flush()
        return Decimal(0)
    _ensure_sellable(product, quantity, person.language)
    if line is None:
        basket.lines.append(BasketLine(product_id=product_id, quantity=quantity))
    else:
        line.quantity = quantity
    uow.session.flush()
    return quantity


def add_to_basket(uow: UnitOfWork, person: Person, product_id: int, quantity: Decimal = Decimal(1)) -> Decimal:
    """Add `quantity` to what is already in the basket. Returns the line's new quantity."""
    product = get_product(uow, product_id)
    check_quantity(quantity, product.unit, allow_zero=False)
    line = _line(_basket(uow, person), product_id)
    return set_basket_quantity(uow, person, product_id, (line.quantity if line else 0) + quantity)


def remove_from_basket(uow: UnitOfWork, person: Person, product_id: int, quantity: Decimal | None = None) -> Decimal:
    """Take `quantity` out of the basket, or the whole line when no quantity is given."""
    line = _line(_basket(uow, person), product_id)
    if line is None:
        return Decimal(0)
    remaining = Decimal(0) if quantity is None else max(Decimal(0), line.quantity - quantity)
    return set_basket_quantity(uow, person, product_id, remaining)


def set_leman_wanted(uow: UnitOfWork, person: Person, amount: Decimal | None) -> None:
    """The amount of local currency the person wants to pay for this basket (the rest in francs)."""
    if amount is not None and amount < 0:
        raise InvalidInput(field="leman_amount", value=str(amount))
    _basket(uow, person).leman_wanted = amount


def ensure_basket(uow: UnitOfWork, person: Person) -> None:
    """EmptyBasket unless the person has something to check out."""
    if not _basket(uow, person).lines:
        raise EmptyBasket()


def clear_basket(uow: UnitOfWork, person: Person) -> None:
    basket = _basket(uow, person)  # held: the session keeps it only weakly while its lines are removed
    basket.lines.clear()
    uow.session.flush()


@dataclass(frozen=True)
class BasketLineView:
    product: ProductView
    quantity: Decimal
    total: Decimal
    leman_payable: Decimal


@dataclass(frozen=True)
class VendorGroup:
    vendor_slug: str
    vendor_name: str
    leman_share_pct: int
    lines: tuple[BasketLineView, ...]
    goods_total: Decimal
    leman_payable: Decimal


@dataclass(frozen=True)
class BasketView:
    groups: tuple[VendorGroup, ...]
    quote: Quote
    # Lines that can no longer be ordered as they are (sold out, vendor suspended...).
    problems: tuple[BasketLineView, ...]

    @property
    def is_empty(self) -> bool:
        return not self.groups


def _priced(settings: Settings, product: Product, quantity: Decimal) -> PricedLine:
    return PricedLine(
        vendor_id=product.vendor_id,
        product_id=product.id,
        quantity=quantity,
        unit_price=product.price_chf,
        vat_rate=settings.vat_rates[product.vat_class],
        leman_share_pct=product.vendor.leman_share_pct,
    )


def _delivery_fee(settings: Settings, mode: str, goods_total: Decimal, slot_fee: Decimal | None = None) -> Decimal:
    if mode != "delivery":
        return Decimal("0.00")
    free_from = settings.delivery.free_from_chf
    if slot_fee is not None:  # the delivery company's fee for that slot, still free above the threshold
        return Decimal("0.00") if free_from is not None and goods_total >= free_from else slot_fee
    return settings.delivery.fee_for(goods_total)


def price_lines(
    settings: Settings, items: list[tuple[Product, Decimal]], delivery_mode: str, slot_fee: Decimal | None = None
) -> Quote:
    lines = [_priced(settings, product, quantity) for product, quantity in items]
    goods = sum((line.total for line in lines), Decimal("0.00"))
    return quote(
        lines,
        settings.platform_commission_pct,
        _delivery_fee(settings, delivery_mode, goods, slot_fee),
        settings.vat_rates["standard"],
    )


def view_basket(
    uow: UnitOfWork,
    settings: Settings,
    person: Person,
    lang: str,
    delivery_mode: str = "delivery",
    slot_fee: Decimal | None = None,
) -> BasketView:
    """The basket priced for a delivery mode (with a delivery company's own fee for a slot when known)."""
    items = _items(_basket(uow, person))
    return basket_view(items, price_lines(settings, items, delivery_mode, slot_fee), lang)


def _items(basket: Basket) -> list[tuple[Product, Decimal]]:
    return [(line.product, line.quantity) for line in basket.lines]


def basket_view(items: list[tuple[Product, Decimal]], basket_quote: Quote, lang: str) -> BasketView:
    """What a priced basket shows: its lines grouped per vendor, the quote, the lines that cannot be ordered."""
    priced = {line.product_id: line for vq in basket_quote.vendors for line in vq.lines}
    by_vendor: dict[int, list[BasketLineView]] = defaultdict(list)
    problems = []
    for product, quantity in items:
        line = priced[product.id]
        view = BasketLineView(view_product(product, lang), quantity, line.total, line.leman_payable)
        by_vendor[product.vendor_id].append(view)
        if not product.available or not product.vendor.is_approved or quantity > product.stock:
            problems.append(view)
    groups = tuple(
        VendorGroup(
            vendor_slug=lines[0].product.vendor_slug,
            vendor_name=lines[0].product.vendor_name,
            leman_share_pct=lines[0].product.leman_share_pct,
            lines=tuple(lines),
            goods_total=vq.goods_total,
            leman_payable=vq.leman_payable,
        )
        for vq in basket_quote.vendors
        for lines in [by_vendor[vq.vendor_id]]
    )
    return BasketView(groups, basket_quote, tuple(problems))


# --- orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryChoice:
    """What the customer chose at checkout: delivery or pickup, where, when, and how they pay."""

    mode: str  # "delivery" or "pickup"
    postal_code: str = ""
    time_slot: str = ""
    payment_method: PaymentMethod = PaymentMethod.CHF

    def __post_init__(self) -> None:  # callers may pass the stored string ("chf"): one enum from here on
        object.__setattr__(self, "payment_method", PaymentMethod.of(self.payment_method))


def check_delivery_mode(settings: Settings, mode: str) -> None:
    """Home delivery, or pickup where the deployment offers it; DeliveryModeNotOffered for anything else."""
    if mode != "delivery" and not (mode == "pickup" and settings.delivery.pickup):
        raise delivery.DeliveryModeNotOffered()


def check_delivery(settings: Settings, choice: DeliveryChoice) -> None:
    """A delivery mode the deployment offers, and for home delivery a postal code it serves."""
    check_delivery_mode(settings, choice.mode)
    if choice.mode == "delivery" and not settings.delivery.serves(choice.postal_code):
        raise DeliveryNotAvailable(postal_code=choice.postal_code[:8])  # shown back: a postal code's length


def local_now(settings: Settings, clock: Callable[[], float] = time.time) -> datetime:
    """The deployment's local time by `clock` (seconds since the epoch; an entry point passes its own)."""
    return datetime.fromtimestamp(clock(), ZoneInfo(settings.timezone))


def slot_offer(
    uow: UnitOfWork, settings: Settings, choice: DeliveryChoice, now: datetime | None = None
) -> delivery.SlotOffer | None:
    """The delivery company's slot this choice books, with its own fee; None for pickup, or when no company
    publishes slots (then the deployment's configured windows and fee apply). SlotFull if it is not offered."""
    if choice.mode != "delivery" or not delivery.has_slots(uow):
        return None
    now = now or local_now(settings)
    return delivery.find_offer(uow, choice.postal_code, choice.time_slot, now, settings.delivery.days_ahead + 7)


@dataclass(frozen=True)
class CheckoutQuote:
    """A basket priced for one delivery choice, the slot's own fee included."""

    items: tuple[tuple[Product, Decimal], ...]
    quote: Quote
    offer: delivery.SlotOffer | None  # the company slot to book; None: pickup or configured windows
    leman_wanted: Decimal | None  # the amount of local currency the customer gave, None: not given


def checkout_quote(
    uow: UnitOfWork, settings: Settings, person: Person, choice: DeliveryChoice, now: datetime | None = None
) -> CheckoutQuote:
    """What checking out the basket with `choice` costs: the one computation behind what the customer is
    shown before confirming (`checkout.flow`) and the order `place_order` writes."""
    check_delivery(settings, choice)
    basket = _basket(uow, person)
    items = _items(basket)
    if not items:
        raise EmptyBasket()
    offer = slot_offer(uow, settings, choice, now)
    priced = price_lines(settings, items, choice.mode, offer.fee if offer else None)
    return CheckoutQuote(tuple(items), priced, offer, basket.leman_wanted)


def _reserve_stock(uow: UnitOfWork, product: Product, quantity: Decimal, lang: str) -> None:
    """Take `quantity` off the shelf only if it is there: one conditional UPDATE, safe under concurrency."""
    result = uow.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock >= quantity, Product.available.is_(True))
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        uow.session.refresh(product, ["stock"])
        raise InsufficientStock(
            product=localized(product.names, lang), available=format_sale_quantity(product.stock, product.unit, lang)
        )
    uow.session.expire(product, ["stock"])


def _new_order_number(settings: Settings) -> str:
    return f"{settings.order_prefix}-{''.join(secrets.choice(ORDER_ALPHABET) for _ in range(6))}"


def _delivery_company(uow: UnitOfWork) -> Organisation | None:
    # One company serves the whole zone until companies define their own zones and slots (Step 4).
    return uow.session.scalar(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.DELIVERY, Organisation.status == ApprovalStatus.APPROVED)
        .order_by(Organisation.id)
        .limit(1)
    )


def place_order(
    uow: UnitOfWork, settings: Settings, person: Person, choice: DeliveryChoice, now: datetime | None = None
) -> Order:
    """Turn the basket into an order: reserve stock, book the slot, split per vendor, snapshot lines, empty
    the basket. Priced by `checkout_quote`, like the preview the customer confirmed.

    It checks what the writing needs (a known mode, a served postal code, a basket, stock, a company slot with
    room), not what a customer may choose: entry points place orders with `checkout.flow.place_checkout`,
    which first re-checks the whole choice against what is offered now and the summary the customer confirmed.
    Either all of it happens or none of it: the caller commits, any error rolls everything back.
    """
    priced = checkout_quote(uow, settings, person, choice, now)
    items, order_quote, offer = list(priced.items), priced.quote, priced.offer
    for product, _ in items:
        if not product.available or not product.vendor.is_approved:
            raise ProductUnavailable(product=localized(product.names, person.language))
    # Reserve in product-id order so two concurrent orders never wait on each other's rows.
    for product, quantity in sorted(items, key=lambda item: item[0].id):
        _reserve_stock(uow, product, quantity, person.language)
    # A delivery company's slot: book one place, atomically with its capacity.
    slot = delivery.book_slot(uow, offer.slot_id, offer.day) if offer else None
    basket = _basket(uow, person)
    products = {product.id: product for product, _ in items}
    order = Order(
        number=_new_order_number(settings),
        person_id=person.id,
        language=person.language,
        delivery_mode=choice.mode,
        postal_code=choice.postal_code if choice.mode == "delivery" else "",
        time_slot=choice.time_slot,
        payment_method=choice.payment_method,
        leman_wanted=priced.leman_wanted if choice.payment_method.uses_local_currency else None,
        goods_total=order_quote.goods_total,
        delivery_fee=order_quote.delivery_fee,
        total=order_quote.total,
        leman_payable=order_quote.leman_payable,
        platform_commission=order_quote.platform_receives,
        delivery_company=(slot.company if slot else _delivery_company(uow)) if choice.mode == "delivery" else None,
        slot_id=slot.id if slot else None,
    )
    for vq in order_quote.vendors:
        vendor_order = VendorOrder(
            vendor_id=vq.vendor_id,
            status=OrderStatus.PLACED,
            goods_total=vq.goods_total,
            leman_payable=vq.leman_payable,
            commission=vq.commission,
            vendor_receives=vq.vendor_receives,
        )
        for line in vq.lines:
            product = products[line.product_id]
            vendor_order.lines.append(
                OrderLine(
                    product_id=product.id,
                    sku=product.sku,
                    name=localized(product.names, person.language)[:200],
                    unit=product.unit,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    vat_rate=line.vat_rate,
                    leman_share_pct=line.leman_share_pct,
                    total=line.total,
                )
            )
        order.vendor_orders.append(vendor_order)
    uow.session.add(order)
    basket.lines.clear()
    basket.leman_wanted = None
    uow.session.flush()
    notifications.new_order(uow, order)
    return order


def get_order(uow: UnitOfWork, number: str) -> Order:
    order = uow.session.scalar(select(Order).where(Order.number == number.strip().upper()))
    if order is None:
        raise OrderNotFound(order=number)
    return order


def order_for_consumer(uow: UnitOfWork, person: Person, number: str) -> Order:
    order = get_order(uow, number)
    if order.person_id != person.id and not has_admin_rights(person):
        raise OrderNotFound(order=number)  # do not reveal that someone else's order exists
    return order


def orders_of(uow: UnitOfWork, person: Person, limit: int = 10) -> list[Order]:
    return list(
        uow.session.scalars(select(Order).where(Order.person_id == person.id).order_by(Order.id.desc()).limit(limit))
    )


def move_part(uow: UnitOfWork, vendor_order: VendorOrder, new: OrderStatus, actor: Person | None) -> None:
    current = OrderStatus(vendor_order.status)
    ensure_transition(current, new)
    if gives_stock_back(current, new):
        for line in vendor_order.lines:
            if line.product_id is not None:
                uow.session.execute(
                    update(Product)
                    .where(Product.id == line.product_id)
                    .values(stock=Product.stock + line.quantity)
                    .execution_options(synchronize_session=False)
                )
    vendor_order.status = new
    vendor_order.history.append(StatusChange(old_status=current, new_status=new, actor_id=actor.id if actor else None))
    order = vendor_order.order
    whole_order_off = all(OrderStatus(part.status) in CLOSED for part in order.vendor_orders)
    if gives_stock_back(current, new) and order.slot_id is not None and order.time_slot and whole_order_off:
        # The whole order is off before delivery: its place in the delivery slot is free again.
        delivery.release_slot(uow, order.slot_id, date.fromisoformat(order.time_slot.partition(" ")[0]))
    notifications.status_changed(uow, vendor_order.order, vendor_order, new)


def change_status(
    uow: UnitOfWork,
    actor: Person | None,
    number: str,
    new: OrderStatus,
    vendor_slug: str | None = None,
) -> Order:
    """Move an order (or one vendor's part of it) to `new`. `actor` None means the system (payments)."""
    order = get_order(uow, number)
    parts = order.vendor_orders
    if vendor_slug is not None:
        vendor = get_organisation(uow, vendor_slug)
        parts = [v for v in parts if v.vendor_id == vendor.id]
        if not parts:
            raise OrderNotFound(order=number)
    if actor is not None and not has_admin_rights(actor):
        for part in parts:
            ensure_may_act_for(actor, part.vendor_id)
    for part in parts:
        move_part(uow, part, new, actor)
    uow.session.flush()
    return order


def cancel_order(uow: UnitOfWork, person: Person, number: str) -> Order:
    """A consumer cancels their own order while no vendor has been paid or started on it."""
    order = order_for_consumer(uow, person, number)
    if any(OrderStatus(v.status) != OrderStatus.PLACED for v in order.vendor_orders):
        raise IllegalTransition(current=order.status.value, new=OrderStatus.CANCELLED.value)
    for part in order.vendor_orders:
        move_part(uow, part, OrderStatus.CANCELLED, person)
    uow.session.flush()
    return order


def reorder(uow: UnitOfWork, person: Person) -> tuple[list[int], list[int]]:
    """Put the last order's products back in the basket. Returns (added, unavailable) product ids."""
    orders = orders_of(uow, person, limit=1)
    if not orders:
        raise OrderNotFound(order="last")
    added, missing = [], []
    for line in (line for part in orders[0].vendor_orders for line in part.lines):
        if line.product_id is None:
            continue
        try:
            add_to_basket(uow, person, line.product_id, line.quantity)
            added.append(line.product_id)
        except (ProductUnavailable, InsufficientStock):
            missing.append(line.product_id)
    return added, missing


def vendor_orders(
    uow: UnitOfWork, actor: Person, vendor_slug: str, status: OrderStatus | None = None
) -> list[VendorOrder]:
    """A vendor's share of orders, newest first — only for that vendor's members (or admins)."""
    vendor: Organisation = get_organisation(uow, vendor_slug)
    ensure_may_act_for(actor, vendor.id)
    query = select(VendorOrder).where(VendorOrder.vendor_id == vendor.id).order_by(VendorOrder.id.desc())
    if status is not None:
        query = query.where(VendorOrder.status == status)
    return list(uow.session.scalars(query))


def list_orders(uow: UnitOfWork, status: OrderStatus | None = None, limit: int = 50) -> list[Order]:
    query = select(Order).order_by(Order.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Order.vendor_orders.any(VendorOrder.status == status))
    return list(uow.session.scalars(query))
