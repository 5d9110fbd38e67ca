"""Money: Decimal amounts with a currency, and the marketplace's rounding rules in one place.

Rules (all amounts in CHF unless said otherwise):
- a line total is unit price x quantity, rounded half-up to the currency's precision (centimes);
- VAT included in a VAT-inclusive amount is gross x rate / (100 + rate), half-up, per VAT rate;
- a commission is amount x pct / 100, half-up;
- the part payable in local currency is rounded *down*, so it never exceeds the vendor's accepted share;
- cash is counted in 5 centimes: the final total is rounded half-up to 0.05 with a separate rounding line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision

HUNDRED = Decimal(100)


@cache
def quantum(currency: str) -> Decimal:
    """Smallest unit of `currency` (0.01 for CHF), from Babel's currency data."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_half_up(amount: Decimal, currency: str = "CHF") -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def round_down(amount: Decimal, currency: str = "CHF") -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_DOWN)


CASH_STEP = Decimal("0.05")


def round_cash(amount: Decimal) -> tuple[Decimal, Decimal]:
    """Cash and paper Léman are counted in 5 centimes: (rounded total, rounding line), on the final total."""
    rounded = ((amount / CASH_STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * CASH_STEP).quantize(quantum("CHF"))
    return rounded, rounded - amount


def percent_of(amount: Decimal, pct: Decimal | int, currency: str = "CHF") -> Decimal:
    return round_half_up(amount * Decimal(pct) / HUNDRED, currency)


def vat_included(gross: Decimal, rate_pct: Decimal, currency: str = "CHF") -> Decimal:
    return round_half_up(gross * rate_pct / (HUNDRED + rate_pct), currency)


@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount in one currency. Arithmetic across currencies is refused."""

    amount: Decimal
    currency: str = "CHF"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal, got {type(self.amount).__name__}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_half_up(self.amount, self.currency), self.currency)

    @classmethod
    def zero(cls, currency: str = "CHF") -> Money:
        return cls(Decimal(0).quantize(quantum(currency)), currency)
