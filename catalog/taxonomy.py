"""Categories, labels and sale units: the shared vocabulary of every regional catalog."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Term:
    """A category or label: a slug and its name in each language."""

    slug: str
    names: dict[str, str]
    kind: str = "good"  # categories only: "good" or "service"

    def name(self, lang: str) -> str:
        return localized(self.names, lang) or self.slug


def localized(texts: dict[str, str], lang: str, fallbacks: tuple[str, ...] = ("fr", "en", "de", "it")) -> str:
    """Text in `lang`, else the first available fallback, else any text, else ""."""
    for candidate in (lang, *fallbacks):
        if texts.get(candidate):
            return texts[candidate]
    return next((t for t in texts.values() if t), "")


def _load_terms(filename: str) -> dict[str, Term]:
    raw = tomllib.loads((DATA_DIR / filename).read_text(encoding="utf-8"))
    return {
        slug: Term(slug, {k: v for k, v in body.items() if k != "kind"}, body.get("kind", "good"))
        for slug, body in raw.items()
    }


@cache
def categories() -> dict[str, Term]:
    return _load_terms("categories.toml")


@cache
def labels() -> dict[str, Term]:
    return _load_terms("labels.toml")


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of words or phrases that mean the same to a shopper, across languages."""
    raw = tomllib.loads((DATA_DIR / "synonyms.toml").read_text(encoding="utf-8"))
    return tuple(tuple(group) for group in raw["groups"])


BASE_UNITS = ("piece", "kg", "l", "hour")
PACK = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(g|kg|ml|cl|l)$")


@dataclass(frozen=True)
class Unit:
    """How a product is sold: by piece, kg, litre, hour, or in a pack such as `500 g`."""

    code: str

    @property
    def allows_fraction(self) -> bool:
        """Loose goods sold by weight or volume may be ordered in fractions (0.5 kg)."""
        return self.code in ("kg", "l")


def parse_unit(text: str) -> Unit:
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in BASE_UNITS:
        return Unit(cleaned)
    match = PACK.match(cleaned)
    if not match:
        raise ValueError(f"unknown unit {text!r}")
    size, measure = match.groups()
    return Unit(f"{format_quantity(Decimal(size.replace(',', '.')))} {measure}")


def format_quantity(quantity: Decimal) -> str:
    """`3.000` -> "3", `0.500` -> "0.5": quantities as people write them."""
    return f"{quantity.normalize():f}"
