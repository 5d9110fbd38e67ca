"""The Data Food Consortium's JSON-LD (DFC 1.16 and 2.0): catalogs read into neutral items, ours written out.

Reading follows what the DFC connectors and Open Food Network's DFC API write: an `Enterprise` (2.0:
`Organization`) `manages` `CatalogItem`s and `supplies` `SuppliedProduct`s; a `CatalogItem` `references` its
`SuppliedProduct`, has a `sku` and a `stockLimitation` and is `offeredThrough` an `Offer` whose `hasPrice` is a
`Price` (`value`, `VATrate`, `hasUnit` currency); a `SuppliedProduct` has a `name`, `description`, `hasType`
(product type), `hasQuantity` (a `QuantitativeValue`: `hasUnit`, `value`), `hasCertification`/`hasClaim`
(labels), `hasGeographicalOrigin` and `image`. Links are read in both directions (`referencedBy`, `offeredItem`,
`managedBy`, `suppliedBy`), as platforms write one or the other.

Choices (see also contexts/README.md):
- A price is the price as stated, VAT included, as in our catalog (the DFC states no convention; OFN sends its
  variant price). A price with no currency is taken as CHF; any other currency is a problem for that item. The
  DFC measures have no Swiss franc yet: we write `dfc-m:SwissFranc`, and read that, "CHF" or any IRI ending in CHF.
- A negative `stockLimitation` means "no limit" (OFN: backorderable); none given: no limit either.
- A quantity of 1 kg or 1 l is loose goods by the kilo or litre (our "kg", "l"); other quantities are packs
  ("500 g", "75 cl"); 1 000 g or ml read as "1 kg" or "1 l"; a weight or volume of 0 is one piece (as OFN does).
- Words stay the source's (compact IRIs such as `dfc-pt:honey`, `dfc-f:Organic-EU`): mapping them onto our
  taxonomy is the sync's job; `category_slug` (every DFC product type), `label_slug` and `dfc_category_words`,
  `DFC_LABEL_WORDS` give the obvious mapping, for a DFC source's word mapping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote

from catalog.feeds.items import Feed, FeedEnterprise, FeedItem, FeedProblem, FeedUnreadable
from catalog.feeds.jsonld import (
    CONTEXT_DIR,
    DFC_CONTEXT_URL,
    MAX_BYTES,
    MAX_DEPTH,
    Graph,
    ItemError,
    Literal,
    Node,
    decimal_of,
    first,
    language_values,
    local_name,
    read_graph,
    texts_of,
)
from catalog.models import Product
from catalog.taxonomy import format_quantity, parse_unit

log = logging.getLogger(__name__)

ENTERPRISE_TYPES = ("dfc-b:Enterprise", "dfc-b:Organization")
CHF = "dfc-m:SwissFranc"  # not (yet) in the DFC measures taxonomy: see the module docstring
HOUR = "dfc-m:Hour"  # idem: our services sell by the hour
MAX_NAME = 200  # order lines copy a name into 200 characters
MAX_TEXT = 5000
MAX_ID = 500

# DFC quantity units -> (our measure, factor to it). Every other unit (Piece, Bottle, Jar, Dozen…) is one piece.
MASS = {"dfc-m:Milligram": Decimal("0.001"), "dfc-m:Gram": Decimal(1), "dfc-m:Kilogram": Decimal(1000),
        "dfc-m:Tonne": Decimal(1000000), "dfc-m:PoundMass": Decimal("453.59237")}  # fmt: skip
VOLUME = {"dfc-m:Millilitre": Decimal(1), "dfc-m:Centilitre": Decimal(10), "dfc-m:Decilitre": Decimal(100),
          "dfc-m:Litre": Decimal(1000), "dfc-m:Gallon": Decimal("4546.09")}  # fmt: skip
LOOSE = {"dfc-m:Kilogram": "kg", "dfc-m:Litre": "l"}
HOUR_UNITS = {HOUR, "http://qudt.org/vocab/unit/HR"}
PACK_UNITS = {"g": "dfc-m:Gram", "kg": "dfc-m:Kilogram", "ml": "dfc-m:Millilitre", "cl": "dfc-m:Centilitre",
              "l": "dfc-m:Litre"}  # fmt: skip
PACK_MEASURES = {iri: measure for measure, iri in PACK_UNITS.items()}

# Our category slugs -> the nearest DFC product type (services have none).
CATEGORY_TYPES = {
    "vegetables": "dfc-pt:vegetable", "fruit": "dfc-pt:fruit", "cheese": "dfc-pt:mature-cheese",
    "dairy": "dfc-pt:dairy-product", "eggs": "dfc-pt:egg", "bakery": "dfc-pt:bakery", "meat": "dfc-pt:meat-product",
    "charcuterie": "dfc-pt:delicatessen", "honey": "dfc-pt:honey", "wine": "dfc-pt:wine", "beer": "dfc-pt:beer",
    "drinks": "dfc-pt:drink", "grocery": "dfc-pt:local-grocery-store", "household": "dfc-pt:inedible",
    "grains": "dfc-pt:savory-groceries", "oils": "dfc-pt:oil", "sweets": "dfc-pt:sweet-groceries",
}  # fmt: skip
# Our label slugs -> DFC facets; vegan and gluten-free are claims, the others certifications. Labels with no DFC
# facet (GRTA, Bio Suisse, zero waste) are written as {base_url}/api/dfc/labels/{slug}.
LABEL_FACETS = {"organic": "dfc-f:OrganicLabel", "aop": "dfc-f:AOP_EU", "fair_trade": "dfc-f:FairTradeMaxHaavelar",
                "vegan": "dfc-f:Vegan", "gluten_free": "dfc-f:GlutenFree"}  # fmt: skip
CLAIMS = {"vegan", "gluten_free"}
DFC_LABEL_WORDS = {dfc: ours for ours, dfc in LABEL_FACETS.items()} | {
    "dfc-f:Organic-EU": "organic", "dfc-f:Organic-AB": "organic", "dfc-f:Organic-BioCoherence": "organic",
    "dfc-f:NatureEtProgres": "organic", "dfc-f:AOC_FR": "aop",
}  # fmt: skip
LABEL_PATH = "/api/dfc/labels/"


# --- reading -----------------------------------------------------------------------------------------------------


def parse_dfc(
    raw: bytes, *, default_language: str = "fr", max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Feed:
    """A DFC JSON-LD catalog (bytes) -> Feed. Untagged names are in `default_language`.

    FeedUnreadable when the bytes are not a DFC document at all (too big, too deep, not JSON, a context we do not
    ship); an item with wrong or missing values is a FeedProblem and the others are still read."""
    graph = read_graph(raw, max_bytes, max_depth)
    feed = Feed()
    owner = _enterprises(graph, feed)
    catalog_items = graph.of_type("dfc-b:CatalogItem")
    if not catalog_items:
        if not graph.of_type("dfc-b:SuppliedProduct", *ENTERPRISE_TYPES):
            raise FeedUnreadable("no DFC catalog item, supplied product or enterprise in this document")
        if graph.of_type("dfc-b:SuppliedProduct"):
            feed.problems.append(FeedProblem("", "supplied products without catalog items: no price, no stock"))
        return feed
    seen: set[str] = set()
    for ci in catalog_items:
        try:
            item = _item(graph, ci, owner, default_language)
        except ItemError as exc:
            feed.problems.append(FeedProblem(ci.id[:MAX_ID] if not ci.id.startswith("_:") else "", str(exc)))
            continue
        if item.external_id in seen:
            feed.problems.append(FeedProblem(item.external_id, "the same catalog item twice"))
            continue
        seen.add(item.external_id)
        feed.items.append(item)
    known = {e.external_id for e in feed.enterprises}
    for enterprise in dict.fromkeys(i.enterprise_id for i in feed.items if i.enterprise_id not in known):
        if enterprise:  # named by `managedBy` only (OFN's catalog_items list): the sync maps it by its id
            feed.enterprises.append(FeedEnterprise(enterprise, enterprise[:MAX_NAME]))
    log.info("DFC feed read: %s items, %s enterprises, %s problems", len(feed.items), len(feed.enterprises),
             len(feed.problems))  # fmt: skip
    return feed


def _enterprises(graph: Graph, feed: Feed) -> dict[str, str]:
    """Fill feed.enterprises; return catalog item and supplied product ids -> their enterprise's id."""
    owner: dict[str, str] = {}
    for node in graph.of_type(*ENTERPRISE_TYPES):
        names = [v.value for v in node.literals("dfc-b:name") if isinstance(v.value, str)]
        place = ""
        for address in graph.linked(node, "dfc-b:hasAddress"):
            place = next((v.value for v in address.literals("dfc-b:hasCity") if isinstance(v.value, str)), place)
        name = (names[0].strip() if names else "") or node.id
        feed.enterprises.append(FeedEnterprise(node.id[:MAX_ID], name[:MAX_NAME], place.strip()[:80]))
        for prop in ("dfc-b:manages", "dfc-b:supplies"):
            for target in node.ids(prop):
                owner.setdefault(target, node.id)
    for node in graph.nodes.values():
        for enterprise in node.ids("dfc-b:managedBy") + node.ids("dfc-b:suppliedBy"):
            owner.setdefault(node.id, enterprise)
    return owner


