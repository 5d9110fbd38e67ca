"""Catalog sync: fetch a source's feed, validate it, compare it with what the source put in our catalog, and
show or apply the difference (added, changed field by field, withdrawn).

Rules (README, "Catalog sync"):
- Upserts are keyed by (source name, the feed's external id): a second sync of the same feed changes nothing.
- A product the feed no longer carries is *withdrawn*: it becomes unavailable, never deleted (past orders and
  baskets point at it). If it comes back, it becomes available again.
- The source owns the fields it provides (names, price, unit, availability; descriptions, category, labels,
  VAT, stock, origin and photo when it states them); what it leaves out stays as set here.
- Stock: orders placed here reserve stock by decrementing `products.stock` at once, and the goods of an open
  vendor order (placed, paid, prepared) are still at the producer's, so the source's count includes them. Our
  stock is therefore the source's count minus what open orders here reserve, never below zero: nothing is sold
  twice, even if the producer's tool already counted our order (then we under-sell until the next sync).
- A feed that fails validation changes nothing: the run is recorded as "invalid" with the offending items.
- Everything is applied in ONE transaction, recorded on the source with what it did.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select

from catalog.feeds.items import Feed, FeedEnterprise, FeedItem, FeedProblem, FeedUnreadable
from catalog.models import Product
from catalog.sources import RESERVED_NAMES, Source, SourceRun, get_source, list_sources, record_run
from catalog.taxonomy import UNCLASSIFIED, Taxonomy, base_taxonomy, word_key
from catalog.text import fold
from marketplace.accounts import SLUG, ApprovalStatus, Organisation, OrganisationKind
from marketplace.clock import utcnow
from marketplace.db import Database, UnitOfWork
from marketplace.errors import InvalidInput, InvalidPrice, InvalidQuantity
from marketplace.media import MediaRefused, check_photo, is_public_address
from marketplace.settings import Settings

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 20 * 1024 * 1024  # a 5 000-product DFC feed is about 10 MB of JSON-LD
TIMEOUT = 30.0  # seconds, per network operation and for the whole download
CHUNK = 64 * 1024
# Fields whose change moves the catalog revision (the search index's text); price and stock are read live.
SEARCHED_FIELDS = frozenset({"names", "category", "labels", "available", "descriptions"})
MAX_SKU = 64
MAX_EXTERNAL_ID = 128  # products.external_id


class FeedFetchError(Exception):
    """The feed could not be fetched (English, for the admin's report: no personal data)."""


# --- fetching -----------------------------------------------------------------------------------------


def check_location(location: str) -> tuple[str, str]:
    """("http", url) for an http(s) URL, ("file", path) for a file path or file:// URL; InvalidInput otherwise.

    By form only: the host's addresses are checked when it is fetched."""
    location = location.strip()
    if not location or len(location) > 500 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        raise InvalidInput(field="url", value=location[:80])
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        parts = urlsplit(location)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise InvalidInput(field="url", value=location[:80], reason="a file URL names no host")
            return "file", unquote(parts.path)
        if scheme not in ("http", "https"):
            raise InvalidInput(field="url", value=location[:80], reason="only http, https and file")
        if "@" in parts.netloc or not parts.hostname:
            raise InvalidInput(field="url", value=location[:80], reason="no host, or a user name in it")
        try:
            parts.port  # noqa: B018 - raises ValueError on a port out of range
        except ValueError:
            raise InvalidInput(field="url", value=location[:80]) from None
        return "http", location
    return "file", location


def check_public_host(host: str, resolve: Callable[[str], Iterable[str]] | None = None) -> None:
    """Every address `host` resolves to is public (no loopback, private, link-local…): a feed URL must not make
    the marketplace read its own network. FeedFetchError otherwise."""
    host = host.strip("[]").rstrip(".")
    try:
        addresses = [host] if _is_ip(host) else list((resolve or _resolve)(host))
    except OSError as exc:
        raise FeedFetchError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    if not addresses:
        raise FeedFetchError(f"cannot resolve {host}")
    for address in addresses:
        if not is_public_address(ipaddress.ip_address(address.split("%")[0])):
            raise FeedFetchError(f"{host} is not a public address; refused")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def fetch(
    location: str,
    *,
    max_bytes: int = MAX_FEED_BYTES,
    timeout: float = TIMEOUT,
    allow_private: bool = False,
    transport: Any = None,
) -> bytes:
    """The feed's bytes: from an http(s) URL (no redirects followed, `timeout` per operation and overall, at
    most `max_bytes`, streamed) or a file. `allow_private`: let a URL name a host on the local network (a
    deployment aggregating its own machines; tests). `transport`: an httpx transport (tests)."""
    kind, target = check_location(location)
    if kind == "file":
        path = Path(target).expanduser()
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise FeedFetchError(f"cannot read {path.name}: {exc.strerror or exc}") from None
        if len(data) > max_bytes:
            raise FeedFetchError(f"feed larger than {max_bytes} bytes")
        return data
    import httpx

    parts = urlsplit(target)
    if not allow_private:
        check_public_host(parts.hostname or "")
    deadline = time.monotonic() + timeout
    headers = {"Accept": "application/ld+json, application/json, text/csv;q=0.9, */*;q=0.5",
               "User-Agent": "SmartketPlace-catalog-sync"}  # fmt: skip
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, headers=headers) as client,
            client.stream("GET", target) as response,
        ):
            if response.is_redirect:
                raise FeedFetchError(
                    f"HTTP {response.status_code} redirect to {response.headers.get('location', '?')[:200]}:"
                    " register the final URL instead"
                )
            if response.status_code != 200:
                raise FeedFetchError(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedFetchError(f"feed larger than {max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FeedFetchError(f"feed larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedFetchError(f"download slower than {timeout:.0f} s")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise FeedFetchError(f"cannot fetch {parts.hostname}: {type(exc).__name__}") from None
    return b"".join(chunks)


def parse_feed(format: str, raw: bytes, options: SyncOptions | None = None) -> Feed:
    """Read the bytes in the source's format (catalog/feeds/); FeedUnreadable when they are no such feed.
    Untagged names are in the deployment's default language; a CSV's VAT class is read with its rates."""
    options = options or SyncOptions()
    limit = {"max_bytes": MAX_FEED_BYTES}
    if format == "dfc":
        from catalog.feeds.dfc import parse_dfc

        return parse_dfc(raw, default_language=options.default_language, **limit)
    if format == "schema-org":
        from catalog.feeds.schema_org import parse_schema_org

        return parse_schema_org(raw, default_language=options.default_language, **limit)
    if format == "csv":
        from catalog.feeds.csv_feed import parse_csv

        return parse_csv(raw, vat_rates=options.vat_rates, **limit)
    raise FeedUnreadable(f"unknown format {format!r}")


# --- options ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncOptions:
    """What a sync needs of the deployment: its taxonomy (words -> our slugs), VAT rates and media folder."""

    taxonomy: Taxonomy = field(default_factory=base_taxonomy)
    vat_rates: dict[str, Decimal] = field(
        default_factory=lambda: {"reduced": Decimal("2.6"), "standard": Decimal("8.1")}
    )
    media_dir: Path | None = None
    default_language: str = "fr"  # of a feed's names without a language tag


def options_for(settings: Settings) -> SyncOptions:
    return SyncOptions(settings.taxonomy, dict(settings.vat_rates), settings.media_dir, settings.default_language)


# --- planning -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ItemChange:
    external_id: str
    vendor: str  # slug
    sku: str
    name: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class EnterpriseMatch:
    enterprise_id: str
    name: str
    vendor: str  # our slug (to create, for "new"; suggested, for "suggested")
    status: str  # mapped, new (a pending vendor is created), suggested (same name: waits for `source map`)
    place: str = ""


@dataclass
class SyncPlan:
    source: str
    added: list[ItemChange] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    withdrawn: list[ItemChange] = field(default_factory=list)
    unchanged: int = 0
    problems: list[FeedProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    to_classify: list[str] = field(default_factory=list)  # external ids whose category word has no mapping
    enterprises: list[EnterpriseMatch] = field(default_factory=list)
    # What apply_plan writes: (product or None for a new one, vendor slug, sku, external id, wanted fields).
    _writes: list[tuple[Product | None, str, str, str, dict[str, Any]]] = field(default_factory=list, repr=False)
    _withdraw: list[Product] = field(default_factory=list, repr=False)
    # Per run: the source's word mappings, and the slugs already found for its words.
    _words: dict[str, dict[str, str]] | None = field(default=None, repr=False)
    _categories: dict[str, str | None] = field(default_factory=dict, repr=False)
    _labels: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added), "changed": len(self.changed), "withdrawn": len(self.withdrawn),
            "unchanged": self.unchanged, "to_classify": len(self.to_classify),
            "new_vendors": sum(1 for e in self.enterprises if e.status == "new"),
        }  # fmt: skip

    @property
    def is_noop(self) -> bool:
        return not (self.added or self.changed or self.withdrawn or any(e.status == "new" for e in self.enterprises))


def _slug_for(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:56].strip("-") or "vendor"
    if len(base) < 3:
        base = f"{base}-vendor"
    slug, n = base, 2
    while slug in taken or not SLUG.match(slug):
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _vendors_for(uow: UnitOfWork, source: Source, feed: Feed, plan: SyncPlan) -> dict[str, str | None]:
    """enterprise id -> our vendor slug (None: its items wait for the admin). A producer's own feed goes whole
    to the source's vendor; a marketplace's feed is split by enterprise."""
    if not source.is_marketplace:
        return {}
    orgs = list(uow.session.scalars(select(Organisation)))
    by_slug = {o.slug: o for o in orgs}
    by_name = {fold(o.name).strip(): o for o in orgs if OrganisationKind(o.kind).sells and o.id != source.vendor_id}
    taken = set(by_slug)
    mapping = dict(source.enterprise_map or {})
    enterprises = {e.external_id: e for e in feed.enterprises}
    for item in feed.items:
        if item.enterprise_id and item.enterprise_id not in enterprises:
            enterprises[item.enterprise_id] = FeedEnterprise(item.enterprise_id, item.enterprise_id)
    result: dict[str, str | None] = {"": source.vendor.slug}  # items without an enterprise: the marketplace's
    for eid, enterprise in enterprises.items():
        if eid in mapping:
            slug = mapping[eid]
            if slug not in by_slug:
                plan.problems.append(FeedProblem("", f"enterprise {eid!r} is mapped to unknown vendor {slug!r}"))
            result[eid] = slug
            plan.enterprises.append(EnterpriseMatch(eid, enterprise.name, slug, "mapped"))
        elif (same := by_name.get(fold(enterprise.name).strip())) is not None:
            result[eid] = None
            plan.enterprises.append(EnterpriseMatch(eid, enterprise.name, same.slug, "suggested"))
            plan.warnings.append(
                f"enterprise {enterprise.name!r} ({eid}) looks like vendor {same.slug!r}: confirm with "
                f"`source map {source.name} {eid} {same.slug}`; its products wait until then"
            )
        else:
            slug = _slug_for(enterprise.name or eid, taken)
            result[eid] = slug
            plan.enterprises.append(EnterpriseMatch(eid, enterprise.name, slug, "new", enterprise.place))
    return result


def _vat_class(rate: Decimal | None, vat_rates: dict[str, Decimal]) -> str | None:
    if rate is None:
        return None
    for vat_class, known in vat_rates.items():
        if Decimal(known) == rate:
            return vat_class
    return ""  # a rate we do not know


def _wanted(item: FeedItem, source: Source, options: SyncOptions, plan: SyncPlan) -> tuple[dict[str, Any], list[str]]:
    """The fields the source states for this item, in our terms, and what is wrong with them."""
    from catalog.csv_io import parse_origin
    from catalog.services import check_price, check_quantity

    problems: list[str] = []
    wanted: dict[str, Any] = {}
    names = {k: v.strip() for k, v in item.names.items() if isinstance(v, str) and v.strip()}
    if not names:
        problems.append("no name in any language")
    wanted["names"] = names
    descriptions = {k: v.strip() for k, v in item.descriptions.items() if isinstance(v, str) and v.strip()}
    if descriptions:
        wanted["descriptions"] = descriptions
    words = plan._words if plan._words is not None else _words_of(source)
    plan._words = words
    taxonomy = options.taxonomy
    unit = taxonomy.unit_code(item.unit, words.get("units")) if item.unit else None
    if unit is None:
        problems.append(f"unknown unit {item.unit!r}")
    else:
        wanted["unit"] = unit
    if item.category_word.strip():
        slug = _term(taxonomy.category_slug, item.category_word, words["categories"], plan._categories)
        if slug is None:  # imported, but offered to nobody until an admin classifies it (catalog/taxonomy.py)
            plan.to_classify.append(item.external_id)
            wanted.update(_to_classify(item.category_word))
        else:
            wanted.update(_classified(slug))
        wanted["kind"] = taxonomy.kind_of(wanted["category"], unit or "piece")
    label_slugs = set()
    for word in item.label_words:
        label = _term(taxonomy.label_slug, word, words["labels"], plan._labels)
        if label is None:
            plan.warnings.append(f"{item.external_id}: label {word!r} has no mapping; left out")
        else:
            label_slugs.add(label)
    wanted["labels"] = sorted(label_slugs)
    try:
        wanted["price_chf"] = check_price(Decimal(item.price_chf))
    except (InvalidPrice, ArithmeticError, TypeError, ValueError):
        problems.append(f"price {item.price_chf!r} is not an amount in CHF with at most 2 decimals")
    vat_class = _vat_class(item.vat_rate_pct, options.vat_rates)
    if vat_class:
        wanted["vat_class"] = vat_class
    elif vat_class == "":
        plan.warnings.append(f"{item.external_id}: VAT rate {item.vat_rate_pct} % unknown here; VAT class kept")
    if item.stock is not None and unit:
        try:
            wanted["stock"] = check_quantity(Decimal(item.stock), unit, allow_zero=True)
        except (InvalidQuantity, ArithmeticError, TypeError, ValueError):
            problems.append(f"stock {item.stock!r} is not a valid quantity for unit {unit!r}")
    wanted["available"] = bool(item.available)
    if item.origin_place.strip():
        place, km = parse_origin(item.origin_place)  # "Jussy (12 km)" as our CSV writes it, or a bare place
        wanted["origin_place"] = place[:80]
        if km is not None and km < 10000:
            wanted["origin_km"] = km
    if item.photo_url.strip():
        try:
            wanted["photo_url"] = check_photo(item.photo_url, options.media_dir)
        except MediaRefused as refused:
            plan.warnings.append(f"{item.external_id}: photo refused ({refused.reason}); left out")
    return wanted, problems


def _words_of(source: Source) -> dict[str, dict[str, str]]:
    """The source's own word mapping over its format's vocabulary (DFC product types and facets -> our slugs);
    category and label words keyed as the taxonomy compares them (`word_key`), so that a lookup is one get."""
    own = source.word_map or {}
    defaults: dict[str, dict[str, str]] = {}
    if source.format == "dfc":
        from catalog.feeds import dfc

        defaults = {"categories": getattr(dfc, "DFC_CATEGORY_WORDS", {}), "labels": getattr(dfc, "DFC_LABEL_WORDS", {})}
    merged = {kind: {**defaults.get(kind, {}), **own.get(kind, {})} for kind in {*own, *defaults}}
    for kind in ("categories", "labels"):
        merged[kind] = {word_key(word): slug for word, slug in merged.get(kind, {}).items()}
    return merged


def _term(
    mapper: Callable[[str, Any], str | None], word: str, own: dict[str, str], seen: dict[str, str | None]
) -> str | None:
    """Our slug for a source's word (its own mapping first), or for its last segment when it is an IRI or a
    prefixed name ("dfc-pt:apple", "https://…/facets.rdf#Organic"). `seen`: answers already found in this run."""
    if word in seen:
        return seen[word]
    slug = None
    local = re.split(r"[:#/]", word.strip().rstrip("/"))[-1]
    for candidate in dict.fromkeys((word, local)):
        if candidate.strip():
            target = own.get(word_key(candidate))
            slug = mapper(target or candidate, None)
            if slug is not None:
                break
    seen[word] = slug
    return slug


def _classify_column() -> str | None:
    """The products column where the taxonomy keeps the word of a product to classify, if the schema has one."""
    return "classify_word" if hasattr(Product, "classify_word") else None


def _to_classify(word: str) -> dict[str, Any]:
    column = _classify_column()
    return {"category": UNCLASSIFIED, **({column: word.strip()[:120]} if column else {})}


def _classified(slug: str) -> dict[str, Any]:
    column = _classify_column()
    return {"category": slug, **({column: ""} if column else {})}


def _key(external_id: str) -> str:
    """What products.external_id (128 characters) keeps of a feed's id: the id, or a digest of a longer one."""
    if len(external_id) <= MAX_EXTERNAL_ID:
        return external_id
    import hashlib

    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()


def _sku_for(item: FeedItem) -> str:
    sku = (item.sku or item.external_id.rstrip("/").rsplit("/", 1)[-1]).strip()
    if len(sku) > MAX_SKU or not sku:
        import hashlib

        sku = hashlib.sha256(item.external_id.encode()).hexdigest()[:16]
    return sku


def _reserved(uow: UnitOfWork, source_name: str) -> dict[int, Decimal]:
    """Per product of the source: what open orders here reserve (placed, paid, prepared)."""
    from checkout.models import OrderLine, VendorOrder  # checkout reserves stock; the catalog only reads it
    from checkout.status import AT_VENDOR

    rows = uow.session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity))
        .join(VendorOrder, OrderLine.vendor_order_id == VendorOrder.id)
        .join(Product, OrderLine.product_id == Product.id)
        .where(Product.source == source_name, VendorOrder.status.in_([s.value for s in AT_VENDOR]))
        .group_by(OrderLine.product_id)
    )
    return {pid: Decimal(total or 0) for pid, total in rows}


