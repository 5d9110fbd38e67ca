"""Businesses join by chat: an application, the cooperative's decision, then the owner manages their team.

A producer, shop, service provider, delivery company or sectoral marketplace applies in a conversation (the
Rasa form in dialogues/actions/registration.py) or any other adapter: `submit_application` checks every field
(the Swiss company number's check digit, the IBAN), stores the application as pending and, in the same
transaction, writes an outbox message with Approve / Refuse buttons to every admin of the cooperative. An
admin decides by button (`/approve 12`, `/refuse 12 reason`) or with `admin_cli.py vendor approve|refuse`;
approving creates the organisation, approved, with the applicant as its owner. The applicant hears the outcome
in their language. Until then they have no membership at all, so no work command acts for anyone.

The owner invites staff or couriers (a single-use link code from marketplace/linking.py), lists and removes
members; only the owner may (`owned_organisation`).

A sole trader's address and IBAN are personal data: both are sealed at rest (marketplace/crypto.py).
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.taxonomy import categories
from catalog.text import fold
from marketplace.accounts import (
    SLUG,
    ApprovalStatus,
    MemberView,
    Organisation,
    OrganisationKind,
    Person,
    Role,
    add_member,
    add_organisation,
    find_member,
    has_admin_rights,
    members_of,
    remove_member,
)
from marketplace.clock import utcnow
from marketplace.crypto import EncryptedText
from marketplace.db import Base, UnitOfWork
from marketplace.errors import InvalidInput, MarketplaceError, NotFound, PermissionDenied
from marketplace.i18n import translate
from marketplace.linking import create_link_code
from marketplace.outbox import enqueue

log = logging.getLogger(__name__)

# The version of the marketplace's terms an applicant agrees to; a new version is a new text in locales/.
TERMS_VERSION = "2026-11"
MAX_DESCRIPTION = 500
MAX_REASON = 300
POSTAL_CODE = re.compile(r"(?<!\d)\d{4}(?!\d)")
UID_DIGITS = re.compile(r"^(?:CHE)?(\d{9})(?:MWST|TVA|IVA|VAT)?$")
UID_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4)
PAYOUT_COUNTRIES = ("CH", "LI")  # payouts are Swiss bank transfers in francs
INVITE_TTL = timedelta(days=7)


class ApplicationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class InvalidUid(InvalidInput):
    """Not a Swiss company number (UID) `CHE-123.456.789`, or its check digit is wrong."""

    code = "invalid_uid"


class InvalidIban(InvalidInput):
    """Not a valid IBAN, or not a Swiss or Liechtenstein account."""

    code = "invalid_iban"


class InvalidApplication(InvalidInput):
    """A field of the application is missing or out of range; `field` names it (and chooses the sentence)."""

    code = "invalid_application"

    @property
    def message_key(self) -> str:
        return f"error.invalid_application.{self.params.get('field', 'kind')}"


class ApplicationNotFound(NotFound):
    code = "application_not_found"


class ApplicationAlreadyPending(MarketplaceError):
    """The person already has an application waiting for the cooperative's decision."""

    code = "application_already_pending"


class ApplicationDecided(MarketplaceError):
    """The application was approved or refused already (perhaps by another admin a moment ago)."""

    code = "application_decided"


class NotAdmin(PermissionDenied):
    """Deciding on an application is the cooperative's admins' (a forged Approve button changes nothing)."""

    code = "not_admin"


class NotOwner(PermissionDenied):
    """Only an organisation's owner invites and removes its members."""

    code = "not_owner"


class VendorApplication(Base):
    __tablename__ = "vendor_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The applicant; emptied if they erase their account (the decision stays on record).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    trade_name: Mapped[str] = mapped_column(String(120))
    uid: Mapped[str] = mapped_column(String(16), default="")  # "" for a sole trader without one
    # A sole trader's address and IBAN are theirs: sealed like delivery addresses.
    address: Mapped[str] = mapped_column(EncryptedText("vendor_applications.address"))
    iban: Mapped[str] = mapped_column(EncryptedText("vendor_applications.iban"))
    leman_share_pct: Mapped[int] = mapped_column(Integer, default=0)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="fr")
    terms_version: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.PENDING, index=True)
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    applicant: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def sells(self) -> bool:
        return OrganisationKind(self.kind).sells


