"""Translations (gettext catalogs in locales/, compiled by Babel) and locale-aware formatting."""

from __future__ import annotations

import gettext
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_decimal_symbol

from marketplace.errors import MarketplaceError
from marketplace.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"
# Swiss variants: "CHF 12.50" in German and English, "12,50 CHF" in French, as people here write them.
BABEL_LOCALES = {"fr": "fr_CH", "de": "de_CH", "it": "it_CH", "en": "en_CH"}


class MissingCatalog(RuntimeError):
    """A compiled catalog is missing: run `make install` (it compiles locales/ with pybabel)."""


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    lang = lang if lang in SUPPORTED_LANGUAGES else "fr"
    try:
        translation = gettext.translation(DOMAIN, LOCALES_DIR, languages=[lang])
    except FileNotFoundError as exc:
        raise MissingCatalog(f"no compiled catalog for {lang!r} in {LOCALES_DIR}; run `make install`") from exc
    if lang != "fr":
        translation.add_fallback(catalog("fr"))
    return translation


def resolve_language(
    languages: Sequence[str], chosen: str | None = None, platform: str | None = None, known: str | None = None
) -> str:
    """The language to answer a person in, the one rule for every entry point.

    A language chosen in the chat wins, then the chat platform's (a Telegram client's setting, a channel's
    metadata), then what we knew of the person; else the deployment's default. `languages` are the
    deployment's (`settings.languages`, first = default); anything else is passed over, and regional tags
    count as their language ("de-CH" -> "de").
    """
    for candidate in (chosen, platform, known):
        lang = (candidate or "").replace("_", "-").partition("-")[0].strip().lower()
        if lang in languages:
            return lang
    return languages[0]


def translate(key: str, lang: str, **params: Any) -> str:
    text = catalog(lang).gettext(key)
    return text.format(**params) if params else text


def error_message(error: MarketplaceError, lang: str) -> str:
    """The sentence to show a person for a business error, in their language."""
    params = dict(error.params)
    for name in ("current", "new"):  # order statuses are shown by their translated name
        if name in params:
            params[name] = translate(f"status.{params[name]}", lang)
    try:
        return translate(error.message_key, lang, **params)
    except (KeyError, IndexError):  # a translation with a placeholder the error did not fill
        return translate("error.error", lang)


def format_chf(amount: Decimal, lang: str, currency: str = "CHF") -> str:
    return format_currency(amount, currency, locale=BABEL_LOCALES.get(lang, "fr_CH"))


def format_number(value: Decimal, lang: str) -> str:
    """A quantity (not money) as people of `lang` write it in Switzerland: "1,5" in French, German and Italian,
    "1.5" in English, "1'250" with its Swiss thousands mark, no trailing zeros ("0.500" -> "0,5").

    Swiss usage puts the decimal point in amounts of francs only (hence CLDR's de_CH and it_CH), and the comma in
    every other number (the Federal Chancellery's writing rules): the regional format, with the language's comma.
    """
    regional = BABEL_LOCALES.get(lang, "fr_CH")
    text = format_decimal(value.normalize(), locale=regional, decimal_quantization=False)
    return text.replace(get_decimal_symbol(regional), get_decimal_symbol(regional.partition("_")[0]))


_PACK_UNIT = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(g|kg|ml|cl|l)$")


def format_sale_quantity(quantity: Decimal, unit: str, lang: str) -> str:
    """How much of a product, as a shopper reads it: "1,5 kg" (sold by the kg or litre), "3" (pieces), "2 × 500 g"
    (packs), "2 h" (hours); any other unit after the number. `unit` is the product's sale unit, as in the catalog."""
    number = format_number(quantity, lang)
    code = " ".join(unit.strip().lower().split())
    if code == "piece":
        return number
    if code == "hour":
        return f"{number} h"
    if code in ("kg", "l"):
        return f"{number} {code}"
    pack = _PACK_UNIT.match(code)
    if pack:
        return f"{number} × {format_number(Decimal(pack[1].replace(',', '.')), lang)} {pack[2]}"
    return f"{number} {unit}"


def format_slot(slot: str, lang: str) -> str:
    """ "2026-11-23 17:00-19:00" -> "lun. 23 nov. 17:00-19:00" in that language."""
    day, _, window = slot.partition(" ")
    try:
        when = format_date(date.fromisoformat(day), "EEE d MMM", locale=BABEL_LOCALES.get(lang, "fr_CH"))
    except ValueError:
        return slot
    return f"{when} {window}"


TRANSLATED_UNITS = ("piece", "kg", "l", "hour")


def unit_label(unit: str, lang: str) -> str:
    """The sales unit as people say it ("pièce", "Stück"); other units (pot, bouquet) are shown as stored."""
    return translate(f"unit.{unit}", lang) if unit in TRANSLATED_UNITS else unit
