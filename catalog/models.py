"""Catalog tables: products (goods and services) and the catalog revision counter."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace.accounts import Organisation
from marketplace.clock import utcnow
from marketplace.db import Base

# Quantities are Decimals: loose goods sell by the kg or litre (0.5 kg); other units are whole.
Quantity = Numeric(12, 3)
Amount = Numeric(12, 2)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("vendor_id", "sku"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_chf >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    # Where the row comes from ("demo", "csv", "admin", a sync feed) and its id there, for catalog sync.
    source: Mapped[str] = mapped_column(String(64), default="admin", index=True)  # catalog/sync.py looks up by it
    external_id: Mapped[str] = mapped_column(String(128), default="")
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # "" (catalog.taxonomy.UNCLASSIFIED): a source's word matched none of our categories; the product is offered to
    # nobody until an admin classifies it. `classify_word` keeps that word for the admin ("" once classified).
    category: Mapped[str] = mapped_column(String(32), index=True)
    classify_word: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(8), default="good")  # "good" or "service"
    unit: Mapped[str] = mapped_column(String(16))
    price_chf: Mapped[Decimal] = mapped_column(Amount)
    vat_class: Mapped[str] = mapped_column(String(16))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    origin_place: Mapped[str] = mapped_column(String(80), default="")
    origin_km: Mapped[Decimal | None] = mapped_column(Numeric(8, 1), nullable=True)
    # Units on hand for goods; places or hours bookable for services.
    stock: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    # Services: the period their capacity is counted in ("day", "week", "month"; "" = as a plain stock).
    capacity_period: Mapped[str] = mapped_column(String(8), default="", server_default="")
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    photo_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    vendor: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def to_classify(self) -> bool:
        return self.category == ""

    # One rule, whoever writes the row (an import, a sync, a vendor's "back on sale"): a product to classify is
    # never available, so no search, basket or order can reach it until an admin gives it a category.
    @validates("available")
    def _available_only_when_classified(self, _key: str, available: bool) -> bool:
        return bool(available) and self.category != ""

    @validates("category")
    def _unavailable_while_to_classify(self, _key: str, category: str) -> str:
        if category == "":
            self.available = False
        return category


class CatalogRevision(Base):
    """One row whose counter moves whenever searchable catalog text changes (not stock or price)."""

    __tablename__ = "catalog_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
