"""The personal data the marketplace holds, by category: how many records, the oldest one, and the `[privacy]`
setting that bounds how long it is kept. The basis of the record of processing activities (revFADP art. 12),
printed by `admin_cli.py privacy report`.

Counts only, never a value: the inventory itself holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement

from catalog.audit import AuditEntry
from checkout.address_book import SavedAddress
from checkout.models import Basket, Order
from marketplace.accounts import ChatIdentity, Person
from marketplace.db import UnitOfWork
from marketplace.linking import LinkCode
from marketplace.outbox import OutboxMessage
from marketplace.settings import Settings
from payments.models import LemanTransaction, PaymentCredit
from privacy.conversations import tracker_summary


@dataclass(frozen=True)
class Category:
    """One kind of personal data: `key` names it (the admin CLI words it), `setting` is the [privacy] key that
    bounds it and `limit` that setting's value (None: kept until the person erases it, or their account)."""

    key: str
    records: int
    oldest: datetime | None
    setting: str | None = None
    limit: int | None = None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _count(
    uow: UnitOfWork,
    key: str,
    column: ColumnElement[Any],
    when: ColumnElement[datetime],
    *where: ColumnElement[bool],
    setting: str | None = None,
    limit: int | None = None,
) -> Category:
    """How many rows of `column` (those matching `where`), and the oldest `when` among them."""
    records, oldest = uow.session.execute(select(func.count(column), func.min(when)).where(*where)).one()
    return Category(key, records or 0, _aware(oldest), setting, limit)


def _payment_files(folder: Path) -> tuple[int, datetime | None]:
    files = [path for path in folder.iterdir() if path.is_file()] if folder.is_dir() else []
    oldest = min((path.stat().st_mtime for path in files), default=None)
    return len(files), datetime.fromtimestamp(oldest, UTC) if oldest is not None else None


def personal_data_inventory(uow: UnitOfWork, settings: Settings) -> list[Category]:
    """Every category of personal data held now, in the order a person meets them."""
    keep = settings.privacy
    tracker = tracker_summary(uow)
    files, oldest_file = _payment_files(settings.data_dir / "payments")
    return [
        _count(uow, "accounts", Person.id, Person.created_at),
        _count(uow, "chat_identities", ChatIdentity.id, Person.created_at, ChatIdentity.person_id == Person.id),
        Category("conversations", tracker.events, tracker.oldest, "conversation_days", keep.conversation_days),
        _count(uow, "baskets", Basket.id, Basket.updated_at, setting="abandoned_basket_days",
               limit=keep.abandoned_basket_days),
        _count(uow, "saved_addresses", SavedAddress.id, SavedAddress.created_at),
        _count(uow, "order_addresses", Order.id, Order.created_at, Order.delivery_street.is_not(None),
               setting="delivered_address_days", limit=keep.delivered_address_days),
        _count(uow, "orders", Order.id, Order.created_at, Order.person_id.is_not(None),
               setting="accounting_years", limit=keep.accounting_years),
        _count(uow, "payers", PaymentCredit.id, PaymentCredit.received_at, PaymentCredit.payer != "",
               setting="accounting_years", limit=keep.accounting_years),
        _count(uow, "leman_senders", LemanTransaction.id, LemanTransaction.received_at, LemanTransaction.sender != "",
               setting="accounting_years", limit=keep.accounting_years),
        Category("payment_files", files, oldest_file, "payment_file_days", keep.payment_file_days),
        _count(uow, "messages", OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.person_id.is_not(None)),
        _count(uow, "link_codes", LinkCode.id, LinkCode.created_at, setting="expired_link_code_days",
               limit=keep.expired_link_code_days),
        _count(uow, "vendor_changes", AuditEntry.id, AuditEntry.at, AuditEntry.actor_id.is_not(None)),
    ]  # fmt: skip