def _shown(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return value


def plan_sync(
    uow: UnitOfWork,
    source: Source,
    feed: Feed,
    options: SyncOptions | None = None,
) -> SyncPlan:
    """Compare the feed with the source's products in our catalog. Reads only."""
    plan = SyncPlan(source=source.name, problems=list(feed.problems))
    options = options or SyncOptions()
    vendor_of = _vendors_for(uow, source, feed, plan)
    existing = {p.external_id: p for p in uow.session.scalars(select(Product).where(Product.source == source.name))}
    reserved = _reserved(uow, source.name)
    vendor_ids = {o.slug: o.id for o in uow.session.scalars(select(Organisation))}
    # The feed's vendors' other products by SKU, to adopt a row imported earlier by CSV or by hand (same vendor
    # and SKU): read only when the feed brings a new item, and only rows the source does not own yet.
    involved = {vendor_ids[v] for v in {source.vendor.slug, *vendor_of.values()} if v in vendor_ids}
    others: dict[tuple[int, str], Product] | None = None

    def by_sku(key: tuple[int | None, str]) -> Product | None:
        nonlocal others
        if others is None:
            others = {
                (p.vendor_id, p.sku): p
                for p in uow.session.scalars(
                    select(Product).where(Product.vendor_id.in_(involved), Product.source != source.name)
                )
            }
        return others.get(key)  # type: ignore[arg-type]

    seen: set[str] = set()
    new_skus: set[tuple[str, str]] = set()
    for item in feed.items:
        key = _key(item.external_id)
        if not item.external_id or key in seen:
            plan.problems.append(FeedProblem(item.external_id, "missing or repeated external id"))
            continue
        seen.add(key)
        vendor = source.vendor.slug if not source.is_marketplace else vendor_of.get(item.enterprise_id)
        if vendor is None:
            continue  # its enterprise waits for the admin's confirmation (a warning says so)
        wanted, problems = _wanted(item, source, options, plan)
        plan.problems += [FeedProblem(item.external_id, p) for p in problems]
        if problems:
            continue
        product = existing.get(key)
        name = next(iter(wanted["names"].values()), item.external_id)
        if product is None:
            sku = _sku_for(item)
            vid = vendor_ids.get(vendor)
            other = by_sku((vid, sku)) if vid is not None else None
            if other is not None and other.source not in RESERVED_NAMES:
                plan.problems.append(FeedProblem(item.external_id, f"SKU {sku!r} belongs to source {other.source!r}"))
                continue
            if (vendor, sku) in new_skus:
                plan.problems.append(FeedProblem(item.external_id, f"SKU {sku!r} repeated for vendor {vendor!r}"))
                continue
            new_skus.add((vendor, sku))
            if other is not None:  # adopted: from now on this source owns it
                product = other
                existing[key] = other
            else:
                if "category" not in wanted:  # a new product needs a category: none at all is "to classify"
                    plan.to_classify.append(item.external_id)
                    wanted.update(_to_classify("-"))
                    wanted["kind"] = options.taxonomy.kind_of(UNCLASSIFIED, wanted.get("unit", "piece"))
                if wanted["category"] == UNCLASSIFIED:
                    wanted["available"] = False
                plan.added.append(ItemChange(item.external_id, vendor, sku, name))
                plan._writes.append((None, vendor, sku, key, wanted))
                continue
        if wanted.get("category", product.category) == UNCLASSIFIED:
            wanted["available"] = False  # catalog.models: never offered while to classify
            if item.external_id not in plan.to_classify:
                plan.to_classify.append(item.external_id)
        if "stock" in wanted:
            wanted["stock"] = max(Decimal(0), wanted["stock"] - reserved.get(product.id, Decimal(0)))
        if wanted.get("category", "-") == UNCLASSIFIED and product.category != UNCLASSIFIED:
            # A product an admin classified by hand keeps its category while the source's word stays unmapped.
            for owned_elsewhere in ("category", "kind", _classify_column()):
                wanted.pop(owned_elsewhere or "", None)
            plan.to_classify.remove(item.external_id)
        changes = [
            FieldChange(name_, _shown(getattr(product, name_)), _shown(value))
            for name_, value in wanted.items()
            if name_ != "kind" and _differs(getattr(product, name_), value)
        ]
        if product.source != source.name or product.external_id != key:
            changes.insert(0, FieldChange("source", product.source, source.name))
        if changes:
            plan.changed.append(ItemChange(item.external_id, vendor, product.sku, name, changes))
            plan._writes.append((product, vendor, product.sku, key, wanted))
        else:
            plan.unchanged += 1
    for external_id, product in existing.items():
        if external_id not in seen and product.source == source.name and product.available:
            name = next(iter(product.names.values()), external_id)
            plan.withdrawn.append(
                ItemChange(external_id, product.vendor.slug, product.sku, name, [FieldChange("available", True, False)])
            )
            plan._withdraw.append(product)
    return plan


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, Decimal) or isinstance(current, Decimal):
        return current is None or Decimal(current) != Decimal(wanted)
    if isinstance(wanted, list):
        return sorted(current or []) != wanted
    return bool(current != wanted)


