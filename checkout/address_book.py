"""A person's saved delivery addresses ("home", "work"…), and the copy of one that an order keeps.

Privacy by design: the recipient's name, the street, the details, the phone and the coordinates are sealed
at rest (marketplace.crypto); the postal code and locality stay in clear, since delivery zones and couriers'
runs are chosen and sorted by them. Saved addresses are their person's own: every query here filters by the
person, and an address id of someone else's is answered exactly like one that does not exist.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from checkout.models import Order
from marketplace.accounts import Person
from marketplace.clock import utcnow
from marketplace.crypto import EncryptedDecimal, EncryptedText
from marketplace.db import Base, UnitOfWork
from marketplace.errors import InvalidInput, MarketplaceError, NotFound

MAX_ADDRESSES = 10  # per person: a chat lists them as buttons
# Longest accepted values, in characters (the sealed text grows by about a third, plus 40 characters).
LIMITS = {"recipient_name": 80, "street": 120, "details": 200, "locality": 80, "phone": 32, "label": 40}
POSTAL_CODE = re.compile(r"\d{4}")  # Swiss
PHONE = re.compile(r"\+?[0-9 ()./-]{3,32}")
COORDINATE = Decimal("0.0000001")  # about a centimetre; what a phone's location gives, and no more


class AddressNotFound(NotFound):
    """No saved address of this person has that id (whether or not someone else's has)."""

    code = "address_not_found"


class InvalidAddress(InvalidInput):
    """An address field is empty, too long or malformed; `field` names it (never its value: personal data)."""

    code = "invalid_address"


class AddressBookFull(MarketplaceError):
    """The person already keeps `limit` addresses: one must be deleted first."""

    code = "address_book_full"


@dataclass(frozen=True)
class DeliveryAddress:
    """Where to deliver, as the customer gave it. Personal fields stay out of repr (logs, tracebacks)."""

    street: str = field(repr=False)  # street and number: "Rue de Carouge 50"
    postal_code: str
    locality: str = ""
    recipient_name: str = field(default="", repr=False)
    details: str = field(default="", repr=False)  # floor, door code, "leave it with the neighbour"
    phone: str = field(default="", repr=False)
    latitude: Decimal | None = field(default=None, repr=False)
    longitude: Decimal | None = field(default=None, repr=False)


class SavedAddress(Base):
    __tablename__ = "saved_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40), default="")  # "home", "work"; "" for an unnamed one
    recipient_name: Mapped[str | None] = mapped_column(EncryptedText("saved_addresses.recipient_name"))
    street: Mapped[str] = mapped_column(EncryptedText("saved_addresses.street"))
    details: Mapped[str | None] = mapped_column(EncryptedText("saved_addresses.details"))
    postal_code: Mapped[str] = mapped_column(String(8))
    locality: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str | None] = mapped_column(EncryptedText("saved_addresses.phone"))
    latitude: Mapped[Decimal | None] = mapped_column(EncryptedDecimal("saved_addresses.latitude"))
    longitude: Mapped[Decimal | None] = mapped_column(EncryptedDecimal("saved_addresses.longitude"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"SavedAddress(id={self.id!r}, label={self.label!r}, postal_code={self.postal_code!r})"

    def address(self) -> DeliveryAddress:
        return DeliveryAddress(
            street=self.street,
            postal_code=self.postal_code,
            locality=self.locality,
            recipient_name=self.recipient_name or "",
            details=self.details or "",
            phone=self.phone or "",
            latitude=self.latitude,
            longitude=self.longitude,
        )


def _text(value: str, name: str, *, required: bool = False) -> str:
    """`value` on one line with single spaces; refused when required and empty, too long, or with control
    characters."""
    text = " ".join(str(value).split())
    if required and not text:
        raise InvalidAddress(field=name)
    if len(text) > LIMITS[name] or any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise InvalidAddress(field=name)
    return text


def _coordinate(value: Decimal | None, bound: int, name: str) -> Decimal | None:
    if value is None:
        return None
    number = Decimal(value)
    if not number.is_finite() or not -bound <= number <= bound:
        raise InvalidAddress(field=name)
    return number.quantize(COORDINATE)


def checked_address(address: DeliveryAddress) -> DeliveryAddress:
    """The address cleaned (spaces) and checked field by field; InvalidAddress names the first bad field."""
    postal_code = address.postal_code.strip()
    if not POSTAL_CODE.fullmatch(postal_code):
        raise InvalidAddress(field="postal_code")
    phone = checked_phone(address.phone)
    latitude = _coordinate(address.latitude, 90, "latitude")
    longitude = _coordinate(address.longitude, 180, "longitude")
    if (latitude is None) != (longitude is None):
        raise InvalidAddress(field="latitude" if latitude is None else "longitude")
    return DeliveryAddress(
        street=_text(address.street, "street", required=True),
        postal_code=postal_code,
        locality=_text(address.locality, "locality"),
        recipient_name=_text(address.recipient_name, "recipient_name"),
        details=_text(address.details, "details"),
        phone=phone,
        latitude=latitude,
        longitude=longitude,
    )


def checked_recipient(name: str) -> str:
    """A recipient's name on one line; InvalidAddress(field="recipient_name") when empty, too long or odd."""
    return _text(name, "recipient_name", required=True)


def checked_phone(phone: str) -> str:
    """A phone number for the courier as typed ("079 123 45 67", "+41791234567"); "" stays "" (none given)."""
    text = _text(phone, "phone")
    if text and (not PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 7):
        raise InvalidAddress(field="phone")
    return text


def _label(label: str) -> str:
    return _text(label, "label").casefold()


def _same_place(saved: SavedAddress, address: DeliveryAddress) -> bool:
    return saved.postal_code == address.postal_code and saved.street.casefold() == address.street.casefold()


def _fill(saved: SavedAddress, address: DeliveryAddress) -> None:
    saved.street = address.street
    saved.postal_code = address.postal_code
    saved.locality = address.locality
    saved.recipient_name = address.recipient_name or None  # empty fields are stored as nothing at all
    saved.details = address.details or None
    saved.phone = address.phone or None
    saved.latitude = address.latitude
    saved.longitude = address.longitude


def list_addresses(uow: UnitOfWork, person: Person) -> list[SavedAddress]:
    """The person's own saved addresses, the most recently used first."""
    query = (
        select(SavedAddress)
        .where(SavedAddress.person_id == person.id)
        .order_by(SavedAddress.last_used_at.desc(), SavedAddress.id.desc())
    )
    return list(uow.session.scalars(query))


def last_address(uow: UnitOfWork, person: Person) -> SavedAddress | None:
    """The address the person used last (for « Livrer à … comme la dernière fois ? »), or None."""
    query = (
        select(SavedAddress)
        .where(SavedAddress.person_id == person.id)
        .order_by(SavedAddress.last_used_at.desc(), SavedAddress.id.desc())
        .limit(1)
    )
    return uow.session.scalars(query).first()


def get_address(uow: UnitOfWork, person: Person, address_id: int) -> SavedAddress:
    """One of the person's own addresses; AddressNotFound for any other id, someone else's included."""
    query = select(SavedAddress).where(SavedAddress.id == address_id, SavedAddress.person_id == person.id)
    saved = uow.session.scalars(query).first()
    if saved is None:
        raise AddressNotFound()
    return saved


def save_address(
    uow: UnitOfWork, person: Person, address: DeliveryAddress, label: str = "", *, now: datetime | None = None
) -> SavedAddress:
    """Remember an address for the person, as used now. With a label ("home"), the address so labelled is
    replaced; else the same street at the same postal code is updated; else a new one is kept (at most
    MAX_ADDRESSES: AddressBookFull)."""
    checked = checked_address(address)
    name = _label(label)
    own = list_addresses(uow, person)
    saved = next((a for a in own if name and a.label == name), None) or next(
        (a for a in own if _same_place(a, checked)), None
    )
    if saved is None:
        if len(own) >= MAX_ADDRESSES:
            raise AddressBookFull(limit=MAX_ADDRESSES)
        saved = SavedAddress(person_id=person.id, label="")
        uow.session.add(saved)
    _fill(saved, checked)
    if name:
        saved.label = name
    saved.last_used_at = now or utcnow()
    uow.session.flush()
    return saved


def remember_address(
    uow: UnitOfWork, person: Person, address: DeliveryAddress, *, now: datetime | None = None
) -> SavedAddress | None:
    """Remember the address of an order just placed: the person's first address is their "home"; another one
    is kept unlabelled (the same street at the same postal code is updated). With the book full, only the
    order keeps it (None): a customer's order never fails for their address book."""
    label = "" if list_addresses(uow, person) else "home"
    try:
        return save_address(uow, person, address, label, now=now)
    except AddressBookFull:  # refused before anything is added
        return None


def address_named(uow: UnitOfWork, person: Person, label: str) -> SavedAddress | None:
    """The person's own address with that name ("home", "work", "chalet"; case does not matter), or None."""
    try:
        name = _label(label)
    except InvalidAddress:  # a name no address can have
        return None
    if not name:
        return None
    query = select(SavedAddress).where(SavedAddress.person_id == person.id, SavedAddress.label == name)
    return uow.session.scalars(query).first()


def name_address(uow: UnitOfWork, person: Person, address_id: int, label: str) -> SavedAddress:
    """Give one of the person's own addresses a name ("home", "work" or their own word), or none with "". A name
    belongs to one address at a time: the address that had it keeps its place but loses the name.
    AddressNotFound for any other id; InvalidAddress(field="label") for a name too long or with odd characters."""
    saved = get_address(uow, person, address_id)
    name = _label(label)
    if name:
        for other in list_addresses(uow, person):
            if other.id != saved.id and other.label == name:
                other.label = ""
    saved.label = name
    uow.session.flush()
    return saved


def delete_address(uow: UnitOfWork, person: Person, address_id: int) -> None:
    """Forget one of the person's own addresses (orders keep their own copy)."""
    uow.session.delete(get_address(uow, person, address_id))
    uow.session.flush()


def set_order_delivery(order: Order, address: DeliveryAddress | SavedAddress, *, now: datetime | None = None) -> None:
    """Copy the address into the order (a snapshot: later changes to a saved address leave the order as it
    was). A saved address must be the order's customer's own, and marks itself used; the postal code must be
    the one the order's zone and slot were chosen for."""
    if order.delivery_mode != "delivery":
        raise InvalidAddress(field="delivery_mode")
    if isinstance(address, SavedAddress):
        if order.person_id is None or address.person_id != order.person_id:
            raise AddressNotFound()
        address.last_used_at = now or utcnow()
        address = address.address()
    checked = checked_address(address)
    if order.postal_code and order.postal_code != checked.postal_code:
        raise InvalidAddress(field="postal_code")
    order.postal_code = checked.postal_code
    order.delivery_locality = checked.locality
    order.delivery_recipient = checked.recipient_name or None
    order.delivery_street = checked.street
    order.delivery_details = checked.details or None
    order.delivery_phone = checked.phone or None
    order.delivery_latitude = checked.latitude
    order.delivery_longitude = checked.longitude


def order_delivery(order: Order) -> DeliveryAddress | None:
    """The address an order is delivered to, as copied when it was set; None when it has none."""
    if order.delivery_street is None:
        return None
    return DeliveryAddress(
        street=order.delivery_street,
        postal_code=order.postal_code,
        locality=order.delivery_locality,
        recipient_name=order.delivery_recipient or "",
        details=order.delivery_details or "",
        phone=order.delivery_phone or "",
        latitude=order.delivery_latitude,
        longitude=order.delivery_longitude,
    )
