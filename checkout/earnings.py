"""Who receives what of the money a month's orders bring in, in francs and Léman: each vendor's sales, the
cooperative's commission and what the vendor receives, per order and for the month (`/earnings`, « combien
j'ai gagné ce mois »); a delivery company's runs and fees; and the whole month's split between producers,
delivery and the cooperative (`admin_cli.py report value-split --month 2026-11`).

Nothing is computed again here: the commission and what a vendor receives were fixed on each vendor order
when it was placed (`checkout/pricing.py`), its francs/Léman parts by the payment (`payments/services.py`,
`vendor_breakdown`), and the delivery fee on the order. The cooperative keeps its commission out of the
vendor's francs first, then out of its Léman when the francs do not cover it, so that the three parts always
add up to what customers paid. Cancelled and refunded vendor orders count for nothing; an order counts in the
month it was placed, in the deployment's timezone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select

from checkout.models import Order, VendorOrder
from checkout.runs import courier_company
from checkout.status import CLOSED, OrderStatus
from marketplace.accounts import Organisation, Person, Role, acting_for
from marketplace.db import UnitOfWork
from marketplace.errors import InvalidInput
from marketplace.i18n import BABEL_LOCALES, format_chf, format_number, translate
from payments.services import vendor_breakdown

ZERO = Decimal("0.00")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclass(frozen=True)
class Amount:
    """An amount in francs and in the local currency (1 Léman = 1 CHF: `total` adds them)."""

    chf: Decimal = ZERO
    leman: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.chf + self.leman

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.chf + other.chf, self.leman + other.leman)


def parse_month(text: str) -> date:
    """ "2026-11" -> 2026-11-01; InvalidInput otherwise."""
    match = _MONTH.match(text or "")
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(field="month", value=(text or "")[:20])
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_of(moment: datetime, timezone: str) -> date:
    """The first day of the month `moment` falls in, in the deployment's timezone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return date(local.year, local.month, 1)