def _item(graph: Graph, ci: Node, owner: Mapping[str, str], default_language: str) -> FeedItem:
    products = graph.linked(ci, "dfc-b:references") or graph.linking("dfc-b:referencedBy", ci.id)
    if not products:
        raise ItemError("catalog item references no supplied product")
    sp = products[0]
    external_id = next((i for i in (ci.id, sp.id) if not i.startswith("_:")), "")
    sku = _text(ci, "dfc-b:sku", 64)
    if not external_id:
        external_id = sku
    if not external_id:
        raise ItemError("no stable id: catalog item and supplied product are blank nodes, and no sku")
    if len(external_id) > MAX_ID:
        raise ItemError(f"id longer than {MAX_ID} characters")
    names = texts_of(sp, "dfc-b:name", default_language, MAX_NAME)
    if not names:
        raise ItemError("supplied product has no name")
    price, vat, offer_stock = _offer(graph, ci)
    stock = _stock(ci) if ci.values("dfc-b:stockLimitation") else offer_stock
    return FeedItem(
        external_id=external_id,
        enterprise_id=owner.get(ci.id) or owner.get(sp.id) or "",
        names=names,
        descriptions=texts_of(sp, "dfc-b:description", default_language, MAX_TEXT),
        category_word=_word(sp, "dfc-b:hasType"),
        label_words=tuple(w for prop in ("dfc-b:hasCertification", "dfc-b:hasClaim") for w in _words(sp, prop)),
        unit=_unit(graph, sp),
        price_chf=price,
        vat_rate_pct=vat,
        stock=stock,
        sku=sku,
        origin_place=local_name(_word(sp, "dfc-b:hasGeographicalOrigin")),
        photo_url=_text(sp, "dfc-b:image", 500),
    )


