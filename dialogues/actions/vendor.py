"""Producer actions: stock and price by sentence, orders to prepare — on their own products only.

Thin adapters over `work/vendors.py`, like the `/stock`, `/price` and `/orders` commands: they find the
product's words and the number in the message, call the core, and render with the same reply keys.
Who speaks shapes what is meant: a message from someone who is no vendor's member is never a stock or price
update; if it plainly asks for goods ("put 1.5 kg of gala apples in my basket"), it is carried out as such.
"""

from __future__ import annotations

from rasa_sdk.events import EventType

from catalog.services import ProductView
from catalog.taxonomy import format_quantity
from dialogues.actions.base import MarketplaceAction, Turn
from dialogues.actions.basket_requests import message_text, plain_basket_request, states_stock
from dialogues.actions.parsing import parse_amount, parse_quantity
from dialogues.actions.shopping import MAX_TEXT, carry_out, payload
from marketplace.errors import NotLinked, PermissionDenied
from marketplace.i18n import unit_label
from work.vendors import OwnProductMatch, match_own_product, open_orders, set_price, set_stock, vendor_of


def own_product(turn: Turn, intent: str, **entities: str) -> ProductView | None:
    """The speaker's own product this message is about; else None, having asked which one (each button
    repeats `intent` with the product's SKU, which the matcher takes as exact)."""
    vendor_of(turn.person)  # the rights check: told how to link, or that their vendor is suspended
    named = turn.entity("product")
    typed = "" if turn.text.startswith("/") else turn.text[:MAX_TEXT]  # a button payload is no product name
    # The NLU's product words first ("miel"), then the whole message ("12 pots de miel d'acacia").
    match = OwnProductMatch(None)
    for query in dict.fromkeys(q for q in (named, typed) if q):
        found = match_own_product(turn.uow, turn.person, query, turn.lang)
        if found.exact is not None:
            return found.exact
        match = match if match.candidates else found
    said = (named or typed)[:60]
    if not match.candidates:
        turn.reply.say("vendor.product_unknown", product=said)
        return None
    turn.reply.say("vendor.product_which", product=said)
    for p in match.candidates:
        button = {"title": f"{p.name} ({p.sku})", "payload": payload(intent, product=p.sku, **entities)}
        turn.reply.buttons.append(button)
    return None


def shop_instead(turn: Turn) -> list[EventType] | None:
    """For someone who may not act as a vendor (no vendor's member, or a suspended one's), a basket request taken
    for a stock or price update is carried out as the basket request it is; None otherwise (a member's update,
    or a refusal to come: `own_product` then says why, naming a suspended vendor)."""
    try:
        vendor_of(turn.person)
        return None
    except (NotLinked, PermissionDenied):
        pass
    if states_stock(message_text(turn)):  # « j'ai encore 12 pots de miel »: not a purchase, whoever says it
        return None
    wanted = plain_basket_request(turn)
    return carry_out(turn, wanted) if wanted else None


class ActionUpdateStock(MarketplaceAction):
    action_name = "action_update_stock"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_instead(turn)) is not None:
            return shopped
        quantity = parse_quantity(turn.entity("quantity") or turn.text)
        extra = {"quantity": format_quantity(quantity)} if quantity is not None else {}
        product = own_product(turn, "update_stock", **extra)
        if product is None:
            return []
        if quantity is None:
            turn.reply.say("reply.vendor.which_quantity", product=product.name)
            return []
        stock = turn.reply.number(set_stock(turn.uow, turn.person, product.id, quantity))
        turn.reply.say("vendor.stock_set", product=product.name, stock=stock, unit=unit_label(product.unit, turn.lang))
        return []


class ActionUpdatePrice(MarketplaceAction):
    action_name = "action_update_price"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_instead(turn)) is not None:
            return shopped
        price = parse_amount(turn.entity("amount")) or parse_amount(turn.text)
        product = own_product(turn, "update_price", **({"amount": str(price)} if price is not None else {}))
        if product is None:
            return []
        if price is None:
            turn.reply.say("reply.vendor.which_price", product=product.name)
            return []
        reply = turn.reply
        old, new = reply.chf(product.price.amount), reply.chf(set_price(turn.uow, turn.person, product.id, price))
        reply.say("vendor.price_set", product=product.name, old=old, new=new, unit=unit_label(product.unit, turn.lang))
        return []


class ActionVendorOrders(MarketplaceAction):
    action_name = "action_vendor_orders"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_instead(turn)) is not None:
            return shopped
        work = open_orders(turn.uow, turn.person)
        reply = turn.reply
        if not work.orders:
            reply.say("vendor.orders.none")
            return []
        reply.say("vendor.orders.title", vendor=work.vendor_name, count=work.count)
        for order in work.orders:
            status = reply.t(f"status.{order.status}")
            if order.payment != "paid":
                status += ", " + reply.t(f"payment.state.{order.payment}")
            items = ", ".join(
                f"{reply.number(i.quantity)} {unit_label(i.unit, turn.lang)} {i.name}" for i in order.items
            )
            when, total = reply.slot(order.slot), reply.chf(order.goods_total)
            reply.say("vendor.orders.line", order=order.number, status=status, when=when, items=items, total=total)
        if work.count > len(work.orders):
            reply.say("vendor.orders.more", count=work.count - len(work.orders))
        return []
