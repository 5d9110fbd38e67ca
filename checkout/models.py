"""Checkout tables: baskets, orders, one vendor order per vendor, order lines and status history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Amount, Product, Quantity
from checkout.status import OrderStatus, summarise
from marketplace.accounts import Organisation, Person
from marketplace.clock import utcnow
from marketplace.crypto import EncryptedDecimal, EncryptedText
from marketplace.db import Base


class Basket(Base):
    __tablename__ = "baskets"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # How much local currency the person said they want to pay (None: as the payment method says).
    leman_wanted: Mapped[Decimal | None] = mapped_column(Amount)

    lines: Mapped[list[BasketLine]] = relationship(
        back_populates="basket", cascade="all, delete-orphan", order_by="BasketLine.id"
    )


class BasketLine(Base):
    __tablename__ = "basket_lines"
    __table_args__ = (UniqueConstraint("basket_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("baskets.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    basket: Mapped[Basket] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class Order(Base):
    """What a consumer bought in one checkout; split into one VendorOrder per vendor."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    delivery_mode: Mapped[str] = mapped_column(String(16))  # "delivery" or "pickup"
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    time_slot: Mapped[str] = mapped_column(String(40), default="")  # "2026-11-23 17:00-19:00"
    payment_method: Mapped[str] = mapped_column(String(16), default="")  # chf, leman, mixed, on_delivery
    leman_wanted: Mapped[Decimal | None] = mapped_column(Amount)  # a chosen amount of local currency
    # The company that delivers it (None for pickup).
    delivery_company_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The delivery company's slot booked for it (its place is given back if the order is cancelled).
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_slots.id", ondelete="SET NULL"))
    # Where a pickup is collected, as chosen at checkout (None: home delivery, or no pickup point offered). No
    # foreign key: see migration 0010.
    pickup_point_id: Mapped[int | None] = mapped_column(Integer)
    goods_total: Mapped[Decimal] = mapped_column(Amount)
    delivery_fee: Mapped[Decimal] = mapped_column(Amount)
    total: Mapped[Decimal] = mapped_column(Amount)
    leman_payable: Mapped[Decimal] = mapped_column(Amount)
    platform_commission: Mapped[Decimal] = mapped_column(Amount)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Where it is delivered, copied from the address chosen (checkout.address_book.set_order_delivery), so that
    # changing a saved address never changes a placed order. Sealed at rest but for the locality (postal_code
    # above), which zones and runs are sorted by. None: not given (pickup, or an order placed before Step 8).
    delivery_recipient: Mapped[str | None] = mapped_column(EncryptedText("orders.delivery_recipient"))
    delivery_street: Mapped[str | None] = mapped_column(EncryptedText("orders.delivery_street"))
    delivery_details: Mapped[str | None] = mapped_column(EncryptedText("orders.delivery_details"))
    delivery_locality: Mapped[str] = mapped_column(String(80), default="")
    delivery_phone: Mapped[str | None] = mapped_column(EncryptedText("orders.delivery_phone"))
    delivery_latitude: Mapped[Decimal | None] = mapped_column(EncryptedDecimal("orders.delivery_latitude"))
    delivery_longitude: Mapped[Decimal | None] = mapped_column(EncryptedDecimal("orders.delivery_longitude"))

    person: Mapped[Person | None] = relationship()
    delivery_company: Mapped[Organisation | None] = relationship()
    vendor_orders: Mapped[list[VendorOrder]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="VendorOrder.id"
    )

    @property
    def status(self) -> OrderStatus:
        return summarise([OrderStatus(v.status) for v in self.vendor_orders])


class VendorOrder(Base):
    """One vendor's part of an order: what it prepares, what it is paid. Carries the status."""

    __tablename__ = "vendor_orders"
    __table_args__ = (UniqueConstraint("order_id", "vendor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLACED)
    goods_total: Mapped[Decimal] = mapped_column(Amount)
    leman_payable: Mapped[Decimal] = mapped_column(Amount)
    commission: Mapped[Decimal] = mapped_column(Amount)
    vendor_receives: Mapped[Decimal] = mapped_column(Amount)
    # The part of goods_total the customer pays this vendor in local currency (the rest in francs).
    leman_due: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="vendor_orders")
    vendor: Mapped[Organisation] = relationship(lazy="joined")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    history: Mapped[list[StatusChange]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="StatusChange.id"
    )


class OrderLine(Base):
    """A line as it was when ordered: name, unit price and VAT are copied, not looked up later."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_order_id: Mapped[int] = mapped_column(ForeignKey("vendor_orders.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    leman_share_pct: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Amount)

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="lines")


class StatusChange(Base):
    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_order_id: Mapped[int] = mapped_column(ForeignKey("vendor_orders.id", ondelete="CASCADE"))
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="history")
