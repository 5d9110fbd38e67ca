"""A vendor's products by chat: create one from a single message, confirm it, name it in another language,
give it a photo, withdraw it. One home for these rules; the Rasa actions (`dialogues/actions/vendor_products.py`)
and the bots' photo handling (`bot/photos.py`) only parse, call and render.

« nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio » is read part by part (`parse_new_product`):
the name first, then a sale unit, a price, a stock (or a service's capacity, « 8 places par semaine »), a
category, labels, in any order and in fr/de/it/en. The product is written at once but off sale, as a draft,
and shown with Confirm / Cancel buttons: confirming puts it on sale and moves the catalog revision, so every
process's search index and the resolver (`catalog/resolve.py`, which reads names from the same index) know it
at the next message, without retraining the model (product names are entities, resolved against the catalog).

Every operation starts with the rights check of `work/vendors.py` (`vendor_of`, `ensure_may_act_for`): only a
member of an approved vendor acts, on their own vendor's products only; every change is in the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from catalog.audit import record_change
from catalog.models import Product
from catalog.services import (
    ProductDraft,
    ProductView,
    bump_revision,
    get_product,
    upsert_product,
    view_product,
)
from catalog.taxonomy import categories, labels, parse_unit
from catalog.text import fold, tokens
from marketplace.accounts import Person, ensure_may_act_for
from marketplace.db import UnitOfWork
from marketplace.errors import InvalidInput
from marketplace.media import store_photo
from work.vendors import set_availability, vendor_of

DRAFT_SOURCE, CHAT_SOURCE = "chat_draft", "chat"  # a product proposed by chat, before and after confirmation
MAX_NAME = 120
SKU_PREFIX = "CHAT"
# VAT: food and non-alcoholic drinks at the reduced rate; alcohol, household goods and services at the standard.
STANDARD_VAT_CATEGORIES = frozenset({"wine", "beer", "household", "repairs", "workshops"})

# « nouveau produit : », "new product:", « neues Produkt: », « nuovo servizio: », « je vends » — before the product.
_LEAD = re.compile(
    r"^\s*(?:(?:je\s+vends|je\s+propose|ich\s+verkaufe|ich\s+biete|vendo|offro|i\s+sell|i\s+offer)\s+|"
    r"(?:nouveau|nouvelle|new|neu|neues|neue|neuer|nuovo|nuova|ajoute|ajouter|cree|crée|créer|add|create|"
    r"erstelle|erfasse|aggiungi|crea)(?:\s+(?:un|une|le|la|a|an|ein|eine|einen|uno|una|il|lo|mon|ma|my))?"
    r"\s+(?:produit|service|article|prestation|product|item|produkt|artikel|angebot|dienstleistung|prodotto|"
    r"servizio|articolo)\b\s*[:–—-]?\s*)",
    re.IGNORECASE,
)
_SERVICE_LEAD = re.compile(r"\b(?:service|dienstleistung|angebot|servizio|prestation|atelier|kurs|corso|workshop)")
_PACK = re.compile(r"^(?:(?:le|la|les|un|une|the|a|per|pro|par|pot\s+de|jar\s+of|glas|vasetto\s+da)\s+)?"
                   r"(\d{1,5}(?:[.,]\d{1,3})?)\s*(g|gr|kg|ml|cl|dl|l)\.?$")  # fmt: skip
_LOOSE = {
    "kg": ("kg", "kilo", "le kg", "le kilo", "au kilo", "au kg", "par kg", "par kilo", "/kg", "pro kg", "per kg",
           "al kg", "al chilo", "chilo", "das kilo", "a kilo", "per kilo"),
    "l": ("l", "litre", "le litre", "au litre", "par litre", "/l", "liter", "pro liter", "der liter", "litro",
          "al litro", "per litro", "a litre", "per litre"),
    "piece": ("piece", "la piece", "par piece", "pce", "pc", "pces", "stuck", "pro stuck", "das stuck", "pezzo",
              "al pezzo", "each", "per piece", "a piece", "l unite", "unite", "unit"),
    "hour": ("heure", "l heure", "par heure", "1 heure", "une heure", "1h", "1 h", "h", "stunde", "1 stunde",
             "eine stunde", "pro stunde", "ora", "1 ora", "un ora", "all ora", "hour", "1 hour", "an hour", "per hour"),
}  # fmt: skip
_UNIT_WORDS = {phrase: code for code, phrases in _LOOSE.items() for phrase in phrases}
_PRICE = re.compile(
    r"^(?:(?:chf|fr|frs|sfr)\.?\s*)?(\d{1,6})(?:[.,](\d{1,2}|[-–—]))?\s*"
    r"(?:[-–—]|chf|fr\.?|frs\.?|francs?|franken|franchi|sfr\.?)?"
    r"(?:\s*(?:/|le|la|les|par|pro|per|al|the|each|l)\s*[^\W\d_][\w' ]{0,20})?$",
    re.IGNORECASE,
)
_PRICE_MARK = re.compile(r"[.,]\d|[-–—]|chf|fr|franc|franken|franchi", re.IGNORECASE)
_STOCK = re.compile(r"^(\d{1,6})\s*(?:x\s*)?([^\W\d_][\w' ]{0,40})?$")
_PLACES = frozenset({
    "place", "places", "platz", "platze", "posto", "posti", "seat", "seats", "spot", "spots", "participant",
    "participants", "teilnehmer", "partecipanti", "personne", "personnes", "person", "personen", "persone",
})  # fmt: skip
_PERIODS = {
    "day": ("jour", "par jour", "tag", "pro tag", "am tag", "giorno", "al giorno", "day", "a day", "per day"),
    "week": ("semaine", "par semaine", "woche", "pro woche", "in der woche", "settimana", "alla settimana",
             "a settimana", "week", "a week", "per week"),
    "month": ("mois", "par mois", "monat", "pro monat", "im monat", "mese", "al mese", "month", "a month",
              "per month"),
}  # fmt: skip
_LABEL_ALIASES = {"bio": "organic", "biologique": "organic", "biologico": "organic", "biologisch": "organic",
                  "organic": "organic", "grta": "grta", "vegan": "vegan", "vegane": "vegan", "vegano": "vegan",
                  "sans gluten": "gluten_free", "glutenfrei": "gluten_free", "senza glutine": "gluten_free",
                  "gluten free": "gluten_free", "aop": "aop", "dop": "aop", "pdo": "aop", "zero dechet": "zero_waste",
                  "vrac": "zero_waste", "zero waste": "zero_waste", "equitable": "fair_trade",
                  "commerce equitable": "fair_trade", "fair trade": "fair_trade", "fairtrade": "fair_trade",
                  "bourgeon": "bio_suisse", "knospe": "bio_suisse", "bio suisse": "bio_suisse"}  # fmt: skip
_JOINERS = re.compile(r"\s+(?:et|und|e|and|&|\+)\s+|\s*/\s*")
_WORKSHOP_WORDS = ("atelier", "cours", "kurs", "workshop", "corso", "laboratorio", "stage", "initiation")


@dataclass(frozen=True)
class NewProduct:
    """What a vendor's message says about a product to create; `unread` are the parts not understood."""

    name: str
    unit: str = "piece"
    price: Decimal | None = None
    stock: Decimal = Decimal(0)
    category: str | None = None
    labels: tuple[str, ...] = ()
    capacity_period: str = ""  # "day", "week", "month" for a service's capacity
    service: bool = False
    unread: tuple[str, ...] = ()


