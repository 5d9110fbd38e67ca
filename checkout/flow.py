"""The checkout flow: what a customer is offered, shown and charged when checking out a basket.

Every entry point (the chat's checkout form, the admin CLI, a later web shop) checks out through these
functions, so an order is placed, priced and paid the same way wherever it comes from. They take a unit of
work (the caller commits) and return view-models; the entry points only parse their input and render these.

What the customer confirms is what the order charges: `preview_checkout` and `place_checkout` price the
basket with one function (`checkout.services.checkout_quote`, the delivery company's fee for the chosen slot
included) and split the payment with one function (`payments.services.plan_payment`).

Nothing a customer chose is trusted as it arrives (a chat payload can carry any value): the preview and the
placing check the whole choice against what is offered now (delivery mode, postal code, time slot, payment
method), and an order is placed only with the fingerprint of the summary the customer confirmed, so a price,
stock or fee that changed since is shown again instead of being charged silently. A home delivery's address is
part of that summary: checked again (served zone, no P.O. box), in the fingerprint, copied onto the order and
remembered for the person's next checkout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from checkout import delivery
from checkout.address_book import (
    DeliveryAddress,
    InvalidAddress,
    checked_address,
    remember_address,
    set_order_delivery,
)
from checkout.addresses import check_zone, read_address, served_zones
from checkout.payment import PaymentMethod
from checkout.pricing import Quote
from checkout.services import (
    BasketView,
    CheckoutQuote,
    DeliveryChoice,
    basket_view,
    check_delivery,
    checkout_quote,
    ensure_basket,
    local_now,
    place_order,
    set_leman_wanted,
)
from marketplace.accounts import Organisation, Person
from marketplace.db import UnitOfWork
from marketplace.errors import DeliveryNotAvailable, MarketplaceError, SlotFull
from marketplace.settings import Settings
from payments.documents import PaymentDocument, write_payment_documents
from payments.models import LegMethod
from payments.services import open_payment, order_plan, plan_payment
from payments.split import VendorShare

ZERO = Decimal("0.00")
SLOT_DAYS_EXTRA = 4  # company slots are offered a few days further ahead than the configured windows


class PaymentNotOffered(MarketplaceError):
    """The payment method is not one `payment_options` allows for this basket and delivery choice (all in
    local currency while a vendor takes less of it, or a delivery fee is due)."""

    code = "payment_not_offered"


class PickupPointNotOffered(MarketplaceError):
    """No pickup point has that id (a payload can carry any)."""

    code = "pickup_point_not_offered"


class CheckoutNotConfirmed(MarketplaceError):
    """No summary of this checkout was confirmed: the customer is shown it, and confirms it, first."""

    code = "checkout_not_confirmed"


class CheckoutChanged(CheckoutNotConfirmed):
    """The summary the customer confirmed is no longer what the order would charge (a price, the stock, a fee
    or a choice changed since): they are shown the new summary to confirm again."""

    code = "checkout_changed"


# --- delivery -----------------------------------------------------------------------------------


def time_slots(today: date, windows: tuple[str, ...], days: int = 3) -> list[str]:
    """The configured windows as bookable slots, e.g. "2026-11-23 17:00-19:00", from tomorrow on."""
    return [f"{today + timedelta(days=d)} {w}" for d in range(1, days + 1) for w in windows]


def offered_slots(
    uow: UnitOfWork, settings: Settings, mode: str | None, postal_code: str | None, now: datetime | None = None
) -> list[str]:
    """The time slots to offer: for home delivery, the delivery companies' own slots that serve this postal
    code and still have room; otherwise (pickup, or no company slots yet) the configured windows."""
    now = now or local_now(settings)
    if mode != "pickup" and postal_code and delivery.has_slots(uow):
        days = settings.delivery.days_ahead + SLOT_DAYS_EXTRA
        return [offer.label for offer in delivery.available_slots(uow, postal_code, now, days)]
    return time_slots(now.date(), settings.delivery.time_windows, settings.delivery.days_ahead)


def check_time_slot(uow: UnitOfWork, settings: Settings, choice: DeliveryChoice, now: datetime) -> None:
    """The chosen time slot is one `offered_slots` offers now for this mode and postal code. SlotFull for a
    company's slot with no place left; SlotNotOffered for anything else (past, unknown, malformed, the other
    mode's) — without repeating the value, which may be anything a payload carried."""
    if choice.time_slot in offered_slots(uow, settings, choice.mode, choice.postal_code, now):
        return
    if choice.mode == "delivery" and choice.postal_code and delivery.has_slots(uow):
        days = settings.delivery.days_ahead + SLOT_DAYS_EXTRA
        offers = delivery.available_slots(uow, choice.postal_code, now, days, include_full=True)
        if any(offer.label == choice.time_slot for offer in offers):
            raise SlotFull(slot=choice.time_slot)
    raise delivery.SlotNotOffered()


