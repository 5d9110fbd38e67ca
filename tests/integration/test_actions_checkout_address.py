"""Home delivery's address in the checkout form, run without Rasa: read from one message in fr/de/it/en, the
missing parts asked, refusals (zones, P.O. boxes), recipient and optional phone, a shared location or contact,
the remembered address, "change the address" at the summary, the order that keeps it; saved addresses listed
and deleted by chat; pickup points — against the test database."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bootstrap import App
from checkout import delivery
from checkout.address_book import DeliveryAddress, list_addresses, order_delivery, save_address
from checkout.models import Order
from dialogues.actions import (
    ActionAddToBasket,
    ActionAskDeliveryAddress,
    ActionAskDeliveryPhone,
    ActionAskOrderConfirmed,
    ActionAskPickupPoint,
    ActionAskRecipientName,
    ActionDeleteAddress,
    ActionListAddresses,
    ActionSubmitOrder,
    ValidateCheckoutForm,
)
from dialogues.actions.checkout_form import SUMMARY_KEY
from marketplace.accounts import person_for_chat
from tests.support.actions import (  # noqa: F401
    CELLAR,
    CONSUMER,
    Outcome,
    bot_uttered,
    orders_of,
    run,
    served,
    tracker,
)
from tests.support.clock import ManualClock

pytestmark = pytest.mark.usefixtures("served")

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Zurich"))  # a Monday morning, by the served clock
SLOT = "2026-11-25 17:00-19:00"  # Wednesday evening: a configured window offered on Monday
CAROUGE = {"street": "Rue de Carouge 50", "postal_code": "1205", "locality": "Genève", "details": "",
           "latitude": None, "longitude": None}  # fmt: skip
ZONES = "1200-1234, 1236-1258, 1281-1299 (Genève, Grand-Lancy, Onex, Petit-Lancy, Vernier, Cointrin…)"
HOME = {"delivery_mode": "delivery", "delivery_address": CAROUGE, "postal_code": "1205",
        "recipient_name": "Marie Dupont", "delivery_phone": ""}  # fmt: skip


@pytest.fixture(autouse=True)
def clock(served: App) -> ManualClock:  # noqa: F811 (the fixture imported above)
    served.clock = ManualClock(NOW.timestamp())
    return served.clock


@pytest.fixture
def basket(served: App, shop: dict[str, int]) -> dict[str, int]:  # noqa: F811, ARG001 (`served` comes first)
    """The consumer's basket: 2 kg of Tomates and 1 Chasselas, through the actions."""
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['tomato']}", "quantity": "2"}))
    run(ActionAddToBasket(), tracker("", "add_to_basket", {"product": f"#{shop['wine']}", "quantity": "1"}))
    return shop


def form(requested: str, text: str = "", intent: str = "choose_delivery", entities: dict[str, str] | None = None,
         lang: str = "fr", sender: str = CONSUMER, history: list[dict[str, Any]] | None = None,
         **slots: Any) -> Outcome:  # fmt: skip
    """One turn of the checkout form's validation while it asks for `requested`."""
    said = tracker(text, intent, entities, lang=lang, sender=sender, slots={"requested_slot": requested, **slots},
                   active_loop="checkout_form", history=history)  # fmt: skip
    return run(ValidateCheckoutForm(), said)


def asked(action: Any, lang: str = "fr", sender: str = CONSUMER, **slots: Any) -> Outcome:
    return run(action, tracker("", "choose_delivery", lang=lang, sender=sender, slots=slots))


def summary_shown(**slots: Any) -> tuple[Outcome, list[dict[str, Any]]]:
    """The summary of `slots`, and its events as Rasa logs them."""
    summary = run(ActionAskOrderConfirmed(), tracker("", "choose_payment", slots=slots))
    return summary, [bot_uttered(message) for message in summary.messages]


def place(**slots: Any) -> Outcome:
    """Show the summary of `slots`, then answer it « oui »: the order placed as action_submit_order places it."""
    _, shown = summary_shown(**slots)
    said = tracker("oui", "affirm", slots={**slots, "order_confirmed": True}, history=shown)
    return run(ActionSubmitOrder(), said)


def delivered_to(app: App, number: str) -> DeliveryAddress | None:
    with app.db.uow() as uow:
        return order_delivery(uow.session.scalar(select(Order).where(Order.number == number)))


def saved_of(app: App, address: str = CONSUMER) -> list[tuple[str, str, str]]:
    """The person's saved addresses: (label, street, postal code), the last used first."""
    with app.db.uow() as uow:
        return [(a.label, a.street, a.postal_code) for a in list_addresses(uow, person_for_chat(uow, address))]


