"""Catalog sources: the feeds (DFC JSON-LD, schema.org JSON-LD, our CSV) that fill vendors' catalogs by sync.

A source belongs to one organisation: a producer or shop whose own tool publishes its catalog, or a sectoral
marketplace whose feed carries many producers ("enterprises"), each matched to one of our vendors by a mapping
the admin confirms (`enterprise_map`), or created as a pending vendor to approve. A source also keeps its own
words for categories and labels mapped onto our taxonomy (`word_map`), and what its last sync did.

Products a source brings carry `products.source = <source name>` and `products.external_id = <the feed's id>`:
the sync (catalog/sync.py) keys its upserts by that pair.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalog.models import Product
from catalog.taxonomy import Taxonomy
from marketplace.accounts import ApprovalStatus, Organisation, OrganisationKind, get_organisation
from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork
from marketplace.errors import InvalidInput, NotFound, VendorNotFound

FORMATS = ("dfc", "csv", "schema-org")
# Values of products.source that are not sources: a source may not take one of these names.
RESERVED_NAMES = frozenset({"admin", "csv", "demo", "dfc", "schema-org", "sync"})
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
EVERY = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d)\s*$")
EVERY_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_EVERY = 15 * 60  # nobody's server should be polled more often than every quarter of an hour
MAX_PROBLEMS_KEPT = 50  # what `source list` and `source show` keep of a failed run's problems


class SourceNotFound(NotFound):
    code = "source_not_found"


class Source(Base):
    __tablename__ = "catalog_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The vendor whose catalog this is, or the sectoral marketplace (kind "marketplace") carrying many.
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(500))
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: synced by hand only
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The source's own words -> our slugs: {"categories": {"bike parts": "bike-repair"}, "labels": {...}}.
    word_map: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    # A marketplace feed's enterprise ids -> our vendor slugs, as the admin confirmed them (or as created).
    enterprise_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_outcome: Mapped[str] = mapped_column(String(16), default="")  # "", applied, unchanged, invalid, failed
    last_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    last_problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    vendor: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def is_marketplace(self) -> bool:
        return self.vendor.kind == OrganisationKind.MARKETPLACE

    def due(self, now: datetime) -> bool:
        """Whether a scheduled sync should run now."""
        if self.paused or self.every_seconds is None:
            return False
        if self.last_run_at is None:
            return True
        last = self.last_run_at if self.last_run_at.tzinfo else self.last_run_at.replace(tzinfo=now.tzinfo)
        return now - last >= timedelta(seconds=self.every_seconds)


def parse_every(text: str | None) -> int | None:
    """`6h`, `30m`, `1d` -> seconds; None or "" -> None (by hand only). At least every 15 minutes."""
    if text is None or not text.strip():
        return None
    match = EVERY.match(text.lower())
    if not match:
        raise InvalidInput(field="every", value=text)
    seconds = int(match[1]) * EVERY_SECONDS[match[2]]
    if seconds < MIN_EVERY:
        raise InvalidInput(field="every", value=text, reason="at least 15m")
    return seconds


def format_every(seconds: int | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


def get_source(uow: UnitOfWork, name: str) -> Source:
    source = uow.session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise SourceNotFound(source=name)
    return source


def list_sources(uow: UnitOfWork) -> list[Source]:
    return list(uow.session.scalars(select(Source).order_by(Source.name)))


def add_source(
    uow: UnitOfWork, name: str, vendor_slug: str, format: str, url: str, every: str | None = None
) -> Source:
    """Register a feed for a vendor (or a sectoral marketplace). The URL is checked by form here and again
    when it is fetched (catalog.sync.check_location)."""
    from catalog.sync import check_location

    if not NAME.match(name) or name in RESERVED_NAMES:
        raise InvalidInput(field="name", value=name)
    if format not in FORMATS:
        raise InvalidInput(field="format", value=format)
    vendor = get_organisation(uow, vendor_slug)
    if not OrganisationKind(vendor.kind).sells:
        raise InvalidInput(field="vendor", value=vendor_slug, reason="delivery companies sell no products")
    kind, target = check_location(url)
    if kind == "file":  # the bot process and cron may run elsewhere than the admin's shell
        url = str(Path(target).expanduser().resolve())
    if uow.session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise InvalidInput(field="name", value=name, reason="exists")
    source = Source(
        name=name, vendor=vendor, format=format, url=url.strip(), every_seconds=parse_every(every), paused=False,
        word_map={}, enterprise_map={}, last_counts={}, last_problems=[],
    )  # fmt: skip
    uow.session.add(source)
    uow.session.flush()
    return source


def set_paused(uow: UnitOfWork, name: str, paused: bool) -> Source:
    source = get_source(uow, name)
    source.paused = paused
    return source


def remove_source(uow: UnitOfWork, name: str) -> int:
    """Forget a source. Its products stay (past orders and baskets point at them) but become unavailable, as if
    withdrawn; they keep their source name, so registering the source again takes them back. Returns how many
    products were made unavailable."""
    from catalog.services import bump_revision

    source = get_source(uow, name)
    withdrawn = uow.session.execute(
        update(Product).where(Product.source == name, Product.available.is_(True)).values(available=False)
    ).rowcount  # type: ignore[attr-defined]
    uow.session.delete(source)
    if withdrawn:
        bump_revision(uow)
    return int(withdrawn or 0)


def map_word(uow: UnitOfWork, taxonomy: Taxonomy, name: str, kind: str, word: str, slug: str) -> Source:
    """Remember that this source's category (kind "categories"), label ("labels") or unit ("units") word means
    our `slug` (or unit code) in the deployment's `taxonomy`."""
    if kind not in ("categories", "labels", "units"):
        raise InvalidInput(field="kind", value=kind)
    known = {
        "categories": taxonomy.category_slug, "labels": taxonomy.label_slug, "units": taxonomy.unit_code,
    }[kind](slug)  # fmt: skip
    if known is None:
        raise InvalidInput(field=kind, value=slug)
    slug = known
    if not word.strip():
        raise InvalidInput(field="word", value=word)
    source = get_source(uow, name)
    words = {k: dict(v) for k, v in (source.word_map or {}).items()}
    words.setdefault(kind, {})[word.strip().lower()] = slug
    source.word_map = words  # a new dict, so that the JSON column is seen as changed
    return source