# --- payment ------------------------------------------------------------------------------------


def all_in_leman_possible(quote: Quote) -> bool:
    """Everything can be paid in local currency only if every vendor accepts 100 % of its goods in it and
    there is no delivery fee (always in francs); otherwise the customer is offered the mixed payment."""
    return quote.leman_payable >= quote.goods_total and not quote.delivery_fee


@dataclass(frozen=True)
class PaymentOptions:
    total: Decimal  # the delivery fee for the chosen slot included
    leman_payable: Decimal  # the most of it payable in local currency
    all_in_leman: bool  # whether PaymentMethod.LEMAN can pay everything
    methods: tuple[PaymentMethod, ...]  # what to offer, in this order

    def allows(self, method: PaymentMethod) -> bool:
        """Whether the basket can be paid this way. "All in Léman" is offered (a button) but refused unless it
        pays everything: the customer is then offered the mix instead."""
        return method in self.methods and (method is not PaymentMethod.LEMAN or self.all_in_leman)


def _options(quote: Quote) -> PaymentOptions:
    return PaymentOptions(quote.total, quote.leman_payable, all_in_leman_possible(quote), tuple(PaymentMethod))


def payment_options(
    uow: UnitOfWork, settings: Settings, person: Person, choice: DeliveryChoice, now: datetime | None = None
) -> PaymentOptions:
    """How the basket can be paid with this delivery choice (its payment method is not looked at)."""
    return _options(checkout_quote(uow, settings, person, choice, now).quote)


def choose_payment(
    uow: UnitOfWork, person: Person, method: PaymentMethod, leman_amount: Decimal | None = None
) -> PaymentMethod:
    """Record how the customer wants to pay. An amount of local currency ("20 en lémans") only counts with a
    method that uses it, and makes the payment a mix: that amount, the rest in francs."""
    amount = leman_amount if method.uses_local_currency else None
    set_leman_wanted(uow, person, amount)
    return PaymentMethod.MIXED if amount is not None else method


@dataclass(frozen=True)
class PaymentPart:
    """One amount the customer pays, as one payment leg asks for it."""

    method: LegMethod  # QR-bill in francs, e-Léman, or everything on delivery
    currency: str  # CHF or the local currency's code
    amount: Decimal
    # The vendor it pays when each vendor is paid on its own (money_flow "vendor_order"); None: the whole
    # order, or its delivery fee.
    vendor_slug: str | None = None
    vendor_name: str | None = None


def _amounts(settings: Settings, parts: tuple[PaymentPart, ...]) -> tuple[Decimal, Decimal]:
    """(francs, local currency) over the parts."""
    chf = sum((p.amount for p in parts if p.currency == settings.currency), ZERO)
    local = sum((p.amount for p in parts if p.currency == settings.local_currency.code), ZERO)
    return chf, local


def _part(method: LegMethod, currency: str, amount: Decimal, vendor: Organisation | None) -> PaymentPart:
    return PaymentPart(method, currency, amount, vendor.slug if vendor else None, vendor.name if vendor else None)


# --- preview and placing ------------------------------------------------------------------------


@dataclass(frozen=True)
class PickupPlace:
    """The pickup point chosen, as the summary shows it."""

    id: int
    name: str
    address: str
    hours: str


def check_pickup_point(uow: UnitOfWork, choice: DeliveryChoice, point_id: int | None) -> PickupPlace | None:
    """The pickup point chosen for a pickup (PickupPointNotOffered for an id that is none); None when none was
    chosen (a deployment without pickup points) or for home delivery."""
    if choice.mode != "pickup" or point_id is None:
        return None
    point = uow.session.get(delivery.PickupPoint, point_id)
    if point is None:
        raise PickupPointNotOffered()
    return PickupPlace(point.id, point.name, point.address, point.hours)