def keep(app: App, street: str, postal_code: str = "1205", label: str = "", address: str = CONSUMER,
         **fields: Any) -> int:  # fmt: skip
    with app.db.uow() as uow:
        saved = save_address(uow, person_for_chat(uow, address), DeliveryAddress(street, postal_code, "Genève",
                                                                                 **fields), label)  # fmt: skip
        uow.commit()
        return saved.id


# --- one message is enough ------------------------------------------------------------------------

NOTED = {"fr": "📍 Adresse notée : {}", "de": "📍 Adresse notiert: {}", "it": "📍 Indirizzo annotato: {}",
         "en": "📍 Address noted: {}"}  # fmt: skip
ONE_MESSAGE = [
    ("fr", "Rue de Carouge 50, 1205 Genève", "Rue de Carouge 50", "1205", "Genève", ""),
    ("fr", "Carouge 50 1205", "Carouge 50", "1205", "Genève", ""),
    ("de", "Bahnhofstrasse 12, 1204 Genf, 2. Stock", "Bahnhofstrasse 12", "1204", "Genève", "2. Stock"),
    ("de", "Rue de Carouge 50, 1205 Genève", "Rue de Carouge 50", "1205", "Genève", ""),
    ("it", "Via Nassa 5, 1205 Ginevra", "Via Nassa 5", "1205", "Genève", ""),
    ("it", "Carouge 50 1205", "Carouge 50", "1205", "Genève", ""),
    ("en", "12 Rue du Rhône, 1204 Geneva, 2nd floor", "Rue du Rhône 12", "1204", "Genève", "2nd floor"),
    ("en", "Rue de Carouge 50, 1205 Genève", "Rue de Carouge 50", "1205", "Genève", ""),
]


@pytest.mark.parametrize(("lang", "typed", "street", "postal_code", "locality", "details"), ONE_MESSAGE)
@pytest.mark.usefixtures("basket")
def test_one_message_fills_the_address(lang, typed, street, postal_code, locality, details) -> None:
    done = form("delivery_address", typed, "nlu_fallback", lang=lang, delivery_mode="delivery")
    assert done.slots["delivery_address"] == {**CAROUGE, "street": street, "postal_code": postal_code,
                                              "locality": locality, "details": details}  # fmt: skip
    assert done.slots["postal_code"] == postal_code and done.slots["address_draft"] is None
    assert done.slots["requested_slot"] == "recipient_name"
    assert done.text == NOTED[lang].format(f"{street}, {postal_code} {locality}")


@pytest.mark.usefixtures("basket")
def test_the_mode_and_the_address_in_one_message() -> None:
    done = form("delivery_mode", "livraison à domicile, Rue de Carouge 50, 1205 Genève")
    assert (done.slots["delivery_mode"], done.slots["delivery_address"]) == ("delivery", CAROUGE)


@pytest.mark.usefixtures("basket")
def test_an_address_nlu_took_for_a_search_is_still_an_address() -> None:
    done = form("delivery_address", "Rue du Marché 3, 1204 Genève", "search_product", delivery_mode="delivery")
    assert done.slots["delivery_address"]["street"] == "Rue du Marché 3"


@pytest.mark.usefixtures("basket")
def test_a_name_and_a_phone_in_the_address_message_are_taken_too() -> None:
    typed = "Marie Dupont\nRue de Carouge 50\n1205 Genève\n079 123 45 67"
    done = form("delivery_address", typed, "nlu_fallback", delivery_mode="delivery")
    assert (done.slots["recipient_name"], done.slots["delivery_phone"]) == ("Marie Dupont", "079 123 45 67")
    assert done.slots["requested_slot"] == "time_slot"


# --- what is missing is asked, one question at a time ---------------------------------------------

ASK_POSTAL_CODE = {"fr": "Quel numéro postal pour Rue du Marché 3 ?", "de": "Welche Postleitzahl hat Rue du Marché 3?",
                   "it": "Quale codice postale per Rue du Marché 3?",
                   "en": "What is the postal code for Rue du Marché 3?"}  # fmt: skip


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
@pytest.mark.usefixtures("basket")
def test_a_missing_postal_code_is_asked_then_completes_the_address(lang: str) -> None:
    first = form("delivery_address", "Rue du Marché 3, 3e étage, code 1234", lang=lang, delivery_mode="delivery")
    draft = first.slots["address_draft"]
    assert (first.slots["delivery_address"], draft["street"], draft["number"]) == (None, "Rue du Marché", "3")
    assert draft["details"] == "3e étage, code 1234" and first.slots["requested_slot"] == "delivery_address"
    question = asked(ActionAskDeliveryAddress(), lang, delivery_mode="delivery", address_draft=draft)
    assert question.text == ASK_POSTAL_CODE[lang]
    done = form("delivery_address", "1204", lang=lang, delivery_mode="delivery", address_draft=draft)
    assert done.slots["delivery_address"] == {**CAROUGE, "street": "Rue du Marché 3", "postal_code": "1204",
                                              "details": "3e étage, code 1234"}  # fmt: skip


