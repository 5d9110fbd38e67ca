"""Whole conversations through Rasa's REST channel, the trained model, the action server and the database."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from catalog.models import Product
from catalog.taxonomy import categories
from checkout.models import Basket, Order
from checkout.status import OrderStatus
from marketplace.accounts import ChatIdentity, person_for_chat
from marketplace.i18n import format_chf, format_slot, translate
from tests.e2e.conftest import Conversation

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")


def order_of(stack, number: str) -> dict:
    """What the database holds about an order, read while the session is open."""
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        lines = [(line.sku, line.quantity) for part in order.vendor_orders for line in part.lines]
        return {
            "status": order.status, "mode": order.delivery_mode, "postal_code": order.postal_code,
            "payment": order.payment_method, "slot": order.time_slot, "lines": lines,
            "goods_total": order.goods_total, "delivery_fee": order.delivery_fee, "total": order.total,
        }  # fmt: skip


def stock_of(stack, vendor: str, sku: str) -> Decimal:
    with stack.db.uow() as uow:
        return uow.session.scalar(
            select(Product.stock).join(Product.vendor).where(Product.sku == sku).where(Product.vendor.has(slug=vendor))
        )


def basket_of(stack, sender: str) -> list[tuple[str, Decimal]]:
    """The sender's basket as (sku, quantity) lines."""
    with stack.db.uow() as uow:
        person = person_for_chat(uow, sender)
        basket = uow.session.scalar(select(Basket).where(Basket.person_id == person.id))
        return [(line.product.sku, line.quantity) for line in basket.lines] if basket else []


def entities_of(payload: str) -> dict[str, str]:
    """The entities a button sends: '/add_to_basket{"product": "#84"}' -> {"product": "#84"}."""
    return json.loads(payload[payload.index("{") :])


def listed(stack, buttons: list[tuple[str, str]]) -> list[tuple[str, Product]]:
    """The products behind a list's « ➕ 1. Name » buttons: (title, product), read from the database."""
    with stack.db.uow() as uow:
        shown = []
        for title, payload in buttons:
            product = uow.session.get(Product, int(entities_of(payload)["product"][1:]))
            uow.session.expunge(product)
            shown.append((title, product))
        return shown


def assert_a_list_of(stack, answer: str, buttons: list[tuple[str, str]], lang: str) -> list[Product]:
    """The reply is « Here is what I found (N): » and N numbered products, each with its button."""
    lines = answer.splitlines()
    assert lines[0] == translate("reply.search.found", lang, count=len(buttons))
    products = []
    for rank, (title, product) in enumerate(listed(stack, buttons), start=1):
        name = product.names.get(lang) or product.names["fr"]
        assert title == f"➕ {rank}. {name}"
        assert lines[rank].startswith(f"{rank}. {name} — {format_chf(product.price_chf, lang)} / ")
        products.append(product)
    assert len(lines) == len(buttons) + 1
    return products


def category_buttons(lang: str) -> list[tuple[str, str]]:
    """The categories offered when nothing else fits."""
    slugs = ("vegetables", "cheese", "bakery", "honey", "wine")
    return [(categories()[slug].name(lang), f'/search_product{{"category": "{slug}"}}') for slug in slugs]


