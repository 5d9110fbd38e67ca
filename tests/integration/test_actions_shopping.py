"""Consumer actions (search, details, basket, reorder) run without Rasa, against the test database."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import update

from bootstrap import App
from catalog.models import Product
from catalog.services import find_product
from demo import load_demo
from dialogues.actions import (
    ActionAddToBasket,
    ActionClearBasket,
    ActionProductDetails,
    ActionRemoveFromBasket,
    ActionReorder,
    ActionSearchProducts,
    ActionShowBasket,
)
from tests.conftest import make_product
from tests.support.actions import (  # noqa: F401
    CATEGORY_BUTTONS,
    basket_of,
    chf,
    language_of,
    placed_order,
    run,
    served,
    stock_of,
    tomatoes_and_wine,
    tracker,
)

pytestmark = pytest.mark.usefixtures("served")

UNSET_PRODUCT = [SlotSet("product", None), SlotSet("quantity", None), SlotSet("unit", None)]


def add_button(rank: int, name: str, product_id: int) -> tuple[str, str]:
    return f"➕ {rank}. {name}", f'/add_to_basket{{"product": "#{product_id}", "quantity": "1"}}'


def set_stock(app: App, product_id: int, stock: str) -> None:
    with app.db.uow() as uow:
        uow.session.execute(update(Product).where(Product.id == product_id).values(stock=Decimal(stock)))
        uow.commit()


def demo_product(app: App, vendor: str, sku: str) -> tuple[int, dict[str, str]]:
    with app.db.uow() as uow:
        product = find_product(uow, vendor, sku)
        return product.id, dict(product.names)


@pytest.fixture
def demo(app: App) -> App:
    with app.db.uow() as uow:
        load_demo(uow)
        uow.commit()
    return app


# --- search and details -----------------------------------------------------------------------


def test_search_lists_each_match_with_its_add_button(shop: dict[str, int]) -> None:
    done = run(ActionSearchProducts(), tracker("je cherche des tomates", "search_product", {"product": "tomates"}))
    assert done.text == f"Voici ce que j'ai trouvé (1) :\n1. Tomates — {chf('4.80')} / kg — Ferme Test"
    assert done.buttons == [add_button(1, "Tomates", shop["tomato"])]
    assert done.events == [SlotSet("shown_products", [shop["tomato"]])]


@pytest.mark.usefixtures("shop")
def test_search_without_a_match_says_so_and_offers_categories() -> None:
    done = run(ActionSearchProducts(), tracker("bananes plantain", "search_product"))
    assert done.text == "Je n'ai rien trouvé pour « bananes plantain ». Essayez une catégorie :"
    assert done.buttons == CATEGORY_BUTTONS
    assert done.events == [SlotSet("shown_products", [])]


def test_an_italian_search_answers_in_italian_with_italian_names(demo: App) -> None:
    done = run(ActionSearchProducts(), tracker("cerco del miele", "search_product", {"product": "miele"}, lang="it"))
    assert done.text.splitlines()[0] == "Ecco che cosa ho trovato (5):"
    shown = done.slots["shown_products"]
    with demo.db.uow() as uow:
        names = [uow.session.get(Product, product_id).names["it"] for product_id in shown]
    assert done.buttons == [
        add_button(rank, name, pid) for rank, (name, pid) in enumerate(zip(names, shown, strict=True), 1)
    ]
    assert all(name.startswith("Miele") for name in names)
    assert language_of(demo, "telegram:1001") == "it"  # the channel's language is remembered


def test_details_show_price_vendor_leman_share_and_stock(shop: dict[str, int]) -> None:
    done = run(ActionProductDetails(), tracker("", "product_details", {"product": f"#{shop['tomato']}"}))
    assert done.text == (
        f"Tomates — {chf('4.80')} / kg — Ferme Test\nPayable à 50 % en Léman.\nEn stock : 10 kg."
    )  # fmt: skip
    assert done.buttons == [add_button(1, "Tomates", shop["tomato"])]
    assert done.events == [SlotSet("shown_products", [shop["tomato"]])]


@pytest.mark.usefixtures("shop")
def test_details_of_a_product_that_no_longer_exists_is_a_friendly_sentence() -> None:
    done = run(ActionProductDetails(), tracker("", "product_details", {"product": "#99999"}))
    assert done.text == "Je ne trouve pas le produit « 99999 »."
    assert done.buttons == [] and done.events == []


@pytest.mark.usefixtures("shop")
def test_an_unexpected_failure_is_one_apologetic_sentence_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    garbled = tracker("le 1", "product_details", slots={"shown_products": ["not-an-id"]})
    with caplog.at_level(logging.ERROR):
        done = run(ActionProductDetails(), garbled)
    assert done.text == "Oups, un problème technique m'empêche de répondre. Réessayez dans un instant."
    assert done.buttons == [] and done.events == []
    assert "action action_product_details failed" in caplog.text


# --- basket -----------------------------------------------------------------------------------


def test_add_by_button_puts_the_product_in_the_basket(app: App, shop: dict[str, int]) -> None:
    pressed = tracker(f'/add_to_basket{{"product": "#{shop["wine"]}"}}', "add_to_basket",
                      {"product": f"#{shop['wine']}", "quantity": "2"})  # fmt: skip
    done = run(ActionAddToBasket(), pressed)
    assert done.text == (
        f"C'est dans le panier : 2 × 75 cl Chasselas. Vous en avez 2 × 75 cl.\nPanier : {chf('29.00')} de marchandises."
    )
    assert done.buttons == [("🧺 Voir le panier", "/show_basket"), ("✅ Commander", "/checkout")]
    assert done.events == UNSET_PRODUCT
    assert basket_of(app) == {shop["wine"]: 2}


def test_add_converts_grams_into_the_products_sales_unit(app: App, shop: dict[str, int]) -> None:
    typed = tracker("ajoute 500 g de tomates", "add_to_basket", {"product": "tomates", "quantity": "500", "unit": "g"})
    done = run(ActionAddToBasket(), typed)
    assert done.text == (
        f"C'est dans le panier : 0,5 kg Tomates. Vous en avez 0,5 kg.\nPanier : {chf('2.40')} de marchandises."
    )
    assert basket_of(app) == {shop["tomato"]: Decimal("0.5")}


def test_german_shopper_adds_in_german_and_is_answered_in_german(demo: App) -> None:
    honey, names = demo_product(demo, "abeilles-du-saleve", "ABE-MIEL-3")
    typed = tracker("füge 2 Gläser Waldhonig hinzu", "add_to_basket", {"product": "Waldhonig", "quantity": "2"},
                    sender="telegram:3003", lang="de")  # fmt: skip
    done = run(ActionAddToBasket(), typed)
    assert names["de"] == "Waldhonig"
    assert (
        done.text
        == f"Im Warenkorb: 2 × 500 g Waldhonig. Sie haben jetzt 2 × 500 g.\nWarenkorb: Waren für {chf('37.00', 'de')}."
    )
    assert done.buttons == [("🧺 Warenkorb anzeigen", "/show_basket"), ("✅ Bestellen", "/checkout")]
    assert basket_of(demo, "telegram:3003") == {honey: 2}
    assert language_of(demo, "telegram:3003") == "de"


def test_add_more_than_the_stock_says_what_is_left_and_adds_nothing(app: App, shop: dict[str, int]) -> None:
    done = run(ActionAddToBasket(), tracker("ajoute 5 oeufs", "add_to_basket", {"product": "oeufs", "quantity": "5"}))
    assert done.text == "Il ne reste que 3 de « Œufs (6) »."
    assert done.buttons == [] and done.events == []
    assert basket_of(app) == {}
    assert stock_of(app, shop["eggs"]) == Decimal(3)


def test_add_a_sold_out_product_offers_what_is_in_stock_in_its_category(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        carrots = make_product(uow, "ferme-test", "CAR", "Carottes", "3.20", "8")
        uow.commit()
    set_stock(app, shop["tomato"], "0")
    done = run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['tomato']}", "quantity": "1"}))
    assert done.text == (
        "« Tomates » est épuisé pour le moment.\nDans la même catégorie, en stock :\n"
        f"1. Carottes — {chf('3.20')} / pièce — Ferme Test"
    )
    assert done.buttons == [add_button(1, "Carottes", carrots)]
    assert done.events == [SlotSet("shown_products", [carrots])]
    assert basket_of(app) == {}


@pytest.mark.usefixtures("shop")
def test_add_an_unknown_product_asks_for_a_category(app: App) -> None:
    done = run(ActionAddToBasket(), tracker("ajoute une licorne", "add_to_basket", {"product": "licorne"}))
    assert done.text == "Je ne connais pas de produit « licorne ». Essayez une catégorie :"
    assert done.buttons == CATEGORY_BUTTONS
    assert done.events == [SlotSet("shown_products", [])]
    assert basket_of(app) == {}


def basket_text(*lines: str) -> str:
    return "\n".join(lines)


FULL_BASKET = (
    "Votre panier :",
    *tomatoes_and_wine(),
    f"Livraison : {chf('7.00')}",  # the deployment's fee below 80 CHF of goods
    f"Total : {chf('31.10')} (jusqu'à {chf('4.80')} payables en Léman)",
)
BASKET_BUTTONS = [("✅ Commander", "/checkout"), ("🗑 Vider le panier", "/clear_basket")]


def fill_basket(app: App, shop: dict[str, int]) -> None:
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['tomato']}", "quantity": "2"}))
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['wine']}", "quantity": "1"}))
    assert basket_of(app) == {shop["tomato"]: 2, shop["wine"]: 1}


def test_show_basket_gives_each_vendors_lines_subtotal_and_the_total(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    done = run(ActionShowBasket(), tracker("mon panier", "show_basket"))
    assert done.text == basket_text(*FULL_BASKET)
    assert done.buttons == BASKET_BUTTONS
    assert done.events == []


@pytest.mark.usefixtures("shop")
def test_show_an_empty_basket_suggests_categories() -> None:
    done = run(ActionShowBasket(), tracker("mon panier", "show_basket"))
    assert done.text == "Votre panier est vide."
    assert done.buttons == CATEGORY_BUTTONS


def test_remove_a_quantity_reduces_the_line_and_shows_the_basket(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    done = run(ActionRemoveFromBasket(), tracker("enlève 1 kg de tomates", "remove_from_basket",
                                                 {"product": "tomates", "quantity": "1"}))  # fmt: skip
    assert done.text == basket_text(
        "« Tomates » : il en reste 1 kg dans le panier.",
        "Votre panier :",
        "Ferme Test",
        f"  • 1 kg Tomates — {chf('4.80')}",
        f"  Sous-total {chf('4.80')}, dont jusqu'à {chf('2.40')} en Léman",
        *tomatoes_and_wine()[3:],  # the wine, unchanged
        f"Livraison : {chf('7.00')}",
        f"Total : {chf('26.30')} (jusqu'à {chf('2.40')} payables en Léman)",
    )
    assert done.buttons == BASKET_BUTTONS
    assert basket_of(app) == {shop["tomato"]: 1, shop["wine"]: 1}


def test_remove_by_button_takes_the_whole_line_out(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    done = run(ActionRemoveFromBasket(), tracker("", "remove_from_basket", {"product": f"#{shop['wine']}"}))
    assert done.text.splitlines()[0] == "J'ai retiré « Chasselas » du panier."
    assert basket_of(app) == {shop["tomato"]: 2}


def test_remove_something_not_in_the_basket_offers_the_lines_it_holds(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    done = run(ActionRemoveFromBasket(), tracker("enlève le fromage", "remove_from_basket", {"product": "fromage"}))
    assert done.text == "Ce produit n'est pas dans votre panier. Que faut-il retirer ?"
    assert done.buttons == [
        ("➖ Tomates", f'/remove_from_basket{{"product": "#{shop["tomato"]}"}}'),
        ("➖ Chasselas", f'/remove_from_basket{{"product": "#{shop["wine"]}"}}'),
    ]
    assert basket_of(app) == {shop["tomato"]: 2, shop["wine"]: 1}


@pytest.mark.usefixtures("shop")
def test_remove_from_an_empty_basket_says_it_is_empty() -> None:
    done = run(ActionRemoveFromBasket(), tracker("enlève les tomates", "remove_from_basket", {"product": "tomates"}))
    assert done.text == "Votre panier est vide."
    assert done.buttons == [] and done.events == []


def test_clear_basket_empties_it(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    done = run(ActionClearBasket(), tracker("vide mon panier", "clear_basket"))
    assert done.text == "Votre panier est vidé."
    assert basket_of(app) == {}


# --- reorder ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("shop")
def test_reorder_without_any_order_says_so(app: App) -> None:
    done = run(ActionReorder(), tracker("comme la dernière fois", "reorder"))
    assert done.text == "Vous n'avez pas encore passé de commande."
    assert done.buttons == CATEGORY_BUTTONS
    assert basket_of(app) == {}


def test_reorder_puts_the_last_order_back_and_names_what_is_gone(app: App, shop: dict[str, int]) -> None:
    placed_order(app, {shop["tomato"]: "2", shop["wine"]: "1", shop["eggs"]: "3"})
    assert stock_of(app, shop["eggs"]) == Decimal(0)  # the order took the last eggs
    done = run(ActionReorder(), tracker("comme la dernière fois", "reorder"))
    assert done.text == basket_text(
        "J'ai remis 2 article(s) de votre dernière commande dans le panier.",
        "« Œufs (6) » n'est plus disponible.",
        *FULL_BASKET,
    )
    assert done.buttons == BASKET_BUTTONS
    assert basket_of(app) == {shop["tomato"]: 2, shop["wine"]: 1}