@pytest.mark.usefixtures("basket")
def test_the_street_then_the_number_are_asked_after_a_postal_code() -> None:
    first = form("delivery_address", "1205", delivery_mode="delivery")
    draft = first.slots["address_draft"]
    assert asked(ActionAskDeliveryAddress(), address_draft=draft).text == "Quelle rue et quel numéro, à 1205 Genève ?"
    second = form("delivery_address", "Rue de Carouge", delivery_mode="delivery", address_draft=draft)
    draft = second.slots["address_draft"]
    question = asked(ActionAskDeliveryAddress(), address_draft=draft)
    assert question.text == "Quel est le numéro de l'immeuble, Rue de Carouge ?"
    done = form("delivery_address", "50", delivery_mode="delivery", address_draft=draft)
    assert done.slots["delivery_address"] == CAROUGE


@pytest.mark.usefixtures("basket")
def test_a_message_without_any_address_says_so_and_asks_again() -> None:
    done = form("delivery_address", "euh", "nlu_fallback", delivery_mode="delivery")
    assert done.text == "Je n'ai pas trouvé d'adresse dans votre message."
    assert done.slots == {"delivery_address": None, "requested_slot": "delivery_address"}


# --- refused -----------------------------------------------------------------------------------------

NOT_SERVED = {
    "fr": f"Désolé, nous ne livrons pas à 8001 Zürich. Nous livrons dans les numéros postaux {ZONES}.\n"
    "Le retrait reste possible.",
    "de": f"Leider liefern wir nicht nach 8001 Zürich. Wir liefern in die Postleitzahlen {ZONES}.\n"
    "Abholen ist weiterhin möglich.",
    "it": f"Spiacenti, non consegniamo a 8001 Zürich. Consegniamo nei codici postali {ZONES}.\n"
    "Il ritiro resta possibile.",
    "en": f"Sorry, we don't deliver to 8001 Zürich. We deliver to the postal codes {ZONES}.\nPickup is still possible.",
}


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
@pytest.mark.usefixtures("basket")
def test_an_address_outside_the_zones_is_refused_with_the_zones(lang: str) -> None:
    done = form("delivery_address", "Bahnhofstrasse 12, 8001 Zürich", lang=lang, delivery_mode="delivery")
    assert done.text == NOT_SERVED[lang]
    assert done.payloads == ['/choose_delivery{"delivery_mode": "pickup"}']
    assert done.slots == {"delivery_address": None, "address_draft": None, "postal_code": None,
                          "requested_slot": "delivery_address"}  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "typed", "refusal"),
    [
        ("fr", "Case postale 123, 1211 Genève", "Une case postale ne peut pas recevoir de livraison à domicile"),
        ("de", "Postfach 12, 1211 Genf", "An ein Postfach können wir nicht nach Hause liefern"),
        ("it", "Casella postale 12, 1211 Ginevra", "Una casella postale non può ricevere una consegna a domicilio"),
        ("en", "PO Box 12, 1211 Geneva", "A P.O. box can't receive a home delivery"),
    ],
)
@pytest.mark.usefixtures("basket")
def test_a_po_box_is_refused(lang: str, typed: str, refusal: str) -> None:
    done = form("delivery_address", typed, lang=lang, delivery_mode="delivery")
    assert done.text.startswith(refusal)
    assert done.slots["delivery_address"] is None and done.slots["address_draft"] is None


@pytest.mark.usefixtures("basket")
def test_a_foreign_postal_code_is_refused() -> None:
    done = form("delivery_address", "12 rue de la Paix, F-74100 Annemasse", delivery_mode="delivery")
    assert done.text.startswith("Ce numéro postal n'est pas suisse")
    assert done.slots["delivery_address"] is None


