"""What any feed format is read into: neutral items, the same whatever the source's format.

A parser (catalog/feeds/dfc.py, schema_org.py, csv_feed.py) turns a source's bytes into a `Feed`; the sync
(catalog/sync.py) compares it with what the source put in our catalog and applies the difference. Words are kept
as the source wrote them (category, labels): mapping them onto our taxonomy is the sync's job, per source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class FeedEnterprise:
    """A producer or shop inside a feed (a sectoral marketplace's feed carries many)."""

    external_id: str
    name: str
    place: str = ""


@dataclass(frozen=True)
class FeedItem:
    """One product as its source describes it."""

    external_id: str  # stable id at the source (a DFC CatalogItem/SuppliedProduct @id, a schema.org sku or @id)
    enterprise_id: str  # FeedEnterprise.external_id; "" when the whole feed is one vendor's
    names: dict[str, str]  # language -> name; at least one
    descriptions: dict[str, str] = field(default_factory=dict)
    category_word: str = ""  # the source's own word or IRI fragment ("flour", "dfc-pt:apple"), unmapped
    label_words: tuple[str, ...] = ()  # the source's own words ("fairtrade", "organic")
    unit: str = "piece"  # our unit code: piece, kg, l, hour, or a pack such as "500 g"
    price_chf: Decimal = Decimal(0)  # VAT-inclusive, as in our catalog
    vat_rate_pct: Decimal | None = None  # as stated by the source, if any
    stock: Decimal | None = None  # None: the source states no limit
    available: bool = True
    sku: str = ""
    gtin: str = ""
    origin_place: str = ""
    photo_url: str = ""


@dataclass(frozen=True)
class FeedProblem:
    """Why one item (or the whole feed, item_id "") cannot be read."""

    item_id: str
    message: str  # English, for the admin's report; never shown to consumers


@dataclass
class Feed:
    items: list[FeedItem] = field(default_factory=list)
    enterprises: list[FeedEnterprise] = field(default_factory=list)
    problems: list[FeedProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


class FeedUnreadable(ValueError):
    """The bytes are not a feed of this format at all (not JSON, too big, too deep): nothing can be read."""