def _offer(graph: Graph, ci: Node) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """(price, VAT rate, stock limit) of the catalog item's offer; one to everyone is preferred."""
    offers = graph.linked(ci, "dfc-b:offeredThrough") + graph.linking("dfc-b:offeredItem", ci.id)
    offers.sort(key=lambda o: bool(o.values("dfc-b:offeredTo")))
    for offer in offers:
        for value in offer.values("dfc-b:hasPrice") + offer.values("dfc-b:price"):
            node = None if isinstance(value, Literal) else graph.get(value.id)
            if node is None:  # a bare amount (older platforms); `hasPrice` is an IRI property, so it may arrive as one
                bare = value if isinstance(value, Literal) else Literal(value.id)
                amount, vat, currency = decimal_of(bare, "price"), None, ""
            else:
                if not node.values("dfc-b:value"):
                    continue
                amount = decimal_of(node.values("dfc-b:value")[0], "price")
                vat = decimal_of(node.values("dfc-b:VATrate")[0], "VAT rate") if node.values("dfc-b:VATrate") else None
                currency = first(node.ids("dfc-b:hasUnit"), "")
            if not _is_chf(currency):
                raise ItemError(f"price in {currency[:80]}, not in Swiss francs")
            if amount < 0 or amount != amount.quantize(Decimal("0.01")):
                raise ItemError(f"price {amount} is not an amount in francs with at most 2 decimals")
            if vat is not None and not Decimal(0) <= vat <= Decimal(100):
                raise ItemError(f"VAT rate {vat} is not a percentage")
            stock = _stock(offer) if offer.values("dfc-b:stockLimitation") else None
            return amount.quantize(Decimal("0.01")), vat, stock
    raise ItemError("no offer with a price")


