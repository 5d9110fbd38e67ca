"""Producer actions (stock and price by sentence, orders to prepare) run without Rasa, against the test database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bootstrap import App
from dialogues.actions import ActionUpdatePrice, ActionUpdateStock, ActionVendorOrders
from tests.support.actions import (  # noqa: F401
    CELLAR,
    CONSUMER,
    FARMER,
    chf,
    placed_order,
    price_of,
    run,
    served,
    stock_of,
    tracker,
)

pytestmark = pytest.mark.usefixtures("served")

REFUSAL = (
    "Ceci est réservé aux producteurs et commerçants membres. "
    "Si vous en êtes un, envoyez /link suivi du code reçu de l'équipe du marché."
)


# --- stock ------------------------------------------------------------------------------------


def test_a_producer_sets_the_stock_of_an_own_product_by_sentence(app: App, shop: dict[str, int]) -> None:
    said = tracker("j'ai encore 12 kg de tomates", "update_stock", {"product": "tomates", "quantity": "12"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert done.text == "Stock de « Tomates » : 12 (kg)."
    assert done.buttons == [] and done.events == []
    assert stock_of(app, shop["tomato"]) == Decimal(12)


def test_a_producer_writing_in_german_is_answered_in_german(app: App, shop: dict[str, int]) -> None:
    said = tracker("ich habe noch 7 Tomaten", "update_stock", {"product": "Tomates", "quantity": "7"},
                   sender=FARMER, lang="de")  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert done.text == "Lagerbestand «Tomates»: 7 (kg)."
    assert stock_of(app, shop["tomato"]) == Decimal(7)


def test_sold_out_in_words_sets_the_stock_to_zero(app: App, shop: dict[str, int]) -> None:
    said = tracker("plus de tomates", "update_stock", {"product": "tomates"}, sender=FARMER)
    assert run(ActionUpdateStock(), said).text == "Stock de « Tomates » : 0 (kg)."
    assert stock_of(app, shop["tomato"]) == Decimal(0)


def test_a_consumer_cannot_set_a_stock(app: App, shop: dict[str, int]) -> None:
    said = tracker("j'ai encore 12 kg de tomates", "update_stock", {"product": "tomates", "quantity": "12"})
    done = run(ActionUpdateStock(), said)
    assert done.text == REFUSAL
    assert done.buttons == []
    assert stock_of(app, shop["tomato"]) == Decimal(10)


def test_a_producer_cannot_set_the_stock_of_another_vendors_product(app: App, shop: dict[str, int]) -> None:
    said = tracker("j'ai encore 5 chasselas", "update_stock", {"product": "chasselas", "quantity": "5"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert done.text == "Je ne trouve pas « chasselas » parmi vos produits. /products les liste tous."
    assert stock_of(app, shop["wine"]) == Decimal(24)


def test_a_stock_without_a_quantity_asks_for_it(app: App, shop: dict[str, int]) -> None:
    done = run(ActionUpdateStock(), tracker("le stock des tomates", "update_stock", {"product": "tomates"},
                                            sender=FARMER))  # fmt: skip
    assert done.text == "Combien de « Tomates » avez-vous en stock ?"
    assert stock_of(app, shop["tomato"]) == Decimal(10)


def test_a_fraction_of_a_piece_is_refused_with_a_friendly_sentence(app: App, shop: dict[str, int]) -> None:
    said = tracker("il me reste 1,5 oeufs", "update_stock", {"product": "oeufs", "quantity": "1,5"}, sender=FARMER)
    done = run(ActionUpdateStock(), said)
    assert done.text == "La quantité « 1.5 » n'est pas valable pour ce produit."
    assert stock_of(app, shop["eggs"]) == Decimal(3)


# --- price ------------------------------------------------------------------------------------


def test_a_producer_changes_the_price_of_an_own_product(app: App, shop: dict[str, int]) -> None:
    said = tracker("les tomates passent à 5.50", "update_price", {"product": "tomates", "amount": "5.50"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdatePrice(), said)
    assert done.text == (
        f"« Tomates » passe de {chf('4.80')} à {chf('5.50')} / kg. Les commandes déjà passées gardent leur prix."
    )
    assert price_of(app, shop["tomato"]) == Decimal("5.50")


def test_a_consumer_cannot_change_a_price(app: App, shop: dict[str, int]) -> None:
    said = tracker("les tomates passent à 1.00", "update_price", {"product": "tomates", "amount": "1.00"})
    assert run(ActionUpdatePrice(), said).text == REFUSAL
    assert price_of(app, shop["tomato"]) == Decimal("4.80")


def test_an_absurd_price_is_refused_and_the_price_stays(app: App, shop: dict[str, int]) -> None:
    said = tracker("les tomates passent à 200000", "update_price", {"product": "tomates", "amount": "200000"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdatePrice(), said)
    assert done.text == "Le prix « 200000.00 » n'est pas un montant en francs valable (ex. 6.50)."
    assert price_of(app, shop["tomato"]) == Decimal("4.80")


def test_a_price_without_an_amount_asks_for_it(app: App, shop: dict[str, int]) -> None:
    said = tracker("nouveau prix des tomates", "update_price", {"product": "tomates"}, sender=FARMER)
    assert run(ActionUpdatePrice(), said).text == "Quel est le nouveau prix de « Tomates » ?"
    assert price_of(app, shop["tomato"]) == Decimal("4.80")


# --- orders to prepare ------------------------------------------------------------------------


def test_a_producer_sees_only_the_own_part_of_open_orders(app: App, shop: dict[str, int]) -> None:
    number = placed_order(app, {shop["tomato"]: "2", shop["wine"]: "1"})
    done = run(ActionVendorOrders(), tracker("mes commandes", "vendor_orders", sender=CELLAR))
    assert done.text == (
        "Commandes en cours de Cave Test (1) :\n"
        f"• {number} (passée, paiement attendu) mer. 25 nov. 17:00-19:00 : 1 75 cl Chasselas — {chf('14.50')}"
    )


@pytest.mark.usefixtures("shop")
def test_a_producer_without_open_orders_is_told_so() -> None:
    done = run(ActionVendorOrders(), tracker("mes commandes", "vendor_orders", sender=FARMER))
    assert done.text == "Aucune commande à préparer pour le moment."


def test_a_consumer_asking_for_vendor_orders_is_refused(app: App, shop: dict[str, int]) -> None:
    placed_order(app, {shop["wine"]: "1"})
    done = run(ActionVendorOrders(), tracker("mes commandes", "vendor_orders", sender=CONSUMER))
    assert done.text == REFUSAL
