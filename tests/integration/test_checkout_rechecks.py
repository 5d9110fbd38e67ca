"""Nothing a checkout payload says is taken on trust (issue 11, section 2).

A button sends `/choose_delivery{"time_slot": "..."}`; anyone can type the same text, or `/ choose_delivery{...}`
with a space: Rasa 3.6 unpacks both alike (`YAMLStoryReader.unpack_regex_message`, run by the NLU pipeline's
RegexMessageHandler and by our REST channel, strips the intent's name), so the actions get the same intent and
entities either way. Here each turn is the tracker Rasa sends the action server after such a message, and the
test looks at what the customer is told, which slots are set and what the database holds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from bootstrap import App
from catalog.models import Product
from checkout import delivery
from checkout.services import add_to_basket
from dialogues.actions import ActionAskOrderConfirmed, ActionSubmitOrder, ValidateCheckoutForm
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from tests.support.actions import (  # noqa: F401
    CONSUMER,
    Outcome,
    basket_of,
    bot_uttered,
    chf,
    orders_of,
    run,
    served,
    stock_of,
    tracker,
)
from tests.support.clock import ManualClock

pytestmark = pytest.mark.usefixtures("served")

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Zurich"))  # a Monday morning, by the served clock
SLOT = "2026-11-25 17:00-19:00"  # a configured window, offered for pickup on Monday
PICKUP = {"delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "chf"}
SLOT_REFUSED = "Ce créneau n'est pas (ou plus) proposé. Choisissez l'un des créneaux proposés."


@pytest.fixture(autouse=True)
def clock(served: App) -> ManualClock:  # noqa: F811 (the fixture imported above)
    served.clock = ManualClock(NOW.timestamp())
    return served.clock


@pytest.fixture
def basket(served: App, shop: dict[str, int]) -> dict[str, int]:  # noqa: F811
    """2 kg of Tomates (Ferme Test, half payable in Léman) and 1 Chasselas (Cave Test, no Léman): 24.10."""
    with served.db.uow() as uow:
        buyer = person_for_chat(uow, CONSUMER)
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        add_to_basket(uow, buyer, shop["wine"], Decimal(1))
        uow.commit()
    return shop


@pytest.fixture
def courier(app: App) -> None:
    """A company delivering 1200-1209 on Tuesday evenings 18:00-20:00, a window no pickup has."""
    with app.db.uow() as uow:
        add_organisation(uow, "coursiers-test", "Coursiers Test", OrganisationKind.DELIVERY)
        delivery.add_zone(uow, "coursiers-test", "1200-1209")
        delivery.add_slot(uow, "coursiers-test", "tue", "18:00", "20:00", 5, Decimal("6.00"), cutoff_hours=2)
        uow.commit()


def payload(intent: str, entities: dict[str, str], space: bool = False) -> dict[str, Any]:
    """What a tracker holds after a payload, pressed or typed: its text, intent and entities, as Rasa unpacks it."""
    body = ", ".join(f'"{name}": "{value}"' for name, value in entities.items())
    return {"text": f"/{' ' if space else ''}{intent}{{{body}}}", "intent": intent, "entities": entities}


def form(requested: str, said: dict[str, Any], history: list[dict[str, Any]] | None = None, **slots: Any) -> Outcome:
    """One turn of the checkout form's validation while it asks for `requested`."""
    turn = tracker(said["text"], said["intent"], said.get("entities"), slots={"requested_slot": requested, **slots},
                   active_loop="checkout_form", history=history)  # fmt: skip
    return run(ValidateCheckoutForm(), turn)


def summary_shown(**slots: Any) -> list[dict[str, Any]]:
    """The summary of `slots` shown to the customer, as Rasa logs it in the conversation."""
    return [bot_uttered(message) for message in run(ActionAskOrderConfirmed(), tracker(slots=slots)).messages]


def submit(history: list[dict[str, Any]] | None = None, **slots: Any) -> Outcome:
    """action_submit_order after a « oui », with the slots as they are (set by whatever path) and `history`."""
    return run(ActionSubmitOrder(), tracker("oui", "affirm", slots={**slots, "order_confirmed": True}, history=history))


