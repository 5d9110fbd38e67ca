"""Plain basket requests carried out from the words themselves (issue 10), run without Rasa on the demo catalog.

Each turn gets the intent and entities Rasa would plausibly give, wrong ones included (the fallback intent, a stock
update from a customer, a product entity covering only « pommes » in « pommes de terre »): the product is read from
the whole sentence, the quantity from the words and converted to the sale unit, a question asked only when needed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from sqlalchemy import select, update

from bootstrap import App
from catalog.models import Product
from demo import load_demo
from dialogues.actions import (
    ActionAddToBasket,
    ActionClearBasket,
    ActionFallback,
    ActionSearchProducts,
    ActionShowBasket,
    ActionSmallTalk,
    ActionUpdatePrice,
    ActionUpdateStock,
)
from marketplace.accounts import Organisation, add_member, person_for_chat
from tests.support.actions import CONSUMER, FARMER, chf, run, served, stock_of, tracker  # noqa: F401
from tests.support.shop import basket_lines

pytestmark = pytest.mark.usefixtures("served")

ACTIONS: dict[str, Action] = {
    "add_to_basket": ActionAddToBasket(),
    "nlu_fallback": ActionFallback(),
    "out_of_scope": ActionSmallTalk(),
    "search_product": ActionSearchProducts(),
    "update_stock": ActionUpdateStock(),
    "update_price": ActionUpdatePrice(),
}
FORGET_REQUEST = [SlotSet("product", None), SlotSet("quantity", None), SlotSet("unit", None)]
JUSSY_MEMBER = "telegram:4004"  # a member of the demo's Vergers de Jussy (apples)
REFUSAL = (
    "Ceci est réservé aux producteurs et commerçants membres. "
    "Si vous en êtes un, envoyez /link suivi du code reçu de l'équipe du marché."
)


@pytest.fixture
def demo(app: App) -> App:
    with app.db.uow() as uow:
        load_demo(uow)
        member = person_for_chat(uow, JUSSY_MEMBER)
        add_member(uow, member, uow.session.scalar(select(Organisation).where(Organisation.slug == "vergers-de-jussy")))
        uow.commit()
    return app


def say(
    text: str, intent: str, entities: dict[str, str] | None = None, lang: str = "fr", **options: object
) -> tuple[str, list[tuple[str, str]], list]:  # type: ignore[type-arg]
    done = run(ACTIONS[intent], tracker(text, intent, entities, lang=lang, **options))  # type: ignore[arg-type]
    return done.text, done.buttons, done.events


def basket(app: App, address: str = CONSUMER) -> dict[str, Decimal]:
    """SKU -> quantity in the person's basket."""
    return {sku: quantity.normalize() for sku, quantity in basket_lines(app.db, address.partition(":")[2])}


def product_id(app: App, sku: str) -> int:
    with app.db.uow() as uow:
        return uow.session.scalar(select(Product.id).where(Product.sku == sku))


def set_stock(app: App, sku: str, stock: str) -> None:
    with app.db.uow() as uow:
        uow.session.execute(update(Product).where(Product.sku == sku).values(stock=Decimal(stock)))
        uow.commit()


