"""schema.org `Product`/`Offer` JSON-LD (what shops publish for search engines): read into neutral items, ours
written out.

Read: `name`, `description`, `sku`, `gtin13` (or `gtin`, `gtin14`, `gtin12`, `gtin8`), `category`, `image`,
`hasCertification` (labels), `countryOfOrigin`, and the first `offers` with a price: `price` (or its
`priceSpecification`'s), `priceCurrency`, `availability`, `inventoryLevel` (stock), `seller` (the enterprise), and
the quantity a price is for (`priceSpecification.referenceQuantity` or `eligibleQuantity`, UN/CEFACT unit codes:
KGM, GRM, LTR, MLT, CLT, HUR; anything else is a piece). Prices as in dfc.py: CHF only (none stated: CHF), VAT
included (a price marked `valueAddedTaxIncluded: false` is a problem), never float.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from catalog.feeds.dfc import MAX_ID, enterprise_id, quantity_of, unit_code
from catalog.feeds.items import Feed, FeedEnterprise, FeedItem, FeedProblem, FeedUnreadable
from catalog.feeds.jsonld import (
    MAX_BYTES,
    MAX_DEPTH,
    SCHEMA_ORG_CONTEXT_URL,
    Graph,
    ItemError,
    Literal,
    Node,
    Ref,
    decimal_of,
    first,
    language_values,
    local_name,
    read_graph,
    texts_of,
)
from catalog.models import Product
from catalog.taxonomy import format_quantity, labels

log = logging.getLogger(__name__)

PRODUCT_TYPES = ("schema:Product", "schema:IndividualProduct", "schema:ProductModel")
OFFER_TYPES = ("schema:Offer", "schema:AggregateOffer")
GTIN_PROPERTIES = ("schema:gtin13", "schema:gtin", "schema:gtin14", "schema:gtin12", "schema:gtin8")
# Our `available` is "offered at all" and stock says how many: Discontinued is withdrawn, OutOfStock is none left.
WITHDRAWN = {"Discontinued"}
NONE_LEFT = {"OutOfStock", "SoldOut"}
# UN/CEFACT common codes (what schema.org's unitCode expects) -> DFC units, read by dfc.unit_code.
UNIT_CODES = {"KGM": "dfc-m:Kilogram", "GRM": "dfc-m:Gram", "LTR": "dfc-m:Litre", "MLT": "dfc-m:Millilitre",
              "CLT": "dfc-m:Centilitre", "HUR": "dfc-m:Hour", "H87": "dfc-m:Piece", "C62": "dfc-m:Piece"}  # fmt: skip
DFC_UNIT_CODES = {dfc: code for code, dfc in UNIT_CODES.items() if code != "C62"}
MAX_NAME = 200
MAX_TEXT = 5000


def parse_schema_org(
    raw: bytes, *, default_language: str = "fr", max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Feed:
    """schema.org JSON-LD (one Product, a list, an ItemList or a @graph of them) -> Feed; see parse_dfc for what
    is unreadable and what is a problem for one item."""
    graph = read_graph(raw, max_bytes, max_depth)
    if not any(t.startswith("schema:") for node in graph.nodes.values() for t in node.types):
        raise FeedUnreadable("no schema.org type in this document")
    feed = Feed()
    enterprises: dict[str, FeedEnterprise] = {}
    seen: set[str] = set()
    for node in graph.of_type(*PRODUCT_TYPES):
        try:
            item = _item(graph, node, default_language, enterprises)
        except ItemError as exc:
            feed.problems.append(FeedProblem("" if node.id.startswith("_:") else node.id[:MAX_ID], str(exc)))
            continue
        if item.external_id in seen:
            feed.problems.append(FeedProblem(item.external_id, "the same product twice"))
            continue
        seen.add(item.external_id)
        feed.items.append(item)
    feed.enterprises = list(enterprises.values())
    log.info("schema.org feed read: %s items, %s problems", len(feed.items), len(feed.problems))
    return feed


def _item(graph: Graph, node: Node, language: str, enterprises: dict[str, FeedEnterprise]) -> FeedItem:
    sku = _text(graph, node, "schema:sku", 64)
    gtin = next((g for g in (_text(graph, node, p, 14) for p in GTIN_PROPERTIES) if g), "")
    if gtin and not re.fullmatch(r"\d{8,14}", gtin):
        raise ItemError(f"gtin {gtin!r} is not 8 to 14 digits")
    external_id = node.id if not node.id.startswith("_:") else (sku or gtin)
    if not external_id:
        raise ItemError("no stable id: no @id, sku or gtin")
    if len(external_id) > MAX_ID:
        raise ItemError(f"id longer than {MAX_ID} characters")
    names = texts_of(node, "schema:name", language, MAX_NAME)
    if not names:
        raise ItemError("product has no name")
    price, available, stock, unit, seller = _offer(graph, node)
    enterprise = ""
    if seller is not None:
        name = _text(graph, seller, "schema:name", MAX_NAME)
        enterprise = (seller.id if not seller.id.startswith("_:") else name)[:MAX_ID]
        if enterprise:
            place = ""
            for address in graph.linked(seller, "schema:address"):
                place = _text(graph, address, "schema:addressLocality", 80)
            enterprises.setdefault(enterprise, FeedEnterprise(enterprise, name or enterprise, place))
    return FeedItem(
        external_id=external_id,
        enterprise_id=enterprise,
        names=names,
        descriptions=texts_of(node, "schema:description", language, MAX_TEXT),
        category_word=_text(graph, node, "schema:category", 200),
        label_words=tuple(filter(None, (_label(graph, value) for value in node.values("schema:hasCertification")))),
        unit=unit,
        price_chf=price,
        stock=stock,
        available=available,
        sku=sku,
        gtin=gtin,
        origin_place=_text(graph, node, "schema:countryOfOrigin", 80),
        photo_url=_image(graph, node),
    )


def _offer(graph: Graph, product: Node) -> tuple[Decimal, bool, Decimal | None, str, Node | None]:
    """(price, available, stock, unit, seller) from the first offer with a price."""
    for offer in graph.linked(product, "schema:offers"):
        specification = first(graph.linked(offer, "schema:priceSpecification"), None)
        price_values = offer.values("schema:price") or offer.values("schema:lowPrice")
        source = offer
        if not price_values and specification is not None:
            price_values, source = specification.values("schema:price"), specification
        if not price_values:
            continue
        amount = decimal_of(_literal(price_values[0]), "price")
        currency = _text(graph, source, "schema:priceCurrency", 20) or _text(graph, offer, "schema:priceCurrency", 20)
        if currency and currency.upper() != "CHF":
            raise ItemError(f"price in {currency}, not in Swiss francs")
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise ItemError(f"price {amount} is not an amount in francs with at most 2 decimals")
        vat_flags = specification.literals("schema:valueAddedTaxIncluded") if specification is not None else []
        if any(flag.value is False for flag in vat_flags):
            raise ItemError("price given without VAT: our prices include it")
        availability = local_name(first(offer.ids("schema:availability"), ""))
        stock = _quantity_value(graph, offer, "schema:inventoryLevel")
        if stock is None and availability in NONE_LEFT:
            stock = Decimal(0)
        quantities = (graph.linked(specification, "schema:referenceQuantity") if specification else []) + graph.linked(
            offer, "schema:eligibleQuantity"
        )
        seller = first(graph.linked(offer, "schema:seller"), None)
        return amount.quantize(Decimal("0.01")), availability not in WITHDRAWN, stock, _unit(graph, quantities), seller
    raise ItemError("no offer with a price")


def _unit(graph: Graph, quantities: list[Node]) -> str:
    if not quantities:
        return "piece"
    quantity = quantities[0]
    code = _text(graph, quantity, "schema:unitCode", 10).upper()
    value = decimal_of(quantity.values("schema:value")[0], "quantity") if quantity.values("schema:value") else None
    return unit_code(UNIT_CODES.get(code, "dfc-m:Piece"), value)


def _quantity_value(graph: Graph, node: Node, prop: str) -> Decimal | None:
    """A number given directly or as a QuantitativeValue's `value`; None when absent."""
    values = node.values(prop)
    if not values:
        return None
    linked = graph.get(values[0].id) if isinstance(values[0], Ref) else None
    if linked is not None:
        if not linked.values("schema:value"):
            return None
        values = linked.values("schema:value")
    number = decimal_of(_literal(values[0]), prop.removeprefix("schema:"))
    return None if number < 0 else number


