"""Catalog import and export in the marketplace's open CSV format (documented in README.md).

Import is all-or-nothing: the whole file is validated first, every bad row is reported with its
line number, and nothing is written unless every row is good. Re-importing updates in place (vendor+sku).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
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
from catalog.taxonomy import format_quantity
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


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

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


def _draft(row: dict[str, str]) -> ProductDraft:
    place, km = parse_origin(row.get("origin") or "")
    return ProductDraft(
        vendor=(row.get("vendor") or "").strip(),
        sku=(row.get("sku") or "").strip(),
        names={lang: row.get(f"name_{lang}") or "" for lang in LANGUAGES},
        descriptions={lang: row.get(f"description_{lang}") or "" for lang in LANGUAGES},
        category=(row.get("category") or "").strip(),
        unit=(row.get("unit") or "").strip(),
        price_chf=parse_decimal(row.get("price_chf") or "", "price_chf"),
        vat_class=(row.get("vat_class") or "").strip(),
        stock=parse_decimal(row.get("stock") or "0", "stock"),
        labels=[s.strip() for s in (row.get("labels") or "").split(";") if s.strip()],
        origin_place=place,
        origin_km=km,
        photo_url=(row.get("photo_url") or "").strip(),
    )


def read_rows(
    text: str, known_vendors: set[str], media_dir: Path | None = None
) -> tuple[list[ProductDraft], list[RowError]]:
    """Parse and validate every row; line numbers are those of the file (header is line 1). A local photo must
    be a file in `media_dir` when it is given (see marketplace.media)."""
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
            draft = _draft(row)
        except InvalidInput as exc:
            errors.append(RowError(line, f"{exc.params['field']} {exc.params['value']!r} is not a number"))
            continue
        problems = validate_draft(draft, media_dir)
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
) -> ImportReport:
    """Validate all rows, then write them all (the caller commits) or none (report.errors says why).
    `media_dir`: the deployment's media folder, where a photo that is not an https URL must be."""
    vendors = {
        slug for slug, kind in uow.session.execute(select(Organisation.slug, Organisation.kind)) if kind != "delivery"
    }
    drafts, errors = read_rows(text, vendors, media_dir)
    report = ImportReport(rows=len(drafts), errors=errors)
    if errors:
        return report
    for done, draft in enumerate(drafts, start=1):
        _, created = upsert_product(uow, draft, source=source, bump=False, media_dir=media_dir)
        if created:
            report.created += 1
        else:
            report.updated += 1
        if on_progress:
            on_progress(done, len(drafts))
    bump_revision(uow)
    return report


def import_file(uow: UnitOfWork, path: Path, **kwargs: object) -> ImportReport:
    return import_products(uow, path.read_text(encoding="utf-8"), **kwargs)  # type: ignore[arg-type]


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
                p.category,
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
    )
