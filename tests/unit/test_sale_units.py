"""Quantities as shoppers say them ("800 g", "1 kilo") in the unit each product is sold in."""

from decimal import Decimal

import pytest

from catalog.units import sale_units

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "said", "unit", "expected"),
    [
        ("800", "g", "kg", "0.8"),  # loose goods by the kg: the exact weight
        ("500", "grammes", "kg", "0.5"),
        ("1.5", "Kilos", "kg", "1.5"),
        ("1", "kg", "250 g", "4"),  # packs: as many as make the weight
        ("300", "g", "250 g", "2"),  # never less than asked: rounded up to whole packs
        ("500", "gr", "500 g", "1"),
        ("2", "kilo", "1 kg", "2"),
        ("2", None, "250 g", "2"),  # no unit said: units of sale
        ("3", "pots", "250 g", "3"),  # not a weight: units of sale
        ("1", "kg", "75 cl", "1"),  # a weight for a volume: left as said
        ("1", "kg", "piece", "1"),
        ("75", "cl", "75 cl", "1"),  # volumes: loose by the litre, or whole bottles
        ("1.5", "litres", "75 cl", "2"),
        ("500", "ml", "l", "0.5"),
        ("1", "Liter", "33 cl", "4"),  # rounded up to whole cans, like weights
        ("2", "Flaschen", "75 cl", "2"),
    ],
)
def test_a_said_weight_becomes_sale_units(quantity: str, said: str | None, unit: str, expected: str) -> None:
    assert sale_units(D(quantity), said, unit) == D(expected)
