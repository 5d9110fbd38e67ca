"""What a person shares from their phone instead of typing it: a location, their own phone number; and the
places the bot shows as map pins (a courier's drops).

Shared by the chat adapters (Telegram's location and contact messages, Matrix's `m.location`), which turn it
into the Rasa payload the checkout form expects (notes: step 8):

    /share_location{"latitude": "46.1983", "longitude": "6.1423"}
    /share_contact{"phone": "+41791234567"}

Every value comes from the person's client, so it is checked (a coordinate in range, a phone number of
digits) and written with json.dumps: nothing in it can add an entity or end the payload early.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

# Six decimals: about 11 cm, finer than any phone measures; more would only make the entity longer.
COORDINATE_STEP = Decimal("0.000001")

# RFC 5870: geo:<lat>,<lon>[,<alt>] then parameters (`;crs=wgs84`, `;u=35`, others ignored). Digits are ASCII
# only, lengths bounded, and nothing else may follow (Android's `?q=an address` is not a position).
_NUMBER = r"-?[0-9]{1,3}(?:\.[0-9]{1,20})?"
GEO_URI = re.compile(
    rf"geo:(?P<lat>{_NUMBER}),(?P<lon>{_NUMBER})(?:,-?[0-9]{{1,6}}(?:\.[0-9]{{1,20}})?)?"
    r"(?P<params>(?:;[a-z0-9-]{1,32}(?:=[a-z0-9.~!$&'()*+:%_\[\]-]{1,64})?){0,8})",
    re.IGNORECASE | re.ASCII,
)
UNCERTAINTY = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,20})?", re.ASCII)
MAX_GEO_URI = 256  # characters: a real one is about 40
# E.164: a country code (never 0) and at most 15 digits in all.
PHONE = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


def coordinate(value: object, limit: int) -> str | None:
    """A latitude (limit 90) or longitude (limit 180) as a decimal string of at most six decimals, without
    trailing zeros ("46.1983"); None for anything that is not a finite number within ±limit."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) > limit:
        return None
    text = format(number.quantize(COORDINATE_STEP).normalize(), "f")
    return "0" if text == "-0" else text


def location_payload(latitude: object, longitude: object) -> str | None:
    """The `/share_location{...}` payload for a position, or None if it is not one."""
    lat, lon = coordinate(latitude, 90), coordinate(longitude, 180)
    if lat is None or lon is None:
        return None
    return "/share_location" + json.dumps({"latitude": lat, "longitude": lon})


def geo_coordinates(uri: object) -> tuple[str, str] | None:
    """Latitude and longitude of a `geo:` URI as written (RFC 5870), or None when it is not a well-formed one
    in the WGS-84 system every phone uses."""
    if not isinstance(uri, str) or len(uri) > MAX_GEO_URI:
        return None
    match = GEO_URI.fullmatch(uri.strip())
    if match is None:
        return None
    pairs = (param.partition("=") for param in match["params"].split(";")[1:])
    params = {name.lower(): value for name, _, value in pairs}
    if params.get("crs", "wgs84").lower() != "wgs84":  # another reference system: these numbers mean another place
        return None
    if "u" in params and not UNCERTAINTY.fullmatch(params["u"]):  # in metres, never negative
        return None
    return match["lat"], match["lon"]


def geo_payload(uri: object) -> str | None:
    """The `/share_location{...}` payload for a `geo:` URI, or None when it is malformed or out of range."""
    coordinates = geo_coordinates(uri)
    return location_payload(*coordinates) if coordinates else None


def phone_number(raw: object) -> str | None:
    """An international phone number as +<digits> (Telegram often leaves out the "+"; "0041" is "+41"), or None."""
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    number = PHONE_SEPARATORS.sub("", raw)
    if number.startswith("00"):
        number = "+" + number[2:]
    elif not number.startswith("+"):
        number = "+" + number
    return number if PHONE.fullmatch(number) else None


def contact_payload(raw: object) -> str | None:
    """The `/share_contact{...}` payload for a phone number, or None if it is not one."""
    number = phone_number(raw)
    return None if number is None else "/share_contact" + json.dumps({"phone": number})


def map_pin(latitude: object, longitude: object) -> tuple[str, str] | None:
    """A place for `BotMessage.location`: latitude and longitude as decimal strings (six decimals at most), or
    None when either is missing or off the globe."""
    lat, lon = coordinate(latitude, 90), coordinate(longitude, 180)
    return (lat, lon) if lat is not None and lon is not None else None


def geo_uri(pin: tuple[str, str]) -> str:
    """The RFC 5870 URI of a map pin ("geo:46.1983,6.1423"), as Matrix's m.location carries it."""
    return f"geo:{pin[0]},{pin[1]}"