def _phrase(text: str) -> str:
    return " ".join(fold(text).split())


def _category_named(part: str) -> str | None:
    said = _phrase(part)
    for slug, term in categories().items():
        if said == slug or any(said == _phrase(name) for name in term.names.values()):
            return slug
    return None


def _labels_named(part: str) -> tuple[str, ...] | None:
    """The labels a part names (« bio », « bio et sans gluten »), or None when any word of it is no label."""
    found = []
    for piece in _JOINERS.split(_phrase(part)):
        piece = piece.strip()
        slug = _LABEL_ALIASES.get(piece) or next(
            (s for s, term in labels().items() if piece in (s.replace("_", " "), *map(_phrase, term.names.values()))),
            None,
        )
        if slug is None:
            return None
        found.append(slug)
    return tuple(found) or None


def _period(words: str) -> str:
    said = f" {words} "
    for period, phrases in _PERIODS.items():
        if any(f" {phrase} " in said for phrase in phrases):
            return period
    return ""


def _unit(part: str) -> str | None:
    """The sale unit code a part names: a pack (« 250 g », « 75cl ») or a loose unit (« le kg », « 1 heure »)."""
    pack = _PACK.match(part.strip().lower())
    if pack:
        size, measure = pack.group(1).replace(",", "."), pack.group(2)
        if measure in ("gr", "dl"):  # « 250 gr », « 5 dl »: written as the catalog's units
            size, measure = (size, "g") if measure == "gr" else (str(Decimal(size) * 10), "cl")
        try:
            return parse_unit(f"{size} {measure}").code
        except ValueError:
            return None
    return _UNIT_WORDS.get(_phrase(part).replace(" / ", "/"))


