"""Every message exists in every language; business errors read well for people."""

from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from marketplace import errors
from marketplace.i18n import LOCALES_DIR, error_message, format_chf, format_number, format_sale_quantity, translate

LANGS = ("fr", "de", "it", "en")


def _keys(lang: str) -> dict[str, str]:
    with open(LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def test_every_language_has_every_message():
    french = _keys("fr")
    for lang in LANGS:
        keys = _keys(lang)
        assert set(keys) == set(french), lang
        assert all(keys.values()), f"untranslated message in {lang}"


def test_every_error_class_has_a_message():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.MarketplaceError)]
    french = _keys("fr")
    assert [c.code for c in classes if f"error.{c.code}" not in french] == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fr", "Il ne reste que 2 de « Miel »."), ("en", "Only 2 of “Miel” left."), ("de", "nur noch 2")],
)
def test_errors_are_translated_with_their_parameters(lang, expected):
    assert expected in error_message(errors.InsufficientStock(product="Miel", available="2"), lang)


def test_unknown_language_falls_back_to_french():
    assert translate("error.empty_basket", "xx") == "Votre panier est vide."


def _spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")  # Babel uses no-break spaces, good in chats


def test_money_is_formatted_the_swiss_way_per_language():
    assert _spaces(format_chf(Decimal("12.5"), "en")) == "CHF 12.50"
    assert _spaces(format_chf(Decimal("12.5"), "de")) == "CHF 12.50"
    assert _spaces(format_chf(Decimal("12.5"), "fr")) == "12,50 CHF"


@pytest.mark.parametrize(
    ("lang", "quantity", "unit", "expected"),
    [
        # by the kg or litre: the number as written in the language, then the unit
        ("fr", "1.5", "kg", "1,5 kg"),
        ("de", "1.5", "kg", "1,5 kg"),
        ("it", "1.5", "kg", "1,5 kg"),
        ("en", "1.5", "kg", "1.5 kg"),
        ("fr", "0.800", "kg", "0,8 kg"),
        ("en", "0.800", "kg", "0.8 kg"),
        ("de", "2", "l", "2 l"),
        ("it", "0.75", "l", "0,75 l"),
        # pieces: the count alone
        ("fr", "3", "piece", "3"),
        ("de", "3.000", "piece", "3"),
        ("it", "12", "piece", "12"),
        ("en", "3", "piece", "3"),
        # packs: how many of which size
        ("fr", "2", "500 g", "2 × 500 g"),
        ("de", "6", "33 cl", "6 × 33 cl"),
        ("it", "4", "250 g", "4 × 250 g"),
        ("en", "2", "75 cl", "2 × 75 cl"),
        ("fr", "2", "1.5 l", "2 × 1,5 l"),
        ("en", "2", "1.5 l", "2 × 1.5 l"),
        # hours
        ("fr", "2", "hour", "2 h"),
        ("de", "1.5", "hour", "1,5 h"),
        ("it", "2", "hour", "2 h"),
        ("en", "1.5", "hour", "1.5 h"),
        # a unit the catalog does not know: after the number
        ("fr", "2", "bouquet", "2 bouquet"),
    ],
)
def test_quantities_are_shown_as_people_write_them(lang, quantity, unit, expected):
    assert format_sale_quantity(Decimal(quantity), unit, lang) == expected


@pytest.mark.parametrize(
    ("lang", "expected"), [("fr", "1'250,5"), ("de", "1'250,5"), ("it", "1'250,5"), ("en", "1'250.5")]
)
def test_large_quantities_take_the_swiss_thousands_mark(lang, expected):
    assert format_number(Decimal("1250.500"), lang) == expected


def test_whole_quantities_never_show_an_exponent():
    assert [format_number(Decimal(v), "fr") for v in ("1E+2", "100.000", "0.000")] == ["100", "100", "0"]