# --- applying -----------------------------------------------------------------------------------------


def apply_plan(uow: UnitOfWork, source: Source, plan: SyncPlan) -> None:
    """Write a valid plan (the caller commits: one transaction for the whole feed)."""
    from catalog.services import bump_revision

    if not plan.valid:
        raise ValueError("an invalid plan is never applied")
    new_vendors = [e for e in plan.enterprises if e.status == "new"]
    if new_vendors:
        for enterprise in new_vendors:
            uow.session.add(
                Organisation(
                    slug=enterprise.vendor, name=(enterprise.name or enterprise.enterprise_id)[:120],
                    kind=OrganisationKind.PRODUCER, status=ApprovalStatus.PENDING, descriptions={},
                    leman_share_pct=0, place=enterprise.place[:80],
                )
            )  # fmt: skip
        source.enterprise_map = {**(source.enterprise_map or {}), **{e.enterprise_id: e.vendor for e in new_vendors}}
        uow.session.flush()
    vendors = {o.slug: o for o in uow.session.scalars(select(Organisation))}
    searched = bool(plan._withdraw)
    for product, vendor, sku, external_id, wanted in plan._writes:
        if product is None:
            kind = wanted.get("kind") or "good"
            product = Product(
                vendor=vendors[vendor], sku=sku, descriptions={}, labels=[], origin_place="", photo_url="",
                vat_class="standard" if kind == "service" else "reduced", stock=Decimal(0), kind=kind,
            )  # fmt: skip
            uow.session.add(product)
            searched = True
        product.source, product.external_id = source.name, external_id
        for name, value in wanted.items():
            setattr(product, name, value)
            searched = searched or name in SEARCHED_FIELDS
    for product in plan._withdraw:
        product.available = False
    if searched:
        bump_revision(uow)
    uow.session.flush()