def nothing_ordered(app: App, shop: dict[str, int]) -> bool:
    return (
        orders_of(app) == []
        and basket_of(app) == {shop["tomato"]: 2, shop["wine"]: 1}
        and stock_of(app, shop["tomato"]) == Decimal(10)
    )


# --- the time slot ----------------------------------------------------------------------------


@pytest.mark.parametrize("space", [False, True], ids=["pressed", "typed with a space"])
def test_a_pickup_in_1999_from_a_crafted_payload_is_refused_and_nothing_is_ordered(
    app: App, basket: dict[str, int], space: bool
) -> None:
    crafted = payload("choose_delivery", {"time_slot": "1999-01-01 03:00"}, space)
    done = form("time_slot", crafted, delivery_mode="pickup")
    assert done.text == SLOT_REFUSED
    assert done.events == [SlotSet("time_slot", None), SlotSet("requested_slot", "time_slot")]  # asked again
    # And were the slot set anyway (Rasa's HTTP API, an old tracker): the order is refused too.
    placed = submit(summary_shown(**PICKUP), **(PICKUP | {"time_slot": "1999-01-01 03:00"}))
    assert placed.text == SLOT_REFUSED
    assert placed.events == [SlotSet("order_confirmed", None), SlotSet("time_slot", None), ActiveLoop("checkout_form")]
    assert nothing_ordered(app, basket)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-22 17:00-19:00",  # yesterday
        "2026-12-20 17:00-19:00",  # further ahead than offered
        "2026-11-24 03:00-04:00",  # no such window
        "tomorrow, I promise",
        "2026-11-24 18:00-20:00",  # a delivery company's slot: not a pickup
    ],
)
@pytest.mark.usefixtures("basket", "courier")
def test_a_slot_not_offered_from_a_payload_gets_an_answer_and_the_question_again(value: str) -> None:
    done = form("time_slot", payload("choose_delivery", {"time_slot": value}), delivery_mode="pickup")
    assert done.text == SLOT_REFUSED
    assert done.events == [SlotSet("time_slot", None), SlotSet("requested_slot", "time_slot")]


@pytest.mark.usefixtures("basket", "courier")
def test_a_home_delivery_takes_only_the_companys_slots() -> None:
    address = {"street": "Rue de Carouge 50", "postal_code": "1205", "locality": "Genève"}
    home = {"delivery_mode": "delivery", "postal_code": "1205", "delivery_address": address,
            "recipient_name": "Marie Dupont", "delivery_phone": ""}  # fmt: skip
    refused = form("time_slot", payload("choose_delivery", {"time_slot": "2026-11-24 08:00-10:00"}), **home)
    assert refused.text == SLOT_REFUSED and refused.slots == {"time_slot": None, "requested_slot": "time_slot"}
    taken = form("time_slot", payload("choose_delivery", {"time_slot": "2026-11-24 18:00-20:00"}), **home)
    assert taken.messages == []
    assert taken.slots == {"time_slot": "2026-11-24 18:00-20:00", "requested_slot": "payment_method"}


@pytest.mark.usefixtures("basket")
def test_a_date_written_out_is_never_read_as_another_day() -> None:
    far = form("time_slot", {"text": "le 2026-12-20 à 17h", "intent": "choose_delivery"}, delivery_mode="pickup")
    assert "time_slot" not in far.slots  # three weeks ahead: not offered, so not understood (not "the 20th" → "12h")
    near = form("time_slot", {"text": "le 25.11. à 17h", "intent": "choose_delivery"}, delivery_mode="pickup")
    assert near.slots == {"time_slot": SLOT, "requested_slot": "payment_method"}


# --- delivery mode, postal code, payment --------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_a_mode_or_payment_method_we_do_not_know_gets_an_answer_and_the_question_again() -> None:
    mode = form("delivery_mode", payload("choose_delivery", {"delivery_mode": "drone"}))
    assert mode.text == "Ce mode de livraison n'est pas proposé. Choisissez l'une des possibilités proposées."
    assert mode.slots == {"delivery_mode": None, "requested_slot": "delivery_mode"}
    method = form("payment_method", payload("choose_payment", {"payment_method": "bitcoin"}), **PICKUP)
    assert method.text == (
        "Ce moyen de paiement n'est pas possible pour cette commande. Choisissez l'un de ceux proposés."
    )
    assert method.slots == {"payment_method": None, "requested_slot": "payment_method"}