@dataclass(frozen=True)
class ApplicationDraft:
    """What an applicant gave, as typed; `checked_draft` normalises it or says which field is wrong."""

    kind: str
    trade_name: str
    address: str
    iban: str
    uid: str = ""
    leman_share_pct: int = 0
    categories: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    terms_version: str = ""


# --- the checks of each field (the chat form checks each answer with these as it is given) ------------------


def uid_check_digit(digits: str) -> int | None:
    """The check digit of the first eight digits of a UID (mod 11, weights 5 4 3 2 7 6 5 4); None when the
    remainder gives 10, a number the register never issues."""
    total = sum(int(d) * w for d, w in zip(digits[:8], UID_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def normalise_uid(text: str) -> str:
    """`che 100155212`, `CHE-100.155.212 MWST` -> `CHE-100.155.212`; InvalidUid for anything else, or when the
    check digit is wrong."""
    compact = re.sub(r"[\s.\-]", "", text.upper())
    match = UID_DIGITS.match(compact)
    if match is None:
        raise InvalidUid(value=text[:30])
    digits = match[1]
    if uid_check_digit(digits) != int(digits[8]):
        raise InvalidUid(value=text[:30])
    return f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]}"


def normalise_iban(text: str) -> str:
    """A valid Swiss or Liechtenstein IBAN, compact (`CH9300762011623852957`); InvalidIban otherwise."""
    try:
        iban = IBAN(text.strip())
    except (SchwiftyException, ValueError) as exc:
        raise InvalidIban(value=text.strip()[:4]) from exc  # never the whole account number in an error
    if iban.country_code not in PAYOUT_COUNTRIES:
        raise InvalidIban(value=iban.country_code)
    return iban.compact


def format_iban(compact: str) -> str:
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def checked_kind(kind: str) -> OrganisationKind:
    try:
        return OrganisationKind(kind)
    except ValueError as exc:
        raise InvalidApplication(field="kind") from exc


def checked_trade_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 2 <= len(cleaned) <= 120:
        raise InvalidApplication(field="trade_name")
    return cleaned


def checked_address(address: str) -> str:
    """A business address on one line, with its Swiss postal code."""
    cleaned = " ".join(address.split())
    if not 8 <= len(cleaned) <= 200 or POSTAL_CODE.search(cleaned) is None:
        raise InvalidApplication(field="address")
    return cleaned


def checked_share(value: int) -> int:
    if not 0 <= value <= 100:
        raise InvalidApplication(field="leman_share")
    return value


def checked_categories(slugs: Sequence[str]) -> tuple[str, ...]:
    known = categories()
    chosen = tuple(dict.fromkeys(s for s in slugs if s in known))
    if not chosen or len(chosen) != len(set(slugs)):
        raise InvalidApplication(field="categories")
    return chosen


def checked_description(text: str) -> str:
    cleaned = " ".join(text.split())
    if not 10 <= len(cleaned) <= MAX_DESCRIPTION:
        raise InvalidApplication(field="description")
    return cleaned


def checked_draft(draft: ApplicationDraft) -> ApplicationDraft:
    """The draft with every field checked and normalised; the first wrong field raises."""
    kind = checked_kind(draft.kind)
    if draft.terms_version != TERMS_VERSION:
        raise InvalidApplication(field="terms")
    return ApplicationDraft(
        kind=kind.value,
        trade_name=checked_trade_name(draft.trade_name),
        address=checked_address(draft.address),
        iban=normalise_iban(draft.iban),
        uid=normalise_uid(draft.uid) if draft.uid.strip() else "",
        leman_share_pct=checked_share(draft.leman_share_pct),
        categories=checked_categories(draft.categories) if kind.sells else (),
        description=checked_description(draft.description),
        terms_version=draft.terms_version,
    )


# --- applying and deciding ---------------------------------------------------------------------------------


