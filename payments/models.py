"""Payment tables: one leg per way an order is paid (QR-bill in francs, e-Léman, on delivery), every credit
that came in for them (each once, whatever repeats it), the bank files already imported and the e-Léman
transactions the node told us about."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
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
    # The sum of the `counted` parts of its credits (payment_credits), kept here so reading a leg needs no sum.
    received: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    # Before payment_credits (0008): the first credit that paid it. No longer written.
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


class HintStatus(enum.StrEnum):
    """Where an e-Léman transaction hash stands. A webhook or the node's list only hints at a payment; the
    node's answer for that hash decides."""

    UNVERIFIED = "unverified"  # to look up on the node (again, after the node could not be reached)
    PENDING = "pending"  # the node knows it, not final yet: looked up again later
    COMPLETED = "completed"  # final on the node and recorded as a credit
    REFUSED = "refused"  # the node contradicts the hint (forged, another wallet, unknown transaction)


class HintOrigin(enum.StrEnum):
    WEBHOOK = "webhook"  # a signed webhook: its claims must agree with the node
    NODE = "node"  # the node's own list of the wallet's transactions: nothing to compare


class LemanTransaction(Base):
    """Every e-Léman transaction hash we were told about (webhook or polling), once per hash, with what the
    hint claimed and where its check on the node stands."""

    __tablename__ = "leman_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12))  # a HintStatus
    origin: Mapped[str] = mapped_column(String(8), default=HintOrigin.WEBHOOK)
    # What the webhook claimed (empty / 0 for a hint from the node's list).
    completed_claimed: Mapped[bool] = mapped_column(default=False)
    reference: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Amount)
    sender: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Looking it up on the node: how often, when next, why the last try did not settle it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str] = mapped_column(String(200), default="")


class CreditSource(enum.StrEnum):
    BANK = "bank"  # a credit in a camt.054 / camt.053 file
    LEMAN = "leman"  # an e-Léman transaction, final on the node
    CASH = "cash"  # collected by a courier
    LEGACY = "legacy"  # recorded before payment_credits existed (migration 0008)


class RefundReason(enum.StrEnum):
    OVERPAID = "overpaid"  # more than the leg asked: the surplus
    OTHER_CURRENCY = "other_currency"  # not the leg's currency: all of it
    CANCELLED = "cancelled"  # the order (or its part) is cancelled: all of it
    ALREADY_PAID = "already_paid"  # the leg was already paid: all of it
    UNKNOWN_REFERENCE = "unknown_reference"  # no leg has this reference: someone must look


class RefundStatus(enum.StrEnum):
    NONE = ""
    DUE = "due"
    REFUNDED = "refunded"


class PaymentCredit(Base):
    """Money that came in, once per (source, stable id): a bank entry, an e-Léman transaction, cash. The part
    that pays its leg is `counted`; what must go back to the payer is `refund_amount`, listed for an admin."""

    __tablename__ = "payment_credits"
    __table_args__ = (UniqueConstraint("source", "credit_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))  # a CreditSource
    # The bank's reference for the entry, the entry reference, a hash of its content; the transaction hash.
    credit_key: Mapped[str] = mapped_column(String(100))
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("payment_legs.id", ondelete="SET NULL"), index=True)
    reference: Mapped[str] = mapped_column(String(60), default="")  # as the payer gave it
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(8), default="")
    counted: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    refund_amount: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    refund_reason: Mapped[str] = mapped_column(String(20), default="")  # a RefundReason
    refund_status: Mapped[str] = mapped_column(String(10), default=RefundStatus.NONE, index=True)
    # Where a refund goes: the debtor's IBAN or the sender's wallet (never logged).
    payer: Mapped[str] = mapped_column(String(64), default="")
    booked_on: Mapped[str] = mapped_column(String(10), default="")  # the bank's booking date
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_note: Mapped[str] = mapped_column(String(200), default="")

    leg: Mapped[PaymentLeg | None] = relationship()