# --- recipient and phone ------------------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_the_recipient_is_the_persons_name_with_one_tap_or_any_name_typed(app: App) -> None:
    assert asked(ActionAskRecipientName()).text == "À quel nom faut-il livrer ? (le nom sur la sonnette)"
    with app.db.uow() as uow:
        person_for_chat(uow, CONSUMER).display_name = "Marie Dupont"
        uow.commit()
    question = asked(ActionAskRecipientName())
    assert question.text == "À quel nom faut-il livrer ? Touchez votre nom, ou tapez-en un autre."
    assert question.buttons == [("👤 Marie Dupont", '/choose_delivery{"recipient_name": "Marie Dupont"}')]
    pressed = form("recipient_name", question.payloads[0], entities={"recipient_name": "Marie Dupont"}, **HOME)
    assert pressed.slots["recipient_name"] == "Marie Dupont"
    assert form("recipient_name", "oui", "affirm", **HOME).slots["recipient_name"] == "Marie Dupont"
    assert form("recipient_name", "Jean Muller", "nlu_fallback", **HOME).slots["recipient_name"] == "Jean Muller"


@pytest.mark.usefixtures("basket")
def test_a_question_while_the_recipient_is_asked_is_no_name() -> None:
    done = form("recipient_name", "vous avez du fromage ?", "search_product", **{**HOME, "recipient_name": None})
    assert done.slots == {"requested_slot": "recipient_name"}


PHONE_QUESTION = {
    "fr": "Un numéro de téléphone pour le coursier ? C'est facultatif : il ne sert qu'à vous joindre s'il ne trouve "
    "pas l'adresse ou personne. Tapez-le, ou « non ».",
    "en": "A phone number for the courier? It's optional: it's only used to reach you if they can't find the address "
    'or anyone. Type it, or "no".',
}


@pytest.mark.parametrize(("lang", "skip"), [("fr", "Pas de téléphone"), ("en", "No phone")])
@pytest.mark.usefixtures("basket")
def test_the_phone_is_asked_with_its_reason_a_skip_button_and_the_contact_to_share(lang: str, skip: str) -> None:
    done = asked(ActionAskDeliveryPhone(), lang, **HOME)
    assert done.text == PHONE_QUESTION[lang]
    assert done.buttons == [(skip, "/deny")]
    assert done.messages[-1]["custom"] == {"share": ["contact"]}


@pytest.mark.parametrize(
    ("typed", "intent", "entities", "phone"),
    [
        ("non", "deny", None, ""),
        ("/deny", "deny", None, ""),
        ("skip", "nlu_fallback", None, ""),
        ("pas de téléphone", "out_of_scope", None, ""),
        ("079 123 45 67", "nlu_fallback", None, "079 123 45 67"),
        ('/share_contact{"phone": "+41791234567"}', "share_contact", {"phone": "+41791234567"}, "+41791234567"),
    ],
)
@pytest.mark.usefixtures("basket")
def test_the_phone_is_optional(typed: str, intent: str, entities: dict[str, str] | None, phone: str) -> None:
    slots = {**HOME, "delivery_phone": None}
    done = form("delivery_phone", typed, intent, entities, **slots)
    assert done.slots["delivery_phone"] == phone and done.slots["requested_slot"] == "time_slot"


@pytest.mark.usefixtures("basket")
def test_a_phone_that_is_none_is_refused() -> None:
    done = form("delivery_phone", "12", "nlu_fallback", **{**HOME, "delivery_phone": None})
    assert done.text == (
        "Ce numéro de téléphone n'est pas valable. Tapez-le p. ex. ainsi : 079 123 45 67, ou « non » pour passer."
    )
    assert done.slots["delivery_phone"] is None


# --- a shared location ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_a_shared_location_asks_for_the_street_and_keeps_the_coordinates() -> None:
    shared = '/share_location{"latitude": "46.1983", "longitude": "6.1423"}'
    done = form("delivery_address", shared, "share_location", {"latitude": "46.1983", "longitude": "6.1423"},
                delivery_mode="delivery")  # fmt: skip
    draft = done.slots["address_draft"]
    assert (draft["latitude"], draft["longitude"], done.slots["delivery_address"]) == ("46.1983000", "6.1423000", None)
    question = asked(ActionAskDeliveryAddress(), delivery_mode="delivery", address_draft=draft)
    assert question.text.startswith("Merci, j'ai votre position. Une position seule ne suffit pas au coursier")
    typed = form("delivery_address", "Rue de Carouge 50, 1205 Genève", delivery_mode="delivery", address_draft=draft)
    assert typed.slots["delivery_address"] == {**CAROUGE, "latitude": "46.1983000", "longitude": "6.1423000"}


