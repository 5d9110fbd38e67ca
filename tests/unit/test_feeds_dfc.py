"""DFC JSON-LD: feeds modelled on Open Food Network's DFC API and on a sectoral marketplace are read into neutral
items; bad items are problems, not exceptions; our export reads back as the same catalog."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.feeds.dfc import (
    CATEGORY_TYPES,
    category_slug,
    export_dfc,
    label_slug,
    parse_dfc,
    quantity_of,
    unit_amount,
    unit_code,
)
from catalog.feeds.items import FeedUnreadable
from catalog.models import Product
from marketplace.accounts import Organisation

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
D = Decimal
BASE = "https://ge-consomme-local.example.ch"
VAT = {"reduced": D("2.6"), "standard": D("8.1")}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def vendor(
    slug: str = "abeilles-du-saleve", name: str = "Les Abeilles du Salève", place: str = "Collonges"
) -> Organisation:
    return Organisation(slug=slug, name=name, kind="producer", place=place)


def product(org: Organisation, sku: str, **fields: object) -> Product:
    values: dict[str, object] = {
        "names": {"fr": "Miel de forêt", "de": "Waldhonig"},
        "descriptions": {"fr": "Récolte d'été"},
        "category": "honey",
        "unit": "500 g",
        "price_chf": D("12.50"),
        "vat_class": "reduced",
        "labels": ["organic"],
        "stock": D("12"),
        "available": True,
        "photo_url": "",
    }
    values.update(fields)
    return Product(vendor=org, sku=sku, **values)


def roundtrip(products: list[Product], **kwargs: object) -> dict[str, object]:
    raw = json.dumps(export_dfc(products, BASE, vat_rates=VAT, **kwargs)).encode()  # type: ignore[arg-type]
    feed = parse_dfc(raw)
    assert feed.valid, feed.problems
    return {item.sku: item for item in feed.items}


# --- reading real-shaped feeds -----------------------------------------------------------------------------------


def test_ofn_catalog_reads_items_units_prices_stock_and_its_enterprise() -> None:
    feed = parse_dfc(fixture("ofn_catalog.json"))
    assert feed.valid, feed.problems
    assert [e.name for e in feed.enterprises] == ["Ferme des Verchers"]
    assert feed.enterprises[0].place == "Troinex"
    items = {item.sku: item for item in feed.items}
    assert set(items) == {"CAR-1KG", "POM-GALA", "PANIER"}  # the product group (no catalog item) is not an item
    carrots = items["CAR-1KG"]
    assert carrots.unit == "1 kg"  # OFN writes weights in grams: 1000 g is a 1 kg bag
    assert carrots.price_chf == D("4.80") and isinstance(carrots.price_chf, Decimal)
    assert carrots.vat_rate_pct == D("2.6")
    assert carrots.stock == D("40")
    assert carrots.category_word == "dfc-pt:carrot"
    assert carrots.label_words == ("dfc-f:Organic-EU",)
    assert carrots.origin_place == "Switzerland"
    assert carrots.photo_url.endswith("carottes.jpg")
    assert carrots.enterprise_id == feed.enterprises[0].external_id
    assert carrots.external_id.endswith("/catalog_items/501")
    assert items["POM-GALA"].unit == "kg" and items["POM-GALA"].stock == D("25.5")  # loose, by the kilo
    assert items["PANIER"].stock is None  # no stock limitation: on demand
    assert items["PANIER"].price_chf == D("25.00")


def test_a_sectoral_marketplace_feed_carries_three_enterprises_dfc_2() -> None:
    feed = parse_dfc(fixture("marketplace_3_enterprises.json"))
    assert feed.valid, feed.problems
    assert {e.name: e.place for e in feed.enterprises} == {
        "Rucher du Jura": "Gex", "Cave de Lully": "Lully", "Moulin de Vernier": "",
    }  # fmt: skip
    by_enterprise = {e.external_id: e.name for e in feed.enterprises}
    items = {item.sku: item for item in feed.items}
    assert {sku: by_enterprise[item.enterprise_id] for sku, item in items.items()} == {
        "MF-500": "Rucher du Jura", "CHAS-2024": "Cave de Lully", "FB-1": "Moulin de Vernier",
        "FE-250": "Moulin de Vernier",
    }  # fmt: skip
    honey = items["MF-500"]
    assert honey.names == {"fr": "Miel de forêt", "de": "Waldhonig"}
    assert honey.price_chf == D("12.50")  # the offer to everyone, not the restaurants' one
    assert honey.unit == "500 g" and honey.origin_place == "France"
    wine = items["CHAS-2024"]
    assert (wine.unit, wine.price_chf, wine.vat_rate_pct) == ("75 cl", D("14.50"), D("8.1"))
    assert set(wine.label_words) == {"dfc-f:AOP_EU", "dfc-f:Vegan"}
    flour = items["FB-1"]
    assert (flour.unit, flour.stock, flour.category_word) == ("kg", None, "flour")  # stockLimitation -1: no limit
    assert items["FE-250"].unit == "250 g"


def test_ofn_product_priced_in_euros_is_a_problem_not_an_item() -> None:
    feed = parse_dfc(
        json.dumps({
            "@context": "https://www.datafoodconsortium.org",
            "@graph": [
                {"@id": "_:q", "@type": "dfc-b:QuantitativeValue", "dfc-b:hasUnit": "dfc-m:Kilogram",
                 "dfc-b:value": "0"},
                {"@id": "_:p", "@type": "dfc-b:Price", "dfc-b:VATrate": "1", "dfc-b:hasUnit": "dfc-m:Euro",
                 "dfc-b:value": "12.06"},
                {"@id": "https://p.example/sp/1", "@type": "dfc-b:SuppliedProduct", "dfc-b:hasQuantity": "_:q",
                 "dfc-b:name": "Fillet Steak - 201g x 1 Steak", "dfc-b:referencedBy": "https://p.example/sp/1/ci"},
                {"@id": "https://p.example/sp/1/ci", "@type": "dfc-b:CatalogItem",
                 "dfc-b:offeredThrough": "https://p.example/sp/1/offer", "dfc-b:stockLimitation": "11"},
                {"@id": "https://p.example/sp/1/offer", "@type": "dfc-b:Offer", "dfc-b:hasPrice": {"@id": "_:p"}},
            ],
        }).encode()
    )  # fmt: skip
    assert feed.items == []
    assert [(p.item_id, p.message) for p in feed.problems] == [
        ("https://p.example/sp/1/ci", "price in dfc-m:Euro, not in Swiss francs")
    ]


def test_malformed_items_are_problems_and_the_good_one_is_still_read() -> None:
    feed = parse_dfc(fixture("malformed_dfc.json"))
    assert [item.sku for item in feed.items] == ["OK-1"]
    assert feed.items[0].unit == "350 g"
    problems = {p.item_id.rsplit("/", 1)[1]: p.message for p in feed.problems}
    assert problems == {
        "euro": "price in dfc-m:Euro, not in Swiss francs",
        "words": "price 'six francs cinquante' is not a number",
        "noname": "supplied product has no name",
        "types": "name is not text",
        "cents": "price 0.333 is not an amount in francs with at most 2 decimals",
        "orphan": "catalog item references no supplied product",
    }
    assert not feed.valid


@pytest.mark.parametrize(
    "raw",
    [
        b'{"@context": "https://schema.org", "@type": "Product", "name": "x"}',  # no DFC node at all
        b'{"@context": "https://www.datafoodconsortium.org", "@graph": []}',
        b'{"@graph": [{"@id": "a"}]',  # truncated
    ],
)
def test_a_document_that_is_not_a_dfc_catalog_is_unreadable(raw: bytes) -> None:
    with pytest.raises(FeedUnreadable):
        parse_dfc(raw)


def test_supplied_products_without_catalog_items_say_there_is_no_price() -> None:
    raw = json.dumps({"@context": "https://www.datafoodconsortium.org", "@id": "https://p.example/sp",
                      "@type": "dfc-b:SuppliedProduct", "dfc-b:name": "Pain"}).encode()  # fmt: skip
    feed = parse_dfc(raw)
    assert feed.items == [] and "no price" in feed.problems[0].message


# --- hostile input -----------------------------------------------------------------------------------------------


def hostile_item(index: int, bad: dict[str, object]) -> list[dict[str, object]]:
    ci = f"https://h.example/ci/{index}"
    sp = {"@id": f"https://h.example/sp/{index}", "@type": "dfc-b:SuppliedProduct", "dfc-b:name": f"Produit {index}"}
    price: dict[str, object] = {"@type": "dfc-b:Price", "dfc-b:value": "3.50"}
    catalog_item: dict[str, object] = {"@id": ci, "@type": "dfc-b:CatalogItem", "dfc-b:references": sp["@id"],
                                       "dfc-b:sku": f"H{index}", "dfc-b:offeredThrough": {"@id": f"{ci}/o",
                                       "@type": "dfc-b:Offer", "dfc-b:hasPrice": price}}  # fmt: skip
    for key, value in bad.items():
        target = {"sp": sp, "ci": catalog_item, "price": price}[key.split(".")[0]]
        target[key.split(".", 1)[1]] = value
    return [sp, catalog_item]


WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.text(max_size=30),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.sampled_from(["@id", "@value", "x", "@type"]),
                                                         st.text(max_size=10), max_size=2),
)  # fmt: skip
FIELDS = st.sampled_from(["sp.dfc-b:name", "sp.dfc-b:hasQuantity", "sp.dfc-b:hasType", "sp.dfc-b:image",
                          "ci.dfc-b:sku", "ci.dfc-b:stockLimitation", "ci.dfc-b:references", "price.dfc-b:value",
                          "price.dfc-b:VATrate", "price.dfc-b:hasUnit", "ci.dfc-b:offeredThrough"])  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(FIELDS, WRONG_VALUES, min_size=1, max_size=3))
def test_wrong_types_anywhere_give_problems_never_an_exception(bad: dict[str, object]) -> None:
    graph = hostile_item(1, bad) + hostile_item(2, {})
    try:
        feed = parse_dfc(json.dumps({"@context": "https://www.datafoodconsortium.org", "@graph": graph}).encode())
    except FeedUnreadable:
        return  # e.g. a value object pyld refuses: the whole document is not JSON-LD
    assert "H2" in {item.sku for item in feed.items}  # the good item is always read
    for item in feed.items:
        assert isinstance(item.price_chf, Decimal) and item.price_chf >= 0
        assert item.stock is None or isinstance(item.stock, Decimal)


def test_a_huge_number_of_fields_or_a_huge_string_stays_a_problem() -> None:
    long_name = hostile_item(1, {"sp.dfc-b:name": "x" * 100_000})
    feed = parse_dfc(json.dumps({"@context": "https://www.datafoodconsortium.org", "@graph": long_name}).encode())
    assert feed.items == [] and "longer than" in feed.problems[0].message
    huge_price = hostile_item(2, {"price.dfc-b:value": "9" * 5000})
    feed = parse_dfc(json.dumps({"@context": "https://www.datafoodconsortium.org", "@graph": huge_price}).encode())
    assert feed.items == [] and "not a usable number" in feed.problems[0].message


# --- units ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "value", "code"),
    [
        ("dfc-m:Kilogram", D(1), "kg"), ("dfc-m:Kilogram", None, "kg"), ("dfc-m:Kilogram", D("2.5"), "2.5 kg"),
        ("dfc-m:Gram", D(500), "500 g"), ("dfc-m:Gram", D(1000), "1 kg"), ("dfc-m:Gram", D(0), "piece"),
        ("dfc-m:Litre", D(1), "l"), ("dfc-m:Litre", D("0.75"), "0.75 l"), ("dfc-m:Centilitre", D(75), "75 cl"),
        ("dfc-m:Millilitre", D(330), "330 ml"), ("dfc-m:Decilitre", D(5), "500 ml"), ("dfc-m:Tonne", D(1), "1000 kg"),
        ("dfc-m:Piece", D(6), "piece"), ("dfc-m:Jar", D(1), "piece"), ("dfc-m:Hour", D(1), "hour"),
    ],
)  # fmt: skip
def test_dfc_quantities_become_our_units(unit: str, value: Decimal | None, code: str) -> None:
    assert unit_code(unit, value) == code


@pytest.mark.parametrize(
    ("word", "slug"),
    [("dfc-pt:carrot", "vegetables"), ("dfc-pt:goat-mature-cheese", "cheese"), ("dfc-pt:wine", "wine"),
     ("dfc-pt:apples", "fruit"), ("dfc-pt:thyme", "vegetables"), ("dfc-pt:jam", "sweets"), ("flour", None)],
)  # fmt: skip
def test_dfc_product_types_suggest_our_category(word: str, slug: str | None) -> None:
    assert category_slug(word) == slug


def test_dfc_labels_suggest_ours() -> None:
    assert [label_slug(w) for w in ("dfc-f:Organic-EU", "dfc-f:AOP_EU", f"{BASE}/api/dfc/labels/grta", "x")] == [
        "organic", "aop", "grta", None,
    ]  # fmt: skip


# --- export and round trip -----------------------------------------------------------------------------------------


def test_export_has_stable_ids_under_the_base_url_and_no_floats() -> None:
    org = vendor()
    document = export_dfc([product(org, "MF 500/b")], BASE + "/", vat_rates=VAT)
    text = json.dumps(document)
    ci = f"{BASE}/api/dfc/enterprises/abeilles-du-saleve/catalog_items/MF%20500%2Fb"
    assert ci in text and "//api" not in text.replace("https://", "")
    assert document == export_dfc([product(org, "MF 500/b")], BASE, vat_rates=VAT)  # stable
    assert json.loads(text, parse_float=lambda s: pytest.fail(f"float {s} in the export"))


def test_export_then_import_gives_back_the_same_catalog() -> None:
    abeilles, cave = vendor(), vendor("cave-de-lully", "Cave de Lully", "")
    products = [
        product(abeilles, "MF-500", labels=["organic", "grta", "vegan"], photo_url="https://cdn.example/m.jpg"),
        product(abeilles, "MF-VRAC", unit="kg", price_chf=D("30.00"), stock=D("2.5"), labels=[]),
        product(abeilles, "ATELIER", unit="hour", category="workshops", price_chf=D("45.00"), stock=D("8"),
                names={"fr": "Atelier apiculture"}, descriptions={}, labels=["zero_waste"]),
        product(cave, "CHAS", unit="75 cl", category="wine", vat_class="standard", price_chf=D("14.50"),
                names={"fr": "Chasselas", "de": "Gutedel", "it": "Chasselas", "en": "Chasselas"}, labels=["aop"]),
    ]  # fmt: skip
    items = roundtrip(products)
    for p in products:
        item = items[p.sku]
        assert item.names == p.names
        assert item.descriptions == p.descriptions
        assert item.price_chf == p.price_chf
        assert item.unit == p.unit
        assert item.stock == p.stock
        assert item.vat_rate_pct == VAT[p.vat_class]
        assert [label_slug(w) for w in item.label_words] == p.labels
        assert category_slug(item.category_word) == (p.category if p.category in CATEGORY_TYPES else None)
    assert items["MF-500"].photo_url == "https://cdn.example/m.jpg"
    assert items["MF-500"].enterprise_id == f"{BASE}/api/dfc/enterprises/abeilles-du-saleve"


def test_one_export_language_writes_plain_strings_for_single_language_platforms() -> None:
    document = export_dfc([product(vendor(), "MF")], BASE, languages=["de"])
    sp = next(n for n in document["@graph"] if n["@type"] == "dfc-b:SuppliedProduct")
    assert sp["dfc-b:name"] == "Waldhonig"
    assert parse_dfc(json.dumps(document).encode(), default_language="de").items[0].names == {"de": "Waldhonig"}


PACKS = st.builds(
    lambda size, measure: f"{size.normalize():f} {measure}",
    st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
    st.sampled_from(["g", "kg", "ml", "cl", "l"]),
)
UNITS = st.one_of(st.sampled_from(["piece", "kg", "l", "hour"]), PACKS)
PRICES = st.decimals(min_value=D(0), max_value=D(100000), places=2)


@settings(max_examples=80, deadline=None)
@given(price=PRICES, unit=UNITS, stock=st.decimals(min_value=D(0), max_value=D(10**6), places=3))
def test_prices_units_and_stock_survive_the_round_trip(price: Decimal, unit: str, stock: Decimal) -> None:
    item = roundtrip([product(vendor(), "P", price_chf=price, unit=unit, stock=stock)])["P"]
    assert item.price_chf == price
    assert unit_amount(item.unit) == unit_amount(unit)  # 1000 g may come back as 1 kg: the same quantity
    assert item.stock == stock


@pytest.mark.parametrize("unit", ["piece", "kg", "l", "hour", "500 g", "1 kg", "2 kg", "75 cl", "1 l", "330 ml"])
def test_every_unit_is_written_and_read_back_exactly(unit: str) -> None:
    dfc_unit, value = quantity_of(unit)
    assert unit_code(dfc_unit, D(value)) == unit