def _is_chf(currency: str) -> bool:
    return not currency or currency == CHF or currency.upper().endswith("CHF")


def _stock(node: Node) -> Decimal | None:
    value = decimal_of(node.values("dfc-b:stockLimitation")[0], "stockLimitation")
    return None if value < 0 else value


def _unit(graph: Graph, sp: Node) -> str:
    """Our unit code for the supplied product's quantity (see the module docstring)."""
    quantities = graph.linked(sp, "dfc-b:hasQuantity")
    if not quantities:
        return "piece"
    quantity = quantities[0]
    unit = first(quantity.ids("dfc-b:hasUnit"), "")
    value = decimal_of(quantity.values("dfc-b:value")[0], "quantity") if quantity.values("dfc-b:value") else None
    return unit_code(unit, value)


def unit_code(unit: str, value: Decimal | None) -> str:
    """Our unit code for a quantity in a DFC unit (also used for schema.org's UN/CEFACT codes, mapped first)."""
    if unit in HOUR_UNITS:
        return "hour"
    if unit in LOOSE and value in (None, Decimal(1)):
        return LOOSE[unit]
    if value is None or value <= 0 or (unit not in MASS and unit not in VOLUME):
        return "piece"
    if unit in ("dfc-m:Kilogram", "dfc-m:Litre", "dfc-m:Centilitre"):
        code = f"{format_quantity(value)} {PACK_MEASURES[unit]}"
    else:
        base, big, small = (value * MASS[unit], "kg", "g") if unit in MASS else (value * VOLUME[unit], "l", "ml")
        code = f"{format_quantity(base / 1000)} {big}" if base % 1000 == 0 else f"{format_quantity(base)} {small}"
    try:
        return parse_unit(code).code
    except ValueError:
        raise ItemError(f"quantity {value} {unit[:80]} is not a unit we sell by") from None


def unit_amount(code: str) -> tuple[str, Decimal]:
    """What a unit code measures and how much: "500 g" -> ("mass", 500), "kg" -> ("mass", 1000), "75 cl" ->
    ("volume", 750), "piece" -> ("piece", 1). Two codes for the same amount (1000 g, 1 kg) compare equal."""
    unit = parse_unit(code).code
    if unit in ("piece", "hour"):
        return unit, Decimal(1)
    if unit in ("kg", "l"):
        return ("mass" if unit == "kg" else "volume"), Decimal(1000)
    size, measure = unit.split(" ")
    factor = {"g": (Decimal(1), "mass"), "kg": (Decimal(1000), "mass"), "ml": (Decimal(1), "volume"),
              "cl": (Decimal(10), "volume"), "l": (Decimal(1000), "volume")}[measure]  # fmt: skip
    return factor[1], Decimal(size) * factor[0]