def _bounds(month: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(month.year, month.month, 1, tzinfo=zone), datetime(following.year, following.month, 1, tzinfo=zone)


def _in_month(month: date, timezone: str) -> tuple[object, ...]:
    start, end = _bounds(month, timezone)
    return (Order.created_at >= start, Order.created_at < end)


# --- a vendor's earnings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderEarning:
    """One vendor's part of one order: what was sold, kept by the cooperative, received."""

    number: str
    placed: date  # local date
    status: OrderStatus  # of this vendor's part
    sales: Amount
    commission: Amount
    receives: Amount
    delivery_fee: Decimal  # the whole order's, paid by the customer to the delivery company (francs)


@dataclass(frozen=True)
class VendorEarnings:
    vendor_name: str
    month: date
    commission_pct: Decimal
    orders: tuple[OrderEarning, ...]  # oldest first
    sales: Amount
    commission: Amount
    receives: Amount
    delivery_fees: Decimal


def _parts(part: VendorOrder) -> tuple[Amount, Amount, Amount]:
    """(sales, commission, receives) of one vendor order, each in francs and Léman."""
    chf, leman = next((c, lem) for p, c, lem in vendor_breakdown(part.order) if p.id == part.id)
    received_leman = min(leman, part.vendor_receives)
    receives = Amount(part.vendor_receives - received_leman, received_leman)
    sales = Amount(chf, leman)
    return sales, Amount(sales.chf - receives.chf, sales.leman - receives.leman), receives


def _open_parts(uow: UnitOfWork, month: date, timezone: str, *where: object) -> list[VendorOrder]:
    closed = sorted(status.value for status in CLOSED)
    return list(
        uow.session.scalars(
            select(VendorOrder)
            .join(Order, Order.id == VendorOrder.order_id)
            .where(*_in_month(month, timezone), VendorOrder.status.notin_(closed), *where)  # type: ignore[arg-type]
            .order_by(Order.created_at, VendorOrder.id)
        )
    )


def vendor_earnings(
    uow: UnitOfWork, person: Person, month: date, timezone: str, commission_pct: Decimal
) -> VendorEarnings:
    """The month's earnings of the vendor the person works for (the one rights check of vendor work first, as
    `work.vendors.vendor_of` does): only that vendor's own orders."""
    vendor = acting_for(person, Role.VENDOR_MEMBER)
    lines = []
    for part in _open_parts(uow, month, timezone, VendorOrder.vendor_id == vendor.id):
        sales, commission, receives = _parts(part)
        placed = part.order.created_at.astimezone(ZoneInfo(timezone)).date()
        status, fee = OrderStatus(part.status), part.order.delivery_fee
        lines.append(OrderEarning(part.order.number, placed, status, sales, commission, receives, fee))
    return VendorEarnings(
        vendor.name,
        month,
        commission_pct,
        tuple(lines),
        sum((line.sales for line in lines), Amount()),
        sum((line.commission for line in lines), Amount()),
        sum((line.receives for line in lines), Amount()),
        sum((line.delivery_fee for line in lines), ZERO),
    )


# --- a delivery company's runs and fees -----------------------------------------------------------------


@dataclass(frozen=True)
class RunFees:
    day: str  # "2026-11-25", the day of the booked slot (else the day the order was placed)
    drops: int
    fees: Decimal


@dataclass(frozen=True)
class CourierEarnings:
    company: str
    month: date
    runs: tuple[RunFees, ...]
    drops: int
    fees: Decimal


def _delivered_orders(uow: UnitOfWork, month: date, timezone: str, *where: object) -> list[Order]:
    """The month's home-delivery orders with at least one vendor order still counting."""
    closed = sorted(status.value for status in CLOSED)
    counting = select(VendorOrder.order_id).where(VendorOrder.status.notin_(closed))
    return list(
        uow.session.scalars(
            select(Order)
            .where(*_in_month(month, timezone), Order.delivery_company_id.is_not(None), Order.id.in_(counting))  # type: ignore[arg-type]
            .where(*where)  # type: ignore[arg-type]
            .order_by(Order.created_at, Order.id)
        )
    )


def courier_earnings(uow: UnitOfWork, person: Person, month: date, timezone: str) -> CourierEarnings:
    """The month's runs of the person's delivery company (the courier rights check first) and their fees."""
    company = courier_company(person)
    by_day: dict[str, list[Order]] = defaultdict(list)
    for order in _delivered_orders(uow, month, timezone, Order.delivery_company_id == company.id):
        day = order.time_slot[:10] or order.created_at.astimezone(ZoneInfo(timezone)).date().isoformat()
        by_day[day].append(order)
    runs = tuple(
        RunFees(day, len(orders), sum((o.delivery_fee for o in orders), ZERO)) for day, orders in sorted(by_day.items())
    )
    return CourierEarnings(
        company.name, month, runs, sum(r.drops for r in runs), sum((r.fees for r in runs), ZERO)
    )


# --- the month's split, for the cooperative ------------------------------------------------------------


@dataclass(frozen=True)
class SplitLine:
    kind: str  # "producer", "delivery" or "cooperative"
    slug: str
    name: str
    orders: int  # a producer's or delivery company's own; the cooperative's: every counted order
    amount: Amount  # what this party receives


@dataclass(frozen=True)
class ValueSplit:
    month: date
    lines: tuple[SplitLine, ...]  # producers by name, then delivery companies, then the cooperative
    paid_by_customers: Amount  # the counted goods and delivery fees: the lines add up to it

    def total(self, kind: str) -> Amount:
        return sum((line.amount for line in self.lines if line.kind == kind), Amount())


def value_split(uow: UnitOfWork, month: date, timezone: str, cooperative: tuple[str, str]) -> ValueSplit:
    """Who received what of the month's orders: each producer (goods less commission), each delivery company
    (fees, in francs), and the cooperative (`cooperative`: its slug and name) its commission. For admins: the
    admin CLI is the caller and checks nothing more."""
    producers: dict[int, list[Amount]] = defaultdict(list)
    commission, paid, orders = Amount(), Amount(), set()
    for part in _open_parts(uow, month, timezone):
        sales, kept, receives = _parts(part)
        producers[part.vendor_id].append(receives)
        commission, paid = commission + kept, paid + sales
        orders.add(part.order_id)
    couriers: dict[int, list[Decimal]] = defaultdict(list)
    for order in _delivered_orders(uow, month, timezone):
        if order.delivery_fee:
            couriers[order.delivery_company_id].append(order.delivery_fee)  # type: ignore[index]
            paid = paid + Amount(order.delivery_fee)
    wanted = select(Organisation).where(Organisation.id.in_([*producers, *couriers]))
    names = {organisation.id: organisation for organisation in uow.session.scalars(wanted)}
    lines = [
        SplitLine("producer", names[vid].slug, names[vid].name, len(parts), sum(parts, Amount()))
        for vid, parts in sorted(producers.items(), key=lambda item: names[item[0]].name)
    ]
    lines += [
        SplitLine("delivery", names[cid].slug, names[cid].name, len(fees), Amount(sum(fees, ZERO)))
        for cid, fees in sorted(couriers.items(), key=lambda item: names[item[0]].name)
    ]
    lines.append(SplitLine("cooperative", cooperative[0], cooperative[1], len(orders), commission))
    return ValueSplit(month, tuple(lines), paid)


# --- in words, for the chat (the `/earnings` command and the Rasa action say the same) -------------------


def _month_name(month: date, lang: str) -> str:
    return format_date(month, "LLLL y", locale=BABEL_LOCALES.get(lang, "fr_CH"))


def _both(amount: Amount, lang: str, currency: str) -> str:
    """ "24,00 CHF", "12,00 Léman" or "12,00 CHF + 12,00 Léman" """
    if not amount.leman:
        return format_chf(amount.chf, lang)
    if not amount.chf:
        return format_chf(amount.leman, lang, currency)
    return f"{format_chf(amount.chf, lang)} + {format_chf(amount.leman, lang, currency)}"


def vendor_earnings_text(earnings: VendorEarnings, lang: str, currency: str) -> str:
    """A vendor's month as one message: each order, then the month's totals (`currency`: the local one's name)."""
    month = _month_name(earnings.month, lang)
    if not earnings.orders:
        return translate("earnings.none", lang, vendor=earnings.vendor_name, month=month)
    lines = [translate("earnings.title", lang, vendor=earnings.vendor_name, month=month)]
    for line in earnings.orders:
        fee = format_chf(line.delivery_fee, lang)  # a pickup order has none: not mentioned
        paid_to_courier = translate("earnings.order_fee", lang, fee=fee) if line.delivery_fee else ""
        lines.append(
            translate(
                "earnings.order", lang, order=line.number, day=line.placed.strftime("%d.%m"),
                status=translate(f"status.{line.status}", lang), sales=_both(line.sales, lang, currency),
                commission=_both(line.commission, lang, currency), receives=_both(line.receives, lang, currency),
            )
            + paid_to_courier
        )
    lines.append(
        translate(
            "earnings.month", lang, month=month, sales=_both(earnings.sales, lang, currency),
            pct=format_number(earnings.commission_pct, lang), commission=_both(earnings.commission, lang, currency),
            fees=format_chf(earnings.delivery_fees, lang), receives=_both(earnings.receives, lang, currency),
        )
    )
    return "\n".join(lines)


def courier_earnings_text(earnings: CourierEarnings, lang: str) -> str:
    """A delivery company's month as one message: each run day with its drops and fees, then the total."""
    month = _month_name(earnings.month, lang)
    if not earnings.runs:
        return translate("earnings.courier.none", lang, company=earnings.company, month=month)
    lines = [translate("earnings.courier.title", lang, company=earnings.company, month=month)]
    for run in earnings.runs:
        day = date.fromisoformat(run.day).strftime("%d.%m")
        lines.append(translate("earnings.courier.run", lang, day=day, drops=run.drops, fees=format_chf(run.fees, lang)))
    total = format_chf(earnings.fees, lang)
    lines.append(translate("earnings.courier.total", lang, runs=len(earnings.runs), drops=earnings.drops, fees=total))
    return "\n".join(lines)
