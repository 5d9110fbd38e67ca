"""One-time codes that link a chat account to an organisation (a vendor member or a courier).

An admin runs `admin_cli.py vendor invite SLUG`, hands the code over by another channel (in person,
by phone), and the member sends `/link CODE` to the bot. Only a hash of the code is stored; a code
works once and expires. An admin can revoke an organisation's open codes (`vendor revoke-codes SLUG`);
suspending an organisation revokes them too. A revoked code simply expires at the moment of revocation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts import ApprovalStatus, Membership, Organisation, Person, add_member, get_organisation
from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork
from marketplace.errors import InvalidLinkCode

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # ~49 bits: guessing one among a few open codes is hopeless
DEFAULT_TTL = timedelta(days=7)


class LinkCode(Base):
    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship()


def _hash(code: str) -> str:
    normalised = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def create_link_code(uow: UnitOfWork, org_slug: str, ttl: timedelta = DEFAULT_TTL) -> tuple[str, datetime]:
    """A new code for `org_slug`; returns it (shown once, e.g. `K7QP-M3XW-9R`) and its expiry."""
    org = get_organisation(uow, org_slug)
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires = utcnow() + ttl
    uow.session.add(LinkCode(code_hash=_hash(raw), organisation_id=org.id, expires_at=expires))
    uow.session.flush()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}", expires


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def redeem_link_code(uow: UnitOfWork, person: Person, code: str) -> Membership:
    """Make `person` a member of the code's organisation. Unknown, used, expired and revoked codes look alike,
    and so do the codes of a suspended organisation (suspending revokes them; this holds even if it did not).
    A pending organisation's codes work: its members can link before it is approved, and act once it is."""
    link = uow.session.scalar(select(LinkCode).where(LinkCode.code_hash == _hash(code)).with_for_update())
    if link is None or link.used_at is not None or _aware(link.expires_at) < utcnow():
        raise InvalidLinkCode()
    if link.organisation.status == ApprovalStatus.SUSPENDED:
        raise InvalidLinkCode()
    link.used_at, link.used_by = utcnow(), person.id
    existing = next((m for m in person.memberships if m.organisation_id == link.organisation_id), None)
    return existing or add_member(uow, person, link.organisation)


def revoke_link_codes(uow: UnitOfWork, org: Organisation) -> int:
    """Make every open (unused, unexpired) code of `org` expire now; how many there were."""
    now = utcnow()
    result = uow.session.execute(
        update(LinkCode)
        .where(LinkCode.organisation_id == org.id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
