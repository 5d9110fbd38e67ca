"""Consumer actions: search, details, basket, reorder.

A basket request is read from the words themselves (`basket_requests`): the product named in the whole sentence,
the quantity said in any of our languages, converted to the product's sale unit. What is clear goes into the basket
without a question; what is not gets one question, with buttons, never a guess. A shopping list is carried out item
by item and answered in one message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from rasa_sdk.events import EventType, SlotSet

from catalog.quantities import SaidQuantity, SaleQuantity, pieces_per_unit, read_quantities, to_sale_units
from catalog.services import ProductFilters, ProductView, SearchResult, product_details
from catalog.taxonomy import format_quantity
from catalog.text import fold
from catalog.vendors import find_vendor_slug
from checkout.services import BasketView, add_to_basket, clear_basket, remove_from_basket, reorder, view_basket
from dialogues.actions.base import MarketplaceAction, Reply, Turn
from dialogues.actions.basket_requests import (
    Wanted,
    entity_quantity,
    message_text,
    pending_items,
    plain_basket_request,
    read_request,
    read_wanted,
)
from dialogues.actions.parsing import parse_amount, parse_choice
from marketplace.errors import InsufficientStock, OrderNotFound
from marketplace.i18n import unit_label

LIST_SIZE = 5
MAX_TEXT = 200  # longer input is cut before it is searched or echoed
MAX_ECHO = 60  # what a reply quotes of the person's words
CLEAR_LEAD = 8  # score points by which the best search match must lead to be taken without asking
COUNTS_OFFERED = (Decimal(1), Decimal(2), Decimal(3))  # "how many?" when what was said cannot be converted
FORGET_REQUEST = [SlotSet("product", None), SlotSet("quantity", None), SlotSet("unit", None)]


def payload(intent: str, **entities: str | list[str]) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def add_payload(product_id: int, pending: Sequence[str] = (), **entities: str) -> str:
    """The button adding a product; items of a shopping list still to do ride along as further `product` values."""
    product: str | list[str] = [f"#{product_id}", *pending] if pending else f"#{product_id}"
    return payload("add_to_basket", product=product, **entities)


def product_line(reply: Reply, rank: int | None, p: ProductView) -> str:
    """ "1. Miel de fleurs — 14,00 CHF / 500 g — Les Abeilles du Salève — Bio, GRTA" """
    parts = [f"{rank}. {p.name}" if rank else p.name, f"{reply.chf(p.price.amount)} / {unit_name(reply, p.unit)}"]
    # A product of a sectoral marketplace names it too: « Ferme du Lac (via Paysans de Genève) ».
    via = f" {reply.t('reply.product.via', platform=p.platform)}" if p.platform else ""
    parts.append(p.vendor_name + via)
    if p.label_names:
        parts.append(", ".join(p.label_names))
    if not p.in_stock:
        parts.append(reply.t("reply.sold_out"))
    return " — ".join(parts)


def unit_name(reply: Reply, unit: str) -> str:
    return unit_label(unit, reply.lang)


def term_slug(value: str | None, terms: dict) -> str | None:
    """Category or label slug from what someone typed ("légumes", "Gemüse", "bio", "organic")."""
    if not value:
        return None
    wanted = fold(value).strip()
    for slug, term in terms.items():
        names = [slug, *term.names.values()]
        if any(fold(n).strip() in (wanted, wanted.rstrip("s")) or fold(n).strip().rstrip("s") == wanted for n in names):
            return slug
    return None


def show_list(
    turn: Turn,
    products: Sequence[ProductView],
    intent: str = "add_to_basket",
    pending: Sequence[str] = (),
    **entities: str,
) -> list[EventType]:
    """A numbered list with one button per product; a button repeats `intent` for that product."""
    reply = turn.reply
    entities = entities or {"quantity": "1"}
    for rank, p in enumerate(products[:LIST_SIZE], start=1):
        reply.line(product_line(reply, rank, p))
        if intent == "add_to_basket" and p.in_stock:
            reply.button("button.add", add_payload(p.id, pending, **entities), rank=rank, name=p.name)
        elif intent != "add_to_basket":
            reply.button("button.pick", payload(intent, product=f"#{p.id}", **entities), rank=rank, name=p.name)
    return [SlotSet("shown_products", [p.id for p in products[:LIST_SIZE]])]


def suggest_categories(turn: Turn) -> None:
    reply = turn.reply
    for slug in ("vegetables", "cheese", "bakery", "honey", "wine"):
        reply.button(
            "button.category",
            payload("search_product", category=slug),
            name=turn.app.settings.taxonomy.categories[slug].name(turn.lang),
        )


def search_filters(turn: Turn) -> ProductFilters:
    taxonomy = turn.app.settings.taxonomy  # the deployment's categories and labels, the region's included
    category = term_slug(turn.entity("category"), taxonomy.categories)
    label = term_slug(turn.entity("label"), taxonomy.labels)
    max_price = None
    folded = fold(turn.text)
    if any(w in folded for w in ("moins de", "under", "unter", "meno di", "max", "below", "bis ")):
        max_price = parse_amount(turn.text)
    return ProductFilters(
        category=category, label=label, vendor=find_vendor_slug(turn.uow, turn.entity("vendor")), max_price=max_price
    )


def shop_if_asked(turn: Turn) -> list[EventType] | None:
    """A plain basket request the NLU took for something else (« je prends 3 baguettes » as not understood, « 2 kg
    de pommes de terre » as a search) is carried out as one; None for anything else."""
    wanted = plain_basket_request(turn)
    return carry_out(turn, wanted) if wanted else None


def search_if_named(turn: Turn) -> list[EventType] | None:
    """A message that is only a product's name, which the NLU did not understand (a product created today: its
    name reaches the NLU lookup tables at the next `nlu export`), is searched; None for anything else."""
    text = " ".join(turn.text.split())
    if not text or len(text) > MAX_ECHO or text.startswith("/"):
        return None
    results = turn.app.search.search(turn.uow, text, turn.lang, ProductFilters(), limit=LIST_SIZE)
    if not any(fold(r.product.name).strip() == fold(text).strip() for r in results):
        return None
    turn.reply.say("reply.search.found", count=len(results))
    return show_list(turn, [r.product for r in results])


class ActionSearchProducts(MarketplaceAction):
    action_name = "action_search_products"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:
            return shopped
        reply = turn.reply
        filters = search_filters(turn)
        query = turn.entity("product") or ""
        if not query and not (filters.category or filters.label or filters.vendor):
            query = turn.text[:MAX_TEXT]
        results = turn.app.search.search(turn.uow, query, turn.lang, filters, limit=LIST_SIZE)
        if not results and (filters.max_price or filters.label):  # too strict: say so and widen
            results = turn.app.search.search(
                turn.uow, query, turn.lang, ProductFilters(category=filters.category), LIST_SIZE
            )
        if not results:
            reply.say("reply.search.none", query=(query or turn.text)[:MAX_ECHO])
            suggest_categories(turn)
            return [SlotSet("shown_products", [])]
        reply.say("reply.search.found", count=len(results))
        return show_list(turn, [r.product for r in results])


def chosen_product(turn: Turn) -> ProductView | None:
    """The product a button (`#id`) or a position in the last list shown (« le 3 ») chose, if any."""
    value = turn.entity("product")
    if value and value.startswith("#") and value[1:].isdigit():
        return product_details(turn.uow, int(value[1:]), turn.lang, turn.app.settings.taxonomy)
    shown = turn.tracker.get_slot("shown_products") or []
    choice = turn.entity("choice")
    position = int(choice) if choice and choice.isdigit() else (None if value else parse_choice(turn.text))
    if position and 1 <= position <= len(shown):
        return product_details(turn.uow, int(shown[position - 1]), turn.lang, turn.app.settings.taxonomy)
    return None


def resolve_product(turn: Turn, vendor: str | None = None) -> tuple[ProductView | None, list[SearchResult]]:
    """The one product meant by this message, or the candidates to choose from (by the search index)."""
    chosen = chosen_product(turn)
    if chosen is not None:
        return chosen, []
    value = turn.entity("product")
    candidates: list[SearchResult] = []
    # The entity first ("gruyere"), then the whole message ("1 kg of gruyere aop doux") if that is clearer.
    for query in dict.fromkeys(q for q in (value, turn.text[:MAX_TEXT]) if q):
        results = turn.app.search.search(turn.uow, query, turn.lang, ProductFilters(vendor=vendor), limit=LIST_SIZE)
        if results and (len(results) == 1 or results[0].score - results[1].score >= CLEAR_LEAD):
            return results[0].product, results
        candidates = candidates or results
    return None, candidates


def ask_which(
    turn: Turn, results: Sequence[ProductView], query: str, intent: str = "add_to_basket", **entities: str
) -> list[EventType]:
    if not results:
        turn.reply.say("reply.product.unknown", query=query[:MAX_ECHO])
        suggest_categories(turn)
        return [SlotSet("shown_products", [])]
    turn.reply.say("reply.product.which")
    return show_list(turn, results, intent, **entities)


def basket_line(reply: Reply, quantity: Decimal, product: ProductView) -> str:
    """ "1,5 kg Fromage à raclette", "2 × 500 g Miel de forêt", "3 Baguette" """
    return f"{reply.quantity(quantity, product.unit)} {product.name}"


def basket_summary(reply: Reply, basket: BasketView, leman_name: str) -> None:
    for group in basket.groups:
        reply.line(f"{group.vendor_name}")
        for line in group.lines:
            reply.line(f"  • {basket_line(reply, line.quantity, line.product)} — {reply.chf(line.total)}")
        reply.say(
            "reply.basket.vendor_total",
            total=reply.chf(group.goods_total),
            leman=reply.chf(group.leman_payable),
            currency=leman_name,
        )
    quote = basket.quote
    if quote.delivery_fee:
        reply.say("reply.basket.delivery_fee", fee=reply.chf(quote.delivery_fee))
    reply.say(
        "reply.basket.total", total=reply.chf(quote.total), leman=reply.chf(quote.leman_payable), currency=leman_name
    )
    for problem in basket.problems:
        reply.say("reply.basket.problem", product=problem.product.name)


def show_basket(turn: Turn) -> None:
    basket = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang)
    reply = turn.reply
    if basket.is_empty:
        reply.say("reply.basket.empty")
        suggest_categories(turn)
        return
    reply.say("reply.basket.title")
    basket_summary(reply, basket, turn.app.settings.local_currency.name)
    reply.button("button.checkout", "/checkout")
    reply.button("button.clear_basket", "/clear_basket")


class ActionProductDetails(MarketplaceAction):
    action_name = "action_product_details"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:
            return shopped
        product, results = resolve_product(turn)
        if product is None:
            return ask_which(turn, [r.product for r in results], turn.entity("product") or turn.text)
        reply = turn.reply
        reply.line(product_line(reply, None, product))
        if product.description:
            reply.line(product.description)
        if product.origin_place:
            km = f" ({reply.number(product.origin_km)} km)" if product.origin_km is not None else ""
            reply.say("reply.product.origin", place=product.origin_place + km)
        reply.say("reply.product.leman", share=product.leman_share_pct, currency=turn.app.settings.local_currency.name)
        if product.in_stock:
            reply.say("reply.product.stock", stock=reply.quantity(product.stock, product.unit))
            reply.button("button.add", add_payload(product.id, quantity="1"), rank=1, name=product.name)
        if product.photo_url:
            reply.dispatcher.utter_message(image=product.photo_url)
        return [SlotSet("shown_products", [product.id])]


# --- carrying out a basket request ------------------------------------------------------------------------------


def said_entities(quantity: SaidQuantity | None) -> dict[str, str]:
    """A quantity as said, as a button carries it to be converted for the product the button chooses."""
    if quantity is None:
        return {"quantity": "1"}
    entities = {"quantity": format_quantity(quantity.amount)}
    unit = quantity.measure or quantity.container
    return entities | {"unit": unit} if unit else entities


def in_sale_units(quantity: SaidQuantity | None, product: ProductView) -> SaleQuantity:
    """What was said in the product's sale unit (« une douzaine » of « Œufs bio (6) » is 2), or the question."""
    return to_sale_units(quantity, product.unit, pieces_per_unit(product.name))