@dataclass(frozen=True)
class CheckoutPreview:
    """What the customer confirms: the basket priced for their delivery choice, and how they will pay it."""

    basket: BasketView  # lines per vendor; its quote has the chosen slot's own delivery fee
    choice: DeliveryChoice
    parts: tuple[PaymentPart, ...]  # the payment legs placing the order opens
    chf: Decimal  # paid in francs (all of it on delivery)
    leman: Decimal  # paid in local currency
    # Stands for everything above: the summary shown carries it, and placing the order needs it back.
    fingerprint: str
    address: DeliveryAddress | None = None  # where a home delivery goes, as checked; None for pickup
    pickup_point: PickupPlace | None = None  # where a pickup is collected, when chosen

    @property
    def total(self) -> Decimal:
        return self.basket.quote.total

    @property
    def delivery_fee(self) -> Decimal:
        return self.basket.quote.delivery_fee


def checked_quote(
    uow: UnitOfWork, settings: Settings, person: Person, choice: DeliveryChoice, now: datetime
) -> CheckoutQuote:
    """`checkout_quote` once every part of the choice is checked against what is offered now: a delivery mode
    the deployment offers and a postal code it serves, something in the basket, a time slot offered for that
    mode and place, a payment method `payment_options` allows."""
    check_delivery(settings, choice)
    ensure_basket(uow, person)
    check_time_slot(uow, settings, choice, now)
    priced = checkout_quote(uow, settings, person, choice, now)
    if not _options(priced.quote).allows(choice.payment_method):
        raise PaymentNotOffered(method=choice.payment_method.value)
    return priced


def check_address(
    uow: UnitOfWork, settings: Settings, choice: DeliveryChoice, address: DeliveryAddress | None
) -> DeliveryAddress | None:
    """A home delivery's address as the order will keep it, checked here whatever the chat checked: its fields
    (InvalidAddress), the postal code the slot was chosen for, a zone home delivery reaches now
    (DeliveryNotAvailable), no P.O. box. None for pickup or when no address is given (orders placed by the CLI
    or before Step 8 keep only the postal code)."""
    if choice.mode != "delivery" or address is None:
        return None
    checked = checked_address(address)
    if checked.postal_code != choice.postal_code:
        raise InvalidAddress(field="postal_code")
    if not check_zone(checked.postal_code, served_zones(uow, settings)).served:
        raise DeliveryNotAvailable(postal_code=checked.postal_code)
    if read_address(checked.street).po_box:
        raise InvalidAddress(field="street")
    return checked


def _fingerprint(
    choice: DeliveryChoice,
    priced: CheckoutQuote,
    parts: tuple[PaymentPart, ...],
    address: DeliveryAddress | None = None,
    pickup_point: PickupPlace | None = None,
) -> str:
    """A short digest of what a summary shows: the choice, the address or pickup point, each line (price,
    quantity, whether it can be ordered), the fee, the total and its split. Anything that changes after the
    summary changes it."""
    quote = priced.quote
    where = (
        (address.street, address.postal_code, address.locality, address.details, address.recipient_name,
         address.phone, address.latitude, address.longitude)
        if address else (pickup_point.id,) if pickup_point else ()
    )  # fmt: skip
    orderable = {
        product.id: product.available and product.vendor.is_approved and quantity <= product.stock
        for product, quantity in priced.items
    }
    facts = [
        choice.mode, choice.postal_code, choice.time_slot, choice.payment_method.value, priced.leman_wanted, *where,
        *(f"{line.product_id}:{line.quantity}:{line.unit_price}:{line.total}:{orderable[line.product_id]}"
          for vendor in quote.vendors for line in vendor.lines),
        quote.delivery_fee, quote.total, quote.leman_payable,
        *(f"{part.method}:{part.currency}:{part.amount}:{part.vendor_slug}" for part in parts),
    ]  # fmt: skip
    return hashlib.sha256("|".join(map(str, facts)).encode()).hexdigest()[:20]