def map_enterprise(uow: UnitOfWork, name: str, enterprise_id: str, vendor_slug: str) -> Source:
    """Confirm that the marketplace feed's enterprise `enterprise_id` is our vendor `vendor_slug`."""
    source = get_source(uow, name)
    if not source.is_marketplace:
        raise InvalidInput(field="source", value=name, reason="not a sectoral marketplace's source")
    vendor = get_organisation(uow, vendor_slug)
    if not OrganisationKind(vendor.kind).sells or vendor.kind == OrganisationKind.MARKETPLACE:
        raise InvalidInput(field="vendor", value=vendor_slug)
    if not enterprise_id.strip():
        raise InvalidInput(field="enterprise", value=enterprise_id)
    source.enterprise_map = {**(source.enterprise_map or {}), enterprise_id.strip(): vendor.slug}
    return source


# --- where a product comes from, for consumers ------------------------------------------------------


def origin_platform(session: Session, product: Product) -> str:
    """The name of the sectoral marketplace a product came through ("" for a vendor's own catalog)."""
    if product.source in RESERVED_NAMES:
        return ""
    vendor = session.scalar(
        select(Organisation).join(Source, Source.vendor_id == Organisation.id).where(Source.name == product.source)
    )
    if vendor is None or vendor.kind != OrganisationKind.MARKETPLACE or vendor.id == product.vendor_id:
        return ""
    return vendor.name


@dataclass(frozen=True)
class SourceRun:
    """What one sync did, as kept on the source for `source list`."""

    outcome: str  # applied, unchanged, invalid, failed
    counts: dict[str, int]
    problems: list[str]


def record_run(uow: UnitOfWork, name: str, run: SourceRun, at: datetime | None = None) -> None:
    source = get_source(uow, name)
    source.last_run_at = at or utcnow()
    source.last_outcome = run.outcome
    source.last_counts = dict(run.counts)
    source.last_problems = list(run.problems[:MAX_PROBLEMS_KEPT])


# --- publishing ---------------------------------------------------------------------------------------

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8090"  # bot/catalog_http.py's default address


def public_base_url(env: Mapping[str, str]) -> str:
    """Where other platforms reach our published catalog: $CATALOG_PUBLIC_URL (behind the HTTPS proxy)."""
    return (env.get("CATALOG_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def published_products(uow: UnitOfWork, vendor_slug: str | None = None) -> list[Product]:
    """What we publish: the available products of approved vendors (a whole vendor's, or everyone's), in a
    stable order. Products to classify are unavailable, so never published."""
    query = (
        select(Product)
        .join(Product.vendor)
        .where(Organisation.status == ApprovalStatus.APPROVED, Product.available.is_(True))
        .order_by(Organisation.slug, Product.sku)
    )
    if vendor_slug is not None:
        vendor = get_organisation(uow, vendor_slug)
        if vendor.status != ApprovalStatus.APPROVED:
            raise VendorNotFound(vendor=vendor_slug)  # a pending or suspended vendor publishes nothing
        query = query.where(Product.vendor_id == vendor.id)
    return list(uow.session.scalars(query))


def export_catalog(
    uow: UnitOfWork,
    format: str,
    base_url: str,
    vendor_slug: str | None = None,
    vat_rates: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The published catalog as a JSON-LD document: DFC ("dfc") or schema.org ("schema-org"). `vat_rates`:
    the deployment's (settings.vat_rates), for the DFC prices' VAT rate."""
    products = published_products(uow, vendor_slug)
    if format == "dfc":
        from catalog.feeds.dfc import export_dfc

        return export_dfc(products, base_url, vat_rates=vat_rates)
    if format == "schema-org":
        from catalog.feeds.schema_org import export_schema_org

        return export_schema_org(products, base_url)
    raise InvalidInput(field="format", value=format)
