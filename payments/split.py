"""How an order's total is split between francs and Léman, per vendor order, to the centime.

Each vendor accepts at most a share of its goods in Léman (its `leman_payable`, from pricing). The
consumer asks for all francs, the maximum in Léman, or a given amount of Léman; that amount is spread
over the vendors in proportion to what each accepts (largest remainder, so the centimes add up exactly)
and never above any vendor's cap. The delivery fee is always in francs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class VendorShare:
    vendor_order_id: int
    goods_total: Decimal
    leman_cap: Decimal  # the most this vendor takes in Léman


@dataclass(frozen=True)
class Leg:
    vendor_order_id: int | None  # None: the delivery fee
    chf: Decimal
    leman: Decimal


def split(parts: list[VendorShare], delivery_fee: Decimal, leman_wanted: Decimal | None) -> list[Leg]:
    """`leman_wanted`: None = as much Léman as possible; 0 = all francs; else that amount (capped)."""
    caps = [int(min(p.leman_cap, p.goods_total).quantize(CENT, ROUND_DOWN) / CENT) for p in parts]  # centimes
    total_cap = sum(caps)
    wanted = total_cap if leman_wanted is None else int(leman_wanted.quantize(CENT, ROUND_DOWN) / CENT)
    wanted = max(0, min(wanted, total_cap))
    if wanted == total_cap:
        cents = caps
    else:
        # Proportional shares in whole centimes (integer arithmetic, no rounding drift), then the leftover
        # centimes to the largest remainders: the shares add up to exactly what was asked.
        floors = [wanted * cap // total_cap for cap in caps]
        remainders = [wanted * cap % total_cap for cap in caps]
        leftover = wanted - sum(floors)
        for i in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[:leftover]:
            floors[i] += 1
        cents = floors
    leman = [Decimal(c) * CENT for c in cents]
    legs = [Leg(p.vendor_order_id, p.goods_total - lem, lem) for p, lem in zip(parts, leman, strict=True)]
    if delivery_fee:
        legs.append(Leg(None, delivery_fee, Decimal("0.00")))
    return legs
