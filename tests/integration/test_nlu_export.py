"""The NLU lookup tables come from the catalog, so a new region retrains without hand edits."""

import pytest

from dialogues.nlu_export import catalog_nlu


@pytest.mark.usefixtures("shop")
def test_lookup_tables_hold_the_catalog_names_as_people_type_them(app):
    with app.db.uow() as uow:
        text = catalog_nlu(uow)
    assert "- lookup: product" in text and "- lookup: vendor" in text
    for name in ("Chasselas", "Œufs", "oeufs", "Ferme Test", "Gemüse", "gemuse", "Organic"):
        assert f"    - {name}\n" in text, name
    assert "(6)" not in text  # pack details are not part of a name
