"""Accounts: people, organisations (vendors, delivery companies, sectoral marketplaces), chat identities, roles.

Privacy by design: a person is a display name, a language and chat identities —
no e-mail, phone or birth date. Delivery addresses belong to orders, not to people.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork
from marketplace.errors import InvalidInput, PermissionDenied, VendorNotFound


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class OrganisationKind(enum.StrEnum):
    PRODUCER = "producer"
    SHOP = "shop"
    DELIVERY = "delivery"
    MARKETPLACE = "marketplace"

    @property
    def sells(self) -> bool:
        return self is not OrganisationKind.DELIVERY


class Role(enum.StrEnum):
    CONSUMER = "consumer"
    VENDOR_MEMBER = "vendor_member"
    COURIER = "courier"
    ADMIN = "admin"


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    language: Mapped[str] = mapped_column(String(2), default="fr")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.APPROVED)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    identities: Mapped[list[ChatIdentity]] = relationship(back_populates="person", cascade="all, delete-orphan")
    memberships: Mapped[list[Membership]] = relationship(back_populates="person", cascade="all, delete-orphan")


class Organisation(Base):
    """A producer, shop, delivery company or sectoral marketplace. Sellers are called vendors."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("leman_share_pct BETWEEN 0 AND 100", name="leman_share_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.APPROVED)
    place: Mapped[str] = mapped_column(String(80), default="")
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Share (0-100) of each price this vendor accepts in the local currency.
    leman_share_pct: Mapped[int] = mapped_column(Integer, default=0)
    vehicle: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    members: Mapped[list[Membership]] = relationship(back_populates="organisation", cascade="all, delete-orphan")

    @property
    def is_approved(self) -> bool:
        return self.status == ApprovalStatus.APPROVED


class ChatIdentity(Base):
    """One address on a chat platform, e.g. `telegram:123456` or `matrix:@ana:example.org`."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    # Where to write to this person on that platform when they did not write first: a Matrix room id
    # (Telegram private chats share the user's id, so it stays empty there).
    reply_to: Mapped[str] = mapped_column(String(255), default="")

    person: Mapped[Person] = relationship(back_populates="identities")

    @property
    def address(self) -> str:
        return f"{self.platform}:{self.external_id}"


class Membership(Base):
    """A person acting for an organisation: vendor member (stock, prices, orders) or courier."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))

    person: Mapped[Person] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="members")


CHAT_ADDRESS = re.compile(r"^([a-z]{2,16}):(\S.*)$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


def split_chat_address(address: str) -> tuple[str, str]:
    """`telegram:123` -> ("telegram", "123"). The core only needs "platform:id"; what a valid id looks
    like on each platform is the channels' knowledge (`bot/addresses.py`), checked before it gets here."""
    match = CHAT_ADDRESS.match(address.strip())
    if not match:
        raise InvalidInput(field="chat_address", value=address)
    platform, external_id = match.groups()
    return platform, external_id


def person_for_chat(uow: UnitOfWork, address: str, language: str | None = None) -> Person:
    """The person behind a chat address, created on first contact (a consumer)."""
    platform, external_id = split_chat_address(address)
    identity = uow.session.scalar(
        select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
    )
    if identity is not None:
        return identity.person
    person = Person(language=language or "fr")
    person.identities.append(ChatIdentity(platform=platform, external_id=external_id))
    uow.session.add(person)
    uow.session.flush()
    return person


def remember_reply_to(uow: UnitOfWork, address: str, reply_to: str) -> None:
    """Note the room where this person talks to us, so notifications reach them there."""
    platform, external_id = split_chat_address(address)
    identity = uow.session.scalar(
        select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
    )
    if identity is not None and identity.reply_to != reply_to:
        identity.reply_to = reply_to


def roles_of(person: Person) -> set[Role]:
    roles = {Role.CONSUMER}
    if person.is_admin:
        roles.add(Role.ADMIN)
    roles.update(Role(m.role) for m in person.memberships)
    return roles


def get_organisation(uow: UnitOfWork, slug: str) -> Organisation:
    org = uow.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise VendorNotFound(vendor=slug)
    return org


def add_organisation(
    uow: UnitOfWork,
    slug: str,
    name: str,
    kind: OrganisationKind,
    *,
    pending: bool = False,
    leman_share_pct: int = 0,
    place: str = "",
    descriptions: dict[str, str] | None = None,
    vehicle: str = "",
) -> Organisation:
    if not SLUG.match(slug):
        raise InvalidInput(field="slug", value=slug)
    if not 0 <= leman_share_pct <= 100:
        raise InvalidInput(field="leman_share_pct", value=leman_share_pct)
    if uow.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise InvalidInput(field="slug", value=slug, reason="exists")
    org = Organisation(
        slug=slug,
        name=name,
        kind=OrganisationKind(kind),
        status=ApprovalStatus.PENDING if pending else ApprovalStatus.APPROVED,
        leman_share_pct=leman_share_pct,
        place=place,
        descriptions=descriptions or {},
        vehicle=vehicle,
    )
    uow.session.add(org)
    uow.session.flush()
    return org


def set_organisation_status(uow: UnitOfWork, slug: str, status: ApprovalStatus) -> Organisation:
    org = get_organisation(uow, slug)
    org.status = status
    return org


def add_member(uow: UnitOfWork, person: Person, org: Organisation) -> Membership:
    role = Role.COURIER if org.kind == OrganisationKind.DELIVERY else Role.VENDOR_MEMBER
    membership = Membership(person=person, organisation=org, role=role)
    uow.session.add(membership)
    uow.session.flush()
    return membership


def ensure_may_act_for(person: Person, vendor_id: int) -> None:
    """Guard: only members of a vendor (or admins) may touch its products and orders."""
    if person.is_admin:
        return
    if not any(m.organisation_id == vendor_id and m.role == Role.VENDOR_MEMBER for m in person.memberships):
        raise PermissionDenied()


# --- the cooperative's register (admin CLI) -----------------------------------------------------


def list_organisations(uow: UnitOfWork) -> list[Organisation]:
    """Every organisation, approved or not: delivery companies, marketplaces, producers, shops (by kind, slug)."""
    return list(uow.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.slug)))