@pytest.mark.usefixtures("basket")
def test_a_location_shared_before_choosing_means_home_delivery() -> None:
    done = form("delivery_mode", "/share_location", "share_location", {"latitude": "46.2", "longitude": "6.14"})
    assert done.slots["delivery_mode"] == "delivery" and done.slots["address_draft"]["latitude"] == "46.2000000"


@pytest.mark.parametrize("where", [{"latitude": "91", "longitude": "6.1"}, {"latitude": "x"}, {}])
@pytest.mark.usefixtures("basket")
def test_a_location_that_is_none_is_refused(where: dict[str, str]) -> None:
    done = form("delivery_address", "/share_location", "share_location", where, delivery_mode="delivery")
    assert done.text == "Je n'ai pas pu lire cette position. Tapez plutôt l'adresse : rue, numéro et numéro postal."
    assert done.slots["delivery_address"] is None and "address_draft" not in done.slots


# --- the summary, a change of address, the order ------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_the_summary_shows_the_address_recipient_details_and_phone() -> None:
    slots = {**HOME, "delivery_address": {**CAROUGE, "details": "3e étage"}, "delivery_phone": "079 123 45 67",
             "time_slot": SLOT, "payment_method": "on_delivery"}  # fmt: skip
    summary, _ = summary_shown(**slots)
    lines = summary.text.splitlines()
    assert lines[-4:] == [
        "Livraison à Rue de Carouge 50, 1205 Genève, pour Marie Dupont, mer. 25 nov. 17:00-19:00",
        "Précisions pour le coursier : 3e étage",
        "Téléphone pour le coursier : 079 123 45 67",
        "Paiement : à la livraison. On confirme ?",
    ]
    assert summary.buttons == [("✅ Confirmer", "/affirm"), ("✏️ Changer l'adresse", "/change_address"),
                               ("✖ Annuler", "/deny")]  # fmt: skip


@pytest.mark.usefixtures("basket")
def test_the_fingerprint_of_the_summary_covers_the_address() -> None:
    slots = {**HOME, "time_slot": SLOT, "payment_method": "on_delivery"}
    first, _ = summary_shown(**slots)
    moved, _ = summary_shown(**{**slots, "delivery_address": {**CAROUGE, "street": "Rue de Carouge 52"}})
    phoned, _ = summary_shown(**{**slots, "delivery_phone": "079 123 45 67"})
    prints = {summary.messages[0][SUMMARY_KEY] for summary in (first, moved, phoned)}
    assert len(prints) == 3


CHANGES = [
    ("changer l'adresse", "change_address"),
    ("/change_address", "change_address"),
    ("je veux livrer à une autre adresse", "nlu_fallback"),
    ("andere Adresse bitte", "nlu_fallback"),
]


@pytest.mark.parametrize(("typed", "intent"), CHANGES)
@pytest.mark.usefixtures("basket")
def test_change_the_address_at_the_summary(app: App, typed: str, intent: str) -> None:
    slots = {**HOME, "time_slot": SLOT, "payment_method": "on_delivery"}
    _, shown = summary_shown(**slots)
    done = form("order_confirmed", typed, intent, history=shown, **slots)
    assert done.slots["delivery_address"] is None and done.slots["order_confirmed"] is None
    assert done.slots["requested_slot"] == "delivery_address"
    after = {**slots, **{k: v for k, v in done.slots.items() if k != "requested_slot"}}
    question = asked(ActionAskDeliveryAddress(), **after)
    assert question.text.startswith("À quelle adresse faut-il livrer ?")
    # Another address in the same zone: the slot and the payment stand; the summary is new and must be confirmed.
    moved = form("delivery_address", "Boulevard Carl-Vogt 101, 1205 Genève", **after)
    now = {**after, **{k: v for k, v in moved.slots.items() if k != "requested_slot"}}
    assert now["delivery_address"]["street"] == "Boulevard Carl-Vogt 101" and now["time_slot"] == SLOT
    assert moved.slots["requested_slot"] == "order_confirmed"
    old_yes = form("order_confirmed", "oui", "affirm", history=shown, **now)  # the « oui » to the old summary
    assert old_yes.slots["order_confirmed"] is None
    assert "Votre commande a changé depuis le récapitulatif" in old_yes.text
    placed = place(**now)
    [order] = orders_of(app)
    assert placed.text.startswith(f"Merci ! Votre commande {order['number']}")
    assert delivered_to(app, order["number"]).street == "Boulevard Carl-Vogt 101"


