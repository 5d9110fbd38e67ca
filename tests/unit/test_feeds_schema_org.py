"""schema.org Product/Offer JSON-LD: a shop's published list is read into neutral items; ours reads back the same."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.feeds.items import FeedUnreadable
from catalog.feeds.schema_org import export_schema_org, parse_schema_org
from tests.unit.test_feeds_dfc import BASE, product, vendor

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
D = Decimal


def offer_doc(**offer: object) -> bytes:
    base = {"@type": "Offer", "price": "4.00", "priceCurrency": "CHF"}
    return json.dumps({"@context": "https://schema.org", "@type": "Product", "sku": "X", "name": "Pain",
                       "offers": base | offer}).encode()  # fmt: skip


def test_a_shops_item_list_is_read_with_sku_gtin_price_availability_and_seller() -> None:
    feed = parse_schema_org((FIXTURES / "schema_org_shop.json").read_bytes())
    assert feed.valid, feed.problems
    items = {item.sku: item for item in feed.items}
    oil = items["HC-50"]
    assert (oil.gtin, oil.price_chf, oil.unit, oil.stock) == ("7612345678904", D("11.90"), "50 cl", D("18"))
    assert oil.names == {"fr": "Huile de colza pressée à froid"}
    assert (oil.category_word, oil.label_words, oil.origin_place) == ("Huiles", ("Bourgeon Bio Suisse",), "Suisse")
    assert oil.photo_url == "https://epicerie-carouge.example.ch/img/huile-colza.jpg"
    lentils = items["LV-VRAC"]
    assert lentils.external_id == "LV-VRAC"  # no @id: the sku is its id
    assert (lentils.unit, lentils.price_chf, lentils.stock) == ("kg", D("7.20"), None)
    chocolate = items["CN-70"]
    assert chocolate.names == {"fr": "Chocolat noir 70 %", "de": "Zartbitterschokolade 70 %"}
    assert chocolate.stock == 0 and chocolate.available  # out of stock, still offered
    assert [(e.name, e.place) for e in feed.enterprises] == [("Épicerie du Vieux-Carouge", "Carouge")]
    assert {item.enterprise_id for item in feed.items} == {"https://epicerie-carouge.example.ch/#shop"}


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ({"priceCurrency": "EUR"}, "price in EUR, not in Swiss francs"),
        ({"price": "4.005"}, "at most 2 decimals"),
        ({"price": "quatre"}, "not a number"),
        ({"price": True}, "not a number"),
        ({"price": None, "priceSpecification": {"@type": "UnitPriceSpecification", "price": "4.00",
                                                "valueAddedTaxIncluded": False}}, "without VAT"),
    ],
)  # fmt: skip
def test_a_bad_offer_is_a_problem_for_that_product(offer: dict[str, object], message: str) -> None:
    feed = parse_schema_org(offer_doc(**offer))
    assert feed.items == []
    assert message in feed.problems[0].message


def test_discontinued_is_withdrawn_and_a_bad_gtin_is_a_problem() -> None:
    feed = parse_schema_org(offer_doc(availability="https://schema.org/Discontinued"))
    assert feed.items[0].available is False
    document = json.loads(offer_doc())
    document["gtin13"] = "76-1234"
    assert "gtin" in parse_schema_org(json.dumps(document).encode()).problems[0].message


@pytest.mark.parametrize(
    "raw",
    [b'{"@context": "https://www.datafoodconsortium.org", "@id": "x", "@type": "dfc-b:Enterprise"}', b"[1, 2]"],
)
def test_a_document_without_schema_org_types_is_unreadable(raw: bytes) -> None:
    with pytest.raises(FeedUnreadable):
        parse_schema_org(raw)


def test_export_then_import_gives_back_the_same_catalog() -> None:
    abeilles = vendor()
    products = [
        product(abeilles, "MF-500", labels=["organic", "grta"], photo_url="https://cdn.example/m.jpg"),
        product(abeilles, "MF-VRAC", unit="kg", price_chf=D("30.00"), stock=D("2.5"), labels=[]),
        product(abeilles, "VIDE", stock=D(0), labels=[]),
        product(abeilles, "RETIRE", available=False, labels=[]),
        product(abeilles, "ATELIER", unit="hour", price_chf=D("45.00"), category="workshops", labels=[]),
    ]
    document = export_schema_org(products, BASE)
    feed = parse_schema_org(json.dumps(document).encode())
    assert feed.valid, feed.problems
    items = {item.sku: item for item in feed.items}
    for p in products:
        item = items[p.sku]
        assert (item.names, item.price_chf, item.unit, item.stock) == (p.names, p.price_chf, p.unit, p.stock)
        assert (item.available, item.category_word, list(item.label_words)) == (p.available, p.category, p.labels)
        assert item.external_id == f"{BASE}/api/dfc/enterprises/abeilles-du-saleve/catalog_items/{p.sku}"
    assert feed.enterprises[0].name == "Les Abeilles du Salève"
