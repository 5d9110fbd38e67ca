"""Who sees which part of a delivery address: the privacy rules of home delivery, in one place.

A vendor prepares goods: it learns the order number, the slot and the recipient's first name, never where
or how to reach them. A courier delivers: it sees the full address, the details and the phone of its own
company's drops, until the drop is done plus a grace period (a forgotten parcel, a call back about the
change); after that only the postal code and locality stay, as for any stop. A courier of another company
sees nothing of the order. Admins read an order whole (`admin_cli.py order show`).

Also here: the links a courier taps (a `tel:` URI in E.164 form, an OpenStreetMap URL), made from the
address alone, for every entry point (chat, printed run sheet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

from checkout.address_book import order_delivery
from checkout.models import Order, VendorOrder
from checkout.status import CLOSED, OrderStatus

DEFAULT_GRACE = timedelta(hours=12)  # [delivery] address_grace_hours
COUNTRY_CODE = "41"  # numbers written the national way ("079 555 01 23") are Swiss
OSM = "https://www.openstreetmap.org"
MAP_ZOOM = 18  # a street and its house numbers


def first_name(recipient: str | None) -> str:
    """The first word of the recipient's name: all a vendor needs to label a bag."""
    words = (recipient or "").split()
    return words[0] if words else ""


def phone_e164(phone: str) -> str | None:
    """`+41 79 555 01 23`, `079 555 01 23`, `0041 79…` or `+41 (0)79…` as `+41795550123`; None when the number
    cannot be read as an international one (kept as typed by the caller)."""
    compact = re.sub(r"[\s()./-]", "", phone.replace("(0)", ""))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("0") and len(compact) == 10 and compact.isdigit():
        compact = f"+{COUNTRY_CODE}{compact[1:]}"
    digits = compact[1:]
    if compact.startswith("+") and digits.isdigit() and 8 <= len(digits) <= 15 and digits[0] != "0":
        return compact
    return None


def tel_uri(phone: str) -> str:
    """The tap-to-call link of a phone number ("" for none): E.164 where possible, else its digits as typed."""
    normalised = phone_e164(phone)
    if normalised:
        return f"tel:{normalised}"
    digits = re.sub(r"[^0-9+]", "", phone)
    return f"tel:{digits}" if sum(c.isdigit() for c in digits) >= 3 else ""


def _degrees(value: Decimal) -> str:
    return format(value.normalize(), "f")


def map_url(street: str, postal_code: str, locality: str, latitude: Decimal | None, longitude: Decimal | None) -> str:
    """An OpenStreetMap link: a marker on the coordinates when the customer shared them, else a search for
    the address as typed."""
    if latitude is not None and longitude is not None:
        lat, lon = _degrees(latitude), _degrees(longitude)
        return f"{OSM}/?mlat={lat}&mlon={lon}#map={MAP_ZOOM}/{lat}/{lon}"
    place = " ".join(part for part in (postal_code, locality) if part)
    query = ", ".join(part for part in (street, place) if part)
    return f"{OSM}/search?query={quote(query, safe='')}"


@dataclass(frozen=True)
class DropAddress:
    """Where a drop goes, as far as the courier may see it now: with `street` "" only the postal code and
    locality are shown (an order without an address, or one delivered longer ago than the grace period).
    Personal fields stay out of repr (logs, tracebacks)."""

    postal_code: str
    locality: str = ""
    recipient: str = field(default="", repr=False)
    street: str = field(default="", repr=False)
    details: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)  # as the customer gave it
    latitude: Decimal | None = field(default=None, repr=False)
    longitude: Decimal | None = field(default=None, repr=False)

    @property
    def place(self) -> str:
        """ "1205 Genève" (or the postal code alone)."""
        return " ".join(part for part in (self.postal_code, self.locality) if part)

    @property
    def shown(self) -> bool:
        """Whether the courier sees the street (and with it the details, phone and map)."""
        return bool(self.street)

    @property
    def phone_e164(self) -> str:
        return phone_e164(self.phone) or self.phone

    @property
    def tel(self) -> str:
        return tel_uri(self.phone) if self.shown else ""

    @property
    def map(self) -> str:
        if not self.shown:
            return ""
        return map_url(self.street, self.postal_code, self.locality, self.latitude, self.longitude)


def _aware(moment: datetime) -> datetime:
    """SQLite gives timestamps back without their zone: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _open_parts(order: Order) -> list[VendorOrder]:
    return [p for p in order.vendor_orders if OrderStatus(p.status) not in CLOSED]


def delivered_at(order: Order) -> datetime | None:
    """When the last open part of the order was handed over; None while any is still on its way (or when
    nothing is left to deliver)."""
    parts = _open_parts(order)
    if not parts or any(OrderStatus(p.status) != OrderStatus.DELIVERED for p in parts):
        return None
    moments = []
    for part in parts:
        changes = [c.changed_at for c in part.history if c.new_status == OrderStatus.DELIVERED]
        moments.append(_aware(max(changes) if changes else part.updated_at))
    return max(moments)


def address_shown_to_courier(order: Order, now: datetime, grace: timedelta = DEFAULT_GRACE) -> bool:
    """Whether the courier of the order's own company may still read its address: while there is something to
    deliver, and for `grace` after it was delivered; never for an order cancelled or refunded as a whole."""
    if not _open_parts(order):
        return False
    done = delivered_at(order)
    return done is None or _aware(now) < done + grace


def courier_view(order: Order, company_id: int, now: datetime, grace: timedelta = DEFAULT_GRACE) -> DropAddress | None:
    """What a courier of company `company_id` sees of where order goes: nothing for another company's order,
    the full address of the own company's until delivered + grace, the postal code and locality after."""
    if order.delivery_company_id is None or order.delivery_company_id != company_id:
        return None
    address = order_delivery(order)
    if address is None or not address_shown_to_courier(order, now, grace):
        return DropAddress(order.postal_code, order.delivery_locality)
    return DropAddress(
        postal_code=address.postal_code,
        locality=address.locality,
        recipient=address.recipient_name,
        street=address.street,
        details=address.details,
        phone=address.phone,
        latitude=address.latitude,
        longitude=address.longitude,
    )


def vendor_recipient(order: Order) -> str:
    """What a vendor sees of who receives the order: the first name, or "" when none was given."""
    return first_name(order.delivery_recipient)
