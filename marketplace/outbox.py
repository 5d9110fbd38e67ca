"""The outbox: every message the system sends on its own (new order to a vendor, status change to a
customer, a new pick-up to a courier) is a row written in the same transaction as the change that causes it.

A dispatcher (in the bot process) claims due rows, sends them on the recipient's platform and marks them
sent. States:

    pending --claim--> claimed --start--> sending --sent--> sent
       ^                  |                  |  \\--temporary error--> pending (later, with back-off)
       |                  |                  |   \\--permanent error / too many attempts--> failed
       |<--crash (lease)--/                  \\--crash (lease expired)--> sent again if the platform drops
       |                                       duplicates of our key (Matrix transaction ids), else in_doubt
    unreachable (the person has no chat address)

A claimed row was never handed to a platform, so a crash there is harmless; only a row that crashed
while `sending` may or may not have reached the person.

`in_doubt`, `failed` and `unreachable` rows are what `admin_cli.py outbox list` reports; an admin may
requeue them with `outbox retry`.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts import ChatIdentity, Person
from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    UNREACHABLE = "unreachable"


NEEDS_ATTENTION = (OutboxStatus.FAILED, OutboxStatus.IN_DOUBT, OutboxStatus.UNREACHABLE)


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key: one notification per cause and recipient, e.g. "order:GE-7K3Q9M:new:vendor:4:person:9".
    key: Mapped[str] = mapped_column(String(160), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(16), default="")
    # Where to write: a Telegram chat id, a Matrix room id (or user id when no room is known yet).
    destination: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    # Buttons under the text, [[title, payload], ...]: the payload is a bot command (an admin's "/approve 12").
    buttons: Mapped[list[list[str]]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(String(300), default="")
    remote_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def reachable_identity(person: Person) -> ChatIdentity | None:
    """The address a notification goes to: the identity last used to talk to us (terminal ones excluded)."""
    usable = [i for i in person.identities if i.platform in ("telegram", "matrix")]
    return max(usable, key=lambda i: i.id) if usable else None


def enqueue(
    uow: UnitOfWork, key: str, person: Person, kind: str, text: str, buttons: Sequence[tuple[str, str]] = ()
) -> OutboxMessage | None:
    """Add a message to send, in the caller's transaction. The same key twice is one message."""
    if uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return None
    identity = reachable_identity(person)
    message = OutboxMessage(
        key=key, person_id=person.id, kind=kind, text=text, buttons=[[title, payload] for title, payload in buttons]
    )
    if identity is None:
        message.status = OutboxStatus.UNREACHABLE
        message.last_error = "no chat address"
    else:
        message.platform = identity.platform
        message.destination = identity.reply_to or identity.external_id
    uow.session.add(message)
    uow.session.flush()
    return message


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    platform: str
    destination: str
    text: str
    attempts: int
    recovered: bool  # claimed back from a dispatcher that died while sending it
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload) under the text


def _try_claim(uow: UnitOfWork, row: OutboxMessage, now: datetime, to_status: str) -> bool:
    # A conditional UPDATE: of two dispatchers racing for a row, exactly one sees rowcount 1.
    result = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status, OutboxMessage.attempts == row.attempts)
        .values(status=to_status, attempts=row.attempts + 1, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_due(
    uow: UnitOfWork, platforms: dict[str, bool], now: datetime | None = None, limit: int = 20
) -> list[Claimed]:
    """Claim messages due for the given platforms ({platform: sends are idempotent by key}).

    Rows a dead dispatcher had claimed but not started are simply claimed again. A row it left in
    `sending` is sent again only where the platform drops duplicates of our key; elsewhere it becomes
    `in_doubt` for an admin to check, rather than risk a second copy.
    """
    now = now or utcnow()
    claimed: list[Claimed] = []
    due = uow.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.platform.in_(list(platforms)),
            (
                (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now)
                | OutboxMessage.status.in_([OutboxStatus.CLAIMED, OutboxStatus.SENDING])
                & (OutboxMessage.lease_until <= now)
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    for row in due:
        recovered = row.status == OutboxStatus.SENDING
        if recovered and not platforms[row.platform]:
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.SENDING)
                .values(status=OutboxStatus.IN_DOUBT, last_error="dispatcher stopped while sending")
                .execution_options(synchronize_session=False)
            )
            continue
        if _try_claim(uow, row, now, OutboxStatus.SENDING if recovered else OutboxStatus.CLAIMED):
            attempts = row.attempts + 1
            buttons = tuple((str(b[0]), str(b[1])) for b in row.buttons or ())
            claimed.append(
                Claimed(row.id, row.key, row.platform, row.destination, row.text, attempts, recovered, buttons)
            )
    uow.commit()
    return claimed


def start_sending(uow: UnitOfWork, message_id: int) -> bool:
    """Committed just before handing the message to the platform: from here on a crash is in doubt."""
    result = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_([OutboxStatus.CLAIMED, OutboxStatus.SENDING]))
        .values(status=OutboxStatus.SENDING)
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    return result.rowcount == 1


def mark_sent(uow: UnitOfWork, message_id: int, remote_id: str = "") -> None:
    uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.SENT, sent_at=utcnow(), remote_id=remote_id[:255], lease_until=None)
        .execution_options(synchronize_session=False)
    )
    uow.commit()


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... capped at 10 minutes, with jitter so retries from many rows do not align."""
    base = min(600.0, 2.0**attempts)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def mark_failed(
    uow: UnitOfWork, message_id: int, error: str, *, permanent: bool, retry_after: float | None = None
) -> str:
    """Record a failed attempt: retry later with back-off, or give up. Returns the new status."""
    row = uow.session.get(OutboxMessage, message_id)
    if row is None or row.status != OutboxStatus.SENDING:
        return row.status if row else ""
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
    else:
        row.status = OutboxStatus.PENDING
        delay = timedelta(seconds=retry_after) if retry_after else backoff(row.attempts)
        row.next_attempt_at = utcnow() + delay
    row.last_error = error[:300]
    row.lease_until = None
    uow.commit()
    return row.status


def needing_attention(uow: UnitOfWork, limit: int = 100) -> list[OutboxMessage]:
    return list(
        uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(list(NEEDS_ATTENTION)))
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def list_messages(uow: UnitOfWork, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(uow.session.scalars(query))


def requeue(uow: UnitOfWork, message_id: int) -> OutboxMessage | None:
    """An admin sends a failed, in-doubt or unreachable message again (to the person's current address)."""
    row = uow.session.get(OutboxMessage, message_id)
    if row is None or row.status not in NEEDS_ATTENTION:
        return None
    person = uow.session.get(Person, row.person_id) if row.person_id else None
    identity = reachable_identity(person) if person else None
    if identity is None:
        return row
    row.platform, row.destination = identity.platform, identity.reply_to or identity.external_id
    row.status, row.attempts, row.next_attempt_at, row.last_error = OutboxStatus.PENDING, 0, utcnow(), ""
    uow.session.flush()
    return row