def _literal(value: Literal | Ref) -> Literal:
    return value if isinstance(value, Literal) else Literal(value.id)


def _text(graph: Graph, node: Node, prop: str, limit: int) -> str:
    """One text: a literal (numbers as written), or a linked thing's name (a Country, a category Thing)."""
    values = node.values(prop)
    if not values:
        return ""
    value = values[0]
    if isinstance(value, Ref):
        linked = graph.get(value.id)
        return _text(graph, linked, "schema:name", limit) if linked is not None else value.id[:limit]
    if isinstance(value.value, bool) or not isinstance(value.value, str | int):
        raise ItemError(f"{prop.removeprefix('schema:')} is not text")
    text = str(value.value).strip()
    if len(text) > limit:
        raise ItemError(f"{prop.removeprefix('schema:')} longer than {limit} characters")
    return text


def _label(graph: Graph, value: Literal | Ref) -> str:
    if isinstance(value, Literal):
        return value.value.strip()[:200] if isinstance(value.value, str) else ""
    node = graph.get(value.id)
    if node is None:
        return value.id[:500]
    return _text(graph, node, "schema:identifier", 200) or _text(graph, node, "schema:name", 200)


def _image(graph: Graph, node: Node) -> str:
    for value in node.values("schema:image"):
        linked = graph.get(value.id) if isinstance(value, Ref) else None
        if linked is not None:  # an ImageObject
            return _text(graph, linked, "schema:contentUrl", 500) or _text(graph, linked, "schema:url", 500)
        text = value.id if isinstance(value, Ref) else value.value
        if isinstance(text, str) and len(text) <= 500:
            return text.strip()
    return ""