def admins(uow: UnitOfWork) -> list[Person]:
    """The cooperative's admins with their rights (a suspended admin is not told)."""
    people = uow.session.scalars(select(Person).where(Person.is_admin.is_(True)).order_by(Person.id))
    return [p for p in people if has_admin_rights(p)]


def kind_name(kind: str, lang: str) -> str:
    return translate(f"application.kind.{kind}", lang)


def application_details(application: VendorApplication, lang: str) -> str:
    """The application as an admin reads it (in the chat or the CLI): every field, the IBAN in groups of four."""
    names = categories()
    chosen = ", ".join(names[s].name(lang) for s in application.categories if s in names) or "—"
    return translate(
        "application.details",
        lang,
        number=application.id,
        kind=kind_name(application.kind, lang),
        name=application.trade_name,
        uid=application.uid or translate("application.no_uid", lang),
        address=application.address,
        iban=format_iban(application.iban),
        share=application.leman_share_pct,
        categories=chosen,
        description=application.description,
    )


def submit_application(uow: UnitOfWork, person: Person, draft: ApplicationDraft, lang: str) -> VendorApplication:
    """Store the application as pending and tell every admin, in the same transaction, with the two buttons."""
    checked = checked_draft(draft)
    waiting = uow.session.scalar(
        select(VendorApplication.id).where(
            VendorApplication.person_id == person.id, VendorApplication.status == ApplicationStatus.PENDING
        )
    )
    if waiting is not None:
        raise ApplicationAlreadyPending(number=waiting)
    application = VendorApplication(
        person_id=person.id,
        kind=checked.kind,
        trade_name=checked.trade_name,
        uid=checked.uid,
        address=checked.address,
        iban=checked.iban,
        leman_share_pct=checked.leman_share_pct,
        categories=list(checked.categories),
        description=checked.description,
        language=lang,
        terms_version=checked.terms_version,
    )
    uow.session.add(application)
    uow.session.flush()
    for admin in admins(uow):
        text = translate("application.notify.admin", admin.language) + "\n" + application_details(
            application, admin.language
        )
        buttons = (
            (translate("application.button.approve", admin.language), f"/approve {application.id}"),
            (translate("application.button.refuse", admin.language), f"/refuse {application.id}"),
        )
        enqueue(uow, f"application:{application.id}:new:admin:{admin.id}", admin, "application_new", text, buttons)
    log.info("vendor application %s submitted (%s)", application.id, application.kind)
    return application


def get_application(uow: UnitOfWork, number: int) -> VendorApplication:
    application = uow.session.get(VendorApplication, number)
    if application is None:
        raise ApplicationNotFound(number=number)
    return application


def pending_applications(uow: UnitOfWork) -> list[VendorApplication]:
    query = select(VendorApplication).where(VendorApplication.status == ApplicationStatus.PENDING)
    return list(uow.session.scalars(query.order_by(VendorApplication.id)))


def _deciding(uow: UnitOfWork, number: int, admin: Person | None) -> VendorApplication:
    """The pending application, locked; `admin` None is the admin command line (its user is trusted)."""
    if admin is not None and not has_admin_rights(admin):
        raise NotAdmin()
    application = uow.session.scalar(
        select(VendorApplication).where(VendorApplication.id == number).with_for_update()
    )
    if application is None:
        raise ApplicationNotFound(number=number)
    if application.status != ApplicationStatus.PENDING:
        raise ApplicationDecided(number=number, status=application.status)
    return application


def _free_slug(uow: UnitOfWork, name: str) -> str:
    base = "-".join(fold(name).split())[:56].strip("-") or "vendor"
    base = base if SLUG.match(base) else f"vendor-{base}".strip("-")[:56]
    slug, n = base, 1
    while uow.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def work_commands(kind: str) -> tuple[str, ...]:
    """The commands an approved owner gets (the same as bot.commands' menu), and the team's."""
    if kind == OrganisationKind.DELIVERY:
        return ("runs", "picked", "delivered", "earnings", "invite", "members")
    return ("orders", "products", "stock", "price", "available", "unavailable", "ready", "earnings", "invite",
            "members")  # fmt: skip


