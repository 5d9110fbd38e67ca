"""Every message exists in every language; business errors read well for people."""

from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from marketplace import errors
from marketplace.i18n import LOCALES_DIR, error_message, format_chf, translate

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