def preview_checkout(
    uow: UnitOfWork,
    settings: Settings,
    person: Person,
    lang: str,
    choice: DeliveryChoice,
    now: datetime | None = None,
    address: DeliveryAddress | None = None,
    pickup_point: int | None = None,
) -> CheckoutPreview:
    """What `place_checkout` will charge for this basket and choice (delivered to `address`, or collected at
    `pickup_point`), without changing anything. A choice that is not offered now is refused (SlotNotOffered,
    SlotFull, DeliveryNotAvailable, PaymentNotOffered, InvalidAddress, PickupPointNotOffered...)."""
    priced = checked_quote(uow, settings, person, choice, now or local_now(settings))
    address = check_address(uow, settings, choice, address)
    place = check_pickup_point(uow, choice, pickup_point)
    vendors = {product.vendor_id: product.vendor for product, _ in priced.items}
    shares = [VendorShare(v.vendor_id, v.goods_total, v.leman_payable) for v in priced.quote.vendors]
    plan = plan_payment(settings, shares, priced.quote.delivery_fee, choice.payment_method, priced.leman_wanted)
    parts = tuple(
        _part(leg.method, leg.currency, leg.amount, vendors[leg.part_id] if leg.part_id is not None else None)
        for leg in plan.legs
    )
    basket = basket_view(list(priced.items), priced.quote, lang)
    fingerprint = _fingerprint(choice, priced, parts, address, place)
    return CheckoutPreview(basket, choice, parts, *_amounts(settings, parts), fingerprint, address, place)


def confirm_checkout(
    uow: UnitOfWork,
    settings: Settings,
    person: Person,
    lang: str,
    choice: DeliveryChoice,
    confirmed: str | None,
    now: datetime | None = None,
    address: DeliveryAddress | None = None,
    pickup_point: int | None = None,
) -> CheckoutPreview:
    """The preview of this checkout, if it is the summary the customer confirmed (`confirmed`: the fingerprint
    that summary carried). CheckoutNotConfirmed when no summary was confirmed, CheckoutChanged when the
    order would now charge something else: in both cases the customer is to see the summary and confirm."""
    preview = preview_checkout(uow, settings, person, lang, choice, now, address, pickup_point)
    if not confirmed:
        raise CheckoutNotConfirmed()
    if confirmed != preview.fingerprint:
        raise CheckoutChanged()
    return preview


@dataclass(frozen=True)
class PlacedCheckout:
    """An order just placed, and what the customer is handed to pay it."""

    number: str
    total: Decimal
    delivery_fee: Decimal
    parts: tuple[PaymentPart, ...]  # the payment legs opened (where payments are handled outside: the split)
    chf: Decimal
    leman: Decimal
    documents: tuple[PaymentDocument, ...]  # QR-bill, e-Léman QR code or cash on delivery, files written


def place_checkout(
    uow: UnitOfWork,
    settings: Settings,
    person: Person,
    lang: str,
    choice: DeliveryChoice,
    now: datetime | None = None,
    *,
    confirmed: str | None,
    address: DeliveryAddress | None = None,
    pickup_point: int | None = None,
) -> PlacedCheckout:
    """Place the order for the basket, open its payment legs and write the documents that pay them (in
    `lang`) — only for a choice offered now and the very summary the customer confirmed (`confirm_checkout`).
    A home delivery's `address` is copied onto the order and remembered for the person's next checkout.
    The caller commits; any error leaves the basket, the stock and the slot as they were."""
    now = now or local_now(settings)
    preview = confirm_checkout(uow, settings, person, lang, choice, confirmed, now, address, pickup_point)
    order = place_order(uow, settings, person, choice, now)
    if preview.address is not None:
        set_order_delivery(order, preview.address)
        remember_address(uow, person, preview.address)
    if preview.pickup_point is not None:
        order.pickup_point_id = preview.pickup_point.id
    vendors = {part.id: part.vendor for part in order.vendor_orders}
    documents: tuple[PaymentDocument, ...] = ()
    if settings.payments is not None:
        legs = open_payment(uow, settings, order)
        planned = [(LegMethod(leg.method), leg.currency, leg.amount, leg.vendor_order_id) for leg in legs]
        documents = write_payment_documents(settings, order, legs, lang)
    else:  # paid outside the marketplace: no legs, but the same split
        planned = [(leg.method, leg.currency, leg.amount, leg.part_id) for leg in order_plan(settings, order).legs]
    parts = tuple(_part(method, currency, amount, vendors.get(part)) for method, currency, amount, part in planned)
    return PlacedCheckout(order.number, order.total, order.delivery_fee, parts, *_amounts(settings, parts), documents)
