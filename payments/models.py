"""Payment tables: one leg per way an order is paid (QR-bill in francs, e-Léman, on delivery), and the
bank files already imported."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Amount
from checkout.models import Order
from marketplace.clock import utcnow
from marketplace.db import Base


class LegMethod(enum.StrEnum):
    """How one leg of a payment is paid (the customer's choice is `checkout.payment.PaymentMethod`)."""

    QR_BILL = "qr_bill"  # francs, bank transfer with a QR-bill
    LEMAN = "leman"  # e-Léman payment request
    ON_DELIVERY = "on_delivery"  # cash, card or paper Léman to the courier


class LegStatus(enum.StrEnum):
    AWAITING = "awaiting"
    PENDING = "pending"  # seen on the network, not final yet (e-Léman PENDING)
    PAID = "paid"
    CANCELLED = "cancelled"


class PaymentLeg(Base):
    __tablename__ = "payment_legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # The vendor order this leg pays (money_flow "vendor_order"); None: the whole order, or its delivery fee.
    vendor_order_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_orders.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))  # a LegMethod
    currency: Mapped[str] = mapped_column(String(3))  # CHF or the local currency's code
    amount: Mapped[Decimal] = mapped_column(Amount)
    # What the payer's bank or wallet sends back with the money (QRR, RF..., or the order reference).
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=LegStatus.AWAITING)
    received: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    # The bank entry or blockchain transaction that paid it: the same one counted once.
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    order: Mapped[Order] = relationship()


class BankImport(Base):
    """A bank notification file once imported; the same file again changes nothing."""

    __tablename__ = "bank_imports"
    __table_args__ = (UniqueConstraint("sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LemanTransaction(Base):
    """Every e-Léman transaction the node told us about (webhook or polling), once per hash."""

    __tablename__ = "leman_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12))  # pending, completed
    reference: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Amount)
    sender: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