def carry_out(turn: Turn, wanted: Sequence[Wanted]) -> list[EventType]:
    """Put what was asked for into the basket, or ask the one question needed: one item as a conversation, several
    (a shopping list, or a chosen item with others still waiting) in one message."""
    if len(wanted) == 1:
        return carry_out_one(turn, wanted[0])
    return carry_out_list(turn, wanted)


def carry_out_one(turn: Turn, wanted: Wanted) -> list[EventType]:
    product, reply = wanted.product, turn.reply
    if product is None:
        candidates = list(wanted.candidates)
        hint = turn.entity("product")
        if not candidates and hint and not hint.startswith("#"):  # the catalog names nothing: what the index finds
            candidates = [r.product for r in turn.app.search.search(turn.uow, hint, turn.lang, limit=LIST_SIZE)]
        return ask_which(turn, candidates, hint or wanted.said, **said_entities(wanted.quantity))
    sale = in_sale_units(wanted.quantity, product)
    if sale.units is None:
        return ask_how_many(turn, product, sale)
    try:
        total = add_to_basket(turn.uow, turn.person, product.id, sale.units)
    except InsufficientStock:
        return sold_out(turn, product)
    reply.say(
        "reply.basket.added",
        quantity=reply.quantity(sale.units, product.unit),
        product=product.name,
        total_quantity=reply.quantity(total, product.unit),
    )
    basket_total(turn, buttons=True)
    return FORGET_REQUEST


