"""The checkout form run without Rasa: its questions, its slot validation, the order it places, and
questions asked in the middle of it — against the test database."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from sqlalchemy import select

from bootstrap import App
from checkout import delivery
from checkout.models import Basket, Order
from dialogues.actions import (
    ActionAddToBasket,
    ActionAskDeliveryAddress,
    ActionAskDeliveryMode,
    ActionAskOrderConfirmed,
    ActionAskPaymentMethod,
    ActionAskTimeSlot,
    ActionInterruptCheckout,
    ActionSubmitOrder,
    ValidateCheckoutForm,
)
from dialogues.actions.checkout_form import RESET_SLOTS
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.i18n import format_slot
from payments.models import PaymentLeg
from tests.support.actions import (  # noqa: F401
    Outcome,
    basket_of,
    bot_uttered,
    chf,
    orders_of,
    run,
    served,
    stock_of,
    tomatoes_and_wine,
    tracker,
)
from tests.support.clock import ManualClock

pytestmark = pytest.mark.usefixtures("served")

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Zurich"))  # a Monday morning, by the served clock
SLOT = "2026-11-25 17:00-19:00"  # Wednesday evening: a configured window offered on Monday
FORM_RESET = [SlotSet(slot, None) for slot in RESET_SLOTS]
CONFIRM_BUTTONS = [("✅ Confirmer", "/affirm"), ("✖ Annuler", "/deny")]


@pytest.fixture(autouse=True)
def clock(served: App) -> ManualClock:  # noqa: F811 (the fixture imported above)
    """What is offered depends on the day and hour: the actions see NOW, whenever the tests run."""
    served.clock = ManualClock(NOW.timestamp())
    return served.clock


def local_today() -> date:
    return NOW.date()


def submit_after_summary(slots: dict[str, Any]) -> Outcome:
    """The « oui » that answers the summary of `slots`, as action_submit_order gets it once the form is done."""
    said = tracker("oui", "affirm", slots={**slots, "order_confirmed": True}, history=summary_shown(**slots))
    return run(ActionSubmitOrder(), said)


@pytest.fixture
def basket(served: App, shop: dict[str, int]) -> dict[str, int]:  # noqa: F811 (the fixture imported above)
    """The consumer's basket: 2 kg of Tomates (Ferme Test, 50 % Léman) and 1 Chasselas (Cave Test, 0 %).
    Filled through the actions, so after `served` even where a test asks for it by `usefixtures`."""
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['tomato']}", "quantity": "2"}))
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['wine']}", "quantity": "1"}))
    assert basket_of(served) == {shop["tomato"]: 2, shop["wine"]: 1}
    return shop


@pytest.fixture
def courier(app: App) -> None:
    """A delivery company serving 1200-1209 every evening for 6.00 CHF (the deployment's default fee is 7.00)."""
    with app.db.uow() as uow:
        add_organisation(uow, "coursiers-test", "Coursiers Test", OrganisationKind.DELIVERY)
        delivery.add_zone(uow, "coursiers-test", "1200-1209")
        for weekday in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            delivery.add_slot(uow, "coursiers-test", weekday, "17:00", "19:00", 5, Decimal("6.00"), cutoff_hours=0)
        uow.commit()


def form(requested: str, text: str = "", intent: str = "", entities: dict[str, str] | None = None,
         lang: str | None = "fr", history: list[dict[str, Any]] | None = None, **slots: Any) -> Outcome:  # fmt: skip
    """One turn of the checkout form's validation while it asks for `requested` (after `history`)."""
    said = tracker(text, intent, entities, lang=lang, slots={"requested_slot": requested, **slots},
                   active_loop="checkout_form", history=history)  # fmt: skip
    return run(ValidateCheckoutForm(), said)


def summary_shown(**slots: Any) -> list[dict[str, Any]]:
    """The events of the summary of `slots` shown to the customer, as Rasa logs them."""
    summary = run(ActionAskOrderConfirmed(), tracker("", "choose_payment", slots=slots))
    return [bot_uttered(message) for message in summary.messages]


def legs(app: App, number: str) -> dict[str, Decimal]:
    """The payment legs opened for an order: currency -> amount."""
    with app.db.uow() as uow:
        order_id = uow.session.scalar(select(Order.id).where(Order.number == number))
        rows = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order_id))
        return {leg.currency: leg.amount for leg in rows}


