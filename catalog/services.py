"""Catalog service layer: what the bots, the dialogue actions and the admin CLI may ask of the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import joinedload

from catalog.models import CatalogRevision, Product
from catalog.taxonomy import UNCLASSIFIED, Taxonomy, base_taxonomy, localized, parse_unit
from marketplace.accounts import (
    ApprovalStatus,
    Organisation,
    get_organisation,
)
from marketplace.db import UnitOfWork
from marketplace.errors import (
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
    ProductNotFound,
)
from marketplace.media import MediaRefused, check_photo
from marketplace.money import Money, quantum

if TYPE_CHECKING:  # the index (numpy, rapidfuzz's process) loads with the first search, not with every entry point
    from catalog.search import Hit, SearchIndex

VAT_CLASSES = ("reduced", "standard")


@dataclass
class ProductDraft:
    """A product as an admin, a CSV row or a sync feed describes it (validated by `validate_draft`)."""

    vendor: str
    sku: str
    names: dict[str, str]
    category: str
    unit: str
    price_chf: Decimal
    vat_class: str
    stock: Decimal = Decimal(0)
    labels: list[str] = field(default_factory=list)
    origin_place: str = ""
    origin_km: Decimal | None = None
    descriptions: dict[str, str] = field(default_factory=dict)
    photo_url: str = ""
    available: bool = True
    # With category UNCLASSIFIED (""): the source's word that matched none of our categories (see catalog/taxonomy.py).
    classify_word: str = ""


def parse_decimal(text: str | Decimal | int, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace("'", ""))
    except InvalidOperation:
        raise InvalidInput(field=what, value=str(text)) from None
    if not value.is_finite():
        raise InvalidInput(field=what, value=str(text))
    return value


def check_price(price: Decimal) -> Decimal:
    if price < 0 or price != price.quantize(quantum("CHF")) or price > Decimal("100000"):
        raise InvalidPrice(price=str(price))
    return price.quantize(quantum("CHF"))


def check_quantity(quantity: Decimal, unit: str, *, allow_zero: bool) -> Decimal:
    """Whole numbers, except loose goods by kg or litre (to the gram / millilitre)."""
    if quantity < 0 or (quantity == 0 and not allow_zero) or quantity > Decimal("1000000"):
        raise InvalidQuantity(quantity=str(quantity))
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InvalidQuantity(quantity=str(quantity))
    if not parse_unit(unit).allows_fraction and quantity != quantity.to_integral_value():
        raise InvalidQuantity(quantity=str(quantity), unit=unit)
    return quantity


def validate_draft(draft: ProductDraft, media_dir: Path | None = None, taxonomy: Taxonomy | None = None) -> list[str]:
    """Problems with a draft, as short English phrases for the CLI and import reports (empty = valid).

    With `media_dir`, a local photo must be a file in that folder; without, only its form is checked. Category and
    labels are slugs of `taxonomy` (the deployment's: `settings.taxonomy`; default the shipped base); the category
    UNCLASSIFIED ("") is a product to classify."""
    taxonomy = taxonomy or base_taxonomy()
    problems = []
    if not draft.sku.strip():
        problems.append("sku is empty")
    if not any(n.strip() for n in draft.names.values()):
        problems.append("no name in any language")
    if draft.category != UNCLASSIFIED and draft.category not in taxonomy.categories:
        problems.append(f"unknown category {draft.category!r}")
    try:
        parse_unit(draft.unit)
    except ValueError:
        problems.append(f"unknown unit {draft.unit!r}")
    if draft.vat_class not in VAT_CLASSES:
        problems.append(f"vat_class must be reduced or standard, not {draft.vat_class!r}")
    unknown = [label for label in draft.labels if label not in taxonomy.labels]
    if unknown:
        problems.append(f"unknown label(s) {', '.join(unknown)}")
    try:
        check_price(draft.price_chf)
    except InvalidPrice:
        problems.append(f"price {draft.price_chf} is not an amount in CHF with at most 2 decimals")
    if not problems:
        try:
            check_quantity(draft.stock, draft.unit, allow_zero=True)
        except InvalidQuantity:
            problems.append(f"stock {draft.stock} is not a valid quantity for unit {draft.unit!r}")
    try:
        check_photo(draft.photo_url, media_dir)
    except MediaRefused as refused:
        problems.append(f"photo_url {refused.params['value']!r} refused: {refused.reason}")
    return problems


def bump_revision(uow: UnitOfWork) -> None:
    """Tell every process's search index that catalog text changed (in the same transaction)."""
    changed = uow.session.execute(
        update(CatalogRevision).where(CatalogRevision.id == 1).values(revision=CatalogRevision.revision + 1)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        uow.session.add(CatalogRevision(id=1, revision=1))


def upsert_product(
    uow: UnitOfWork,
    draft: ProductDraft,
    source: str = "admin",
    *,
    bump: bool = True,
    media_dir: Path | None = None,
    taxonomy: Taxonomy | None = None,
) -> tuple[Product, bool]:
    """Create the product, or update it in place if the vendor already has this SKU. Returns (product, created).

    `bump=False` lets bulk imports move the catalog revision once at the end instead of per row. A photo that
    is neither an https URL on a public host nor a file of the media folder (`media_dir`, when given) raises
    MediaRefused, which says so in the admin's language. A draft to classify (category UNCLASSIFIED) is stored
    unavailable; it never takes away the category a product already has (an admin's classification stays).
    """
    taxonomy = taxonomy or base_taxonomy()
    check_photo(draft.photo_url, media_dir)
    problems = validate_draft(draft, media_dir, taxonomy)
    if problems:
        raise InvalidInput(field="product", value=draft.sku, reason="; ".join(problems))
    vendor = get_organisation(uow, draft.vendor)
    if vendor.kind == "delivery":
        raise InvalidInput(field="vendor", value=draft.vendor, reason="delivery companies sell no products")
    product = uow.session.scalar(select(Product).where(Product.vendor_id == vendor.id, Product.sku == draft.sku))
    created = product is None
    if product is None:
        product = Product(vendor=vendor, sku=draft.sku, source=source, external_id=draft.sku)
        uow.session.add(product)
    product.names = {k: v.strip() for k, v in draft.names.items() if v and v.strip()}
    product.descriptions = {k: v.strip() for k, v in draft.descriptions.items() if v and v.strip()}
    if draft.category != UNCLASSIFIED or created or product.category == UNCLASSIFIED:
        product.category = draft.category
        product.classify_word = draft.classify_word.strip()[:120] if draft.category == UNCLASSIFIED else ""
    product.unit = parse_unit(draft.unit).code
    product.kind = taxonomy.kind_of(product.category, product.unit)
    product.price_chf = check_price(draft.price_chf)
    product.vat_class = draft.vat_class
    product.stock = draft.stock
    product.labels = sorted(set(draft.labels))
    product.origin_place = draft.origin_place
    product.origin_km = draft.origin_km
    product.photo_url = draft.photo_url.strip()
    product.available = draft.available
    if bump:
        bump_revision(uow)
    uow.session.flush()
    return product, created


def get_product(uow: UnitOfWork, product_id: int) -> Product:
    product = uow.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound(product=str(product_id))
    return product


def find_product(uow: UnitOfWork, vendor_slug: str, sku: str) -> Product:
    product = uow.session.scalar(
        select(Product).join(Product.vendor).where(Organisation.slug == vendor_slug, Product.sku == sku)
    )
    if product is None:
        raise ProductNotFound(product=f"{vendor_slug}/{sku}")
    return product


@dataclass(frozen=True)
class ProductView:
    """A product as shown to one person, in their language."""

    id: int
    vendor_slug: str
    vendor_name: str
    sku: str
    name: str
    description: str
    category: str
    category_name: str
    kind: str
    unit: str
    price: Money
    vat_class: str
    labels: tuple[str, ...]
    label_names: tuple[str, ...]
    origin_place: str
    origin_km: Decimal | None
    stock: Decimal
    available: bool
    photo_url: str
    leman_share_pct: int
    classify_word: str = ""  # a product to classify (category ""): the source's word for it
    platform: str = ""  # the sectoral marketplace the product came through, shown beside its vendor

    @property
    def in_stock(self) -> bool:
        return self.available and self.stock > 0


def view_product(product: Product, lang: str, taxonomy: Taxonomy | None = None) -> ProductView:
    taxonomy = taxonomy or base_taxonomy()
    category = taxonomy.categories.get(product.category)
    return ProductView(
        id=product.id,
        vendor_slug=product.vendor.slug,
        vendor_name=product.vendor.name,
        sku=product.sku,
        name=localized(product.names, lang),
        description=localized(product.descriptions, lang),
        category=product.category,
        category_name=category.name(lang) if category else product.category,
        kind=product.kind,
        unit=product.unit,
        price=Money(product.price_chf),
        vat_class=product.vat_class,
        labels=tuple(product.labels),
        label_names=tuple(taxonomy.labels[s].name(lang) if s in taxonomy.labels else s for s in product.labels),
        origin_place=product.origin_place,
        origin_km=product.origin_km,
        stock=product.stock,
        available=product.available,
        photo_url=product.photo_url,
        leman_share_pct=product.vendor.leman_share_pct,
        classify_word=product.classify_word,
        platform=_platform(product),
    )


def _platform(product: Product) -> str:
    from sqlalchemy.orm import object_session

    from catalog.sources import origin_platform

    session = object_session(product)
    return origin_platform(session, product) if session is not None else ""


def product_details(uow: UnitOfWork, product_id: int, lang: str, taxonomy: Taxonomy | None = None) -> ProductView:
    return view_product(get_product(uow, product_id), lang, taxonomy)


def list_products(
    uow: UnitOfWork,
    lang: str,
    vendor_slug: str | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    to_classify: bool = False,
) -> list[ProductView]:
    """Every product (of one vendor), or with `to_classify` only those waiting for an admin to classify them."""
    query = select(Product).join(Product.vendor).order_by(Organisation.slug, Product.sku)
    if vendor_slug:
        query = query.where(Organisation.slug == vendor_slug)
    if to_classify:
        query = query.where(Product.category == UNCLASSIFIED)
    return [view_product(p, lang, taxonomy) for p in uow.session.scalars(query)]


# --- search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilters:
    category: str | None = None
    label: str | None = None
    vendor: str | None = None  # slug
    max_price: Decimal | None = None
    in_stock_only: bool = False


@dataclass(frozen=True)
class SearchResult:
    product: ProductView
    score: float


class CatalogSearch:
    """Holds one search index per process and rebuilds it when the catalog revision moves.

    Stock, price and vendor approval are read from the database for the ranked candidates,
    so they are always current without rebuilding the index.
    """

    BATCH = 50

    def __init__(self, default_language: str = "fr", taxonomy: Taxonomy | None = None) -> None:
        self._default_language = default_language
        # The deployment's categories, labels and synonyms (settings.taxonomy): what the index and views name.
        self.taxonomy = taxonomy or base_taxonomy()
        self._index: SearchIndex | None = None
        self._revision: int | None = None
        self._lock = Lock()

    def index(self, uow: UnitOfWork) -> SearchIndex:
        revision = uow.session.scalar(select(CatalogRevision.revision).where(CatalogRevision.id == 1)) or 0
        with self._lock:
            if self._index is None or revision != self._revision:
                self._index = build_index(uow, self._default_language, self.taxonomy)
                self._revision = revision
            return self._index

    def search(
        self,
        uow: UnitOfWork,
        query: str,
        lang: str,
        filters: ProductFilters | None = None,
        limit: int = 10,
    ) -> list[SearchResult]:
        filters = filters or ProductFilters()
        index = self.index(uow)
        vendor_id = None
        if filters.vendor:
            vendor_id = get_organisation(uow, filters.vendor).id
        from catalog.search import SearchFilters

        index_filters = SearchFilters(filters.category, filters.label, vendor_id)
        results: list[SearchResult] = []
        seen, wanted = 0, max(limit * 3, self.BATCH)
        while True:
            # Ask the index for more candidates only when price/stock filters threw too many away.
            hits = index.search(query, index_filters, limit=wanted)
            for start in range(seen, len(hits), self.BATCH):
                batch = hits[start : start + self.BATCH]
                rows = {p.id: p for p in uow.session.scalars(self._offer_query(batch, filters))}
                for hit in batch:
                    if hit.product_id in rows:
                        results.append(SearchResult(view_product(rows[hit.product_id], lang, self.taxonomy), hit.score))
                        if len(results) == limit:
                            return results
            if len(hits) < wanted:
                return results
            seen, wanted = len(hits), wanted * 4

    @staticmethod
    def _offer_query(batch: list[Hit], filters: ProductFilters) -> Select[tuple[Product]]:
        query = (
            select(Product)
            .join(Product.vendor)
            .options(joinedload(Product.vendor))
            .where(Product.id.in_([h.product_id for h in batch]))
            .where(Organisation.status == ApprovalStatus.APPROVED, Product.category != UNCLASSIFIED)
        )
        if filters.max_price is not None:
            query = query.where(Product.price_chf <= filters.max_price)
        if filters.in_stock_only:
            query = query.where(Product.stock > 0, Product.available.is_(True))
        return query


def build_index(uow: UnitOfWork, default_language: str = "fr", taxonomy: Taxonomy | None = None) -> SearchIndex:
    from catalog.search import IndexedProduct, SearchIndex

    rows = uow.session.execute(
        select(Product.id, Product.names, Product.category, Product.labels, Product.vendor_id, Organisation.name)
        .join(Product.vendor)
        .where(Product.available.is_(True), Product.category != UNCLASSIFIED)
    )
    return SearchIndex(
        (IndexedProduct(pid, names, cat, labs, vid, vname) for pid, names, cat, labs, vid, vname in rows),
        default_language,
        taxonomy,
    )


def classify_product(
    uow: UnitOfWork, vendor_slug: str, sku: str, category: str, taxonomy: Taxonomy | None = None
) -> Product:
    """An admin gives a product its category (`category`: our slug, or any word the taxonomy maps onto one). A
    product that was to classify becomes available: its source offered it for sale. The caller commits."""
    taxonomy = taxonomy or base_taxonomy()
    product = find_product(uow, vendor_slug, sku)
    slug = taxonomy.category_slug(category)
    if slug is None:
        raise InvalidInput(field="category", value=category)
    was_to_classify = product.category == UNCLASSIFIED
    product.category = slug
    product.classify_word = ""
    product.kind = taxonomy.kind_of(slug, product.unit)
    if was_to_classify:
        product.available = True
    bump_revision(uow)
    uow.session.flush()
    return product


def catalog_counts(uow: UnitOfWork) -> dict[str, int]:
    return {
        "vendors": uow.session.scalar(select(func.count(Organisation.id))) or 0,
        "products": uow.session.scalar(select(func.count(Product.id))) or 0,
    }
