"""Pricing of a basket or an order: totals per vendor, VAT breakdown, local-currency share, payouts.

Pure functions on Decimals (CHF), no database: the same code prices a basket shown in a chat and
the order placed from it. Rounding rules are those of marketplace.money. Prices are VAT-inclusive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from marketplace.money import percent_of, round_down, round_half_up, vat_included

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedLine:
    vendor_id: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal  # percent
    leman_share_pct: int  # share of the price the vendor accepts in local currency

    @property
    def total(self) -> Decimal:
        return round_half_up(self.unit_price * self.quantity)

    @property
    def leman_payable(self) -> Decimal:
        return round_down(self.total * self.leman_share_pct / 100)


@dataclass(frozen=True)
class VendorQuote:
    vendor_id: int
    lines: tuple[PricedLine, ...]
    goods_total: Decimal
    vat: dict[Decimal, Decimal]  # rate -> VAT included
    leman_payable: Decimal
    commission: Decimal  # kept by the marketplace
    vendor_receives: Decimal


@dataclass(frozen=True)
class Quote:
    vendors: tuple[VendorQuote, ...]
    goods_total: Decimal
    delivery_fee: Decimal
    total: Decimal
    vat: dict[Decimal, Decimal]
    leman_payable: Decimal  # the most of `total` payable in local currency
    producers_receive: Decimal
    delivery_receives: Decimal
    platform_receives: Decimal


def _vat_by_rate(lines: Iterable[tuple[Decimal, Decimal]]) -> dict[Decimal, Decimal]:
    """VAT included per rate, computed on the sum of each rate's amounts (one rounding per rate)."""
    gross: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, amount in lines:
        gross[rate] += amount
    return {rate: vat_included(amount, rate) for rate, amount in sorted(gross.items())}


def quote_vendor(vendor_id: int, lines: list[PricedLine], commission_pct: Decimal) -> VendorQuote:
    goods_total = sum((line.total for line in lines), ZERO)
    commission = percent_of(goods_total, commission_pct)
    return VendorQuote(
        vendor_id=vendor_id,
        lines=tuple(lines),
        goods_total=goods_total,
        vat=_vat_by_rate((line.vat_rate, line.total) for line in lines),
        leman_payable=sum((line.leman_payable for line in lines), ZERO),
        commission=commission,
        vendor_receives=goods_total - commission,
    )


def quote(
    lines: Iterable[PricedLine],
    commission_pct: Decimal,
    delivery_fee: Decimal = ZERO,
    delivery_vat_rate: Decimal = ZERO,
) -> Quote:
    """Price `lines` (any vendors, any order) plus a delivery fee; every part adds up to `total`."""
    by_vendor: dict[int, list[PricedLine]] = defaultdict(list)
    for line in lines:
        by_vendor[line.vendor_id].append(line)
    vendors = tuple(quote_vendor(v, by_vendor[v], commission_pct) for v in sorted(by_vendor))
    goods_total = sum((v.goods_total for v in vendors), ZERO)
    vat_parts = [(rate, amount) for v in vendors for rate, amount in v.vat.items()]
    vat: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, amount in vat_parts:
        vat[rate] += amount
    if delivery_fee:
        vat[delivery_vat_rate] += vat_included(delivery_fee, delivery_vat_rate)
    return Quote(
        vendors=vendors,
        goods_total=goods_total,
        delivery_fee=delivery_fee,
        total=goods_total + delivery_fee,
        vat=dict(sorted(vat.items())),
        leman_payable=sum((v.leman_payable for v in vendors), ZERO),
        producers_receive=sum((v.vendor_receives for v in vendors), ZERO),
        delivery_receives=delivery_fee,
        platform_receives=sum((v.commission for v in vendors), ZERO),
    )
