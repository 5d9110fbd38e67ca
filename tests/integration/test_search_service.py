"""Catalog search through the service: live stock and price filters, vendor approval, index refresh."""

from decimal import Decimal

import pytest

from catalog.services import ProductFilters
from marketplace.accounts import ApprovalStatus, set_organisation_status
from tests.conftest import make_product, person
from work.vendors import set_availability, set_stock


def skus(app, query, **filters):
    with app.db.uow() as uow:
        return [r.product.sku for r in app.search.search(uow, query, "fr", ProductFilters(**filters), limit=10)]


def test_price_and_stock_filters_read_current_values(app, shop):
    assert skus(app, "chasselas") == ["CHA"]
    assert skus(app, "chasselas", max_price=Decimal("10")) == []
    with app.db.uow() as uow:
        set_stock(uow, person(uow, shop["cellar"]), shop["wine"], Decimal(0))
        uow.commit()
    assert skus(app, "chasselas") == ["CHA"]  # still listed, shown as sold out
    assert skus(app, "chasselas", in_stock_only=True) == []


def test_the_index_follows_catalog_changes(app, shop):
    assert skus(app, "poireau") == []
    with app.db.uow() as uow:
        make_product(uow, "ferme-test", "POI", "Poireaux", "3.20")
        uow.commit()
    assert skus(app, "poireaux") == ["POI"]
    with app.db.uow() as uow:
        set_availability(uow, person(uow, shop["farmer"]), shop["tomato"], False)
        uow.commit()
    assert skus(app, "tomate") == []


@pytest.mark.usefixtures("shop")
def test_suspended_vendors_disappear_from_search(app):
    with app.db.uow() as uow:
        set_organisation_status(uow, "cave-test", ApprovalStatus.SUSPENDED)
        uow.commit()
    assert skus(app, "chasselas") == []


@pytest.mark.usefixtures("shop")
def test_vendor_and_label_filters(app):
    assert skus(app, "", vendor="cave-test") == ["CHA"]
    assert skus(app, "", category="eggs") == ["EGG"]
    assert skus(app, "oeufs", label="organic") == []
