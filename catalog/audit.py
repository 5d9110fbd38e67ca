"""Audit log of vendor self-service: who changed which product's stock, price or availability, when,
from what to what. Written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts import Person
from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(20))  # stock, price, available
    old_value: Mapped[str] = mapped_column(String(40))
    new_value: Mapped[str] = mapped_column(String(40))


def record_change(
    uow: UnitOfWork, actor: Person, vendor_id: int, product_id: int, sku: str, field: str, old: object, new: object
) -> None:
    if str(old) == str(new):
        return
    uow.session.add(
        AuditEntry(
            actor_id=actor.id,
            vendor_id=vendor_id,
            product_id=product_id,
            sku=sku,
            field=field,
            old_value=str(old),
            new_value=str(new),
        )
    )


def audit_trail(uow: UnitOfWork, vendor_id: int | None = None, limit: int = 50) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if vendor_id is not None:
        query = query.where(AuditEntry.vendor_id == vendor_id)
    return list(uow.session.scalars(query))