def _text(node: Node, prop: str, limit: int) -> str:
    literals = node.literals(prop)
    if not literals:
        return ""
    if not isinstance(literals[0].value, str | int) or isinstance(literals[0].value, bool):
        raise ItemError(f"{prop.removeprefix('dfc-b:')} is not text")
    text = str(literals[0].value).strip()
    if len(text) > limit:
        raise ItemError(f"{prop.removeprefix('dfc-b:')} longer than {limit} characters")
    return text


def _words(node: Node, prop: str) -> list[str]:
    """Concept references as compact IRIs (or whole IRIs), literal words as written."""
    return [w.strip()[:500] for w in node.ids(prop)]


def _word(node: Node, prop: str) -> str:
    return first(_words(node, prop), "")


@cache
def dfc_category_words() -> dict[str, str]:
    """Every DFC product type (dfc-pt:carrot, dfc-pt:goat-mature-cheese…) -> our category, through its nearest
    ancestor in the DFC taxonomy that we map (contexts/README.md): what a DFC source's category words mean."""
    shipped = json.loads((CONTEXT_DIR / "dfc_product_types.json").read_text(encoding="utf-8"))["categories"]
    return shipped | {dfc: ours for ours, dfc in CATEGORY_TYPES.items()}


def __getattr__(name: str) -> Any:
    """`DFC_CATEGORY_WORDS`: the table above as a module constant, read from its file on first use, not at import."""
    if name == "DFC_CATEGORY_WORDS":
        return dfc_category_words()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def category_slug(word: str) -> str | None:
    """Our category for a DFC product type word, None when the DFC taxonomy has no match for it here."""
    return dfc_category_words().get(word)


def label_slug(word: str) -> str | None:
    """Our label for a DFC label word: a DFC facet we know, or one of our own exported label IRIs."""
    if word in DFC_LABEL_WORDS:
        return DFC_LABEL_WORDS[word]
    if LABEL_PATH in word:
        return word.rsplit(LABEL_PATH, 1)[1].strip("/") or None
    return None


# --- writing -----------------------------------------------------------------------------------------------------


def enterprise_id(base_url: str, vendor_slug: str) -> str:
    return f"{base_url.rstrip('/')}/api/dfc/enterprises/{quote(vendor_slug, safe='')}"


def _ids(base_url: str, product: Product) -> tuple[str, str, str]:
    """(catalog item, supplied product, offer) @ids: stable, from the vendor's slug and the product's sku."""
    enterprise = enterprise_id(base_url, product.vendor.slug)
    sku = quote(product.sku, safe="")
    return f"{enterprise}/catalog_items/{sku}", f"{enterprise}/supplied_products/{sku}", f"{enterprise}/offers/{sku}"


def quantity_of(unit_code: str) -> tuple[str, str]:
    """Our unit -> (DFC unit, value) for `hasQuantity`; 1 kg and 1 l packs are written in g and ml, so that they
    read back as packs rather than loose goods."""
    unit = parse_unit(unit_code).code
    if unit in ("piece", "hour", "kg", "l"):
        return {"piece": "dfc-m:Piece", "hour": HOUR, "kg": "dfc-m:Kilogram", "l": "dfc-m:Litre"}[unit], "1"
    size, measure = unit.split(" ")
    if Decimal(size) == 1 and measure in ("kg", "l"):
        return PACK_UNITS["g" if measure == "kg" else "ml"], "1000"
    return PACK_UNITS[measure], size