def _price(part: str) -> Decimal | None:
    """A price written as people do: « 7.50 », « 7,50 », « CHF 12 », « 35.– », « 6.- le pot », « 9 fr. »."""
    text = part.strip()
    match = _PRICE.match(text)
    if match is None or not _PRICE_MARK.search(text):
        return None
    whole, cents = match.groups()
    return Decimal(f"{whole}.{cents}") if cents and cents.isdigit() else Decimal(whole)


def parse_new_product(text: str, lang: str = "fr") -> NewProduct | None:  # noqa: ARG001 - the words are read in every language
    """What « nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio » says, part by part; None
    when no name is left. Parts are separated by commas followed by a space, or semicolons (« 7,50 » stays one
    number). A lone whole number with no mark is a price until there is one, then a stock."""
    body = text.strip()
    lead = _LEAD.match(body)
    head, colon, tail = body.partition(":")
    if lead is not None:
        head, body = lead.group(0), body[lead.end() :]
    elif colon and len(head.split()) <= 4:  # « Produkt: ... », « service : ... »
        body = tail
    else:
        head = ""
    service = bool(_SERVICE_LEAD.search(fold(head)))
    parts = [p.strip(" .!\t") for p in re.split(r";|,\s+|\n", body) if p.strip(" .!\t")]
    if not parts:
        return None
    name, unit, price, stock = "", None, None, None
    category, found_labels, period, unread = None, [], "", []
    for index, part in enumerate(parts):
        if index == 0 and not any(ch.isdigit() for ch in part) and _labels_named(part) is None:
            name = part[:MAX_NAME]
            continue
        said = _phrase(part)
        if (code := _unit(part)) is not None and unit is None:
            unit = code
            service = service or code == "hour"
        elif (amount := _price(part)) is not None and price is None:
            price = amount
        elif (stocked := _STOCK.match(said)) is not None and (stock is None or price is None):
            number, words = Decimal(stocked.group(1)), (stocked.group(2) or "").strip()
            if price is None and not words and stock is None and unit is not None:
                price = number  # « 250 g, 7 » : a bare number after the unit is the price
                continue
            stock = number
            period = _period(words)
            if period or any(word in _PLACES for word in words.split()):
                service = True
        elif (named := _labels_named(part)) is not None:
            found_labels.extend(named)
        elif (slug := _category_named(part)) is not None:
            category = slug
        elif not name and not any(ch.isdigit() for ch in part):
            name = part[:MAX_NAME]
        else:
            unread.append(part[:40])
    if not name:
        return None
    if category and categories()[category].kind == "service":
        service = True
    return NewProduct(
        name=name,
        unit=unit or ("hour" if service and period == "" and stock is None else "piece"),
        price=price,
        stock=stock if stock is not None else Decimal(0),
        category=category,
        labels=tuple(dict.fromkeys(found_labels)),
        capacity_period=period,
        service=service,
        unread=tuple(unread),
    )


# --- creating, confirming, cancelling ------------------------------------------------------------------


def guess_category(uow: UnitOfWork, name: str, service: bool, lang: str = "fr") -> str:
    """The category of the catalog products whose names share most words with `name`, its head noun counting
    most (« confiture de sureau » beside « Confiture d'abricots », not « Kombucha au sureau »), else a category
    named in it; services never land in a goods category."""
    said = tokens(name)
    words = set(said)
    # The head noun: first in French and Italian (« confiture de … »), last in German and English ("elder jam").
    head = (said[0] if lang in ("fr", "it") else said[-1]) if said else ""
    wanted_kind = "service" if service else "good"
    for slug, term in categories().items():
        if term.kind == wanted_kind and any(set(tokens(n)) & words for n in term.names.values()):
            return slug
    best, best_overlap = None, 0
    for names, category in uow.session.execute(select(Product.names, Product.category)):
        if categories().get(category) is None or categories()[category].kind != wanted_kind:
            continue
        overlap = max((len(words & set(tokens(n))) + 2 * (head in tokens(n)) for n in names.values()), default=0)
        if overlap > best_overlap:
            best, best_overlap = category, overlap
    if best:
        return best
    if service:
        return "workshops" if any(w in fold(name) for w in _WORKSHOP_WORDS) else "repairs"
    return "grocery"


def _new_sku(uow: UnitOfWork, vendor_id: int, name: str) -> str:
    stem = "-".join(fold(name).upper().split())[:40].strip("-") or "PRODUCT"
    taken = set(uow.session.scalars(select(Product.sku).where(Product.vendor_id == vendor_id)))
    sku, n = f"{SKU_PREFIX}-{stem}", 2
    while sku in taken:
        sku, n = f"{SKU_PREFIX}-{stem}-{n}", n + 1
    return sku


