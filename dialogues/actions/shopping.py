"""Consumer actions: search, details, basket, reorder."""

from __future__ import annotations

import json
from decimal import Decimal

from rasa_sdk.events import EventType, SlotSet

from catalog.services import ProductFilters, ProductView, SearchResult, product_details
from catalog.taxonomy import categories, format_quantity, labels
from catalog.text import fold
from catalog.units import sale_units
from catalog.vendors import find_vendor_slug
from checkout.services import BasketView, add_to_basket, clear_basket, remove_from_basket, reorder, view_basket
from dialogues.actions.base import MarketplaceAction, Reply, Turn
from dialogues.actions.parsing import parse_amount, parse_choice, parse_quantity
from marketplace.errors import InsufficientStock, OrderNotFound
from marketplace.i18n import unit_label

LIST_SIZE = 5
MAX_TEXT = 200  # longer input is cut before it is searched or echoed
CLEAR_LEAD = 8  # score points by which the best match must lead to be taken without asking


def payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def product_line(reply: Reply, rank: int | None, p: ProductView) -> str:
    """ "1. Miel de fleurs — 14,00 CHF / 500 g — Les Abeilles du Salève — Bio, GRTA" """
    parts = [f"{rank}. {p.name}" if rank else p.name, f"{reply.chf(p.price.amount)} / {unit_name(reply, p.unit)}"]
    parts.append(p.vendor_name)
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
    turn: Turn, results: list[SearchResult], intent: str = "add_to_basket", **entities: str
) -> list[EventType]:
    """A numbered list with one button per product; a button repeats `intent` for that product."""
    reply = turn.reply
    entities = entities or {"quantity": "1"}
    for rank, result in enumerate(results[:LIST_SIZE], start=1):
        p = result.product
        reply.line(product_line(reply, rank, p))
        if p.in_stock or intent != "add_to_basket":
            reply.button("button.add" if intent == "add_to_basket" else "button.pick",
                         payload(intent, product=f"#{p.id}", **entities), rank=rank, name=p.name)  # fmt: skip
    return [SlotSet("shown_products", [r.product.id for r in results[:LIST_SIZE]])]


def suggest_categories(turn: Turn) -> None:
    reply = turn.reply
    for slug in ("vegetables", "cheese", "bakery", "honey", "wine"):
        reply.button(
            "button.category", payload("search_product", category=slug), name=categories()[slug].name(turn.lang)
        )


def search_filters(turn: Turn) -> ProductFilters:
    category = term_slug(turn.entity("category"), categories())
    label = term_slug(turn.entity("label"), labels())
    max_price = None
    folded = fold(turn.text)
    if any(w in folded for w in ("moins de", "under", "unter", "meno di", "max", "below", "bis ")):
        max_price = parse_amount(turn.text)
    return ProductFilters(
        category=category, label=label, vendor=find_vendor_slug(turn.uow, turn.entity("vendor")), max_price=max_price
    )


class ActionSearchProducts(MarketplaceAction):
    action_name = "action_search_products"

    def handle(self, turn: Turn) -> list[EventType]:
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
            reply.say("reply.search.none", query=(query or turn.text)[:60])
            suggest_categories(turn)
            return [SlotSet("shown_products", [])]
        reply.say("reply.search.found", count=len(results))
        events = show_list(turn, results)
        return events


def resolve_product(turn: Turn, vendor: str | None = None) -> tuple[ProductView | None, list[SearchResult]]:
    """The one product meant by this message, or the candidates to choose from."""
    value = turn.entity("product")
    if value and value.startswith("#") and value[1:].isdigit():
        return product_details(turn.uow, int(value[1:]), turn.lang), []
    shown = turn.tracker.get_slot("shown_products") or []
    choice = turn.entity("choice")
    position = int(choice) if choice and choice.isdigit() else (None if value else parse_choice(turn.text))
    if position and 1 <= position <= len(shown):
        return product_details(turn.uow, int(shown[position - 1]), turn.lang), []
    candidates: list[SearchResult] = []
    # The entity first ("gruyere"), then the whole message ("1 kg of gruyere aop doux") if that is clearer.
    for query in dict.fromkeys(q for q in (value, turn.text[:MAX_TEXT]) if q):
        results = turn.app.search.search(turn.uow, query, turn.lang, ProductFilters(vendor=vendor), limit=LIST_SIZE)
        if results and (len(results) == 1 or results[0].score - results[1].score >= CLEAR_LEAD):
            return results[0].product, results
        candidates = candidates or results
    return None, candidates