def export_dfc(
    products: Iterable[Product],
    base_url: str,
    *,
    vat_rates: Mapping[str, Decimal] | None = None,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Our catalog rows (with their vendor) as one DFC JSON-LD document (`json.dumps`-able: numbers as strings,
    never float): per vendor an Enterprise managing CatalogItems, each referencing a SuppliedProduct and offered
    through an Offer priced in CHF.

    The caller chooses what to publish (approved vendors, available products). `vat_rates`: vat class -> percent
    (settings.vat_rates), for the Price's VATrate. `languages`: the name languages to write (default: all the
    product has; one language gives plain strings, for platforms that read no language tags)."""
    rows = sorted(products, key=lambda p: (p.vendor.slug, p.sku))
    graph: list[dict[str, Any]] = []
    vendors: dict[str, dict[str, Any]] = {}
    for product in rows:
        vendor = product.vendor
        enterprise = vendors.get(vendor.slug)
        if enterprise is None:
            enterprise = {"@id": enterprise_id(base_url, vendor.slug), "@type": "dfc-b:Enterprise",
                          "dfc-b:name": vendor.name, "dfc-b:manages": [], "dfc-b:supplies": []}  # fmt: skip
            if vendor.place:
                enterprise["dfc-b:hasAddress"] = {
                    "@id": f"{enterprise['@id']}#address", "@type": "dfc-b:Address", "dfc-b:hasCity": vendor.place,
                }  # fmt: skip
            vendors[vendor.slug] = enterprise
            graph.append(enterprise)
        ci_id, sp_id, offer_id = _ids(base_url, product)
        enterprise["dfc-b:manages"].append(ci_id)
        enterprise["dfc-b:supplies"].append(sp_id)
        graph += [_supplied_product(product, sp_id, ci_id, base_url, languages), {
            "@id": ci_id, "@type": "dfc-b:CatalogItem", "dfc-b:references": sp_id, "dfc-b:sku": product.sku,
            "dfc-b:stockLimitation": format_quantity(product.stock), "dfc-b:offeredThrough": offer_id,
        }, _offer_node(product, offer_id, ci_id, vat_rates)]  # fmt: skip
    return {"@context": DFC_CONTEXT_URL, "@graph": graph}


def _supplied_product(
    product: Product, sp_id: str, ci_id: str, base_url: str, languages: Sequence[str] | None
) -> dict[str, Any]:
    unit, value = quantity_of(product.unit)
    node: dict[str, Any] = {
        "@id": sp_id,
        "@type": "dfc-b:SuppliedProduct",
        "dfc-b:name": language_values(product.names, languages),
        "dfc-b:hasQuantity": {"@type": "dfc-b:QuantitativeValue", "dfc-b:hasUnit": unit, "dfc-b:value": value},
        "dfc-b:referencedBy": ci_id,
    }
    description = language_values(product.descriptions or {}, languages)
    if description:
        node["dfc-b:description"] = description
    if product.category in CATEGORY_TYPES:
        node["dfc-b:hasType"] = CATEGORY_TYPES[product.category]
    certifications = [_label_iri(base_url, label) for label in product.labels if label not in CLAIMS]
    claims = [LABEL_FACETS[label] for label in product.labels if label in CLAIMS]
    if certifications:
        node["dfc-b:hasCertification"] = certifications
    if claims:
        node["dfc-b:hasClaim"] = claims
    if product.photo_url.startswith(("https://", "http://")):
        node["dfc-b:image"] = product.photo_url
    return node


def _label_iri(base_url: str, label: str) -> str:
    return LABEL_FACETS.get(label) or f"{base_url.rstrip('/')}{LABEL_PATH}{quote(label, safe='')}"


def _offer_node(product: Product, offer_id: str, ci_id: str, vat_rates: Mapping[str, Decimal] | None) -> dict[str, Any]:
    price: dict[str, Any] = {"@type": "dfc-b:Price", "dfc-b:value": f"{product.price_chf:.2f}", "dfc-b:hasUnit": CHF}
    if vat_rates and product.vat_class in vat_rates:
        price["dfc-b:VATrate"] = format_quantity(vat_rates[product.vat_class])
    return {"@id": offer_id, "@type": "dfc-b:Offer", "dfc-b:hasPrice": price, "dfc-b:offeredItem": {"@id": ci_id}}
