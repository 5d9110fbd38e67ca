"""What people type, turned into values: quantities, prices, order numbers, delivery and payment choices."""

from datetime import date
from decimal import Decimal

import pytest

from checkout.flow import time_slots
from checkout.payment import PaymentMethod
from dialogues.actions.parsing import (
    parse_amount,
    parse_choice,
    parse_delivery_mode,
    parse_order_number,
    parse_payment_method,
    parse_postal_code,
    parse_quantity,
    parse_time_slot,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("1,5", "1.5"), ("1/2", "0.5"), ("deux", 2), ("zwei", 2), ("a dozen", 12), ("une douzaine", 12),
     ("plus de", 0), ("no more", 0), ("keine", 0), ("", None), ("beaucoup", None)],
)  # fmt: skip
def test_quantities(text, expected):
    assert parse_quantity(text) == (None if expected is None else Decimal(str(expected)))


@pytest.mark.parametrize(
    ("text", "expected"), [("6.50", "6.50"), ("6,5", "6.50"), ("28.-", "28.00"), ("CHF 14", "14.00")]
)
def test_prices(text, expected):
    assert parse_amount(text) == Decimal(expected)


def test_order_numbers_are_normalised_to_the_deployment_prefix():
    assert parse_order_number("ma commande ge-7k3q9m ?", "GE") == "GE-7K3Q9M"
    assert parse_order_number("7K3Q9M", "GE") == "GE-7K3Q9M"
    assert parse_order_number("where is my order", "GE") is None
    assert parse_order_number("GE-KXQWTZ", "GE") == "GE-KXQWTZ"  # no digit: known by its prefix
    assert parse_order_number("annule ge kxqwtz", "GE") == "GE-KXQWTZ"
    assert parse_order_number("annule", "GE") is None and parse_order_number("le status", "GE") is None


def test_postal_codes_delivery_and_payment_words():
    assert parse_postal_code("livrez au 1205 Genève") == "1205"
    assert parse_postal_code("12050") is None
    assert parse_delivery_mode("je viens chercher") == "pickup"
    assert parse_delivery_mode("Lieferung nach Hause") == "delivery"
    assert parse_payment_method("moitié CHF moitié Léman") is PaymentMethod.MIXED
    assert parse_payment_method("en lémans") is PaymentMethod.LEMAN
    assert parse_payment_method("par twint") is PaymentMethod.CHF
    assert parse_payment_method("à la livraison, en espèces") is PaymentMethod.ON_DELIVERY
    assert parse_payment_method("je ne sais pas") is None


def test_choices_in_the_last_list():
    assert parse_choice("le 3") == 3
    assert parse_choice("number 2") == 2
    assert parse_choice("3") == 3
    assert parse_choice("ajoute 3 pommes") is None


def test_payment_methods_keep_the_values_orders_and_chat_payloads_carry():
    assert [m.value for m in PaymentMethod] == ["chf", "leman", "mixed", "on_delivery"]
    assert PaymentMethod.parse(" Mixed ") is PaymentMethod.MIXED and PaymentMethod.parse("qr_bill") is None
    assert PaymentMethod.LEMAN.leman_asked(None) is None and PaymentMethod.MIXED.leman_asked(Decimal(5)) == 5
    assert PaymentMethod.CHF.leman_asked(Decimal(5)) == 0 and PaymentMethod.ON_DELIVERY.leman_asked(None) == 0


def test_time_slots_from_free_text():
    offered = time_slots(date(2026, 11, 22), ("08:00-10:00", "17:00-19:00"), 2)
    assert offered[0] == "2026-11-23 08:00-10:00"
    assert parse_time_slot("demain 17h", offered, date(2026, 11, 22)) == "2026-11-23 17:00-19:00"
    assert parse_time_slot("day after tomorrow 5pm", offered, date(2026, 11, 22)) == "2026-11-24 17:00-19:00"
    assert parse_time_slot("n'importe", offered, date(2026, 11, 22)) is None
