"""Quantities as shoppers say them, in the unit a product is sold in: "800 g" of cheese sold by the kg is 0.8,
"1 kg" of honey in 250 g jars is 4 jars."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from catalog.taxonomy import parse_unit
from catalog.text import fold

# Weight words people type, in grams (folded: "grammes", "Gramm", "kilos").
GRAMS = {"g": 1, "gr": 1, "gramm": 1, "grammes": 1, "kg": 1000, "kilo": 1000, "kilos": 1000}


def sale_units(quantity: Decimal, said_unit: str | None, product_unit: str) -> Decimal:
    """How many sale units `quantity` `said_unit` is. Loose goods by the kg take the exact weight; packs of a
    given weight are rounded up to whole packs (never less than asked). Anything else stays as said."""
    said = fold(said_unit or "").strip()
    if said not in GRAMS:
        return quantity
    weight = quantity * GRAMS[said]
    if product_unit == "kg":
        return weight / 1000
    size, _, measure = parse_unit(product_unit).code.partition(" ")
    if measure in ("g", "kg"):
        pack = Decimal(size) * (1000 if measure == "kg" else 1)
        return (weight / pack).to_integral_value(rounding=ROUND_CEILING)
    return quantity
