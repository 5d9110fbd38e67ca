"""Catalog import and export in the marketplace's open CSV format (documented in README.md).

Import is all-or-nothing: the whole file is validated first, every bad row is reported with its
line number, and nothing is written unless every row is good. Re-importing updates in place (vendor+sku).

Producers write their own words. Category, labels and unit are mapped onto the deployment's taxonomy (our slugs,
names in any language, listed words and synonyms; then a source's own mapping, when the import has one). What
stays unmapped is not an error: a category becomes "to classify" (imported, offered to nobody until an admin
classifies it) and a label is left out; both are listed in the report. A label is a claim made to shoppers
(organic, fair trade): we show only those we know the meaning of. Bad prices, units or stock still refuse the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from catalog.models import Product
from catalog.services import (
    ProductDraft,
    bump_revision,
    parse_decimal,
    upsert_product,
    validate_draft,
)
from catalog.taxonomy import UNCLASSIFIED, Taxonomy, base_taxonomy, format_quantity
from marketplace.accounts import Organisation
from marketplace.db import UnitOfWork
from marketplace.errors import InvalidInput

LANGUAGES = ("fr", "de", "it", "en")
COLUMNS = (
    "vendor", "sku", "name_fr", "name_de", "name_it", "name_en",
    "category", "unit", "price_chf", "vat_class", "stock", "labels", "origin",
)  # fmt: skip
OPTIONAL_COLUMNS = ("description_fr", "description_de", "description_it", "description_en", "photo_url")
ORIGIN = re.compile(r"^(?P<place>.*?)\s*\((?P<km>\d+(?:[.,]\d+)?)\s*km\)\s*$")
# A source's own words -> ours, by kind: {"categories": {"bike parts": "bike-repair"}, "labels": {...},
# "units": {...}} (the shape catalog.sources keeps per source).
WordMap = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class RowNote:
    """A word of one row that matched nothing of ours: a category (product to classify) or a label (left out)."""

    line: int
    vendor: str
    sku: str
    word: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    to_classify: list[RowNote] = field(default_factory=list)  # imported, offered to nobody until classified
    dropped_labels: list[RowNote] = field(default_factory=list)  # label words left out

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_origin(text: str) -> tuple[str, Decimal | None]:
    """`Troinex (5 km)` -> ("Troinex", 5); a bare place has no distance."""
    match = ORIGIN.match(text.strip())
    if not match:
        return text.strip(), None
    return match["place"], Decimal(match["km"].replace(",", "."))


def format_origin(place: str, km: Decimal | None) -> str:
    return f"{place} ({format_quantity(km)} km)" if km is not None else place


def _draft(row: dict[str, str], taxonomy: Taxonomy, mapping: WordMap, line: int, report: ImportReport) -> ProductDraft:
    """One row as a draft, its words mapped onto ours; unmapped category and label words go to `report`."""
    place, km = parse_origin(row.get("origin") or "")
    vendor, sku = (row.get("vendor") or "").strip(), (row.get("sku") or "").strip()
    word = " ".join((row.get("category") or "").split())
    category = taxonomy.category_slug(word, mapping.get("categories"))
    if category is None:
        report.to_classify.append(RowNote(line, vendor, sku, word))
    labels = []
    for label_word in (s.strip() for s in (row.get("labels") or "").split(";")):
        if label_word:
            slug = taxonomy.label_slug(label_word, mapping.get("labels"))
            if slug is None:
                report.dropped_labels.append(RowNote(line, vendor, sku, label_word))
            elif slug not in labels:
                labels.append(slug)
    unit = (row.get("unit") or "").strip()
    return ProductDraft(
        vendor=vendor,
        sku=sku,
        names={lang: row.get(f"name_{lang}") or "" for lang in LANGUAGES},
        descriptions={lang: row.get(f"description_{lang}") or "" for lang in LANGUAGES},
        category=category or UNCLASSIFIED,
        classify_word="" if category else word,
        # An unknown unit stays as written: validation refuses it, naming what the file said.
        unit=taxonomy.unit_code(unit, mapping.get("units")) or unit,
        price_chf=parse_decimal(row.get("price_chf") or "", "price_chf"),
        vat_class=(row.get("vat_class") or "").strip(),
        stock=parse_decimal(row.get("stock") or "0", "stock"),
        labels=labels,
        origin_place=place,
        origin_km=km,
        photo_url=(row.get("photo_url") or "").strip(),
    )


def read_rows(
    text: str,
    known_vendors: set[str],
    media_dir: Path | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    mapping: WordMap | None = None,
    report: ImportReport | None = None,
) -> tuple[list[ProductDraft], list[RowError]]:
    """Parse and validate every row; line numbers are those of the file (header is line 1). A local photo must
    be a file in `media_dir` when it is given (see marketplace.media). Words are mapped with `taxonomy` (the
    deployment's, default the shipped base) after `mapping`; `report` collects the words left unmapped."""
    taxonomy = taxonomy or base_taxonomy()
    report = report if report is not None else ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RowError(1, f"missing column(s): {', '.join(missing)}")]
    drafts: list[ProductDraft] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(RowError(line, "more cells than columns"))
            continue
        try:
            draft = _draft(row, taxonomy, mapping or {}, line, report)
        except InvalidInput as exc:
            errors.append(RowError(line, f"{exc.params['field']} {exc.params['value']!r} is not a number"))
            continue
        problems = validate_draft(draft, media_dir, taxonomy)
        if draft.vendor not in known_vendors:
            problems.insert(0, f"unknown vendor {draft.vendor!r}")
        key = (draft.vendor, draft.sku)
        if key in seen:
            problems.append(f"duplicate of line {seen[key]} (same vendor and sku)")
        seen.setdefault(key, line)
        errors += [RowError(line, p) for p in problems]
        drafts.append(draft)
    return drafts, errors