def filled(template_key: str, lang: str, text: str) -> dict[str, str] | None:
    """The placeholders' values if `text` is the sentence `template_key` with its {placeholders} filled."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(translate(template_key, lang)))
    match = re.fullmatch(pattern, text, re.DOTALL)
    return match.groupdict() if match else None


def is_one_of(stack, text: str, lang: str, keys: tuple[str, ...], message: str) -> bool:
    """`text` is the sentence of one of `keys` in `lang`, its {query} (if any) taken from `message`."""
    known = {"name": stack.settings.name, "currency": stack.settings.local_currency.name}
    for key in keys:
        values = filled(key, lang, text)
        if values is None or values.get("query", "") not in message:
            continue
        if all(value == known.get(name, value) for name, value in values.items()):
            return True
    return False


NOT_A_DEAD_END = ("reply.search.none", "reply.product.unknown", "reply.out_of_scope", "reply.fallback")


def test_rasa_understands_and_calls_our_action_server(stack):
    parsed = stack.rasa.parse("je cherche du miel bio")
    assert parsed["intent"]["name"] == "search_product"
    answer = stack.rasa.send(stack.new_sender(), "je cherche du miel", {"language": "fr"})
    # Only the action server can know the catalog: honeys, each with its button.
    products = assert_a_list_of(stack, answer[0].text, [(b.title, b.payload) for b in answer[0].buttons], "fr")
    assert "Miel de forêt" in [p.names["fr"] for p in products]
    assert {p.category for p in products} <= {"honey", "drinks"}  # honeys, and the mead made of honey


def test_a_pressed_button_skips_nlu_but_keeps_its_metadata(stack):
    sender = stack.new_sender()
    stack.rasa.send(sender, '/search_product{"product": "miel"}', {"language": "de", "channel": "telegram"})
    pressed = stack.rasa.tracker(sender)["latest_message"]
    assert pressed["intent"] == {"name": "search_product", "confidence": 1.0}
    # Parsed by our REST channel (rasa_channels.py), not by the NLU pipeline's RegexMessageHandler.
    assert [(e["entity"], e["value"], e.get("extractor")) for e in pressed["entities"]] == [
        ("product", "miel", "ButtonRestInput")
    ]
    assert pressed["metadata"]["language"] == "de"
    typed_answer = stack.rasa.send(sender, "ich suche Honig", {"language": "de"})
    assert typed_answer[0].text.splitlines()[0] == translate("reply.search.found", "de", count=5)
    typed = stack.rasa.tracker(sender)["latest_message"]
    assert typed["intent"]["name"] == "search_product"
    assert "ButtonRestInput" not in {e.get("extractor") for e in typed["entities"]}


def test_a_complete_purchase_in_french(stack, french):
    settings = stack.settings
    greeting = translate("reply.greet", "fr", name=settings.name, currency=settings.local_currency.name)
    assert french.say("bonjour") == greeting
    stock_before = stock_of(stack, "abeilles-du-saleve", "ABE-MIEL-3")
    found = french.say("je cherche du miel de forêt")
    assert "Miel de forêt" in [p.names["fr"] for p in assert_a_list_of(stack, found, french.buttons, "fr")]
    added = french.say("ajoute 2 pots de miel de forêt")
    assert added == (
        "C'est dans le panier : 2 × 500 g Miel de forêt. Vous en avez 2 × 500 g.\n"
        f"Panier : {format_chf(Decimal('37.00'), 'fr')} de marchandises."
    )
    assert basket_of(stack, french.sender) == [("ABE-MIEL-3", 2)]
    assert french.say("je veux commander") == "Livraison à domicile ou retrait ?"
    assert french.say("livraison à domicile") == translate("reply.checkout.ask_address", "fr")
    assert french.say("Rue de Carouge 50, 1205 Genève").endswith("À quel nom faut-il livrer ? (le nom sur la sonnette)")
    assert french.say("Marie Dupont").startswith("Un numéro de téléphone pour le coursier ?")
    assert french.say("non") == "Quel créneau vous convient ?"
    slot = entities_of(french.buttons[0][1])["time_slot"]
    assert french.buttons[0][0] == format_slot(slot, "fr")
    asked_payment = french.press(french.buttons[0][0])
    assert asked_payment.endswith("Comment souhaitez-vous payer ?")
    summary = french.say("en francs").splitlines()
    assert summary[0] == "Récapitulatif de votre commande :"
    assert f"Livraison à Rue de Carouge 50, 1205 Genève, pour Marie Dupont, {format_slot(slot, 'fr')}" in summary
    assert summary[-1] == "Paiement : en francs (QR-facture). On confirme ?"
    placed = french.say("oui")
    number = ORDER_NUMBER.search(placed)
    assert number, placed
    # Paying in francs: the Swiss QR-bill comes as an image and as a PDF, with its reference.
    image = next(m.image for m in french.last if m.image)
    document = next(m.document for m in french.last if m.document)
    assert Path(image).parent == french.stack.settings.data_dir / "payments"
    assert Path(image).name.startswith(number[0]) and Path(image).read_bytes().startswith(b"\x89PNG")
    assert Path(document).read_bytes().startswith(b"%PDF")
    order = order_of(french.stack, number[0])
    total = format_chf(order["total"], "fr")
    assert placed.splitlines()[0] == f"Merci ! Votre commande {number[0]} est enregistrée. Total : {total}."
    assert any(line.startswith(f"QR-facture : {total}, référence ") for line in placed.splitlines()), placed
    # What the customer confirmed is what the order charges (the delivery company's own fee).
    assert f"Total {total}, dont" in asked_payment
    assert next(line for line in summary if line.startswith("Total : ")).startswith(f"Total : {total} ")
    assert order["status"] == OrderStatus.PLACED
    assert (order["mode"], order["postal_code"], order["payment"]) == ("delivery", "1205", "chf")
    assert order["lines"] == [("ABE-MIEL-3", 2)]
    assert order["slot"] == slot
    assert order["goods_total"] == Decimal("37.00")
    assert stock_of(stack, "abeilles-du-saleve", "ABE-MIEL-3") == stock_before - 2
    assert basket_of(stack, french.sender) == []


def test_a_complete_purchase_in_english_with_pickup(stack, english):
    english.say("hi")
    found = english.say("looking for gruyere")
    assert "Mild Gruyère PDO" in [p.names["en"] for p in assert_a_list_of(stack, found, english.buttons, "en")]
    english.say("add 1 kg of gruyere aop doux")
    assert basket_of(stack, english.sender) == [("SEY-GRU-1", 1)]
    basket = english.say("what's in my cart").splitlines()
    price = format_chf(Decimal("24.80"), "en")
    assert basket[:3] == ["Your basket:", "Fromagerie de la Seymaz", f"  • 1 kg Mild Gruyère PDO — {price}"]
    assert basket[-1].startswith(f"Total: {format_chf(Decimal('31.80'), 'en')} ")  # with the 7.00 delivery fee
    english.say("checkout")
    english.press("Pickup")
    english.press(english.buttons[0][0])  # the pickup point
    english.press(english.buttons[0][0])
    summary = english.say("cash on delivery").splitlines()
    assert summary[0] == "Your order summary:"
    assert next(line for line in summary if line.startswith("Total: ")).startswith(f"Total: {price} ")
    placed = english.say("yes")
    number = ORDER_NUMBER.search(placed)
    assert number
    assert placed.splitlines()[0] == translate("reply.checkout.placed", "en", number=number[0], total=price)
    order = order_of(english.stack, number[0])
    assert (order["mode"], order["payment"], order["total"]) == ("pickup", "on_delivery", Decimal("24.80"))
    assert order["lines"] == [("SEY-GRU-1", 1)]


def test_an_italian_shopper_is_understood_and_answered_in_italian(stack):
    italian = Conversation(stack, stack.new_sender(), "it", [])
    found = italian.say("cerco del miele")
    first = assert_a_list_of(stack, found, italian.buttons, "it")[0]
    assert first.names["it"].startswith("Miele")
    italian.press(italian.buttons[0][0])  # the first honey, into the basket
    assert basket_of(stack, italian.sender) == [(first.sku, 1)]
    assert italian.say("mostrami il carrello").splitlines()[0] == "Il suo carrello:"
    assert italian.say("voglio ordinare") == "Consegna a domicilio o ritiro?"
    assert italian.say("consegna a domicilio") == translate("reply.checkout.ask_address", "it")


def test_a_question_in_the_middle_of_checkout_then_back_to_it(stack, french):
    french.say("ajoute un pain complet")
    assert basket_of(stack, french.sender) == [("FOU-PAI-1", 1)]
    french.say("je veux commander")
    answer = french.say("vous avez du fromage ?").splitlines()
    # The question is answered (the search's list), then the form asks its question again.
    assert answer[-2:] == ["Reprenons votre commande.", "Livraison à domicile ou retrait ?"]
    listed_cheese = assert_a_list_of(stack, "\n".join(answer[:-2]), french.buttons[: len(answer) - 3], "fr")
    assert any(p.category == "cheese" for p in listed_cheese)  # (« fromage blanc » is a dairy product)


def test_a_vendor_updates_stock_by_sentence_for_own_products_only(stack):
    before_other = stock_of(stack, "fromagerie-de-la-seymaz", "SEY-GRU-1")
    member = stack.new_member("abeilles-du-saleve")
    answer = stack.rasa.send(member, "j'ai encore 12 pots de miel d'acacia", {"language": "fr"})
    assert answer[0].text == "Stock de « Miel d'acacia » : 12 (250 g)."
    assert stock_of(stack, "abeilles-du-saleve", "ABE-MIEL-4") == 12
    assert stock_of(stack, "fromagerie-de-la-seymaz", "SEY-GRU-1") == before_other
    refused = stack.rasa.send("telegram:555111", "j'ai encore 3 pots de miel d'acacia", {"language": "fr"})
    assert refused[0].text == (
        "Ceci est réservé aux producteurs et commerçants membres. "
        "Si vous en êtes un, envoyez /link suivi du code reçu de l'équipe du marché."
    )
    assert stock_of(stack, "abeilles-du-saleve", "ABE-MIEL-4") == 12


def test_an_out_of_stock_item_is_refused_with_alternatives(stack, french):
    answer = french.say("ajoute un pot de miel de tilleul").splitlines()
    assert answer[:2] == ["« Miel de tilleul » est épuisé pour le moment.", "Dans la même catégorie, en stock :"]
    alternatives = [p for _, p in listed(stack, french.buttons)]
    assert alternatives and len(answer) == len(alternatives) + 2
    assert all(p.category == "honey" and p.stock > 0 for p in alternatives)
    assert basket_of(stack, french.sender) == []


def test_an_unknown_product_gets_suggestions_not_a_dead_end(stack, english):
    message = "do you have plantain bananas"
    answer = english.say(message)
    assert is_one_of(stack, answer, "en", NOT_A_DEAD_END, message), answer
    assert english.buttons[:5] == category_buttons("en")


@pytest.mark.parametrize("message", ["qsdkjh zzvbw plouf", "a" * 3000, "??!!", "🍕🍕🍕", "DROP TABLE products; --"])
def test_nonsense_and_very_long_input_get_a_helpful_answer_in_the_users_language(stack, message):
    sender = stack.new_sender()
    with stack.db.uow() as uow:
        products = uow.session.scalar(select(func.count(Product.id)))
    answer = stack.rasa.send(sender, message, {"language": "de"})
    # A German sentence of the assistant's, whichever way the model took the message; never the technical apology.
    small_talk = tuple(f"reply.{intent}" for intent in ("greet", "goodbye", "thank", "help", "affirm", "deny"))
    first_turn = ("reply.basket.empty", "reply.basket.cleared", "reply.orders.none", "reply.reorder.none")
    # Read as a search, the fuzzy index may offer a product for nonsense words (a known weakness): still a
    # German sentence of the assistant's, with the list it announces.
    heading = answer[0].text.split("\n", 1)[0]
    searched = is_one_of(stack, heading, "de", ("reply.search.found",), message)
    assert searched or is_one_of(stack, answer[0].text, "de", NOT_A_DEAD_END + small_talk + first_turn, message), (
        answer[0].text
    )
    with stack.db.uow() as uow:
        assert uow.session.scalar(select(func.count(Product.id))) == products


def test_conversations_are_kept_in_the_marketplace_database(stack, english):
    settings = stack.settings
    hello = translate("reply.greet", "en", name=settings.name, currency=settings.local_currency.name)
    assert english.say("hello") == hello
    with stack.db.uow() as uow:
        events = uow.session.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": english.sender})
        assert events.scalar_one() > 0
        assert uow.session.scalar(
            select(ChatIdentity.id).where(
                ChatIdentity.platform == "telegram", ChatIdentity.external_id == english.sender.split(":")[1]
            )
        )


def test_long_conversations_keep_every_event_and_still_work(stack, french):
    """The tracker store loads only the latest events; every turn must still be stored, none twice."""

    def stored() -> int:
        with stack.db.uow() as uow:
            query = text("SELECT count(*) FROM events WHERE sender_id = :s")
            return uow.session.execute(query, {"s": french.sender}).scalar_one()

    counts = []
    for turn in range(40):  # well past the 40-event window
        french.say("mon panier" if turn % 2 else "je cherche du miel")
        counts.append(stored())
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert min(steps) >= 3 and max(steps) <= 12, steps  # user message, action(s), listen: no loss, no duplicates
    assert french.say("ajoute un pot de miel de forêt") == (
        "C'est dans le panier : 1 × 500 g Miel de forêt. Vous en avez 1 × 500 g.\n"
        f"Panier : {format_chf(Decimal('18.50'), 'fr')} de marchandises."
    )
    assert basket_of(stack, french.sender) == [("ABE-MIEL-3", 1)]
    assert french.say("je veux commander") == "Livraison à domicile ou retrait ?"


def test_a_checkout_survives_many_questions_beyond_the_tracker_window(stack, french):
    french.say("ajoute un pain complet")
    assert french.say("je veux commander") == "Livraison à domicile ou retrait ?"
    for question in ["vous avez du fromage ?", "et du miel ?", "des légumes bio ?", "du vin ?"] * 2:
        answer = french.say(question)  # answered, then the form asks again
        assert answer.endswith("\nReprenons votre commande.\nLivraison à domicile ou retrait ?"), answer
    assert french.say("livraison à domicile") == translate("reply.checkout.ask_address", "fr")
    assert basket_of(stack, french.sender) == [("FOU-PAI-1", 1)]


def test_a_language_chosen_in_the_chat_outlives_the_tracker_window(stack, french):
    """The platform says French; the person chose German in the chat. Forty events later (the tracker store
    loads only the latest ones) the choice still holds."""
    french_answer = french.say("mein Warenkorb")
    person = Conversation(stack, stack.new_sender(), "fr", [])
    person.say('/change_language{"language": "de"}')
    german_answer = person.say("mein Warenkorb")
    assert german_answer != french_answer
    for _ in range(15):  # about four events a turn: well past the 40-event window
        person.say("mein Warenkorb")
    assert person.say("mein Warenkorb") == german_answer