@pytest.mark.usefixtures("basket")
def test_another_postal_code_asks_the_slot_and_payment_again() -> None:
    slots = {**HOME, "time_slot": SLOT, "payment_method": "chf", "order_confirmed": None}
    done = form("delivery_address", "Route de Meyrin 200, 1217 Meyrin", **{**slots, "delivery_address": None})
    assert done.slots["postal_code"] == "1217"
    assert (done.slots["time_slot"], done.slots["payment_method"]) == (None, None)


@pytest.mark.usefixtures("basket")
def test_the_placed_order_keeps_the_address_and_remembers_it(app: App) -> None:
    slots = {**HOME, "delivery_address": {**CAROUGE, "details": "3e étage, code 1234", "latitude": "46.1983",
                                          "longitude": "6.1423"},
             "delivery_phone": "079 123 45 67", "time_slot": SLOT, "payment_method": "on_delivery"}  # fmt: skip
    done = place(**slots)
    [order] = orders_of(app)
    assert done.text.startswith(f"Merci ! Votre commande {order['number']} est enregistrée.")
    assert delivered_to(app, order["number"]) == DeliveryAddress(
        street="Rue de Carouge 50", postal_code="1205", locality="Genève", recipient_name="Marie Dupont",
        details="3e étage, code 1234", phone="079 123 45 67", latitude=Decimal("46.1983"),
        longitude=Decimal("6.1423"),
    )  # fmt: skip
    assert (order["mode"], order["postal_code"]) == ("delivery", "1205")
    assert saved_of(app) == [("home", "Rue de Carouge 50", "1205")]
    assert {"delivery_address", "recipient_name", "delivery_phone", "address_draft"} <= {
        e["name"] for e in done.events if e["value"] is None
    }


@pytest.mark.usefixtures("basket")
def test_a_pickup_order_keeps_no_address(app: App) -> None:
    place(**{**HOME, "delivery_mode": "pickup", "time_slot": SLOT, "payment_method": "on_delivery"})
    [order] = orders_of(app)
    assert order["mode"] == "pickup" and delivered_to(app, order["number"]) is None and saved_of(app) == []


# --- remembered ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_the_last_address_is_offered_and_used(app: App) -> None:
    keep(app, "Boulevard Carl-Vogt 101", label="work")
    last = keep(app, "Rue de Carouge 50", recipient_name="Marie Dupont", phone="079 123 45 67")
    question = asked(ActionAskDeliveryAddress(), delivery_mode="delivery")
    assert question.text == "Livrer à Rue de Carouge 50 comme la dernière fois ?"
    assert question.buttons == [("✅ Oui", f'/choose_delivery{{"address_id": "{last}"}}'),
                                ("✏️ Une autre adresse", "/deny")]  # fmt: skip
    for typed, intent, entities in [(question.payloads[0], "choose_delivery", {"address_id": str(last)}),
                                    ("oui", "affirm", None)]:  # fmt: skip
        done = form("delivery_address", typed, intent, entities, delivery_mode="delivery")
        assert done.slots["delivery_address"] == CAROUGE
        assert (done.slots["recipient_name"], done.slots["delivery_phone"]) == ("Marie Dupont", "079 123 45 67")
        assert done.slots["requested_slot"] == "time_slot"


@pytest.mark.usefixtures("basket")
def test_another_address_than_last_time(app: App) -> None:
    work = keep(app, "Boulevard Carl-Vogt 101", label="work")
    declined = form("delivery_address", "non", "deny", delivery_mode="delivery")
    draft = declined.slots["address_draft"]
    assert draft["declined"] is True and declined.slots["requested_slot"] == "delivery_address"
    question = asked(ActionAskDeliveryAddress(), delivery_mode="delivery", address_draft=draft)
    assert question.text.startswith("À quelle adresse faut-il livrer ?")
    assert question.text.splitlines()[1] == "Ou dites simplement le nom d'une de vos adresses : Travail."
    assert question.buttons == [("📍 Travail — Boulevard Carl-Vogt 101", f'/choose_delivery{{"address_id": "{work}"}}')]
    assert question.messages[-1]["custom"] == {"share": ["location"]}


@pytest.mark.usefixtures("basket")
def test_someone_elses_saved_address_is_not_found(app: App) -> None:
    theirs = keep(app, "Chemin des Crêts 4", "1218", address=CELLAR)
    done = form("delivery_address", "/choose_delivery", "choose_delivery", {"address_id": str(theirs)},
                delivery_mode="delivery")  # fmt: skip
    assert done.text == "Je ne trouve pas cette adresse parmi les vôtres."
    assert done.slots["delivery_address"] is None and "Crêts" not in str(done.events)