@pytest.mark.parametrize("method", ["leman", "bitcoin", None])
def test_a_payment_method_not_offered_set_behind_the_forms_back_is_not_placed(
    app: App, basket: dict[str, int], method: str | None
) -> None:
    """All in Léman while the cellar takes none (the form offers the mix instead), a method we do not know or
    none at all: the order refuses them too, rather than taking them for francs."""
    placed = submit(summary_shown(**PICKUP), **(PICKUP | {"payment_method": method}))
    assert (
        placed.text == "Ce moyen de paiement n'est pas possible pour cette commande. Choisissez l'un de ceux proposés."
    )
    assert placed.events == [
        SlotSet("order_confirmed", None), SlotSet("payment_method", None), ActiveLoop("checkout_form"),
    ]  # fmt: skip
    assert nothing_ordered(app, basket)


def test_a_payload_changing_a_choice_is_no_confirmation(app: App, basket: dict[str, int]) -> None:
    """`/affirm{"delivery_mode": "delivery", "postal_code": "1260"}` on the summary of a pickup: home delivery
    asks for its address (a postal code alone is none), and the summary then shown was not confirmed (else the
    form would end without showing another)."""
    crafted = payload("affirm", {"delivery_mode": "delivery", "postal_code": "1260"}, space=True)
    done = form("order_confirmed", crafted, summary_shown(**PICKUP), **PICKUP)
    assert "order_confirmed" not in done.slots and "postal_code" not in done.slots
    assert done.slots["requested_slot"] == "delivery_address"
    assert done.slots["time_slot"] is None  # asked again, then the summary
    assert nothing_ordered(app, basket)


# --- the confirmation ---------------------------------------------------------------------------


def test_a_yes_without_a_summary_shown_places_nothing(app: App, basket: dict[str, int]) -> None:
    asked = form("order_confirmed", {"text": "/affirm", "intent": "affirm"}, **PICKUP)  # no summary before it
    assert asked.text == "Avant de passer commande, voici le récapitulatif à confirmer."
    assert asked.slots == {"order_confirmed": None, "requested_slot": "order_confirmed"}  # the summary comes
    placed = submit(**PICKUP)  # order_confirmed set behind the form's back
    assert placed.text == "Avant de passer commande, voici le récapitulatif à confirmer."
    assert placed.events == [SlotSet("order_confirmed", None), ActiveLoop("checkout_form")]
    assert nothing_ordered(app, basket)


def test_a_price_changed_since_the_summary_is_shown_again_not_charged(app: App, basket: dict[str, int]) -> None:
    shown = summary_shown(**PICKUP)
    with app.db.uow() as uow:  # the farm raises its price while the customer reads the summary
        uow.session.get(Product, basket["tomato"]).price_chf = Decimal("5.30")
        uow.commit()
    changed = (
        "Votre commande a changé depuis le récapitulatif (prix, disponibilité ou frais de livraison). "
        "Voici le récapitulatif à jour, à confirmer à nouveau."
    )
    answered = form("order_confirmed", {"text": "oui", "intent": "affirm"}, shown, **PICKUP)
    assert answered.text == changed
    assert answered.slots == {"order_confirmed": None, "requested_slot": "order_confirmed"}
    late = submit(shown, **PICKUP)  # had the form let it through: still not placed
    assert late.text == changed
    assert late.events == [SlotSet("order_confirmed", None), ActiveLoop("checkout_form")]
    assert nothing_ordered(app, basket)

    again = run(ActionAskOrderConfirmed(), tracker(slots=PICKUP))
    assert f"Total : {chf('25.10')} (jusqu'à {chf('5.30')} payables en Léman)" in again.text.splitlines()
    placed = submit([bot_uttered(message) for message in again.messages], **PICKUP)
    [order] = orders_of(app)
    assert (
        placed.text.splitlines()[0]
        == f"Merci ! Votre commande {order['number']} est enregistrée. Total : {chf('25.10')}."
    )
    assert order["total"] == Decimal("25.10")


@pytest.mark.usefixtures("shop")
def test_a_yes_with_an_empty_basket_places_nothing(app: App) -> None:
    placed = submit(**PICKUP)
    assert placed.text == "Votre panier est vide."
    assert orders_of(app) == []
