"""Our documented CSV import columns (catalog/csv_io.py, README) read as a feed: the same neutral items as DFC and
schema.org, so a producer's spreadsheet can be a scheduled source like any platform.

Unlike `csv_io.import_products`, nothing is checked against our taxonomy here: categories and labels stay the
producer's words for the sync to map. A row that cannot be read (a price that is not a number, an unknown unit,
no name) is a problem for that row; the file as a whole is unreadable only when it is not our CSV at all.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from decimal import Decimal

from catalog.csv_io import COLUMNS, LANGUAGES
from catalog.feeds.items import Feed, FeedEnterprise, FeedItem, FeedProblem, FeedUnreadable
from catalog.feeds.jsonld import MAX_BYTES
from catalog.services import parse_decimal
from catalog.taxonomy import parse_unit
from marketplace.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_NAME = 200
MAX_TEXT = 5000
MAX_FIELD = 20000  # the csv module's own limit (128 KiB a cell) is far above any real cell


def parse_csv(raw: bytes, *, vat_rates: Mapping[str, Decimal] | None = None, max_bytes: int = MAX_BYTES) -> Feed:
    """Our CSV (bytes, UTF-8) -> Feed. Each row is an item of enterprise `vendor`, external id "vendor/sku".

    `vat_rates` (settings.vat_rates) turns the row's vat_class into FeedItem.vat_rate_pct; without it the rate is
    left None. `origin` is kept as written ("Troinex (5 km)"; csv_io.parse_origin splits it)."""
    if len(raw) > max_bytes:
        raise FeedUnreadable(f"feed is {len(raw)} bytes, more than the limit of {max_bytes}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedUnreadable("CSV is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise FeedUnreadable(f"not CSV: {exc}") from None
    if missing:
        raise FeedUnreadable(f"missing column(s): {', '.join(missing)}")
    feed = Feed()
    vendors: dict[str, FeedEnterprise] = {}
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            try:
                item = _item(row, vat_rates)
            except ValueError as exc:
                key = f"{(row.get('vendor') or '').strip()}/{(row.get('sku') or '').strip()}"
                feed.problems.append(FeedProblem(key if key != "/" else "", f"line {line}: {exc}"))
                continue
            if item.external_id in seen:
                feed.problems.append(FeedProblem(item.external_id, f"line {line}: same vendor and sku as line "
                                                 f"{seen[item.external_id]}"))  # fmt: skip
                continue
            seen[item.external_id] = line
            vendors.setdefault(item.enterprise_id, FeedEnterprise(item.enterprise_id, item.enterprise_id))
            feed.items.append(item)
    except csv.Error as exc:
        raise FeedUnreadable(f"not CSV at line {reader.line_num}: {exc}") from None
    feed.enterprises = list(vendors.values())
    log.info("CSV feed read: %s items, %s problems", len(feed.items), len(feed.problems))
    return feed


def _cell(row: Mapping[str, str | None], column: str, limit: int = MAX_TEXT) -> str:
    value = row.get(column)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > min(limit, MAX_FIELD):
        raise ValueError(f"{column} longer than {limit} characters")
    return text


def _item(row: dict[str | None, str | None], vat_rates: Mapping[str, Decimal] | None) -> FeedItem:
    if None in row:
        raise ValueError("more cells than columns")
    cells: dict[str, str | None] = {k: v for k, v in row.items() if k is not None}
    vendor, sku = _cell(cells, "vendor", 64), _cell(cells, "sku", 64)
    if not vendor or not sku:
        raise ValueError("vendor and sku are needed")
    names = {lang: name for lang in LANGUAGES if (name := " ".join(_cell(cells, f"name_{lang}", MAX_NAME).split()))}
    if not names:
        raise ValueError("no name in any language")
    try:
        price = parse_decimal(_cell(cells, "price_chf", 40), "price_chf")
        stock = parse_decimal(_cell(cells, "stock", 40) or "0", "stock")
    except InvalidInput as exc:
        raise ValueError(f"{exc.params['field']} {str(exc.params['value'])[:40]!r} is not a number") from None
    if price < 0 or price != price.quantize(Decimal("0.01")):
        raise ValueError(f"price {price} is not an amount in francs with at most 2 decimals")
    if stock < 0:
        raise ValueError(f"stock {stock} is negative")
    try:
        unit = parse_unit(_cell(cells, "unit", 40)).code
    except ValueError:
        raise ValueError(f"unknown unit {_cell(cells, 'unit', 40)!r}") from None
    vat_class = _cell(cells, "vat_class", 40)
    if vat_rates is not None and vat_class not in vat_rates:
        raise ValueError(f"vat_class must be one of {', '.join(sorted(vat_rates))}, not {vat_class!r}")
    return FeedItem(
        external_id=f"{vendor}/{sku}",
        enterprise_id=vendor,
        names=names,
        descriptions={lang: text for lang in LANGUAGES if (text := _cell(cells, f"description_{lang}"))},
        category_word=_cell(cells, "category", 200),
        label_words=tuple(w.strip() for w in _cell(cells, "labels", 1000).split(";") if w.strip()),
        unit=unit,
        price_chf=price.quantize(Decimal("0.01")),
        vat_rate_pct=vat_rates[vat_class] if vat_rates is not None else None,
        stock=stock,
        sku=sku,
        origin_place=_cell(cells, "origin", 200),
        photo_url=_cell(cells, "photo_url", 500),
    )