# --- saved addresses by chat --------------------------------------------------------------------------


@pytest.mark.usefixtures("shop")
def test_list_my_addresses(app: App) -> None:
    assert run(ActionListAddresses(), tracker("mes adresses", "list_addresses")).text == (
        "Vous n'avez pas encore d'adresse enregistrée : celle de votre prochaine livraison le sera."
    )
    work = keep(app, "Boulevard Carl-Vogt 101", label="work")
    home = keep(app, "Rue de Carouge 50", label="home")
    done = run(ActionListAddresses(), tracker("mes adresses", "list_addresses"))
    assert done.text == (
        "Vos adresses de livraison :\n1. Domicile : Rue de Carouge 50, 1205 Genève\n"
        "2. Travail : Boulevard Carl-Vogt 101, 1205 Genève\n"
        "Pour nommer une adresse : « l'adresse 2 s'appelle travail ». À la commande, « livre au travail » suffit alors."
    )
    assert done.buttons == [("🗑 Supprimer la 1", f'/delete_address{{"address_id": "{home}"}}'),
                            ("🗑 Supprimer la 2", f'/delete_address{{"address_id": "{work}"}}')]  # fmt: skip
    german = run(ActionListAddresses(), tracker("meine Adressen", "list_addresses", lang="de"))
    assert german.text.splitlines()[1] == "1. Zuhause: Rue de Carouge 50, 1205 Genève"


@pytest.mark.usefixtures("shop")
def test_delete_an_address_by_its_place_in_the_list_or_its_button(app: App) -> None:
    work = keep(app, "Boulevard Carl-Vogt 101", label="work")
    keep(app, "Rue de Carouge 50", label="home")
    done = run(ActionDeleteAddress(), tracker("supprime l'adresse 2", "delete_address"))
    assert done.text == "Adresse supprimée : Boulevard Carl-Vogt 101, 1205 Genève."
    assert saved_of(app) == [("home", "Rue de Carouge 50", "1205")]
    [home] = [a for a in (keep(app, "Rue de Carouge 50", label="home"),)]
    pressed = run(ActionDeleteAddress(), tracker("/delete_address", "delete_address", {"address_id": str(home)}))
    assert pressed.text == "Adresse supprimée : Rue de Carouge 50, 1205 Genève." and saved_of(app) == []
    assert work != home


@pytest.mark.usefixtures("shop")
def test_delete_an_address_that_is_none_of_mine(app: App) -> None:
    theirs = keep(app, "Chemin des Crêts 4", "1218", address=CELLAR)
    mine = keep(app, "Rue de Carouge 50")
    done = run(ActionDeleteAddress(), tracker("/delete_address", "delete_address", {"address_id": str(theirs)}))
    assert done.text == "Je ne trouve pas cette adresse parmi les vôtres."
    assert saved_of(app, CELLAR) == [("", "Chemin des Crêts 4", "1218")]
    far = run(ActionDeleteAddress(), tracker("supprime l'adresse 7", "delete_address"))
    assert far.text.splitlines()[0] == "Je ne trouve pas cette adresse parmi les vôtres."
    asked_which = run(ActionDeleteAddress(), tracker("supprime une adresse", "delete_address"))
    assert asked_which.text.splitlines()[0] == "Quelle adresse faut-il supprimer ? Donnez son numéro dans la liste."
    assert saved_of(app) == [("", "Rue de Carouge 50", "1205")] and mine


# --- pickup points ------------------------------------------------------------------------------------


@pytest.fixture
def points(app: App, shop: dict[str, int]) -> dict[str, int]:  # noqa: ARG001 (the shops must exist)
    with app.db.uow() as uow:
        market = delivery.add_pickup_point(uow, "ferme-test", "Marché de Plainpalais", "Plaine de Plainpalais",
                                           "mar. et ven. 8-13 h")  # fmt: skip
        cellar = delivery.add_pickup_point(uow, "cave-test", "Cave Test", "Route du Vignoble 3, 1281 Russin")
        uow.commit()
        return {"market": market.id, "cellar": cellar.id}