# --- writing -----------------------------------------------------------------------------------------------------


def export_schema_org(
    products: Iterable[Product], base_url: str, *, languages: Sequence[str] | None = None
) -> dict[str, Any]:
    """Our catalog rows as schema.org JSON-LD: an Organization per vendor, a Product per row with its Offer (price
    in CHF, VAT included, availability, stock, the quantity the price is for). Same @ids as the DFC export, so a
    product has one IRI whatever the format; `json.dumps`-able, numbers as strings."""
    rows = sorted(products, key=lambda p: (p.vendor.slug, p.sku))
    graph: list[dict[str, Any]] = []
    sellers: set[str] = set()
    for product in rows:
        vendor = product.vendor
        seller = enterprise_id(base_url, vendor.slug)
        if seller not in sellers:
            sellers.add(seller)
            organisation: dict[str, Any] = {"@id": seller, "@type": "Organization", "name": vendor.name}
            if vendor.place:
                organisation["address"] = {"@type": "PostalAddress", "addressLocality": vendor.place}
            graph.append(organisation)
        graph.append(_product(product, f"{seller}/catalog_items/", seller, languages))
    return {"@context": SCHEMA_ORG_CONTEXT_URL, "@graph": graph}


def _product(product: Product, prefix: str, seller: str, languages: Sequence[str] | None) -> dict[str, Any]:
    dfc_unit, size = quantity_of(product.unit)
    availability = "InStock" if product.stock > 0 else "OutOfStock"
    price = f"{product.price_chf:.2f}"
    node: dict[str, Any] = {
        "@id": prefix + quote(product.sku, safe=""),
        "@type": "Product",
        "name": language_values(product.names, languages),
        "sku": product.sku,
        "category": product.category,
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": "CHF",
            "availability": "https://schema.org/" + (availability if product.available else "Discontinued"),
            "inventoryLevel": {"@type": "QuantitativeValue", "value": format_quantity(product.stock)},
            "seller": {"@id": seller},
            "priceSpecification": {
                "@type": "UnitPriceSpecification",
                "price": price,
                "priceCurrency": "CHF",
                "valueAddedTaxIncluded": True,
                "referenceQuantity": {
                    "@type": "QuantitativeValue",
                    "value": size,
                    "unitCode": DFC_UNIT_CODES[dfc_unit],
                },
            },
        },
    }
    description = language_values(product.descriptions or {}, languages)
    if description:
        node["description"] = description
    if product.labels:
        known = labels()
        node["hasCertification"] = [
            {"@type": "Certification", "identifier": slug,
             "name": known[slug].name((languages or ["fr"])[0]) if slug in known else slug}
            for slug in product.labels
        ]  # fmt: skip
    if product.photo_url.startswith(("https://", "http://")):
        node["image"] = product.photo_url
    return node
