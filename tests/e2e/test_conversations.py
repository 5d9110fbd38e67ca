"""Whole conversations through Rasa's REST channel, the trained model, the action server and the database."""

from __future__ import annotations

import itertools
import json
import re
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from catalog.models import Product
from checkout.models import Order
from checkout.status import OrderStatus
from marketplace.accounts import ChatIdentity
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
        }  # fmt: skip


def stock_of(stack, vendor: str, sku: str) -> Decimal:
    with stack.db.uow() as uow:
        return uow.session.scalar(
            select(Product.stock).join(Product.vendor).where(Product.sku == sku).where(Product.vendor.has(slug=vendor))
        )


def test_rasa_understands_and_calls_our_action_server(stack):
    parsed = stack.rasa.parse("je cherche du miel bio")
    assert parsed["intent"]["name"] == "search_product"
    answer = stack.rasa.send("terminal:probe", "je cherche du miel", {"language": "fr"})
    assert any("Miel" in m.text for m in answer)  # only the action server can know the catalog


def test_a_pressed_button_skips_nlu_but_keeps_its_metadata(stack):
    sender = stack.new_sender()
    stack.rasa.send(sender, '/search_product{"product": "miel"}', {"language": "de", "channel": "telegram"})
    with urllib.request.urlopen(f"{stack.rasa.url}/conversations/{sender}/tracker") as response:
        tracker = json.load(response)
    pressed = tracker["latest_message"]
    assert pressed["intent"] == {"name": "search_product", "confidence": 1.0}
    # Parsed by our REST channel (rasa_channels.py), not by the NLU pipeline's RegexMessageHandler.
    assert [(e["entity"], e["value"], e.get("extractor")) for e in pressed["entities"]] == [
        ("product", "miel", "ButtonRestInput")
    ]
    assert pressed["metadata"]["language"] == "de"
    assert stack.rasa.send(sender, "ich suche Honig", {"language": "de"})
    with urllib.request.urlopen(f"{stack.rasa.url}/conversations/{sender}/tracker") as response:
        typed = json.load(response)["latest_message"]
    assert typed["intent"]["name"] == "search_product"
    assert "ButtonRestInput" not in {e.get("extractor") for e in typed["entities"]}


def test_a_complete_purchase_in_french(stack, french):
    assert french.say("bonjour")
    found = french.say("je cherche du miel de forêt")
    assert "Miel de forêt" in found
    added = french.say("ajoute 2 pots de miel de forêt")
    assert "Miel de forêt" in added and "2" in added
    asked = french.say("je veux commander")
    assert "Livraison" in asked or "livraison" in asked
    french.say("livraison à domicile")
    assert "numéro postal" in french.last[0].text
    french.say("1205")
    assert french.buttons, "time slots are offered as buttons"
    french.press(french.buttons[0][0])
    assert "payer" in french.last[0].text
    summary = french.say("en francs")
    assert "Récapitulatif" in summary and "1205" in summary
    placed = french.say("oui")
    number = ORDER_NUMBER.search(placed)
    assert number, placed
    # Paying in francs: the Swiss QR-bill comes as an image and as a PDF, with its reference.
    image = next(m.image for m in french.last if m.image)
    document = next(m.document for m in french.last if m.document)
    assert Path(image).parent == french.stack.settings.data_dir / "payments"
    assert Path(image).name.startswith(number[0]) and Path(image).read_bytes().startswith(b"\x89PNG")
    assert Path(document).read_bytes().startswith(b"%PDF")
    assert "QR-facture" in placed and "référence" in placed
    order = order_of(french.stack, number[0])
    assert order["status"] == OrderStatus.PLACED
    assert (order["mode"], order["postal_code"], order["payment"]) == ("delivery", "1205", "chf")
    assert order["lines"] == [("ABE-MIEL-3", 2)]
    assert order["slot"]