def approve_application(uow: UnitOfWork, number: int, admin: Person | None) -> Organisation:
    """Create the organisation, approved, with the applicant as owner; tell the applicant, with their commands."""
    application = _deciding(uow, number, admin)
    place = POSTAL_CODE.split(application.address, maxsplit=1)[-1].strip(" ,") if application.address else ""
    org = add_organisation(
        uow,
        _free_slug(uow, application.trade_name),
        application.trade_name,
        OrganisationKind(application.kind),
        leman_share_pct=application.leman_share_pct,
        place=place[:80],
        descriptions={application.language: application.description},
    )
    application.status = ApplicationStatus.APPROVED
    application.organisation_id = org.id
    application.decided_by = admin.id if admin is not None else None
    application.decided_at = utcnow()
    applicant = application.applicant
    if applicant is not None:
        add_member(uow, applicant, org).is_owner = True
        lang = applicant.language
        commands = "\n".join(f"/{c} — {translate(f'bot.menu.work.{c}', lang)}" for c in work_commands(org.kind))
        text = translate("application.notify.approved", lang, name=org.name) + "\n" + commands
        enqueue(uow, f"application:{number}:approved", applicant, "application_approved", text)
    log.info("vendor application %s approved: organisation %s", number, org.slug)
    return org


def refuse_application(uow: UnitOfWork, number: int, admin: Person | None, reason: str) -> VendorApplication:
    """Refuse with a reason, which the applicant reads (in their language for the sentence around it)."""
    cleaned = " ".join(reason.split())
    if not cleaned or len(cleaned) > MAX_REASON:
        raise InvalidApplication(field="reason")
    application = _deciding(uow, number, admin)
    application.status = ApplicationStatus.REFUSED
    application.refusal_reason = cleaned
    application.decided_by = admin.id if admin is not None else None
    application.decided_at = utcnow()
    if application.applicant is not None:
        lang = application.applicant.language
        text = translate("application.notify.refused", lang, name=application.trade_name, reason=cleaned)
        enqueue(uow, f"application:{number}:refused", application.applicant, "application_refused", text)
    log.info("vendor application %s refused", number)
    return application


# --- the owner's team --------------------------------------------------------------------------------------


def owned_organisation(person: Person) -> Organisation:
    """The approved organisation `person` owns; NotOwner for anyone else (members who are not owners too)."""
    if person.status != ApprovalStatus.APPROVED:
        raise NotOwner()
    owned = [m.organisation for m in person.memberships if m.is_owner and m.organisation.is_approved]
    if not owned:
        raise NotOwner()
    return owned[0]


@dataclass(frozen=True)
class Invitation:
    code: str  # single use, shown once
    expires_at: datetime
    organisation: str
    role: Role


def invite_member(uow: UnitOfWork, owner: Person) -> Invitation:
    """A single-use link code into the owner's organisation (staff for a vendor, a courier for a delivery one)."""
    org = owned_organisation(owner)
    code, expires = create_link_code(uow, org.slug, INVITE_TTL)
    role = Role.COURIER if org.kind == OrganisationKind.DELIVERY else Role.VENDOR_MEMBER
    log.info("owner invited a member into %s", org.slug)
    return Invitation(code, expires, org.name, role)


def team_of(uow: UnitOfWork, owner: Person) -> tuple[Organisation, list[MemberView]]:
    org = owned_organisation(owner)
    return org, members_of(uow, org.slug)


def remove_team_member(uow: UnitOfWork, owner: Person, who: str) -> MemberView:
    """The owner takes a member out of their organisation; never themselves (the cooperative moves ownership)."""
    org = owned_organisation(owner)
    if find_member(uow, org.slug, who).person_id == owner.id:
        raise InvalidApplication(field="member")
    removed = remove_member(uow, org.slug, who)
    log.info("owner removed a member of %s", org.slug)
    return removed


def is_owner_of(person: Person, organisation_id: int) -> bool:
    return any(m.is_owner and m.organisation_id == organisation_id for m in person.memberships)