def ask_which(
    turn: Turn, results: list[SearchResult], query: str, intent: str = "add_to_basket", **entities: str
) -> list[EventType]:
    if not results:
        turn.reply.say("reply.product.unknown", query=query[:60])
        suggest_categories(turn)
        return [SlotSet("shown_products", [])]
    turn.reply.say("reply.product.which")
    return show_list(turn, results, intent, **entities)


def basket_summary(reply: Reply, basket: BasketView, leman_name: str) -> None:
    for group in basket.groups:
        reply.line(f"{group.vendor_name}")
        for line in group.lines:
            qty = format_quantity(line.quantity)
            reply.line(
                f"  • {qty} × {line.product.name} ({unit_name(reply, line.product.unit)}) — {reply.chf(line.total)}"
            )
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
        product, results = resolve_product(turn)
        if product is None:
            return ask_which(turn, results, turn.entity("product") or turn.text)
        reply = turn.reply
        reply.line(product_line(reply, None, product))
        if product.description:
            reply.line(product.description)
        if product.origin_place:
            km = f" ({format_quantity(product.origin_km)} km)" if product.origin_km is not None else ""
            reply.say("reply.product.origin", place=product.origin_place + km)
        reply.say("reply.product.leman", share=product.leman_share_pct, currency=turn.app.settings.local_currency.name)
        if product.in_stock:
            reply.say("reply.product.stock", stock=format_quantity(product.stock), unit=unit_name(reply, product.unit))
            reply.button(
                "button.add",
                payload("add_to_basket", product=f"#{product.id}", quantity="1"),
                rank=1,
                name=product.name,
            )
        if product.photo_url:
            reply.dispatcher.utter_message(image=product.photo_url)
        return [SlotSet("shown_products", [product.id])]


class ActionAddToBasket(MarketplaceAction):
    action_name = "action_add_to_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        product, results = resolve_product(turn)
        if product is None:
            return ask_which(turn, results, turn.entity("product") or turn.text)
        quantity = parse_quantity(turn.entity("quantity")) or Decimal(1)
        quantity = sale_units(quantity, turn.entity("unit"), product.unit)
        try:
            total = add_to_basket(turn.uow, turn.person, product.id, quantity)
        except InsufficientStock:
            return self._sold_out(turn, product)
        reply = turn.reply
        reply.say(
            "reply.basket.added",
            quantity=format_quantity(quantity),
            unit=unit_name(reply, product.unit),
            product=product.name,
            total_quantity=format_quantity(total),
        )
        basket = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang)
        reply.say("reply.basket.short", total=reply.chf(basket.quote.goods_total))
        reply.button("button.show_basket", "/show_basket")
        reply.button("button.checkout", "/checkout")
        return [SlotSet("product", None), SlotSet("quantity", None), SlotSet("unit", None)]

    @staticmethod
    def _sold_out(turn: Turn, product: ProductView) -> list[EventType]:
        reply = turn.reply
        if product.in_stock:
            reply.say(
                "reply.product.only_left",
                product=product.name,
                stock=format_quantity(product.stock),
                unit=unit_name(reply, product.unit),
            )
            return []
        reply.say("reply.product.sold_out", product=product.name)
        similar = turn.app.search.search(
            turn.uow, "", turn.lang, ProductFilters(category=product.category, in_stock_only=True), LIST_SIZE
        )
        if similar:
            reply.say("reply.product.alternatives")
            return show_list(turn, similar)
        return []


class ActionRemoveFromBasket(MarketplaceAction):
    action_name = "action_remove_from_basket"

    def handle(self, turn: Turn) -> list[EventType]:
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
        quantity = parse_quantity(turn.entity("quantity"))
        left = remove_from_basket(turn.uow, turn.person, match.product.id, quantity)
        key = "reply.basket.reduced" if left else "reply.basket.removed"
        turn.reply.say(key, product=match.product.name, quantity=format_quantity(left))
        show_basket(turn)
        return []


class ActionShowBasket(MarketplaceAction):
    action_name = "action_show_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        show_basket(turn)
        return []


class ActionClearBasket(MarketplaceAction):
    action_name = "action_clear_basket"

    def handle(self, turn: Turn) -> list[EventType]:
        clear_basket(turn.uow, turn.person)
        turn.reply.say("reply.basket.cleared")
        return []


class ActionReorder(MarketplaceAction):
    action_name = "action_reorder"

    def handle(self, turn: Turn) -> list[EventType]:
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