def carry_out_list(turn: Turn, wanted: Sequence[Wanted]) -> list[EventType]:
    """Each clear item goes into the basket; one answer says what went in, what did not, and asks about the first
    item that needs a question (the others wait, carried by its buttons)."""
    reply = turn.reply
    added: list[str] = []
    missed: list[str] = []
    questions: list[tuple[Wanted, SaleQuantity | None]] = []
    for item in wanted:
        product = item.product
        if product is None:
            if item.candidates:
                questions.append((item, None))
            else:
                missed.append(reply.t("reply.list.unknown", query=item.said[:MAX_ECHO]))
            continue
        sale = in_sale_units(item.quantity, product)
        if sale.units is None:
            questions.append((item, sale))
            continue
        try:
            add_to_basket(turn.uow, turn.person, product.id, sale.units)
        except InsufficientStock:
            missed.append(stock_line(reply, product))
            continue
        added.append(f"  • {basket_line(reply, sale.units, product)}")
    if added:
        reply.say("reply.list.added")
        reply.lines += added
    if missed:
        reply.say("reply.list.not_added")
        reply.lines += missed
    if not questions:
        if added:
            basket_total(turn, buttons=True)
        else:
            suggest_categories(turn)
        return FORGET_REQUEST
    if added:
        basket_total(turn, buttons=False)
    (item, sale), waiting = questions[0], [w.said for w, _ in questions[1:]]
    if item.product is None:
        reply.say("reply.list.which", said=item.said[:MAX_ECHO])
        events = show_list(turn, item.candidates, pending=waiting, **said_entities(item.quantity))
    else:
        events = ask_how_many(turn, item.product, sale or SaleQuantity(None), waiting)
    if waiting:
        quoted = ", ".join(reply.t("reply.quoted", text=said[:MAX_ECHO]) for said in waiting)
        reply.say("reply.list.waiting", items=quoted)
    return events


