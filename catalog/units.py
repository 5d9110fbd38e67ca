"""The quantity NLU tagged ("800" and "g") in the unit a product is sold in: a thin wrapper kept for its callers.

The rules live in `catalog.quantities` (`said_quantity`, `to_sale_units`); new code should use them, which also
say when a question is needed instead of a number.
"""

from __future__ import annotations

from decimal import Decimal

from catalog.quantities import said_quantity, to_sale_units


def sale_units(quantity: Decimal, said_unit: str | None, product_unit: str) -> Decimal:
    """How many sale units `quantity` `said_unit` is: 800 g of a product sold by the kg is 0.8, 1 kg of 250 g jars 4.

    Where `to_sale_units` would ask, this answers as before: a weight that does not divide into packs is rounded up
    to whole packs (never less than asked), and anything it cannot convert stays as said.
    """
    said = said_quantity(quantity, said_unit)
    sale = to_sale_units(said, product_unit)
    if sale.units is not None:
        return sale.units
    return max(sale.choices) if said.measure and sale.choices else quantity