def propose_product(uow: UnitOfWork, person: Person, new: NewProduct, lang: str) -> ProductView:
    """Write the product the person described, off sale until they confirm it (`confirm_product`). The name is
    kept in the person's language; InvalidInput when it has no price or a value is out of range."""
    vendor = vendor_of(person)
    if new.price is None:
        raise InvalidInput(field="price", value=new.name)
    category = new.category or guess_category(uow, new.name, new.service, lang)
    draft = ProductDraft(
        vendor=vendor.slug,
        sku=_new_sku(uow, vendor.id, new.name),
        names={lang: new.name},
        category=category,
        unit=new.unit,
        price_chf=new.price,
        vat_class="standard" if category in STANDARD_VAT_CATEGORIES else "reduced",
        stock=new.stock,
        labels=list(new.labels),
        available=False,
    )
    product, _ = upsert_product(uow, draft, source=DRAFT_SOURCE, bump=False)
    product.capacity_period = new.capacity_period
    record_change(uow, person, vendor.id, product.id, product.sku, "created", "", new.name[:40])
    uow.session.flush()
    return view_product(product, lang)


def _own(uow: UnitOfWork, person: Person, product_id: int) -> Product:
    product = get_product(uow, product_id)
    ensure_may_act_for(person, product.vendor_id)
    return product


def confirm_product(uow: UnitOfWork, person: Person, product_id: int, lang: str) -> ProductView:
    """Put a proposed product on sale: searchable at once (the catalog revision moves). Pressing twice is harmless."""
    product = _own(uow, person, product_id)
    if product.source == DRAFT_SOURCE:
        product.source, product.available = CHAT_SOURCE, True
        record_change(uow, person, product.vendor_id, product.id, product.sku, "available", False, True)
        bump_revision(uow)
        uow.session.flush()
    return view_product(product, lang)


def cancel_product(uow: UnitOfWork, person: Person, product_id: int) -> bool:
    """Forget a proposed product that was never confirmed; False (nothing done) for any other product."""
    product = _own(uow, person, product_id)
    if product.source != DRAFT_SOURCE:
        return False
    record_change(uow, person, product.vendor_id, product.id, product.sku, "created", product.sku, "")
    uow.session.delete(product)
    uow.session.flush()
    return True


def withdraw_product(uow: UnitOfWork, person: Person, product_id: int, lang: str) -> ProductView:
    """Take one of the person's products off sale (« retire la confiture de fraises »): it leaves the search at
    once; orders already placed keep it; `/available` puts it back."""
    set_availability(uow, person, product_id, False)
    return view_product(get_product(uow, product_id), lang)


def latest_product(uow: UnitOfWork, person: Person, lang: str) -> ProductView | None:
    """The product the person's vendor created last (by chat or not): what a photo or a translation sent
    without naming a product is about."""
    vendor = vendor_of(person)
    product = uow.session.scalar(
        select(Product).where(Product.vendor_id == vendor.id).order_by(Product.created_at.desc(), Product.id.desc())
    )
    return view_product(product, lang) if product is not None else None


def name_in_language(
    uow: UnitOfWork, person: Person, product_id: int, name_lang: str, name: str, lang: str
) -> ProductView:
    """Give one of the person's products its name in another language (« en allemand : Aprikosenkonfitüre »):
    searchable in it at once."""
    name = " ".join(name.split())[:MAX_NAME]
    if not name or name_lang not in ("fr", "de", "it", "en"):
        raise InvalidInput(field="name", value=name)
    product = _own(uow, person, product_id)
    old = product.names.get(name_lang, "")
    product.names = {**product.names, name_lang: name}  # a new dict: the JSON column sees the change
    record_change(uow, person, product.vendor_id, product.id, product.sku, f"name_{name_lang}", old[:40], name[:40])
    bump_revision(uow)
    uow.session.flush()
    return view_product(product, lang)


def set_photo(
    uow: UnitOfWork, person: Person, product_id: int, data: bytes, media_dir: Path, lang: str
) -> ProductView:
    """Make a photo sent in the chat the product's picture: checked (size, PNG/JPEG/WebP by content) and kept
    owner-only in the media folder (`marketplace.media.store_photo`). The rights are checked before anything
    is written."""
    product = _own(uow, person, product_id)
    reference = store_photo(data, media_dir)
    record_change(uow, person, product.vendor_id, product.id, product.sku, "photo", product.photo_url[:40], reference)
    product.photo_url = reference
    uow.session.flush()
    return view_product(product, lang)
