"""Our CSV import columns read as a feed: words kept as the producer wrote them, a bad row is a problem for that
row, a file that is not our CSV is unreadable."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.csv_io import export_rows
from catalog.feeds.csv_feed import parse_csv
from catalog.feeds.items import FeedUnreadable
from tests.unit.test_feeds_dfc import product, vendor

D = Decimal
VAT = {"reduced": D("2.6"), "standard": D("8.1")}
HEADER = "vendor,sku,name_fr,name_de,name_it,name_en,category,unit,price_chf,vat_class,stock,labels,origin\n"
DEMO_CSV = Path(__file__).resolve().parent.parent.parent / "demo" / "data" / "products.csv"


def test_the_demo_catalog_reads_as_a_feed() -> None:
    feed = parse_csv(DEMO_CSV.read_bytes(), vat_rates=VAT)
    assert feed.valid, feed.problems[:3]
    assert len(feed.items) > 10
    assert all(isinstance(item.price_chf, Decimal) for item in feed.items)
    assert {item.enterprise_id for item in feed.items} == {e.external_id for e in feed.enterprises}


def test_words_stay_the_producers_and_values_are_read() -> None:
    raw = (HEADER + "moulin,F1,Farine bise,,,,flour,1 kg,3.20,reduced,40,fairtrade; bio,Vernier (6 km)\n").encode()
    (item,) = parse_csv(raw, vat_rates=VAT).items
    assert (item.external_id, item.enterprise_id, item.sku) == ("moulin/F1", "moulin", "F1")
    assert (item.category_word, item.label_words) == ("flour", ("fairtrade", "bio"))
    assert (item.unit, item.price_chf, item.vat_rate_pct, item.stock) == ("1 kg", D("3.20"), D("2.6"), D("40"))
    assert item.origin_place == "Vernier (6 km)"
    assert item.names == {"fr": "Farine bise"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("moulin,F1,Farine,,,,flour,kg,trois,reduced,4,,", "price_chf 'trois' is not a number"),
        ("moulin,F1,Farine,,,,flour,kg,3.205,reduced,4,,", "at most 2 decimals"),
        ("moulin,F1,Farine,,,,flour,sac,3.20,reduced,4,,", "unknown unit"),
        ("moulin,F1,,,,,flour,kg,3.20,reduced,4,,", "no name"),
        ("moulin,F1,Farine,,,,flour,kg,3.20,super,4,,", "vat_class"),
        ("moulin,F1,Farine,,,,flour,kg,3.20,reduced,-4,,", "negative"),
        ("moulin,F1,Farine,,,,flour,kg,3.20,reduced,4,,,extra", "more cells"),
        (",F1,Farine,,,,flour,kg,3.20,reduced,4,,", "vendor and sku"),
    ],
)
def test_a_bad_row_is_a_problem_with_its_line_and_the_others_are_read(row: str, message: str) -> None:
    raw = (HEADER + row + "\nmoulin,F2,Farine d'épeautre,,,,flour,kg,4.10,reduced,5,,\n").encode()
    feed = parse_csv(raw, vat_rates=VAT)
    assert [item.sku for item in feed.items] == ["F2"]
    assert feed.problems[0].message.startswith("line 2: ") and message in feed.problems[0].message


def test_the_same_vendor_and_sku_twice_is_a_problem() -> None:
    row = "moulin,F1,Farine,,,,flour,kg,3.20,reduced,4,,\n"
    feed = parse_csv((HEADER + row + row).encode())
    assert len(feed.items) == 1 and "line 2" in feed.problems[0].message


@pytest.mark.parametrize("raw", [b"sku,name\nA,B\n", b"\xff\xfe not utf-8", b"", b"x" * 100])
def test_what_is_not_our_csv_is_unreadable(raw: bytes) -> None:
    with pytest.raises(FeedUnreadable):
        parse_csv(raw)


def test_a_huge_file_is_refused_and_a_huge_cell_is_a_problem() -> None:
    with pytest.raises(FeedUnreadable, match="bytes"):
        parse_csv(HEADER.encode() + b"x" * (20 * 1024 * 1024))
    feed = parse_csv((HEADER + "moulin,F1," + "n" * 50_000 + ",,,,flour,kg,3.20,reduced,4,,\n").encode())
    assert feed.items == [] and "longer than" in feed.problems[0].message


def test_our_csv_export_reads_back_as_the_same_catalog() -> None:
    org = vendor()
    products = [
        product(org, "MF-500", labels=["organic", "grta"], origin_place="Collonges", origin_km=D(12)),
        product(org, "CHAS", unit="75 cl", category="wine", vat_class="standard", price_chf=D("14.50"), labels=[],
                names={"fr": "Chasselas", "de": "Gutedel"}, origin_place="", origin_km=None),
    ]  # fmt: skip
    feed = parse_csv(export_rows(products).encode(), vat_rates=VAT)
    assert feed.valid, feed.problems
    items = {item.sku: item for item in feed.items}
    for p in products:
        item = items[p.sku]
        assert (item.names, item.price_chf, item.unit, item.stock) == (p.names, p.price_chf, p.unit, p.stock)
        assert (list(item.label_words), item.category_word, item.vat_rate_pct) == (p.labels, p.category,
                                                                                  VAT[p.vat_class])  # fmt: skip
    assert items["MF-500"].origin_place == "Collonges (12 km)"
