"""Accounts: people, organisations (vendors, delivery companies, sectoral marketplaces), chat identities, roles.

Privacy by design: a person is a display name, a language and chat identities —
no e-mail, phone or birth date. Delivery addresses belong to orders, not to people.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
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
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork
from marketplace.errors import (
    AccountSuspended,
    InvalidInput,
    MemberNotFound,
    NotACourier,
    NotLinked,
    OrganisationPending,
    OrganisationSuspended,
    PermissionDenied,
    VendorNotFound,
)


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class OrganisationKind(enum.StrEnum):
    PRODUCER = "producer"
    SHOP = "shop"
    SERVICE = "service"  # a service provider (repairs, workshops): sells capacity, not stock
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
    # The person who applied for the organisation (marketplace/applications.py): invites and removes members.
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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


def set_display_name(person: Person, name: str) -> str:
    """The name used on deliveries and in greetings (« appelez-moi Ana », `/name Ana`): 1-80 characters."""
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 80:
        raise InvalidInput(field="display_name", value=cleaned[:20])
    person.display_name = cleaned
    return cleaned


def roles_of(person: Person) -> set[Role]:
    """What the person may do now: a work role counts only while the person and its organisation are approved."""
    roles = {Role.CONSUMER}
    if person.status != ApprovalStatus.APPROVED:
        return roles
    if person.is_admin:
        roles.add(Role.ADMIN)
    roles.update(Role(m.role) for m in person.memberships if m.organisation.is_approved)
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
    """Approve, suspend or set back to pending. Suspending also revokes the organisation's open link codes, so
    that approving it again later does not bring old codes back to life; its members keep their membership
    (every rights check refuses them while it is suspended) and get their rights back on approval."""
    from marketplace.linking import revoke_link_codes  # linking builds on accounts: imported when needed

    org = get_organisation(uow, slug)
    org.status = ApprovalStatus(status)
    if org.status == ApprovalStatus.SUSPENDED:
        revoke_link_codes(uow, org)
    uow.session.flush()
    return org


def add_member(uow: UnitOfWork, person: Person, org: Organisation) -> Membership:
    role = Role.COURIER if org.kind == OrganisationKind.DELIVERY else Role.VENDOR_MEMBER
    membership = Membership(person=person, organisation=org, role=role)
    uow.session.add(membership)
    uow.session.flush()
    return membership


# --- who may act for which organisation -----------------------------------------------------------


def _refusal(org: Organisation) -> PermissionDenied:
    """Why nobody may act for `org` now: it is suspended, or not approved yet."""
    if org.status == ApprovalStatus.PENDING:
        return OrganisationPending(organisation=org.name)
    return OrganisationSuspended(organisation=org.name)


def acting_for(person: Person, role: Role, organisation_id: int | None = None) -> Organisation:
    """The one rights check of vendor and courier work: the organisation `person` acts for in `role` (the one
    with `organisation_id`, else the first approved one), refused unless the person and that organisation are
    both approved. Memberships and statuses are read from the database at each message, so a suspension, a
    removal or an approval counts from the next message on.

    Refusals say why: `AccountSuspended`, `OrganisationSuspended`/`OrganisationPending` (naming it),
    `PermissionDenied` for another organisation's data, `NotLinked`/`NotACourier` for no membership at all.
    """
    if person.status != ApprovalStatus.APPROVED:
        raise AccountSuspended()
    memberships = [
        m for m in person.memberships
        if m.role == role and (organisation_id is None or m.organisation_id == organisation_id)
    ]  # fmt: skip
    if not memberships:
        if organisation_id is not None:
            raise PermissionDenied()
        raise NotACourier() if role == Role.COURIER else NotLinked()
    approved = next((m.organisation for m in memberships if m.organisation.is_approved), None)
    if approved is None:
        raise _refusal(memberships[0].organisation)
    return approved


def ensure_may_act_for(person: Person, vendor_id: int) -> None:
    """Guard: only members of an approved vendor (or approved admins) may touch its products and orders."""
    if has_admin_rights(person):
        return
    acting_for(person, Role.VENDOR_MEMBER, vendor_id)


def has_admin_rights(person: Person) -> bool:
    """An admin of the cooperative whose own account is approved: a suspended admin has no admin rights."""
    return person.is_admin and person.status == ApprovalStatus.APPROVED


# --- the cooperative's register (admin CLI) -----------------------------------------------------


def list_organisations(uow: UnitOfWork) -> list[Organisation]:
    """Every organisation, approved or not: delivery companies, marketplaces, producers, shops (by kind, slug)."""
    return list(uow.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.slug)))


@dataclass(frozen=True)
class MemberView:
    """One member of an organisation, as the admin's register shows them: no chat ids unless asked for."""

    person_id: int
    display_name: str
    role: Role
    status: ApprovalStatus  # of the person
    addresses: tuple[str, ...]  # "telegram:123", one per chat identity

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.partition(":")[0] for a in self.addresses))


def _member_view(membership: Membership) -> MemberView:
    person = membership.person
    addresses = tuple(sorted(i.address for i in person.identities))
    return MemberView(person.id, person.display_name, Role(membership.role), ApprovalStatus(person.status), addresses)


def members_of(uow: UnitOfWork, slug: str) -> list[MemberView]:
    """The people who act for the organisation `slug`, by display name."""
    members = [_member_view(m) for m in get_organisation(uow, slug).members]
    return sorted(members, key=lambda m: (m.display_name.casefold(), m.person_id))


def matching_people(people: Iterable[Person], who: str) -> list[Person]:
    """The people among `people` whom `who` names: their number (`12` or `#12`), a chat address
    (`telegram:123`), else their display name (any case). More than one: a name they share, ask for the number."""
    candidates = list(people)
    wanted = who.strip()
    number = wanted.removeprefix("#")
    found = [
        p for p in candidates
        if (number.isdigit() and p.id == int(number)) or any(i.address == wanted for i in p.identities)
    ]  # fmt: skip
    if not found and wanted:
        found = [p for p in candidates if p.display_name.casefold() == wanted.casefold()]
    return found


def find_member(uow: UnitOfWork, slug: str, who: str) -> Membership:
    """The membership in `slug` of the person `who` names: their number (`12` or `#12`, as `members_of` lists
    them), a chat address (`telegram:123`) or their display name if no other member has it."""
    org = get_organisation(uow, slug)
    found = matching_people((m.person for m in org.members), who)
    if len(found) != 1:  # none, or a display name two members share: ask for the number
        raise MemberNotFound(member=who, organisation=slug)
    return next(m for m in org.members if m.person is found[0])


def remove_member(uow: UnitOfWork, slug: str, who: str) -> MemberView:
    """Take a person out of an organisation: from their next message on they no longer act for it."""
    membership = find_member(uow, slug, who)
    removed = _member_view(membership)
    uow.session.delete(membership)
    uow.session.flush()
    uow.session.expire(membership.person, ["memberships"])
    uow.session.expire(membership.organisation, ["members"])
    return removed