@pytest.mark.usefixtures("basket")
def test_pickup_asks_the_pickup_point_by_name_with_its_hours(points: dict[str, int]) -> None:
    chose = form("delivery_mode", "retrait", "choose_delivery")
    assert chose.slots["requested_slot"] == "pickup_point"
    question = asked(ActionAskPickupPoint(), delivery_mode="pickup")
    assert question.text == (
        "Où voulez-vous retirer votre commande ?\n1. Cave Test, Route du Vignoble 3, 1281 Russin\n"
        "2. Marché de Plainpalais, Plaine de Plainpalais (mar. et ven. 8-13 h)"
    )
    assert question.buttons == [
        ("🏪 Cave Test", f'/choose_delivery{{"pickup_point": "{points["cellar"]}"}}'),
        ("🏪 Marché de Plainpalais (mar. et ven. 8-13 h)", f'/choose_delivery{{"pickup_point": "{points["market"]}"}}'),
    ]
    for typed, entities in [(question.payloads[1], {"pickup_point": str(points["market"])}), ("plainpalais", None),
                            ("le 2", None)]:  # fmt: skip
        done = form("pickup_point", typed, "choose_delivery", entities, delivery_mode="pickup")
        assert done.slots["pickup_point"] == str(points["market"]) and done.slots["requested_slot"] == "time_slot"
    refused = form("pickup_point", "/choose_delivery", "choose_delivery", {"pickup_point": "999"},
                   delivery_mode="pickup")  # fmt: skip
    assert refused.text == "Je ne trouve pas ce point de retrait. Choisissez l'un de ceux proposés."
    assert refused.slots["pickup_point"] is None


@pytest.mark.usefixtures("basket")
def test_the_summary_shows_the_pickup_point(points: dict[str, int]) -> None:
    slots = {"delivery_mode": "pickup", "pickup_point": str(points["market"]), "time_slot": SLOT,
             "payment_method": "on_delivery"}  # fmt: skip
    summary, _ = summary_shown(**slots)
    assert (
        "Retrait : Marché de Plainpalais, Plaine de Plainpalais (mar. et ven. 8-13 h), mer. 25 nov. 17:00-19:00"
        in summary.text.splitlines()
    )
    other, _ = summary_shown(**{**slots, "pickup_point": str(points["cellar"])})
    assert other.messages[0][SUMMARY_KEY] != summary.messages[0][SUMMARY_KEY]


@pytest.mark.usefixtures("basket")
def test_without_pickup_points_pickup_goes_straight_to_the_slot() -> None:
    chose = form("delivery_mode", "retrait", "choose_delivery")
    assert chose.slots["requested_slot"] == "time_slot"


@pytest.mark.usefixtures("basket")
def test_interruptions_still_work_with_the_new_slots() -> None:
    done = form("delivery_phone", "vous avez des tomates ?", "search_product", {"product": "tomates"},
                **{**HOME, "delivery_phone": None})  # fmt: skip
    assert done.events == [SlotSet("requested_slot", "delivery_phone")]


@pytest.mark.usefixtures("basket")
def test_a_pickup_order_keeps_its_pickup_point(app: App, points: dict[str, int]) -> None:
    place(delivery_mode="pickup", pickup_point=str(points["market"]), time_slot=SLOT, payment_method="on_delivery")
    [order] = orders_of(app)
    with app.db.uow() as uow:
        assert (
            uow.session.scalar(select(Order.pickup_point_id).where(Order.number == order["number"])) == points["market"]
        )


@pytest.mark.usefixtures("basket")
def test_an_address_kept_from_before_is_validated_as_it_is() -> None:
    """When the form starts again with an address already kept, Rasa has its slots validated as they are."""
    dispatcher = CollectingDispatcher()
    checked = ValidateCheckoutForm().validate_delivery_address(CAROUGE, dispatcher, tracker("", "checkout"), {})
    assert asyncio.run(checked) == {"delivery_address": CAROUGE} and dispatcher.messages == []
    odd = ValidateCheckoutForm().validate_delivery_address({"street": ""}, dispatcher, tracker("", "checkout"), {})
    assert asyncio.run(odd) == {"delivery_address": None}


@pytest.mark.usefixtures("basket")
def test_yes_without_any_saved_address_is_no_address() -> None:
    done = form("delivery_address", "oui", "affirm", delivery_mode="delivery")
    assert done.text == "Je n'ai pas trouvé d'adresse dans votre message."
    assert done.slots == {"delivery_address": None, "requested_slot": "delivery_address"}


@pytest.mark.usefixtures("basket")
def test_a_street_too_long_is_asked_again_with_a_reason() -> None:
    done = form("delivery_address", f"Rue {'x' * 150} 5, 1205 Genève", delivery_mode="delivery")
    assert done.text.startswith("Cette adresse est incomplète ou contient un élément non valable.")
    assert done.slots["delivery_address"] is None and done.slots["requested_slot"] == "delivery_address"