# --- one run ------------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    source: str
    outcome: str  # applied, unchanged, invalid, failed, dry-run
    plan: SyncPlan | None = None
    error: str = ""

    @property
    def problems(self) -> list[str]:
        if self.error:
            return [self.error]
        if self.plan is None:
            return []
        return [f"{p.item_id or 'feed'}: {p.message}" for p in self.plan.problems]


Fetcher = Callable[[Source], bytes]


def default_fetcher(allow_private: bool = False) -> Fetcher:
    return lambda source: fetch(source.url, allow_private=allow_private)


def sync_source(
    db: Database,
    name: str,
    *,
    dry_run: bool = False,
    fetcher: Fetcher | None = None,
    options: SyncOptions | None = None,
    now: datetime | None = None,
    parser: Callable[[str, bytes], Feed] | None = None,
) -> SyncReport:
    """Fetch, validate, compare and (unless `dry_run`) apply one source's feed; the run is recorded on the
    source (a dry run records nothing). Network and parse errors are reported, never raised. `fetcher` and
    `parser` stand in for the network and the format readers in tests and benchmarks."""
    with db.uow() as uow:
        source = get_source(uow, name)
        uow.session.expunge(source)
    try:
        raw = (fetcher or default_fetcher())(source)
        feed = parser(source.format, raw) if parser else parse_feed(source.format, raw, options)
    except (FeedFetchError, FeedUnreadable, InvalidInput) as exc:
        message = str(exc) if not isinstance(exc, InvalidInput) else f"location refused: {exc.params}"
        log.warning("sync of %s failed: %s", name, message)
        report = SyncReport(name, "failed", error=message)
        if not dry_run:
            _record(db, name, report, now)
        return report
    with db.uow() as uow:
        source = get_source(uow, name)
        plan = plan_sync(uow, source, feed, options)
        if not plan.valid:
            report = SyncReport(name, "invalid", plan)
        elif dry_run:
            return SyncReport(name, "dry-run", plan)
        else:
            report = SyncReport(name, "unchanged" if plan.is_noop else "applied", plan)
            apply_plan(uow, source, plan)
            record_run(uow, name, SourceRun(report.outcome, plan.counts, plan.warnings), now or utcnow())
            uow.commit()
            log.info("sync of %s %s: %s", name, report.outcome, plan.counts)
            return report
    log.warning("sync of %s refused: %d problem(s) in the feed", name, len(plan.problems))
    if not dry_run:
        _record(db, name, report, now)
    return report


def _record(db: Database, name: str, report: SyncReport, now: datetime | None) -> None:
    counts = report.plan.counts if report.plan is not None else {}
    with db.uow() as uow:
        record_run(uow, name, SourceRun(report.outcome, counts, report.problems), now or utcnow())
        uow.commit()


def due_sources(db: Database, now: datetime) -> list[str]:
    with db.uow() as uow:
        return [s.name for s in list_sources(uow) if s.due(now)]


def sync_all(
    db: Database, *, scheduled_only: bool, now: datetime | None = None, **options: Any
) -> list[SyncReport]:
    """Every source that is not paused (`scheduled_only`: only those whose schedule says it is time)."""
    now = now or utcnow()
    with db.uow() as uow:
        names = [s.name for s in list_sources(uow) if (s.due(now) if scheduled_only else not s.paused)]
    return [sync_source(db, name, now=now, **options) for name in names]
