"""Retention: personal data deleted on time, and not before, by the delays of the deployment's [privacy] section.

What goes, and when (`PrivacySettings` holds the numbers; `privacy.notice` tells people the same ones):

- a basket nobody touched for `abandoned_basket_days` (what was ordered already left it);
- what people wrote to the assistant: Rasa's tracker events older than `conversation_days`;
- link codes `expired_link_code_days` after they expired (used or not: a used one names who used it);
- an order's delivery address (recipient, street, details, phone, coordinates) `delivered_address_days` after
  the order was delivered or cancelled; its postal code and locality stay, for statistics and accounts;
- QR-bills and e-Léman QR codes in `data_dir/payments` older than `payment_file_days`;
- orders older than `accounting_years` after the end of their calendar year (the accounting retention): their
  last personal links (customer, address, who changed a status, the payer's account or wallet) are removed,
  whether the person erased their account already or not. Amounts, lines and statuses stay.

`purge` works in batches, each one its own transaction: interrupted, it leaves whole batches done, and the
next run picks up what is left. A second run finds nothing more to do. A dry run counts and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Delete, Select, delete, exists, func, or_, select, update
from sqlalchemy.orm import load_only, selectinload
from sqlalchemy.sql import ColumnElement

from checkout.drops import delivered_at
from checkout.models import Basket, Order, StatusChange, VendorOrder
from checkout.status import CLOSED, OrderStatus
from marketplace.db import UnitOfWork
from marketplace.linking import LinkCode
from marketplace.settings import Settings
from payments.documents import payment_folder
from payments.models import LemanTransaction, PaymentCredit, PaymentLeg
from privacy.conversations import EVENTS, has_tracker_store
from privacy.rules import ADDRESS_COLUMNS, PAYER_FORGETTABLE, SENDER_FORGETTABLE

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: short write locks, while the bot keeps serving


@dataclass(frozen=True)
class PurgeReport:
    """How many records of each kind were deleted or cleared (or would be, in a dry run)."""

    baskets: int = 0
    conversation_events: int = 0
    link_codes: int = 0
    order_addresses: int = 0
    payment_files: int = 0
    orders_anonymised: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {kind: n for kind, n in asdict(self).items() if kind != "dry_run"}

    @property
    def total(self) -> int:
        return sum(self.counts().values())


@dataclass(frozen=True)
class Deadlines:
    """The moments before which each kind of record is due, for a purge at `now` (all in UTC)."""

    basket: datetime
    conversation: datetime
    link_code: datetime
    order_address: datetime
    payment_file: datetime
    accounting: datetime

    @classmethod
    def at(cls, settings: Settings, now: datetime) -> Deadlines:
        p = settings.privacy
        now = _utc(now)
        return cls(
            basket=now - timedelta(days=p.abandoned_basket_days),
            conversation=now - timedelta(days=p.conversation_days),
            link_code=now - timedelta(days=p.expired_link_code_days),
            order_address=now - timedelta(days=p.delivered_address_days),
            payment_file=now - timedelta(days=p.payment_file_days),
            accounting=accounting_deadline(now, p.accounting_years, settings.timezone),
        )


def accounting_deadline(now: datetime, years: int, timezone: str) -> datetime:
    """Orders created before this moment are past the accounting retention: kept `years` after the end of the
    calendar year they were placed in (in the deployment's time zone), so an order of 2025 is kept through
    2035 and freed on 1 January 2036."""
    zone = ZoneInfo(timezone)
    first_day = datetime(_utc(now).astimezone(zone).year - years, 1, 1, tzinfo=zone)
    return first_day.astimezone(UTC)


def purge(
    uow: UnitOfWork, settings: Settings, now: datetime, *, dry_run: bool = False, batch: int = BATCH
) -> PurgeReport:
    """Delete or clear every record past its retention at `now`; commits each batch (a dry run: none)."""
    due = Deadlines.at(settings, now)
    report = PurgeReport(
        baskets=_baskets(uow, due, dry_run, batch),
        conversation_events=_conversation_events(uow, due.conversation, dry_run, batch),
        link_codes=_link_codes(uow, due, dry_run, batch),
        order_addresses=_order_addresses(uow, due.order_address, dry_run, batch),
        orders_anonymised=_by_ids(
            uow, _orders_to_anonymise(due), lambda ids: anonymise_orders(uow, ids), dry_run, batch
        ),
        payment_files=_payment_files(payment_folder(settings), due.payment_file, dry_run),
        dry_run=dry_run,
    )
    if report.total:
        shown = ", ".join(f"{n} {kind}" for kind, n in report.counts().items() if n)
        log.info("privacy purge%s: %s", " (dry run)" if dry_run else "", shown)
    return report


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("purge needs an aware moment (marketplace.clock.utcnow)")
    return moment.astimezone(UTC)


# --- the batch loop ------------------------------------------------------------------------------------

IdQuery = Callable[[int, int], "Select[tuple[int]]"]  # (after this id, at most this many) -> ids, ascending


def _by_ids(uow: UnitOfWork, query: IdQuery, act: Callable[[Sequence[int]], None], dry_run: bool, batch: int) -> int:
    """Run `act` on the ids `query` finds, batch after batch, committing each; in a dry run only count them.
    Ids are walked upwards, so a dry run (which removes nothing) still comes to an end."""
    done, after = 0, 0
    while True:
        ids = list(uow.session.scalars(query(after, batch)))
        if ids and not dry_run:
            act(ids)
            uow.commit()
        else:
            uow.rollback()  # ends the read (on SQLite, the write lock every transaction begins with)
        done += len(ids)
        if len(ids) < batch:
            return done
        after = ids[-1]


# --- baskets, link codes ------------------------------------------------------------------------------------


def _baskets(uow: UnitOfWork, due: Deadlines, dry_run: bool, batch: int) -> int:
    """Baskets untouched since before the deadline; their lines go with them (ON DELETE CASCADE). The delete
    checks the date again: a basket touched meanwhile stays."""
    stale = Basket.updated_at < due.basket
    return _by_ids(
        uow,
        lambda after, limit: select(Basket.id).where(Basket.id > after, stale).order_by(Basket.id).limit(limit),
        lambda ids: _delete(uow, delete(Basket).where(Basket.id.in_(ids), stale)),
        dry_run,
        batch,
    )


def _link_codes(uow: UnitOfWork, due: Deadlines, dry_run: bool, batch: int) -> int:
    expired = LinkCode.expires_at < due.link_code
    return _by_ids(
        uow,
        lambda after, limit: select(LinkCode.id).where(LinkCode.id > after, expired).order_by(LinkCode.id).limit(limit),
        lambda ids: _delete(uow, delete(LinkCode).where(LinkCode.id.in_(ids), expired)),
        dry_run,
        batch,
    )


def _delete(uow: UnitOfWork, statement: Delete) -> None:
    uow.session.execute(statement.execution_options(synchronize_session=False))


# --- the conversation kept by Rasa ------------------------------------------------------------------------


def _conversation_events(uow: UnitOfWork, before: datetime, dry_run: bool, batch: int) -> int:
    """Rasa's tracker events older than `before` (none to purge where Rasa never created its table)."""
    if not has_tracker_store(uow):
        uow.rollback()
        return 0
    old = EVENTS.c.timestamp < before.timestamp()
    if dry_run:
        count = uow.session.scalar(select(func.count()).select_from(EVENTS).where(old))
        uow.rollback()
        return count or 0
    done = 0
    while True:
        oldest = select(EVENTS.c.id).where(old).order_by(EVENTS.c.id).limit(batch)
        deleted = uow.session.execute(delete(EVENTS).where(EVENTS.c.id.in_(oldest))).rowcount or 0
        uow.commit()
        done += deleted
        if deleted < batch:
            return done


# --- orders -------------------------------------------------------------------------------------------------


def _has_address() -> ColumnElement[bool]:
    return or_(*(column.is_not(None) for column in ADDRESS_COLUMNS))


def finished_at(order: Order) -> datetime | None:
    """When nothing was left to do for the order: delivered (its last part handed over), or cancelled or
    refunded as a whole (its last status change). None while any part is still on its way."""
    done = delivered_at(order)
    if done is not None:
        return done
    parts = order.vendor_orders
    if not parts or any(OrderStatus(p.status) not in CLOSED for p in parts):
        return None
    changes = [c.changed_at for p in parts for c in p.history] or [p.updated_at for p in parts]
    latest = max(changes)
    return latest if latest.tzinfo else latest.replace(tzinfo=UTC)


def _order_addresses(uow: UnitOfWork, before: datetime, dry_run: bool, batch: int) -> int:
    """Clear the delivery address of orders finished before `before`. An order cannot finish before it was
    placed, so only orders placed before then are read, and of them only those still holding an address."""
    done, after = 0, 0
    while True:
        orders = list(
            uow.session.scalars(
                select(Order)
                .where(Order.id > after, Order.created_at < before, _has_address())
                # the statuses and their dates only: the sealed address is never opened here
                .options(load_only(Order.id), selectinload(Order.vendor_orders).selectinload(VendorOrder.history))
                .order_by(Order.id)
                .limit(batch)
            )
        )
        if not orders:
            uow.rollback()
            return done
        after = orders[-1].id
        due = [o.id for o in orders if (moment := finished_at(o)) is not None and moment < before]
        if due and not dry_run:
            _clear_addresses(uow, due)
            uow.commit()
        else:
            uow.rollback()
        done += len(due)


def _clear_addresses(uow: UnitOfWork, ids: Sequence[int]) -> None:
    uow.session.execute(
        update(Order)
        .where(Order.id.in_(ids))
        .values({column.key: None for column in ADDRESS_COLUMNS})
        .execution_options(synchronize_session=False)
    )


def _orders_to_anonymise(due: Deadlines) -> IdQuery:
    """Orders past the accounting retention that still hold a personal link anonymising would remove."""
    legs = PaymentLeg.order_id == Order.id
    linked = or_(
        Order.person_id.is_not(None),
        _has_address(),
        exists().where(
            StatusChange.vendor_order_id == VendorOrder.id,
            VendorOrder.order_id == Order.id,
            StatusChange.actor_id.is_not(None),
        ),
        exists().where(PaymentCredit.leg_id == PaymentLeg.id, legs, PAYER_FORGETTABLE),
        exists().where(LemanTransaction.reference == PaymentLeg.reference, legs, SENDER_FORGETTABLE),
    )
    return lambda after, limit: (
        select(Order.id)
        .where(Order.id > after, Order.created_at < due.accounting, linked)
        .order_by(Order.id)
        .limit(limit)
    )


def anonymise_orders(uow: UnitOfWork, ids: Sequence[int]) -> None:
    """Remove every personal link of these orders: the customer, the delivery address (postal code and
    locality stay), who changed their statuses, and the account or wallet their payments came from. Totals,
    lines, statuses and payments stay as they were: they are the accounts."""
    legs = select(PaymentLeg.id).where(PaymentLeg.order_id.in_(ids))
    references = select(PaymentLeg.reference).where(PaymentLeg.order_id.in_(ids))
    parts = select(VendorOrder.id).where(VendorOrder.order_id.in_(ids))
    statements = [
        update(Order).where(Order.id.in_(ids)).values({"person_id": None} | {c.key: None for c in ADDRESS_COLUMNS}),
        update(StatusChange)
        .where(StatusChange.vendor_order_id.in_(parts), StatusChange.actor_id.is_not(None))
        .values(actor_id=None),
        update(PaymentCredit).where(PaymentCredit.leg_id.in_(legs), PAYER_FORGETTABLE).values(payer=""),
        update(LemanTransaction)
        .where(LemanTransaction.reference.in_(references), SENDER_FORGETTABLE)
        .values(sender=""),
    ]
    for statement in statements:
        uow.session.execute(statement.execution_options(synchronize_session=False))


# --- payment files ----------------------------------------------------------------------------------------


def _payment_files(folder: Path, before: datetime, dry_run: bool) -> int:
    """QR-bills (PDF, PNG) and e-Léman QR codes last written before `before`."""
    if not folder.is_dir():
        return 0
    cut = before.timestamp()
    old = [f for f in folder.iterdir() if f.is_file() and not f.is_symlink() and f.stat().st_mtime < cut]
    if not dry_run:
        for file in old:
            file.unlink(missing_ok=True)
    return len(old)
