"""Categories, labels and sale units: the shared vocabulary of every regional catalog.

The shipped base (catalog/data/*.toml) is extended by each deployment's `[taxonomy]` section (config/*.toml):
new categories and labels with their names in every language, more words for existing ones, synonym groups and
unit words. `Settings.taxonomy` is that merged view; code that serves a deployment reads it from there.
`categories()`, `labels()` and `synonym_groups()` are the shipped base only (benchmarks, NLU defaults).

Sources (a producer's CSV, a DFC or schema.org feed) write their own words: `Taxonomy.category_slug` and
`Taxonomy.label_slug` map a word onto our slug (slug, a name in any language, a listed word, a synonym; case,
accents, plurals, hyphens and underscores do not matter), after the source's own mapping when it has one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from catalog.text import fold, stem

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("fr", "de", "it", "en")
KINDS = ("good", "service")
# A slug is stored in products.category (32 characters) and typed in payloads and CLI arguments.
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TERM_KEYS = frozenset({"kind", "words", *LANGUAGES})
# The category of a product no mapping could place: not offered to consumers until an admin classifies it.
UNCLASSIFIED = ""


class TaxonomyError(ValueError):
    """A `[taxonomy]` section is wrong; the message says which key and why."""


@dataclass(frozen=True)
class Term:
    """A category or label: a slug, its name in each language, and other words sources use for it."""

    slug: str
    names: dict[str, str]
    kind: str = "good"  # categories only: "good" or "service"
    words: tuple[str, ...] = ()  # "flour", "Mehl", "fairtrade": mapped onto this term, not shown

    def name(self, lang: str) -> str:
        return localized(self.names, lang) or self.slug


def localized(texts: dict[str, str], lang: str, fallbacks: tuple[str, ...] = ("fr", "en", "de", "it")) -> str:
    """Text in `lang`, else the first available fallback, else any text, else ""."""
    for candidate in (lang, *fallbacks):
        if texts.get(candidate):
            return texts[candidate]
    return next((t for t in texts.values() if t), "")


def word_key(text: str) -> str:
    """How a source's word is compared: folded (case, accents, « œ »), `-`/`_` as spaces, plurals stemmed.
    « Fair-Trade », "fair_trade" and « fair trades » meet; « Œufs » and "oeuf" too."""
    return " ".join(stem(t) for t in fold(text).split())


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches key on the deployment's taxonomy
class Taxonomy:
    """One deployment's vocabulary: the shipped base with its region's additions."""

    categories: dict[str, Term]
    labels: dict[str, Term]
    synonym_groups: tuple[tuple[str, ...], ...]
    unit_words: dict[str, str] = field(default_factory=dict)  # word_key -> our unit code
    _category_keys: dict[str, str] = field(init=False, repr=False)
    _label_keys: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_category_keys", self._keys(self.categories))
        object.__setattr__(self, "_label_keys", self._keys(self.labels))

    def _keys(self, terms: Mapping[str, Term]) -> dict[str, str]:
        """word_key -> slug: slugs first, then names, then listed words, then the synonyms of any of those. An
        earlier entry wins, so a slug is never shadowed by another term's name."""
        keys: dict[str, str] = {}
        for layer in (
            ((t.slug, (t.slug,)) for t in terms.values()),
            ((t.slug, tuple(t.names.values())) for t in terms.values()),
            ((t.slug, t.words) for t in terms.values()),
        ):
            for slug, texts in layer:
                for text in texts:
                    keys.setdefault(word_key(text), slug)
        keys.pop("", None)
        for group in self.synonym_groups:
            members = [word_key(w) for w in group]
            # A group tells us a word's term only when its members that we know all name the same one.
            known = {keys[m] for m in members if m in keys}
            if len(known) == 1:
                slug = known.pop()
                for member in members:
                    keys.setdefault(member, slug)
        return keys

    # --- mapping a source's words ------------------------------------------------------------------------------

    def category_slug(self, word: str, mapping: Mapping[str, str] | None = None) -> str | None:
        """Our category for a source's word: the source's own mapping first (`{"bike parts": "bike-repair"}`), then
        our slugs, names in fr/de/it/en, listed words and synonyms. None: unmapped (the product is to classify)."""
        return _map(word, mapping, self._category_keys)

    def label_slug(self, word: str, mapping: Mapping[str, str] | None = None) -> str | None:
        """Our label for a source's word ("fairtrade" -> "fair_trade"), like `category_slug`. None: unmapped."""
        return _map(word, mapping, self._label_keys)

    def unit_code(self, word: str, mapping: Mapping[str, str] | None = None) -> str | None:
        """Our sale unit for a source's unit ("Stück" -> "piece", "kilo" -> "kg", « 500 gr » -> "500 g"): the
        source's mapping, the unit words of the base and the region, then our own notation. None: unknown."""
        key = word_key(word)
        for candidate in (_mapping_target(key, mapping), self.unit_words.get(key), word):
            if candidate:
                try:
                    return parse_unit(candidate).code
                except ValueError:
                    continue
        pack = _PACK_WORDS.match(" ".join(word.strip().lower().split()))
        if pack and pack["measure"] in _MEASURE_WORDS:
            try:
                return parse_unit(f"{pack['size']} {_MEASURE_WORDS[pack['measure']]}").code
            except ValueError:
                return None
        return None

    def mapping_problems(self, categories: Mapping[str, str], labels: Mapping[str, str]) -> list[str]:
        """What is wrong with a source's mapping before it is stored: every target must be one of our terms."""
        problems = [
            f"category mapping {word!r} -> {target!r}: no such category"
            for word, target in categories.items()
            if not word_key(word) or self.category_slug(target) is None
        ]
        problems += [
            f"label mapping {word!r} -> {target!r}: no such label"
            for word, target in labels.items()
            if not word_key(word) or self.label_slug(target) is None
        ]
        return problems

    def category(self, slug: str) -> Term | None:
        return self.categories.get(slug)

    def kind_of(self, slug: str, unit: str = "piece") -> str:
        """Good or service: the category's kind, or for a product still to classify a guess from its unit."""
        term = self.categories.get(slug)
        if term:
            return term.kind
        return "service" if unit == "hour" else "good"

    # --- a deployment's additions ------------------------------------------------------------------------------

    def extended(self, section: Mapping[str, object], where: str = "taxonomy") -> Taxonomy:
        """This taxonomy with a deployment's `[taxonomy]` section merged over it (see config/geneva.toml).

        A new category or label needs `kind` (categories) and its name in fr, de, it and en; an existing one may
        get other names and more `words`. Raises TaxonomyError naming the key at fault."""
        unknown = sorted(set(section) - {"categories", "labels", "synonyms", "units"})
        if unknown:
            raise TaxonomyError(f"{where}: unknown key {unknown[0]!r}; known: categories, labels, synonyms, units")
        categories = _merge_terms(self.categories, _table(section, "categories", where), f"{where}.categories", True)
        labels = _merge_terms(self.labels, _table(section, "labels", where), f"{where}.labels", False)
        synonyms = _table(section, "synonyms", where)
        if set(synonyms) - {"groups"}:
            raise TaxonomyError(f"{where}.synonyms: only `groups = [[...], ...]` is allowed")
        groups = synonyms.get("groups", [])
        if not isinstance(groups, list) or not all(
            isinstance(g, list) and len(g) > 1 and all(isinstance(w, str) and w.strip() for w in g) for g in groups
        ):
            raise TaxonomyError(f"{where}.synonyms.groups: a list of lists of two words or more")
        units = dict(self.unit_words)
        units.update(_unit_words(_table(section, "units", where), f"{where}.units"))
        return Taxonomy(categories, labels, self.synonym_groups + tuple(tuple(g) for g in groups), units)