def ask_how_many(turn: Turn, product: ProductView, sale: SaleQuantity, pending: Sequence[str] = ()) -> list[EventType]:
    """What was said does not fit how the product is sold (« 300 g » of a 500 g pot, 1.5 baguettes): the nearest
    whole choices as buttons, each in sale units."""
    reply = turn.reply
    reply.say("reply.quantity.which", product=product.name, unit=unit_name(reply, product.unit))
    for units in sale.choices or COUNTS_OFFERED:
        reply.button(
            "button.add_quantity",
            add_payload(product.id, pending, quantity=format_quantity(units)),
            quantity=reply.quantity(units, product.unit),
            name=product.name,
        )
    return [SlotSet("shown_products", [product.id])]


def stock_line(reply: Reply, product: ProductView) -> str:
    if product.in_stock:
        return reply.t("reply.list.only_left", product=product.name, stock=reply.quantity(product.stock, product.unit))
    return reply.t("reply.list.sold_out", product=product.name)


def basket_total(turn: Turn, *, buttons: bool) -> None:
    reply = turn.reply
    basket = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang)
    reply.say("reply.basket.short", total=reply.chf(basket.quote.goods_total))
    if buttons:
        reply.button("button.show_basket", "/show_basket")
        reply.button("button.checkout", "/checkout")


