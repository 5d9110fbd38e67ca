"""Payment service layer: open the legs of an order, record the money that comes in exactly once, know when
an order is paid.

An order is paid in up to two electronic legs (francs by QR-bill, Léman by e-Léman), or in one leg on
delivery. Every credit is its own row (`PaymentCredit`), keyed by a stable id per source, so the same bank
entry or transaction hash seen twice counts once. It counts as paid when every leg is. Money that cannot
pay a leg (another currency, a cancelled or already paid leg, the surplus of an overpayment) is never
counted: it is listed to refund and the customer told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from checkout.models import Order, VendorOrder
from checkout.payment import PaymentMethod
from checkout.services import move_part
from checkout.status import CLOSED, OrderStatus
from marketplace.accounts import Person
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.money import round_cash
from marketplace.settings import Settings
from payments import refunds
from payments.models import CreditSource, LegMethod, LegStatus, PaymentCredit, PaymentLeg, RefundReason, RefundStatus
from payments.references import creditor_reference, qrr_reference
from payments.split import CENT, Leg, VendorShare, split

ZERO = Decimal("0.00")


def is_qr_iban(iban: str) -> bool:
    """QR-IBANs carry an institution id (positions 5-9) between 30000 and 31999."""
    compact = iban.replace(" ", "")
    return compact[:2] in ("CH", "LI") and 30000 <= int(compact[4:9]) <= 31999


def _shares(order: Order) -> list[VendorShare]:
    return [VendorShare(v.id, v.goods_total, v.leman_payable) for v in order.vendor_orders]


@dataclass(frozen=True)
class PlannedLeg:
    method: LegMethod
    currency: str
    amount: Decimal
    part_id: int | None  # the part it pays (see plan_payment); None: the whole order, or its delivery fee


@dataclass(frozen=True)
class PaymentPlan:
    shares: tuple[Leg, ...]  # francs and Léman per part, the delivery fee last (empty when paid on delivery)
    legs: tuple[PlannedLeg, ...]  # what the customer is asked to pay, leg by leg


def plan_payment(
    settings: Settings,
    parts: list[VendorShare],
    delivery_fee: Decimal,
    method: PaymentMethod,
    leman_wanted: Decimal | None,
) -> PaymentPlan:
    """The legs that pay `parts` (one per vendor, keyed by an id of the caller's: the vendor order's once the
    order exists, the vendor's in a preview) plus the delivery fee, for the customer's payment method and the
    deployment's money flow. The one computation behind the checkout's preview and `open_payment`.

    `leman_wanted` is the amount of local currency the customer gave (None: as much as the vendors accept);
    the method decides whether it counts (`PaymentMethod.leman_asked`)."""
    total = sum((p.goods_total for p in parts), ZERO) + delivery_fee
    if method is PaymentMethod.ON_DELIVERY:
        return PaymentPlan((), (PlannedLeg(LegMethod.ON_DELIVERY, settings.currency, total, None),))
    shares = split(parts, delivery_fee, method.leman_asked(leman_wanted))
    local = settings.local_currency.code
    money_flow = settings.payments.money_flow if settings.payments is not None else "order"
    if money_flow == "vendor_order":
        legs = [PlannedLeg(LegMethod.QR_BILL, settings.currency, s.chf, s.vendor_order_id) for s in shares]
        legs += [PlannedLeg(LegMethod.LEMAN, local, s.leman, s.vendor_order_id) for s in shares]
    else:
        legs = [
            PlannedLeg(LegMethod.QR_BILL, settings.currency, sum((s.chf for s in shares), ZERO), None),
            PlannedLeg(LegMethod.LEMAN, local, sum((s.leman for s in shares), ZERO), None),
        ]
    return PaymentPlan(tuple(shares), tuple(leg for leg in legs if leg.amount > 0))


def _reference(settings: Settings, order: Order, leg: PaymentLeg) -> str:
    assert settings.payments is not None
    if leg.method == LegMethod.QR_BILL and is_qr_iban(settings.payments.creditor.iban):
        return qrr_reference(leg.id)
    if leg.method == LegMethod.QR_BILL:
        return creditor_reference(f"{order.number.replace('-', '')}{leg.id}")
    return f"{order.number}-{leg.id}"


def open_payment(
    uow: UnitOfWork, settings: Settings, order: Order, leman_wanted: Decimal | None = None
) -> list[PaymentLeg]:
    """Create the legs of an order's payment from its payment method (idempotent: existing legs stay).

    `leman_wanted` overrides the amount of local currency the customer chose at checkout."""
    existing = legs_of(uow, order)
    if existing:
        return existing
    assert settings.payments is not None, "payments are not configured for this deployment"
    payment = order_plan(settings, order, leman_wanted)
    for part, share in zip(order.vendor_orders, payment.shares, strict=False):
        part.leman_due = share.leman
    created = []
    for planned in payment.legs:
        leg = PaymentLeg(
            order_id=order.id,
            vendor_order_id=planned.part_id,
            method=planned.method,
            currency=planned.currency,
            amount=planned.amount,
            reference=f"tmp-{planned.method}-{order.id}",
        )
        uow.session.add(leg)
        uow.session.flush()  # the id makes the reference
        leg.reference = _reference(settings, order, leg)
        created.append(leg)
    uow.session.flush()
    return created


def order_plan(settings: Settings, order: Order, leman_wanted: Decimal | None = None) -> PaymentPlan:
    """How this order is paid, leg by leg (`leman_wanted` overrides the amount chosen at checkout)."""
    wanted = leman_wanted if leman_wanted is not None else order.leman_wanted
    return plan_payment(settings, _shares(order), order.delivery_fee, order_payment_method(order), wanted)


def order_payment_method(order: Order) -> PaymentMethod:
    """How the customer chose to pay this order (an order stored without a method pays in francs)."""
    return PaymentMethod.parse(order.payment_method) or PaymentMethod.CHF


def legs_of(uow: UnitOfWork, order: Order) -> list[PaymentLeg]:
    return list(uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order.id).order_by(PaymentLeg.id)))


@dataclass(frozen=True)
class IncomingCredit:
    """Money that came in for a reference, from one source, under an id that stays the same however often the
    source repeats it (the same bank entry in a notice and in a statement; the same transaction hash)."""

    source: CreditSource
    key: str
    reference: str
    amount: Decimal
    currency: str
    payer: str = ""  # the debtor's IBAN, the sender's wallet: where a refund goes
    booked_on: str = ""


@dataclass(frozen=True)
class Confirmation:
    outcome: str  # paid, partial, overpaid, refund (all of it goes back: see `reason`), duplicate
    leg: PaymentLeg | None
    missing: Decimal = ZERO
    extra: Decimal = ZERO  # what must be refunded
    reason: str = ""  # a RefundReason when something must be refunded
    credit: PaymentCredit | None = None


def record_credit(
    uow: UnitOfWork,
    leg: PaymentLeg | None,
    incoming: IncomingCredit,
    *,
    settings: Settings | None = None,
    when: datetime | None = None,
) -> Confirmation:
    """Record money that came in for `leg` (None: no leg has its reference), once per (source, key).

    Only the part the leg still waits for counts, and only in the leg's currency, for a leg neither paid nor
    cancelled; the rest is listed to refund and the customer told. The order becomes paid when every leg is."""
    if incoming.amount <= 0:
        raise ValueError("a credit is a positive amount")
    if _credit_known(uow, incoming):
        return Confirmation("duplicate", leg)
    if leg is not None:
        leg = _locked(uow, leg)
    reason = _refund_reason(leg, incoming)
    counted = ZERO
    if reason is None:
        assert leg is not None
        counted = min(incoming.amount, max(leg.amount - leg.received, ZERO))
        reason = RefundReason.OVERPAID if incoming.amount > counted else None
    credit = PaymentCredit(
        source=incoming.source, credit_key=incoming.key, leg_id=leg.id if leg else None,
        reference=incoming.reference[:60], amount=incoming.amount, currency=incoming.currency, counted=counted,
        refund_amount=incoming.amount - counted, refund_reason=reason or "",
        refund_status=RefundStatus.DUE if reason else RefundStatus.NONE, payer=incoming.payer[:64],
        booked_on=incoming.booked_on[:10], received_at=when or utcnow(),
    )  # fmt: skip
    try:
        with uow.session.begin_nested():  # a concurrent import or webhook recorded it first: counted there
            uow.session.add(credit)
            uow.session.flush()
    except IntegrityError:
        return Confirmation("duplicate", leg)
    if credit.refund_amount > 0:
        refunds.tell_refund_due(uow, credit, settings)
    if leg is None or counted == 0:
        return Confirmation("refund", leg, extra=credit.refund_amount, reason=reason or "", credit=credit)
    leg.received = (leg.received or ZERO) + counted
    missing = leg.amount - leg.received
    if missing > 0:
        if leg.status == LegStatus.PENDING:
            leg.status = LegStatus.AWAITING  # the payment seen pending was this partial one
        uow.session.flush()
        return Confirmation("partial", leg, missing=missing, credit=credit)
    leg.status, leg.paid_at = LegStatus.PAID, when or utcnow()
    uow.session.flush()
    _settle(uow, leg.order)
    outcome = "overpaid" if reason else "paid"
    return Confirmation(outcome, leg, extra=credit.refund_amount, reason=reason or "", credit=credit)


def _credit_known(uow: UnitOfWork, incoming: IncomingCredit) -> bool:
    return (
        uow.session.scalar(
            select(PaymentCredit.id).where(
                PaymentCredit.source == incoming.source, PaymentCredit.credit_key == incoming.key
            )
        )
        is not None
    )


def _locked(uow: UnitOfWork, leg: PaymentLeg) -> PaymentLeg:
    """The leg re-read under a row lock (PostgreSQL), so two credits for it add up instead of overwriting."""
    return uow.session.scalars(
        select(PaymentLeg).where(PaymentLeg.id == leg.id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _refund_reason(leg: PaymentLeg | None, incoming: IncomingCredit) -> RefundReason | None:
    """Why none of this credit can pay the leg (None: it can, up to what the leg still waits for)."""
    if leg is None:
        return RefundReason.UNKNOWN_REFERENCE
    if incoming.currency != leg.currency:
        return RefundReason.OTHER_CURRENCY
    if leg_cancelled(leg):
        return RefundReason.CANCELLED
    if leg.status == LegStatus.PAID:
        return RefundReason.ALREADY_PAID
    return None


def leg_cancelled(leg: PaymentLeg) -> bool:
    """A leg for a cancelled (or refunded) order, or for a vendor order that is: nothing is to be paid any more."""
    if leg.status == LegStatus.CANCELLED:
        return True
    parts = [p for p in leg.order.vendor_orders if leg.vendor_order_id in (None, p.id)]
    return bool(parts) and all(OrderStatus(p.status) in CLOSED for p in parts)


def _settle(uow: UnitOfWork, order: Order) -> None:
    """A vendor order still waiting for its money is paid once every leg for it is: its own legs, and
    the legs of the whole order (with money_flow "order" there are only those)."""
    legs = legs_of(uow, order)
    for part in order.vendor_orders:
        mine = [leg for leg in legs if leg.vendor_order_id in (None, part.id)]
        if OrderStatus(part.status) is OrderStatus.PLACED and all(leg.status == LegStatus.PAID for leg in mine):
            move_part(uow, part, OrderStatus.PAID, None)
    uow.session.flush()


@dataclass(frozen=True)
class PaymentState:
    state: str  # awaiting, partial, paid
    legs: list[PaymentLeg]

    @property
    def paid(self) -> Decimal:
        return sum((leg.received for leg in self.legs), ZERO)


def payment_state(uow: UnitOfWork, order: Order) -> PaymentState:
    legs = legs_of(uow, order)
    if legs and all(leg.status == LegStatus.PAID for leg in legs):
        return PaymentState("paid", legs)
    if any(leg.status == LegStatus.PAID or leg.received > 0 or leg.status == LegStatus.PENDING for leg in legs):
        return PaymentState("partial", legs)
    return PaymentState("awaiting", legs)


def cash_due(order: Order) -> tuple[Decimal, Decimal]:
    """What a courier collects for an order paid on delivery: the total rounded to 5 centimes, and the
    rounding line. Electronic payments are exact."""
    return round_cash(order.total)


def confirm_on_delivery(uow: UnitOfWork, courier: Person, order: Order) -> Confirmation | None:  # noqa: ARG001
    """The courier collected the money (`/delivered ORDER paid`): the leg's amount, once per leg whoever
    confirms it. The 5-centime rounding is the order's own line, not a payment to refund."""
    leg = next((leg for leg in legs_of(uow, order) if leg.method == LegMethod.ON_DELIVERY), None)
    if leg is None:
        return None
    incoming = IncomingCredit(CreditSource.CASH, f"leg:{leg.id}", leg.reference, leg.amount, leg.currency)
    return record_credit(uow, leg, incoming)


def vendor_breakdown(order: Order) -> list[tuple[VendorOrder, Decimal, Decimal]]:
    """Who receives what: per vendor order, (francs, Léman)."""
    return [(part, (part.goods_total - part.leman_due).quantize(CENT), part.leman_due) for part in order.vendor_orders]