def _map(word: str, mapping: Mapping[str, str] | None, keys: Mapping[str, str]) -> str | None:
    key = word_key(word)
    if not key:
        return None
    target = _mapping_target(key, mapping)
    if target is not None:
        # The target may be written loosely too ("fair-trade" for fair_trade); a wrong one maps nothing.
        return keys.get(word_key(target))
    return keys.get(key)


def _mapping_target(key: str, mapping: Mapping[str, str] | None) -> str | None:
    for word, target in (mapping or {}).items():
        if word_key(word) == key:
            return target
    return None


def _table(section: Mapping[str, object], key: str, where: str) -> dict:
    value = section.get(key, {})
    if not isinstance(value, dict):
        raise TaxonomyError(f"{where}.{key} must be a section ([{where}.{key}])")
    return value


def _merge_terms(base: Mapping[str, Term], raw: dict, where: str, with_kind: bool) -> dict[str, Term]:
    merged = dict(base)
    for slug, body in raw.items():
        here = f"{where}.{slug}"
        if not SLUG.match(slug):
            raise TaxonomyError(f"{here}: a slug is lower-case letters, digits, '-' or '_', at most 32")
        if not isinstance(body, dict):
            raise TaxonomyError(f"{here} must be a section ([{here}])")
        allowed = TERM_KEYS if with_kind else TERM_KEYS - {"kind"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise TaxonomyError(f"{here}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
        words = body.get("words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise TaxonomyError(f"{here}.words must be a list of words")
        names = {
            lang: body[lang].strip() for lang in LANGUAGES if isinstance(body.get(lang), str) and body[lang].strip()
        }
        old = base.get(slug)
        if old is None:
            missing = [lang for lang in LANGUAGES if lang not in names]
            if missing:
                raise TaxonomyError(
                    f"{here}: a new term needs its name in {', '.join(LANGUAGES)} (missing {missing[0]})"
                )
        kind = body.get("kind", old.kind if old else None)
        if with_kind and kind not in KINDS:
            raise TaxonomyError(f'{here}.kind must be "good" or "service", got {kind!r}')
        merged[slug] = Term(
            slug,
            {**(old.names if old else {}), **names},
            kind if with_kind else "good",
            (*(old.words if old else ()), *words),
        )
    return merged


def _unit_words(raw: dict, where: str) -> dict[str, str]:
    words = {}
    for word, code in raw.items():
        try:
            words[word_key(word)] = parse_unit(str(code)).code
        except ValueError:
            units = ", ".join(BASE_UNITS)
            raise TaxonomyError(f"{where}.{word}: {code!r} is not one of our units ({units}, '500 g')") from None
    return words


def _load_terms(filename: str) -> dict[str, Term]:
    raw = tomllib.loads((DATA_DIR / filename).read_text(encoding="utf-8"))
    return {
        slug: Term(
            slug,
            {k: v for k, v in body.items() if k in LANGUAGES},
            body.get("kind", "good"),
            tuple(body.get("words", ())),
        )
        for slug, body in raw.items()
    }


@cache
def base_taxonomy() -> Taxonomy:
    """The shipped vocabulary (catalog/data), the same for every deployment; read once."""
    groups = tomllib.loads((DATA_DIR / "synonyms.toml").read_text(encoding="utf-8"))["groups"]
    units = tomllib.loads((DATA_DIR / "units.toml").read_text(encoding="utf-8"))
    return Taxonomy(
        _load_terms("categories.toml"),
        _load_terms("labels.toml"),
        tuple(tuple(group) for group in groups),
        _unit_words(units.get("words", {}), "catalog/data/units.toml"),
    )


def load_taxonomy(section: Mapping[str, object] | None, where: str = "taxonomy") -> Taxonomy:
    """The deployment's taxonomy: the shipped base, extended by its `[taxonomy]` section when it has one."""
    return base_taxonomy().extended(section, where) if section else base_taxonomy()


def categories() -> dict[str, Term]:
    """The shipped categories (a deployment's view: `settings.taxonomy.categories`)."""
    return base_taxonomy().categories


def labels() -> dict[str, Term]:
    """The shipped labels (a deployment's view: `settings.taxonomy.labels`)."""
    return base_taxonomy().labels


def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of words or phrases that mean the same to a shopper, across languages (shipped base)."""
    return base_taxonomy().synonym_groups


BASE_UNITS = ("piece", "kg", "l", "hour")
PACK = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(g|kg|ml|cl|l)$")
# « 500 gr », "1 Liter", « 75 cl »: pack sizes as sources write them.
_PACK_WORDS = re.compile(r"^(?P<size>\d+(?:[.,]\d+)?)\s*(?P<measure>[^\d\s.]+\.?)$")
_MEASURE_WORDS = {
    "g": "g", "gr": "g", "gr.": "g", "grammes": "g", "gramm": "g", "grammi": "g", "grams": "g",
    "kg": "kg", "kilo": "kg", "kilos": "kg",
    "ml": "ml", "cl": "cl",
    "l": "l", "litre": "l", "litres": "l", "liter": "l", "litro": "l", "litri": "l",
}  # fmt: skip


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
