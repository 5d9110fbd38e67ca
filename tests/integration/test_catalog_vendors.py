"""Vendors found from the words shoppers use for them."""

import pytest

from bootstrap import App
from catalog.vendors import find_vendor_slug


@pytest.mark.usefixtures("shop")
def test_a_vendor_is_found_by_part_of_its_name_or_slug_whatever_the_accents(app: App) -> None:
    with app.db.uow() as uow:
        assert find_vendor_slug(uow, "ferme") == "ferme-test"
        assert find_vendor_slug(uow, "CAVE") == "cave-test"
        assert find_vendor_slug(uow, "cave test") == "cave-test"
        assert find_vendor_slug(uow, "Câve-Tèst") == "cave-test"
        assert find_vendor_slug(uow, "boulangerie") is None
        assert find_vendor_slug(uow, "  ") is None and find_vendor_slug(uow, None) is None