def press(payload: str, lang: str = "fr", **entities: str | list[str]) -> tuple[str, list[tuple[str, str]]]:
    """A pressed button: its payload as text, its entities as Rasa unpacks them (a list is one entity per value)."""
    latest = tracker(payload, "add_to_basket", None, lang=lang)
    latest.latest_message["entities"] = [
        {"entity": name, "value": value}
        for name, values in entities.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    done = run(ActionAddToBasket(), latest)
    return done.text, done.buttons


# --- 1. the words themselves: issue 10's table, with the NLU's plausible (and wrong) readings --------------------


@pytest.mark.parametrize(
    ("lang", "text", "intent", "entities", "expected"),
    [
        # the NLU tagged "800" alone: read as 800 kg before
        ("fr", "ajoute 800 g de fromage à raclette", "add_to_basket",
         {"product": "fromage à raclette", "quantity": "800"}, {"SEY-RAC-1": "0.8"}),
        ("de", "Bitte 500 Gramm Raclettekäse", "add_to_basket", {"product": "Raclettekäse", "quantity": "500"},
         {"SEY-RAC-1": "0.5"}),
        ("fr", "un kilo et demi de pommes gala", "add_to_basket", {"product": "pommes gala", "quantity": "un"},
         {"JUS-POM-1": "1.5"}),
        # the product entity covers only « pommes »
        ("fr", "mets-moi 2 kg de pommes de terre", "add_to_basket",
         {"product": "pommes", "quantity": "2", "unit": "kg"}, {"VER-POM-1": "2"}),
        ("fr", "je prends 3 baguettes", "nlu_fallback", {}, {"FOU-PAI-3": "3"}),
        ("it", "vorrei 3 baguette", "add_to_basket", {"product": "baguette", "quantity": "3"}, {"FOU-PAI-3": "3"}),
        ("en", "I'd like two loaves of sourdough bread", "add_to_basket", {"product": "sourdough bread"},
         {"FOU-PAI-2": "2"}),
        # a customer's request taken for a stock update
        ("en", "put 1.5 kg of gala apples in my basket", "update_stock",
         {"product": "gala apples", "quantity": "1.5", "unit": "kg"}, {"JUS-POM-1": "1.5"}),
        ("fr", "4 bières blanches", "search_product", {"product": "bières blanches"}, {"LIG-BLA-1": "4"}),
        ("en", "add 6 wheat beers", "add_to_basket", {"product": "wheat beers", "quantity": "6"}, {"LIG-BLA-1": "6"}),
        ("de", "füge 2 Flaschen Apfelsaft hinzu", "add_to_basket", {"product": "Apfelsaft", "quantity": "2"},
         {"JUS-JUS-1": "2"}),
    ],
)  # fmt: skip
def test_the_issues_requests_are_carried_out_as_said_without_a_question(
    demo: App, lang: str, text: str, intent: str, entities: dict[str, str], expected: dict[str, str]
) -> None:
    _, buttons, events = say(text, intent, entities, lang)
    assert basket(demo) == {sku: Decimal(quantity) for sku, quantity in expected.items()}
    assert events == FORGET_REQUEST and not any(payload.startswith("/add_to_basket") for _, payload in buttons)


@pytest.mark.usefixtures("demo")
def test_an_add_is_answered_with_the_quantity_as_a_french_speaker_writes_it() -> None:
    text, buttons, _ = say("ajoute 800 g de fromage à raclette", "add_to_basket", {"quantity": "800"})
    assert text == (
        "C'est dans le panier : 0,8 kg Fromage à raclette. Vous en avez 0,8 kg.\n"
        f"Panier : {chf('18.80')} de marchandises."
    )
    assert buttons == [("🧺 Voir le panier", "/show_basket"), ("✅ Commander", "/checkout")]


@pytest.mark.usefixtures("demo")
def test_an_add_is_answered_with_the_quantity_as_an_english_speaker_writes_it() -> None:
    text, _, _ = say("add 1.5 kg of raclette cheese", "add_to_basket", {"quantity": "1.5", "unit": "kg"}, "en")
    assert text == (
        "Added to your basket: 1.5 kg Raclette cheese. You now have 1.5 kg.\n"
        f"Basket: {chf('35.25', 'en')} of goods."
    )  # fmt: skip


@pytest.mark.usefixtures("demo")
def test_basket_lines_show_the_quantity_before_the_name_in_the_persons_language() -> None:
    say("un kilo et demi de fromage à raclette", "add_to_basket")
    say("2 pots de miel de forêt", "add_to_basket")
    shown = run(ActionShowBasket(), tracker("mon panier", "show_basket")).text.splitlines()
    assert f"  • 1,5 kg Fromage à raclette — {chf('35.25')}" in shown
    assert f"  • 2 × 500 g Miel de forêt — {chf('37.00')}" in shown


def test_an_amount_that_does_not_fit_the_pots_is_asked_with_the_nearest_choice(demo: App) -> None:
    honey = product_id(demo, "ABE-MIEL-3")
    text, buttons, events = say("ajoute 300 g de miel de forêt", "add_to_basket", {"product": "miel de forêt"})
    assert text == "« Miel de forêt » se vend par 500 g. Combien en voulez-vous ?"
    assert buttons == [("➕ 1 × 500 g Miel de forêt", f'/add_to_basket{{"product": "#{honey}", "quantity": "1"}}')]
    assert events == [SlotSet("shown_products", [honey])] and basket(demo) == {}
    press(buttons[0][1], product=f"#{honey}", quantity="1")
    assert basket(demo) == {"ABE-MIEL-3": 1}


def test_half_a_baguette_is_asked_in_english_with_one_or_two(demo: App) -> None:
    baguette = product_id(demo, "FOU-PAI-3")
    text, buttons, _ = say("1.5 baguettes please", "add_to_basket", {"product": "baguettes", "quantity": "1.5"}, "en")
    assert text == '"Baguette" is sold per piece. How much would you like?'
    assert buttons == [
        ("➕ 1 Baguette", f'/add_to_basket{{"product": "#{baguette}", "quantity": "1"}}'),
        ("➕ 2 Baguette", f'/add_to_basket{{"product": "#{baguette}", "quantity": "2"}}'),
    ]
    assert basket(demo) == {}


def test_which_one_buttons_carry_the_quantity_said_to_the_product_chosen(demo: App) -> None:
    text, buttons, _ = say("ajoute 2 kg de pommes", "add_to_basket", {"product": "pommes", "quantity": "2"})
    topaz = product_id(demo, "JUS-POM-4")
    assert text.splitlines()[0] == "Lequel voulez-vous ?"
    assert ("➕ 4. Pommes Topaz", f'/add_to_basket{{"product": "#{topaz}", "quantity": "2", "unit": "kg"}}') in buttons
    press(f'/add_to_basket{{"product": "#{topaz}", "quantity": "2", "unit": "kg"}}', product=f"#{topaz}",
          quantity="2", unit="kg")  # fmt: skip
    assert basket(demo) == {"JUS-POM-4": 2}


def test_a_number_from_the_list_shown_chooses_the_product_not_the_quantity(demo: App) -> None:
    gala, golden = product_id(demo, "JUS-POM-1"), product_id(demo, "JUS-POM-2")
    # The NLU also tagged the « 2 » of « le 2 » as a quantity.
    say("le 2", "add_to_basket", {"quantity": "2"}, slots={"shown_products": [gala, golden]})
    assert basket(demo) == {"JUS-POM-2": 1}


# --- 2. shopping lists ---------------------------------------------------------------------------------------


def test_a_french_list_goes_into_the_basket_in_one_answer(demo: App) -> None:
    text, buttons, events = say("deux baguettes et six croissants", "add_to_basket", {"product": "baguettes"})
    assert text == (
        "C'est dans le panier :\n  • 2 Baguette\n  • 6 Croissant au beurre\n"
        f"Panier : {chf('17.20')} de marchandises."
    )  # fmt: skip
    assert buttons == [("🧺 Voir le panier", "/show_basket"), ("✅ Commander", "/checkout")]
    assert events == FORGET_REQUEST
    assert basket(demo) == {"FOU-PAI-3": 2, "FOU-CRO-1": 6}


def test_an_english_list_says_what_went_in_and_what_did_not(demo: App) -> None:
    set_stock(demo, "VER-CAR-1", "0")
    set_stock(demo, "FOU-CRO-1", "4")
    text, _, _ = say("2 baguettes, a unicorn, 3 kg of carrots and 6 butter croissants", "add_to_basket", lang="en")
    assert text == (
        "Added to your basket:\n  • 2 Baguette\n"
        'Not added:\n  • "a unicorn": I don\'t know this product\n  • "Carrots": sold out at the moment\n'
        '  • "Butter croissant": only 4 left\n'
        f"Basket: {chf('5.80', 'en')} of goods."
    )
    assert basket(demo) == {"FOU-PAI-3": 2}


def test_a_list_title_line_is_not_an_item(demo: App) -> None:
    say("Pour la soupe :\n1 kg de poireaux\n2 kg de pommes de terre", "add_to_basket")
    assert basket(demo) == {"VER-POI-1": 1, "VER-POM-1": 2}


def test_a_list_asks_about_one_item_at_a_time_and_the_buttons_carry_the_others(demo: App) -> None:
    honey = product_id(demo, "ABE-MIEL-3")
    text, buttons, _ = say("2 Baguettes, 300 g Waldhonig und 2 kg Äpfel", "add_to_basket", lang="de")
    assert text == (
        f"Im Warenkorb:\n  • 2 Baguette\nWarenkorb: Waren für {chf('5.80', 'de')}.\n"
        "«Waldhonig» wird pro 500 g verkauft. Wie viel möchten Sie?\n"
        "Nach Ihrer Wahl kümmere ich mich um: «2 kg Äpfel»."
    )
    payload = f'/add_to_basket{{"product": ["#{honey}", "2 kg Äpfel"], "quantity": "1"}}'
    assert buttons == [("➕ 1 × 500 g Waldhonig", payload)]
    assert basket(demo) == {"FOU-PAI-3": 2}

    text, buttons = press(payload, "de", product=[f"#{honey}", "2 kg Äpfel"], quantity="1")
    assert text.splitlines()[:4] == [
        "Im Warenkorb:",
        "  • 1 × 500 g Waldhonig",
        f"Warenkorb: Waren für {chf('24.30', 'de')}.",
        "Für «2 kg Äpfel»: Welches möchten Sie?",
    ]
    assert all('"quantity": "2", "unit": "kg"' in payload for _, payload in buttons)
    assert basket(demo) == {"FOU-PAI-3": 2, "ABE-MIEL-3": 1}


# --- 3. who is speaking ----------------------------------------------------------------------------------------


def test_a_customers_request_read_as_a_stock_update_is_added_to_the_basket(demo: App) -> None:
    text, _, _ = say("put 1.5 kg of gala apples in my basket", "update_stock", {"quantity": "1.5"}, "en")
    assert text.splitlines()[0] == "Added to your basket: 1.5 kg Gala apples. You now have 1.5 kg."
    assert basket(demo) == {"JUS-POM-1": Decimal("1.5")}


def test_a_customers_request_read_as_a_price_update_is_added_in_german(demo: App) -> None:
    say("2 Gläser Waldhonig bitte", "update_price", {"product": "Waldhonig", "amount": "2"}, "de")
    assert basket(demo) == {"ABE-MIEL-3": 2}


def test_a_customer_stating_a_stock_is_refused_not_served(demo: App) -> None:
    stated = {"product": "miel d'acacia", "quantity": "12"}
    text, _, _ = say("j'ai encore 12 pots de miel d'acacia", "update_stock", stated)
    assert text == REFUSAL
    assert basket(demo) == {}


def test_a_customer_changing_a_price_is_refused(demo: App) -> None:
    text, _, _ = say("le pain complet passe à 6.50", "update_price", {"product": "pain complet", "amount": "6.50"})
    assert text == REFUSAL
    assert basket(demo) == {}


def test_a_vendor_member_shopping_still_shops(demo: App) -> None:
    say("ajoute 2 kg de pommes gala", "add_to_basket", {"product": "pommes gala"}, sender=JUSSY_MEMBER)
    assert basket(demo, JUSSY_MEMBER) == {"JUS-POM-1": 2}
    assert stock_of(demo, product_id(demo, "JUS-POM-1")) == Decimal(200)


def test_a_vendor_members_stock_update_still_updates_the_stock(demo: App) -> None:
    text, _, _ = say("j'ai encore 40,5 kg de pommes gala", "update_stock", {"product": "pommes gala"},
                     sender=JUSSY_MEMBER)  # fmt: skip
    assert text == "Stock de « Pommes Gala » : 40,5 (kg)."  # a vendor's reply, but with a French decimal comma
    assert stock_of(demo, product_id(demo, "JUS-POM-1")) == Decimal("40.5")
    assert basket(demo, JUSSY_MEMBER) == {}


# --- 4. plain requests the NLU misses, and what stays a search ------------------------------------------------


@pytest.mark.usefixtures("demo")
def test_a_request_not_understood_by_the_nlu_is_carried_out() -> None:
    text, _, _ = say("je prends 3 baguettes", "nlu_fallback")
    assert text == f"C'est dans le panier : 3 Baguette. Vous en avez 3.\nPanier : {chf('8.70')} de marchandises."


def test_an_italian_request_read_as_off_topic_is_carried_out(demo: App) -> None:
    text, _, _ = say("vorrei 3 baguette", "out_of_scope", lang="it")
    assert text.splitlines()[0] == "Aggiunto al carrello: 3 Baguette. Ora ne ha 3."
    assert basket(demo) == {"FOU-PAI-3": 3}


def test_a_quantity_and_a_product_read_as_a_search_are_added(demo: App) -> None:
    say("2 kg Kartoffeln", "search_product", {"product": "Kartoffeln"}, "de")
    assert basket(demo) == {"VER-POM-1": 2}


@pytest.mark.parametrize(
    ("lang", "text", "first_line"),
    [
        ("fr", "vous avez 2 kg de pommes ?", "Voici ce que j'ai trouvé (5) :"),
        ("en", "do you have 2 kg of carrots", "Here is what I found (5):"),
        ("fr", "du fromage à raclette", "Voici ce que j'ai trouvé (5) :"),  # no quantity
    ],
)
def test_questions_and_searches_without_a_quantity_stay_searches(
    demo: App, lang: str, text: str, first_line: str
) -> None:
    answer, _, _ = say(text, "search_product", lang=lang)
    assert answer.splitlines()[0] == first_line
    assert basket(demo) == {}


def test_a_request_read_as_clearing_the_basket_adds_instead_of_clearing(demo: App) -> None:
    say("2 baguettes", "add_to_basket", lang="en")
    run(ActionClearBasket(), tracker("a tub of whole cream", "clear_basket", lang="en"))
    assert basket(demo) == {"FOU-PAI-3": 2, "SEY-CRE-1": 1}
    run(ActionClearBasket(), tracker("empty my basket", "clear_basket", lang="en"))
    assert basket(demo) == {}


def test_a_refusal_with_a_quantity_is_not_a_purchase(demo: App) -> None:
    done = run(ActionSmallTalk(), tracker("non, pas 2 baguettes", "deny", {"quantity": "2"}))
    assert done.text == "Pas de souci."
    assert basket(demo) == {}