def sold_out(turn: Turn, product: ProductView) -> list[EventType]:
    reply = turn.reply
    if product.in_stock:
        reply.say("reply.product.only_left", product=product.name, stock=reply.quantity(product.stock, product.unit))
        return []
    reply.say("reply.product.sold_out", product=product.name)
    similar = turn.app.search.search(
        turn.uow, "", turn.lang, ProductFilters(category=product.category, in_stock_only=True), LIST_SIZE
    )
    if similar:
        reply.say("reply.product.alternatives")
        return show_list(turn, [r.product for r in similar])
    return []


class ActionAddToBasket(MarketplaceAction):
    action_name = "action_add_to_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        chosen = chosen_product(turn)
        if chosen is None:
            return carry_out(turn, read_request(turn))
        # A button (or « le 3 »): its quantity as said, converted for this product; then the list's waiting items.
        said = entity_quantity(turn, message_text(turn))
        wanted = [Wanted(chosen.name, said, chosen), *(read_wanted(turn, item) for item in pending_items(turn))]
        return carry_out(turn, wanted)


class ActionRemoveFromBasket(MarketplaceAction):
    action_name = "action_remove_from_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # the NLU's misreading of a plain request
            return shopped
        basket = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang)
        lines = [line for group in basket.groups for line in group.lines]
        if not lines:
            turn.reply.say("reply.basket.empty")
            return []
        wanted = fold(turn.entity("product") or turn.text)
        match = next((line for line in lines if f"#{line.product.id}" == turn.entity("product")), None)
        if match is None:
            scored = [(sum(w in fold(line.product.name) for w in wanted.split() if len(w) > 2), line) for line in lines]
            scored = [item for item in scored if item[0] > 0]
            match = max(scored, key=lambda item: item[0])[1] if scored else None
        if match is None:
            turn.reply.say("reply.basket.not_in_basket")
            for line in lines:
                turn.reply.button(
                    "button.remove",
                    payload("remove_from_basket", product=f"#{line.product.id}"),
                    name=line.product.name,
                )
            return []
        quantity = removed_quantity(turn, match.product)
        left = remove_from_basket(turn.uow, turn.person, match.product.id, quantity)
        key = "reply.basket.reduced" if left else "reply.basket.removed"
        turn.reply.say(key, product=match.product.name, quantity=turn.reply.quantity(left, match.product.unit))
        show_basket(turn)
        return []


def removed_quantity(turn: Turn, product: ProductView) -> Decimal | None:
    """How much to take out, in the product's sale unit (« enlève 500 g de tomates »: 0.5); None: the whole line."""
    text = message_text(turn)
    said = read_quantities(text, turn.lang)
    quantity = said[0] if said else entity_quantity(turn, text)
    if quantity is None:
        return None
    sale = in_sale_units(quantity, product)
    # Less than a whole pack or piece (« 300 g » of a 500 g pot): the smaller whole count, never the whole line.
    return sale.units if sale.units is not None else min(sale.choices, default=None)


class ActionShowBasket(MarketplaceAction):
    action_name = "action_show_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # the NLU's misreading of a plain request
            return shopped
        show_basket(turn)
        return []


class ActionClearBasket(MarketplaceAction):
    action_name = "action_clear_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # the NLU's misreading of a plain request
            return shopped
        clear_basket(turn.uow, turn.person)
        turn.reply.say("reply.basket.cleared")
        return []


class ActionReorder(MarketplaceAction):
    action_name = "action_reorder"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # the NLU's misreading of a plain request
            return shopped
        try:
            added, missing = reorder(turn.uow, turn.person)
        except OrderNotFound:
            turn.reply.say("reply.reorder.none")
            suggest_categories(turn)
            return []
        turn.reply.say("reply.reorder.done", count=len(added))
        for product_id in missing:
            turn.reply.say("reply.reorder.missing", product=product_details(turn.uow, product_id, turn.lang).name)
        show_basket(turn)
        return []