def test_a_complete_purchase_in_english_with_pickup(stack, english):
    english.say("hi")
    found = english.say("looking for gruyere")
    assert "Gruyère" in found
    english.say("add 1 kg of gruyere aop doux")
    basket = english.say("what's in my cart")
    assert "Mild Gruyère PDO" in basket and "Total" in basket
    english.say("checkout")
    english.press("Pickup")
    english.press(english.buttons[0][0])
    english.say("cash on delivery")
    assert "summary" in english.last[0].text.lower()
    number = ORDER_NUMBER.search(english.say("yes"))
    assert number
    order = order_of(english.stack, number[0])
    assert (order["mode"], order["payment"]) == ("pickup", "on_delivery")
    assert order["lines"] == [("SEY-GRU-1", 1)]


def test_an_italian_shopper_is_understood_and_answered_in_italian(stack):
    italian = Conversation(stack, stack.new_sender(), "it", [])
    found = italian.say("cerco del miele")
    assert "Ecco che cosa ho trovato" in found and "Miel" in found
    italian.press(italian.buttons[0][0])  # the first honey, into the basket
    assert "Il suo carrello:" in italian.say("mostrami il carrello")
    assert "Consegna a domicilio o ritiro?" in italian.say("voglio ordinare")
    assert "A quale codice postale" in italian.say("consegna a domicilio")


def test_a_question_in_the_middle_of_checkout_then_back_to_it(stack, french):
    french.say("ajoute un pain complet")
    french.say("je veux commander")
    answer = french.say("vous avez du fromage ?")
    assert "Fromage" in answer or "Gruyère" in answer
    assert "Livraison à domicile ou retrait" in answer  # the form asks its question again


def test_a_vendor_updates_stock_by_sentence_for_own_products_only(stack):
    before_other = stock_of(stack, "fromagerie-de-la-seymaz", "SEY-GRU-1")
    answer = stack.rasa.send("terminal:abeilles-du-saleve", "j'ai encore 12 pots de miel d'acacia", {"language": "fr"})
    assert "Miel d'acacia" in answer[0].text
    assert stock_of(stack, "abeilles-du-saleve", "ABE-MIEL-4") == 12
    assert stock_of(stack, "fromagerie-de-la-seymaz", "SEY-GRU-1") == before_other
    refused = stack.rasa.send("telegram:555111", "j'ai encore 12 pots de miel d'acacia", {"language": "fr"})
    assert "réservé aux producteurs" in refused[0].text


def test_an_out_of_stock_item_is_refused_with_alternatives(stack, french):
    answer = french.say("ajoute un pot de miel de tilleul")
    assert "épuisé" in answer
    assert french.buttons, "alternatives in stock are offered"


def test_an_unknown_product_gets_suggestions_not_a_dead_end(stack, english):
    answer = english.say("do you have plantain bananas")
    assert answer and english.buttons


@pytest.mark.parametrize("message", ["qsdkjh zzvbw plouf", "a" * 3000, "??!!", "🍕🍕🍕", "DROP TABLE products; --"])
def test_nonsense_and_very_long_input_get_a_helpful_answer_in_the_users_language(stack, message):
    sender = stack.new_sender()
    answer = stack.rasa.send(sender, message, {"language": "de"})
    assert answer and answer[0].text
    assert not any(word in answer[0].text for word in ("Traceback", "Error", "error"))
    with stack.db.uow() as uow:
        assert uow.session.scalar(select(Product.id).limit(1)) is not None


def test_conversations_are_kept_in_the_marketplace_database(stack, english):
    english.say("hello")
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
    assert "Miel" in french.say("ajoute un pot de miel de forêt")
    assert "Livraison à domicile ou retrait" in french.say("je veux commander")


def test_a_checkout_survives_many_questions_beyond_the_tracker_window(stack, french):
    french.say("ajoute un pain complet")
    assert "Livraison à domicile ou retrait" in french.say("je veux commander")
    for question in ["vous avez du fromage ?", "et du miel ?", "des légumes bio ?", "du vin ?"] * 2:
        assert "Livraison à domicile ou retrait" in french.say(question)  # answered, then the form asks again
    french.say("livraison à domicile")
    assert "numéro postal" in french.last[0].text
