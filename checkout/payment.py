"""How the customer chose to pay an order: the one list of payment methods, for every entry point.

The values are a stable contract: orders store them, Rasa's `payment_method` entity and slot carry them, and
chat buttons send them. How each choice is then paid (a QR-bill, an e-Léman request, cash to the courier) is
the kind of a payment leg: `payments.models.LegMethod`.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from marketplace.errors import InvalidInput

ZERO = Decimal("0.00")


class PaymentMethod(enum.StrEnum):
    CHF = "chf"  # all in francs (QR-bill)
    LEMAN = "leman"  # as much as the vendors accept in local currency, the rest in francs
    MIXED = "mixed"  # a given amount of local currency (else the most accepted), the rest in francs
    ON_DELIVERY = "on_delivery"  # cash, card or paper local currency to the courier

    @classmethod
    def parse(cls, value: str | None) -> PaymentMethod | None:
        """The method named by `value` ("chf", a slot, a button's entity), None for anything else."""
        try:
            return cls(str(value or "").strip().lower())
        except ValueError:
            return None

    @classmethod
    def of(cls, value: str | None) -> PaymentMethod:
        """The method stored with an order or given by a caller; InvalidInput for an unknown one."""
        method = cls.parse(value)
        if method is None:
            raise InvalidInput(field="payment_method", value=str(value))
        return method

    @property
    def uses_local_currency(self) -> bool:
        return self in (PaymentMethod.LEMAN, PaymentMethod.MIXED)

    def leman_asked(self, chosen: Decimal | None) -> Decimal | None:
        """How much local currency this method pays: none for francs or on delivery; for the others the
        amount the customer gave, else None (as much as the vendors accept)."""
        return chosen if self.uses_local_currency else ZERO