def import_products(
    uow: UnitOfWork,
    text: str,
    source: str = "csv",
    on_progress: Callable[[int, int], None] | None = None,
    media_dir: Path | None = None,
    taxonomy: Taxonomy | None = None,
    mapping: WordMap | None = None,
) -> ImportReport:
    """Validate all rows, then write them all (the caller commits) or none (report.errors says why).
    `media_dir`: the deployment's media folder, where a photo that is not an https URL must be. `taxonomy`: the
    deployment's (`settings.taxonomy`); `mapping`: the source's own words, if it has some. Rows whose category
    matched nothing are imported to classify (report.to_classify); label words that matched nothing are left
    out (report.dropped_labels)."""
    taxonomy = taxonomy or base_taxonomy()
    vendors = {
        slug for slug, kind in uow.session.execute(select(Organisation.slug, Organisation.kind)) if kind != "delivery"
    }
    report = ImportReport()
    drafts, errors = read_rows(text, vendors, media_dir, taxonomy=taxonomy, mapping=mapping, report=report)
    report.rows, report.errors = len(drafts), errors
    if errors:
        return report
    kept: set[tuple[str, str]] = set()
    for done, draft in enumerate(drafts, start=1):
        product, created = upsert_product(uow, draft, source=source, bump=False, media_dir=media_dir, taxonomy=taxonomy)
        if product.category != UNCLASSIFIED:  # classified before: an unmapped word does not undo it
            kept.add((draft.vendor, draft.sku))
        if created:
            report.created += 1
        else:
            report.updated += 1
        if on_progress:
            on_progress(done, len(drafts))
    report.to_classify = [note for note in report.to_classify if (note.vendor, note.sku) not in kept]
    bump_revision(uow)
    return report


def import_file(uow: UnitOfWork, path: Path, **kwargs: object) -> ImportReport:
    return import_products(uow, path.read_text(encoding="utf-8"), **kwargs)  # type: ignore[arg-type]


def export_category(product: Product) -> str:
    """A product to classify is written with its source's word, so that re-importing the file keeps it so."""
    return product.category if product.category != UNCLASSIFIED else product.classify_word


def export_rows(products: Iterable[Product]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS + OPTIONAL_COLUMNS)
    for p in products:
        writer.writerow(
            [
                p.vendor.slug,
                p.sku,
                *(p.names.get(lang, "") for lang in LANGUAGES),
                export_category(p),
                p.unit,
                f"{p.price_chf:.2f}",
                p.vat_class,
                format_quantity(p.stock),
                ";".join(p.labels),
                format_origin(p.origin_place, p.origin_km),
                *(p.descriptions.get(lang, "") for lang in LANGUAGES),
                p.photo_url,
            ]
        )
    return out.getvalue()


def export_products(uow: UnitOfWork) -> str:
    products = uow.session.scalars(select(Product).join(Product.vendor).order_by(Organisation.slug, Product.sku))
    return export_rows(products)


def draft_of(product: Product) -> ProductDraft:
    """The product as it stands, in the form an import row or the admin's `product add` gives (change some
    fields with `dataclasses.replace`, then `upsert_product`)."""
    return ProductDraft(
        vendor=product.vendor.slug,
        sku=product.sku,
        names=dict(product.names),
        descriptions=dict(product.descriptions),
        category=product.category,
        unit=product.unit,
        price_chf=product.price_chf,
        vat_class=product.vat_class,
        stock=product.stock,
        labels=list(product.labels),
        origin_place=product.origin_place,
        origin_km=product.origin_km,
        photo_url=product.photo_url,
        available=product.available,
        classify_word=product.classify_word,
    )