def leman_wanted(app: App) -> Decimal | None:
    with app.db.uow() as uow:
        return uow.session.scalar(select(Basket.leman_wanted))


def french_decimal(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


# --- the form's questions ---------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_ask_delivery_mode_offers_home_delivery_and_pickup() -> None:
    done = run(ActionAskDeliveryMode(), tracker("je veux commander", "checkout", active_loop="checkout_form"))
    assert done.text == "Livraison à domicile ou retrait ?"
    assert done.buttons == [
        ("🚲 Livraison à domicile", '/choose_delivery{"delivery_mode": "delivery"}'),
        ("🏪 Retrait", '/choose_delivery{"delivery_mode": "pickup"}'),
    ]
    assert done.events == []


@pytest.mark.usefixtures("basket")
def test_ask_the_address_with_an_example_and_the_location_to_share() -> None:
    done = run(ActionAskDeliveryAddress(), tracker("livraison", "choose_delivery", slots={"delivery_mode": "delivery"}))
    assert done.text == (
        "À quelle adresse faut-il livrer ? Rue et numéro, numéro postal et localité en un message, "
        "p. ex. « Rue de Carouge 50, 1205 Genève » (étage ou code d'entrée bienvenus)."
    )
    assert (done.buttons, done.events) == ([], [])
    assert done.messages[-1] == {**done.messages[-1], "custom": {"share": ["location"]}}


@pytest.mark.usefixtures("basket")
def test_ask_time_slot_offers_the_configured_windows_from_tomorrow() -> None:
    done = run(ActionAskTimeSlot(), tracker("retrait", "choose_delivery", slots={"delivery_mode": "pickup"}))
    tomorrow, after = local_today() + timedelta(days=1), local_today() + timedelta(days=2)
    windows = ("08:00-10:00", "12:00-14:00", "17:00-19:00")
    offered = [f"{day} {window}" for day in (tomorrow, after) for window in windows]
    assert done.text == "Quel créneau vous convient ?"
    assert done.buttons == [(format_slot(s, "fr"), f'/choose_delivery{{"time_slot": "{s}"}}') for s in offered]


@pytest.mark.usefixtures("basket", "courier")
def test_ask_time_slot_offers_the_delivery_companys_own_slots() -> None:
    slots = {"delivery_mode": "delivery", "postal_code": "1205"}
    done = run(ActionAskTimeSlot(), tracker("1205", "choose_delivery", slots=slots))
    assert done.text == "Quel créneau vous convient ?"
    assert len(done.buttons) == 6
    for title, payload in done.buttons:
        offered = json.loads(payload.removeprefix("/choose_delivery"))["time_slot"]
        assert offered.endswith(" 17:00-19:00") and title == format_slot(offered, "fr")


@pytest.mark.usefixtures("basket", "courier")
def test_ask_time_slot_where_no_company_delivers_offers_pickup() -> None:
    slots = {"delivery_mode": "delivery", "postal_code": "1250"}  # in the deployment's zones, no company's
    done = run(ActionAskTimeSlot(), tracker("1250", "choose_delivery", slots=slots))
    assert done.text == (
        "Toutes les tournées vers ce numéro postal sont complètes pour les prochains jours. Le retrait reste possible."
    )
    assert done.buttons == [("🏪 Retrait", '/choose_delivery{"delivery_mode": "pickup"}')]


@pytest.mark.usefixtures("basket")
def test_ask_payment_method_gives_the_total_and_the_four_ways_to_pay() -> None:
    done = run(ActionAskPaymentMethod(), tracker("retrait", "choose_delivery", slots={"delivery_mode": "pickup"}))
    assert done.text == (
        f"Total {chf('24.10')}, dont jusqu'à {chf('4.80')} payables en Léman. Comment souhaitez-vous payer ?"
    )
    assert done.buttons == [
        ("Francs (QR-facture)", '/choose_payment{"payment_method": "chf"}'),
        ("Tout en Léman", '/choose_payment{"payment_method": "leman"}'),
        ("Mixte : max. en Léman, reste en francs", '/choose_payment{"payment_method": "mixed"}'),
        ("À la livraison", '/choose_payment{"payment_method": "on_delivery"}'),
    ]


@pytest.mark.usefixtures("basket")
def test_ask_order_confirmed_summarises_basket_pickup_and_payment() -> None:
    slots = {"delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "on_delivery"}
    done = run(ActionAskOrderConfirmed(), tracker("à la livraison", "choose_payment", slots=slots))
    assert done.text == "\n".join(
        [
            "Récapitulatif de votre commande :",
            *tomatoes_and_wine(),
            f"Total : {chf('24.10')} (jusqu'à {chf('4.80')} payables en Léman)",
            "Retrait chez les producteurs, mer. 25 nov. 17:00-19:00",
            "Paiement : à la livraison. On confirme ?",
        ]
    )
    assert done.buttons == CONFIRM_BUTTONS


# --- the form's slot validation (validate_checkout_form) ---------------------------------------


@pytest.mark.usefixtures("basket")
def test_form_takes_delivery_and_postal_code_from_one_message_then_asks_the_street() -> None:
    done = form("delivery_mode", "livraison au 1205 svp", "choose_delivery")
    assert done.slots["delivery_mode"] == "delivery"
    draft = done.slots["address_draft"]
    assert (draft["postal_code"], draft["locality"], draft["street"]) == ("1205", "Genève", "")
    assert done.slots["requested_slot"] == "delivery_address" and done.messages == []


@pytest.mark.usefixtures("basket")
def test_form_with_pickup_skips_the_postal_code() -> None:
    done = form("delivery_mode", '/choose_delivery{"delivery_mode": "pickup"}', "choose_delivery",
                {"delivery_mode": "pickup"})  # fmt: skip
    assert done.events == [SlotSet("delivery_mode", "pickup"), SlotSet("requested_slot", "time_slot")]


ZONES = "1200-1234, 1236-1258, 1281-1299 (Genève, Grand-Lancy, Onex, Petit-Lancy, Vernier, Cointrin…)"


@pytest.mark.usefixtures("basket")
def test_form_refuses_a_postal_code_outside_the_zones_and_offers_pickup() -> None:
    done = form("delivery_address", "1260", "nlu_fallback", delivery_mode="delivery")
    assert done.slots == {"delivery_address": None, "address_draft": None, "postal_code": None,
                          "requested_slot": "delivery_address"}  # fmt: skip
    assert (
        done.text == f"Désolé, nous ne livrons pas à 1260 Nyon. Nous livrons dans les numéros postaux {ZONES}.\n"
        "Le retrait reste possible."
    )
    assert done.buttons == [("🏪 Retrait", '/choose_delivery{"delivery_mode": "pickup"}')]


@pytest.mark.usefixtures("basket")
def test_form_refuses_a_postal_code_in_the_shoppers_language() -> None:
    done = form("delivery_address", "1260", "nlu_fallback", lang="de", delivery_mode="delivery")
    assert (
        done.text == f"Leider liefern wir nicht nach 1260 Nyon. Wir liefern in die Postleitzahlen {ZONES}.\n"
        "Abholen ist weiterhin möglich."
    )


@pytest.mark.usefixtures("basket")
def test_form_a_question_while_the_address_is_asked_fills_nothing() -> None:
    done = form("delivery_address", "vous avez du fromage ?", "search_product", {"product": "fromage"},
                delivery_mode="delivery")  # fmt: skip
    # Nothing but the question asked again: Rasa rejects the form's turn and the question is answered instead.
    assert done.slots == {"requested_slot": "delivery_address"} and done.messages == []


@pytest.mark.usefixtures("basket")
def test_form_understands_a_time_slot_in_words() -> None:
    done = form("time_slot", "demain vers 17h", "choose_delivery", delivery_mode="pickup")
    tomorrow = local_today() + timedelta(days=1)
    assert done.events == [SlotSet("time_slot", f"{tomorrow} 17:00-19:00"), SlotSet("requested_slot", "payment_method")]


@pytest.mark.usefixtures("basket")
def test_form_mixed_payment_with_an_amount_remembers_the_leman_wanted(app: App) -> None:
    done = form("payment_method", "mixte, 3 lémans", "choose_payment", delivery_mode="pickup", time_slot=SLOT)
    assert done.events == [SlotSet("payment_method", "mixed"), SlotSet("requested_slot", "order_confirmed")]
    assert leman_wanted(app) == Decimal("3.00")


@pytest.mark.usefixtures("basket")
def test_form_a_typed_method_nlu_tagged_without_normalising_it_is_still_read() -> None:
    """The model may tag « à la livraison » as a payment_method without mapping it to "on_delivery"."""
    done = form("payment_method", "à la livraison", "choose_payment", {"payment_method": "à la livraison"},
                delivery_mode="pickup", time_slot=SLOT)  # fmt: skip
    assert done.slots["payment_method"] == "on_delivery" and done.messages == []


@pytest.mark.usefixtures("basket")
def test_form_all_in_leman_is_refused_when_a_vendor_takes_less() -> None:
    done = form("payment_method", "tout en lémans", "choose_payment", {"payment_method": "leman"},
                delivery_mode="pickup", time_slot=SLOT)  # fmt: skip
    assert done.events == [SlotSet("payment_method", None), SlotSet("requested_slot", "payment_method")]
    assert done.text == (
        f"Tout en Léman n'est pas possible : seuls {chf('4.80')} sur {chf('24.10')} sont acceptés en Léman. "
        "Choisissez un paiement mixte ou en francs."
    )
    assert done.buttons == [
        ("Mixte : max. en Léman, reste en francs", '/choose_payment{"payment_method": "mixed"}'),
        ("Francs (QR-facture)", '/choose_payment{"payment_method": "chf"}'),
    ]


@pytest.mark.parametrize(("intent", "confirmed"), [("affirm", True), ("deny", False)])
@pytest.mark.usefixtures("basket")
def test_form_reads_the_confirmation(intent: str, confirmed: bool) -> None:
    chosen = {"delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "chf"}
    done = form("order_confirmed", "oui" if confirmed else "non", intent, history=summary_shown(**chosen), **chosen)
    assert done.events == [SlotSet("order_confirmed", confirmed), SlotSet("requested_slot", None)]


@pytest.mark.usefixtures("shop")
def test_form_with_an_empty_basket_ends_at_once() -> None:
    done = form("delivery_mode", "livraison", "choose_delivery")
    assert done.events == [SlotSet("requested_slot", None)]


# --- the order --------------------------------------------------------------------------------


def test_submit_places_the_confirmed_order_and_says_what_to_pay(app: App, basket: dict[str, int]) -> None:
    done = submit_after_summary({"delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "on_delivery"})
    [order] = orders_of(app)
    assert done.text == (
        f"Merci ! Votre commande {order['number']} est enregistrée. Total : {chf('24.10')}.\n"
        "Vos producteurs la voient déjà dans leurs commandes. Demandez « où en est ma commande » à tout moment.\n"
        f"À payer à la livraison : {chf('24.10')} (espèces, carte ou Léman papier)."
    )
    assert done.events == FORM_RESET
    assert {k: order[k] for k in ("status", "mode", "slot", "payment", "goods_total", "delivery_fee", "total")} == {
        "status": "placed", "mode": "pickup", "slot": SLOT, "payment": "on_delivery",
        "goods_total": Decimal("24.10"), "delivery_fee": Decimal("0.00"), "total": Decimal("24.10"),
    }  # fmt: skip
    assert order["lines"] == [(basket["tomato"], 2), (basket["wine"], 1)]
    assert (stock_of(app, basket["tomato"]), stock_of(app, basket["wine"])) == (Decimal(8), Decimal(23))
    assert basket_of(app) == {}


@pytest.mark.usefixtures("basket")
def test_submit_in_francs_sends_the_qr_bill_as_image_and_pdf(app: App) -> None:
    done = submit_after_summary(
        {"delivery_mode": "delivery", "postal_code": "1205", "time_slot": SLOT, "payment_method": "chf"}
    )
    [order] = orders_of(app)
    assert order["total"] == Decimal("31.10")  # 24.10 of goods and the deployment's 7.00 delivery fee
    assert legs(app, order["number"]) == {"CHF": Decimal("31.10")}
    text, image, document = done.messages
    assert (
        text["text"].splitlines()[0]
        == f"Merci ! Votre commande {order['number']} est enregistrée. Total : {chf('31.10')}."
    )
    assert image["text"].startswith(f"QR-facture : {chf('31.10')}, référence ")
    assert Path(image["image"]).parent == app.settings.data_dir / "payments"
    assert Path(image["image"]).read_bytes().startswith(b"\x89PNG")
    assert Path(document["custom"]["document"]).read_bytes().startswith(b"%PDF")
    assert done.events == FORM_RESET


def test_submit_declined_keeps_the_basket_and_places_nothing(app: App, basket: dict[str, int]) -> None:
    slots = {"delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "chf", "order_confirmed": False}
    done = run(ActionSubmitOrder(), tracker("non", "deny", slots=slots))
    assert done.text == "Commande abandonnée ; votre panier est conservé."
    assert done.events == FORM_RESET
    assert orders_of(app) == [] and basket_of(app) == {basket["tomato"]: 2, basket["wine"]: 1}


@pytest.mark.usefixtures("shop")
def test_submit_with_an_empty_basket_says_so(app: App) -> None:
    done = run(ActionSubmitOrder(), tracker("commander", "checkout"))
    assert done.text == "Votre panier est vide."
    assert done.events == FORM_RESET
    assert orders_of(app) == []


def test_submit_to_an_unserved_postal_code_is_a_friendly_refusal(app: App, basket: dict[str, int]) -> None:
    slots = {"delivery_mode": "delivery", "postal_code": "9999", "time_slot": SLOT, "payment_method": "chf",
             "order_confirmed": True}  # fmt: skip
    done = run(ActionSubmitOrder(), tracker("oui", "affirm", slots=slots))
    assert done.text == "Nous ne livrons pas à ce numéro postal (9999). Le retrait sur place reste possible."
    # The other choices stand: the form comes back for the postal code, then shows the summary.
    assert done.events == [SlotSet("order_confirmed", None), SlotSet("postal_code", None),
                           SlotSet("delivery_address", None), ActiveLoop("checkout_form")]  # fmt: skip
    assert orders_of(app) == [] and basket_of(app) == {basket["tomato"]: 2, basket["wine"]: 1}
    assert stock_of(app, basket["tomato"]) == Decimal(10)


@pytest.mark.parametrize("method", ["chf", "mixed", "on_delivery"])
@pytest.mark.usefixtures("basket", "courier")
def test_what_the_customer_confirms_is_what_the_order_charges(app: App, method: str) -> None:
    """With a delivery company's own fee (6.00, not the deployment's 7.00), the totals shown before
    « Confirmer » and the split between francs and Léman are those of the placed order."""
    slots: dict[str, Any] = {"delivery_mode": "delivery", "postal_code": "1205"}
    offered = run(ActionAskTimeSlot(), tracker("1205", "choose_delivery", slots=slots))
    slots["time_slot"] = json.loads(offered.payloads[0].removeprefix("/choose_delivery"))["time_slot"]
    asked = run(ActionAskPaymentMethod(), tracker("", "choose_delivery", slots=slots))
    slots["payment_method"] = method
    summary = run(ActionAskOrderConfirmed(), tracker("", "choose_payment", slots=slots))
    placed = submit_after_summary(slots)

    [order] = orders_of(app)
    assert (order["delivery_fee"], order["total"]) == (Decimal("6.00"), Decimal("30.10"))
    total = chf(order["total"])
    assert placed.text.splitlines()[0] == f"Merci ! Votre commande {order['number']} est enregistrée. Total : {total}."
    lines = summary.text.splitlines()
    assert next(line for line in lines if line.startswith("Total : ")).startswith(f"Total : {total} ")
    assert f"Livraison : {chf(order['delivery_fee'])}" in lines
    assert asked.text.startswith(f"Total {total}, dont")
    if method == "mixed":
        paid = legs(app, order["number"])
        assert f"Vous paierez {chf(paid['CHF'])} en francs et {french_decimal(paid['LEM'])} Léman." in lines


# --- a question in the middle of checkout -----------------------------------------------------


def test_a_question_during_checkout_is_answered_then_the_form_resumes(basket: dict[str, int]) -> None:
    asked = tracker("vous avez des tomates ?", "search_product", {"product": "tomates"}, active_loop="checkout_form",
                    slots={"requested_slot": "delivery_mode"})  # fmt: skip
    done = run(ActionInterruptCheckout(), asked)
    assert done.text == (
        f"Voici ce que j'ai trouvé (1) :\n1. Tomates — {chf('4.80')} / kg — Ferme Test\nReprenons votre commande."
    )
    assert done.payloads == [f'/add_to_basket{{"product": "#{basket["tomato"]}", "quantity": "1"}}']
    assert done.events == [SlotSet("shown_products", [basket["tomato"]])]


@pytest.mark.usefixtures("basket")
def test_an_interruption_without_an_answer_of_its_own_just_resumes() -> None:
    asked = tracker("où en est ma commande ?", "order_status", active_loop="checkout_form")
    done = run(ActionInterruptCheckout(), asked)
    assert (done.text, done.buttons, done.events) == ("Reprenons votre commande.", [], [])
