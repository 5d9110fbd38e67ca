"""What the cooperative reads about its marketplace (the admin CLI's reports): the marketplace at a glance,
products per vendor, the audit trail with names, the delivery zones and weekly slots.

Read-only queries returning view rows; the rules they count by (which orders are closed) are imported
from where they live, never written again here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from catalog.audit import AuditEntry, audit_trail
from catalog.models import Product
from catalog.services import catalog_counts
from checkout.delivery import DeliverySlot, DeliveryZone
from checkout.models import Order, VendorOrder
from checkout.status import CLOSED
from marketplace.accounts import Organisation, Person, get_organisation
from marketplace.db import UnitOfWork


@dataclass(frozen=True)
class CategoryStock:
    category: str
    products: int
    stock: Decimal


@dataclass(frozen=True)
class MarketplaceStats:
    organisations: int  # of every kind, delivery companies included
    products: int  # products and services, on sale or not
    out_of_stock: int
    orders: int
    goods_sold: Decimal  # goods of the vendor orders still open or completed: cancelled and refunded ones left out
    by_category: tuple[CategoryStock, ...]  # by category slug


def marketplace_stats(uow: UnitOfWork) -> MarketplaceStats:
    session = uow.session
    counts = catalog_counts(uow)
    by_category = session.execute(
        select(Product.category, func.count(), func.sum(Product.stock))
        .group_by(Product.category)
        .order_by(Product.category)
    ).all()
    closed = sorted(status.value for status in CLOSED)
    sold = session.scalar(select(func.sum(VendorOrder.goods_total)).where(VendorOrder.status.notin_(closed)))
    return MarketplaceStats(
        organisations=counts["vendors"],
        products=counts["products"],
        out_of_stock=session.scalar(select(func.count(Product.id)).where(Product.stock <= 0)) or 0,
        orders=session.scalar(select(func.count(Order.id))) or 0,
        goods_sold=Decimal(sold or 0),
        by_category=tuple(CategoryStock(cat, count, Decimal(stock or 0)) for cat, count, stock in by_category),
    )


def products_per_vendor(uow: UnitOfWork) -> dict[int, int]:
    """Number of products of each organisation id that has any."""
    rows = uow.session.execute(select(Product.vendor_id, func.count()).group_by(Product.vendor_id))
    return {vendor_id: count for vendor_id, count in rows}


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    actor: Person | None  # None: an admin or an import, or a person since deleted
    vendor: Organisation | None


def audit_lines(uow: UnitOfWork, vendor_slug: str | None = None, limit: int = 50) -> list[AuditLine]:
    """The latest changes made by vendor members, newest first, with who made them (VendorNotFound for an
    unknown slug)."""
    vendor_id = get_organisation(uow, vendor_slug).id if vendor_slug else None
    session = uow.session
    return [
        AuditLine(
            entry,
            session.get(Person, entry.actor_id) if entry.actor_id else None,
            session.get(Organisation, entry.vendor_id),
        )
        for entry in audit_trail(uow, vendor_id, limit)
    ]


@dataclass(frozen=True)
class ZoneLine:
    company: str  # the delivery company's slug
    postal_codes: str  # "1205" or "1200-1209"


def delivery_zones(uow: UnitOfWork) -> list[ZoneLine]:
    """Every delivery zone, by company (in the order the companies were registered)."""
    rows = uow.session.execute(
        select(Organisation.slug, DeliveryZone.first_code, DeliveryZone.last_code)
        .join(Organisation, Organisation.id == DeliveryZone.company_id)
        .order_by(DeliveryZone.company_id, DeliveryZone.id)
    )
    return [ZoneLine(slug, str(first) if first == last else f"{first}-{last}") for slug, first, last in rows]


def weekly_slots(uow: UnitOfWork) -> list[DeliverySlot]:
    """Every company's weekly slots, Monday first (then in the order they were added)."""
    return list(uow.session.scalars(select(DeliverySlot).order_by(DeliverySlot.weekday, DeliverySlot.id)))
