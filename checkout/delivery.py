"""Home delivery by local delivery companies: the postal codes each serves, its weekly time slots (capacity,
order cut-off, fee), bookings per day, and pickup points where customers collect.

Booking a slot is one conditional UPDATE (`booked < capacity`), so two checkouts racing for the last place
cannot both get it, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Amount
from marketplace.accounts import Organisation, OrganisationKind, get_organisation
from marketplace.db import Base, UnitOfWork
from marketplace.errors import DeliveryNotAvailable, InvalidInput, MarketplaceError, SlotFull

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeliveryModeNotOffered(DeliveryNotAvailable):
    """Neither home delivery nor a pickup the deployment offers (an unknown mode, or pickup where there is none)."""

    code = "delivery_mode_not_offered"


class SlotNotOffered(MarketplaceError):
    """The time slot asked for is not one offered now for this delivery mode and postal code: past, unknown,
    malformed or of the other mode. (A slot offered but with no place left is SlotFull.)"""

    code = "slot_not_offered"


class DeliveryZone(Base):
    __tablename__ = "delivery_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    first_code: Mapped[int] = mapped_column(Integer)
    last_code: Mapped[int] = mapped_column(Integer)


class DeliverySlot(Base):
    """A weekly window, e.g. Tuesdays 17:00-19:00, 12 orders, orders until 10 hours before, CHF 7."""

    __tablename__ = "delivery_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    capacity: Mapped[int] = mapped_column(Integer)
    cutoff_hours: Mapped[int] = mapped_column(Integer, default=12)
    fee: Mapped[Decimal] = mapped_column(Amount)

    company: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def window(self) -> str:
        return f"{self.start}-{self.end}"


class SlotBooking(Base):
    """How many orders a slot holds on one day."""

    __tablename__ = "slot_bookings"
    __table_args__ = (UniqueConstraint("slot_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("delivery_slots.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class PickupPoint(Base):
    """A shop where customers collect their orders."""

    __tablename__ = "pickup_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    hours: Mapped[str] = mapped_column(String(120), default="")

    organisation: Mapped[Organisation] = relationship(lazy="joined")


def _company(uow: UnitOfWork, slug: str) -> Organisation:
    org = get_organisation(uow, slug)
    if org.kind != OrganisationKind.DELIVERY:
        raise InvalidInput(field="company", value=slug, reason="not a delivery company")
    return org


def add_zone(uow: UnitOfWork, company: str, codes: str) -> DeliveryZone:
    first, _, last = codes.partition("-")
    if not (first.strip().isdigit() and (not last or last.strip().isdigit())):
        raise InvalidInput(field="postal_codes", value=codes)
    low, high = int(first), int(last or first)
    if not (1000 <= low <= high <= 9999):
        raise InvalidInput(field="postal_codes", value=codes)
    zone = DeliveryZone(company_id=_company(uow, company).id, first_code=low, last_code=high)
    uow.session.add(zone)
    uow.session.flush()
    return zone


def _hhmm(text: str) -> str:
    try:
        return datetime.strptime(text.strip(), "%H:%M").strftime("%H:%M")
    except ValueError as exc:
        raise InvalidInput(field="time", value=text) from exc


def add_slot(
    uow: UnitOfWork,
    company: str,
    weekday: str,
    start: str,
    end: str,
    capacity: int,
    fee: Decimal,
    cutoff_hours: int = 12,
) -> DeliverySlot:
    day = weekday.strip().lower()[:3]
    if day not in WEEKDAYS:
        raise InvalidInput(field="weekday", value=weekday)
    if capacity < 1 or fee < 0 or cutoff_hours < 0:
        raise InvalidInput(field="slot", value=f"{capacity} {fee} {cutoff_hours}")
    start, end = _hhmm(start), _hhmm(end)
    if end <= start:
        raise InvalidInput(field="time", value=f"{start}-{end}")
    slot = DeliverySlot(
        company_id=_company(uow, company).id, weekday=WEEKDAYS.index(day), start=start, end=end,
        capacity=capacity, cutoff_hours=cutoff_hours, fee=fee,
    )  # fmt: skip
    uow.session.add(slot)
    uow.session.flush()
    return slot


def add_pickup_point(uow: UnitOfWork, shop: str, name: str, address: str, hours: str = "") -> PickupPoint:
    org = get_organisation(uow, shop)
    point = PickupPoint(organisation_id=org.id, name=name, address=address, hours=hours)
    uow.session.add(point)
    uow.session.flush()
    return point


def pickup_points(uow: UnitOfWork) -> list[PickupPoint]:
    return list(uow.session.scalars(select(PickupPoint).order_by(PickupPoint.name)))


def has_slots(uow: UnitOfWork) -> bool:
    return uow.session.scalar(select(DeliverySlot.id).limit(1)) is not None


@dataclass(frozen=True)
class SlotOffer:
    slot_id: int
    company: str
    day: date
    window: str
    fee: Decimal
    remaining: int

    @property
    def label(self) -> str:
        """The time slot as orders store it: "2026-11-25 17:00-19:00"."""
        return f"{self.day.isoformat()} {self.window}"


def serving_companies(uow: UnitOfWork, postal_code: str) -> list[int]:
    code = int(postal_code) if postal_code.strip().isdigit() else -1
    return list(
        uow.session.scalars(
            select(DeliveryZone.company_id)
            .join(Organisation, Organisation.id == DeliveryZone.company_id)
            .where(DeliveryZone.first_code <= code, DeliveryZone.last_code >= code, Organisation.status == "approved")
            .distinct()
        )
    )


def available_slots(
    uow: UnitOfWork, postal_code: str, now: datetime, days_ahead: int = 7, *, include_full: bool = False
) -> list[SlotOffer]:
    """Slots of companies serving this postal code, from now on, before their cut-off and not full (or full
    too with `include_full`, to tell a full slot from one never offered)."""
    companies = serving_companies(uow, postal_code)
    if not companies:
        return []
    slots = uow.session.scalars(select(DeliverySlot).where(DeliverySlot.company_id.in_(companies))).all()
    booked = {
        (b.slot_id, b.day): b.booked
        for b in uow.session.scalars(
            select(SlotBooking).where(SlotBooking.slot_id.in_([s.id for s in slots]), SlotBooking.day >= now.date())
        )
    }
    offers = []
    for offset in range(days_ahead + 1):
        day = now.date() + timedelta(days=offset)
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            starts = datetime.combine(day, datetime.strptime(slot.start, "%H:%M").time(), tzinfo=now.tzinfo)
            remaining = slot.capacity - booked.get((slot.id, day), 0)
            if starts - timedelta(hours=slot.cutoff_hours) <= now or (remaining <= 0 and not include_full):
                continue
            offers.append(SlotOffer(slot.id, slot.company.name, day, slot.window, slot.fee, remaining))
    return sorted(offers, key=lambda o: (o.day, o.window, o.fee, o.company))


def find_offer(uow: UnitOfWork, postal_code: str, label: str, now: datetime, days_ahead: int = 7) -> SlotOffer:
    offer = next((o for o in available_slots(uow, postal_code, now, days_ahead) if o.label == label), None)
    if offer is None:
        raise SlotFull(slot=label)
    return offer


def book_slot(uow: UnitOfWork, slot_id: int, day: date) -> DeliverySlot:
    """Take one place in a slot on a day, atomically with its capacity; SlotFull when none is left."""
    slot = uow.session.get(DeliverySlot, slot_id)
    if slot is None:
        raise DeliveryNotAvailable(postal_code="")
    for _ in range(2):
        taken = uow.session.execute(
            update(SlotBooking)
            .where(SlotBooking.slot_id == slot_id, SlotBooking.day == day, SlotBooking.booked < slot.capacity)
            .values(booked=SlotBooking.booked + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return slot
        exists = uow.session.scalar(
            select(SlotBooking.id).where(SlotBooking.slot_id == slot_id, SlotBooking.day == day)
        )
        if exists is not None:
            raise SlotFull(slot=f"{day.isoformat()} {slot.window}")
        try:  # first booking of that day: create the row (a concurrent creator makes us retry the UPDATE)
            with uow.session.begin_nested():
                uow.session.add(SlotBooking(slot_id=slot_id, day=day, booked=1))
            return slot
        except IntegrityError:
            continue
    raise SlotFull(slot=f"{day.isoformat()} {slot.window}")


def release_slot(uow: UnitOfWork, slot_id: int, day: date) -> None:
    uow.session.execute(
        update(SlotBooking)
        .where(SlotBooking.slot_id == slot_id, SlotBooking.day == day, SlotBooking.booked > 0)
        .values(booked=SlotBooking.booked - 1)
        .execution_options(synchronize_session=False)
    )
