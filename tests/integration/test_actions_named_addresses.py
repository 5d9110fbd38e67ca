"""Named delivery addresses by chat, run without Rasa: a new address offered a name after the order ([Domicile]
[Travail] [Pas de nom]), named in words in four languages, the name moving from one address to another, chosen
by its name at the checkout's address question (« livre au travail », « zur Arbeit »…), deleted by its name; the
wrong person's address never named; reorder asks about the last address — against the test database."""

from __future__ import annotations

import json

import pytest

from bootstrap import App
from dialogues.actions import (
    ActionAskDeliveryAddress,
    ActionDeleteAddress,
    ActionListAddresses,
    ActionNameAddress,
    ActionReorder,
)
from tests.integration.test_actions_checkout_address import (  # noqa: F401 (fixtures)
    CAROUGE,
    HOME,
    SLOT,
    asked,
    basket,
    clock,
    form,
    keep,
    place,
    saved_of,
)
from tests.support.actions import CELLAR, Outcome, basket_of, orders_of, run, served, tracker  # noqa: F401

pytestmark = pytest.mark.usefixtures("served")

VOGT = {**CAROUGE, "street": "Boulevard Carl-Vogt 101"}


def name(text: str, lang: str = "fr", entities: dict[str, str] | None = None, sender: str | None = None) -> Outcome:
    said = tracker(text, "name_address", entities, lang=lang, **({"sender": sender} if sender else {}))
    return run(ActionNameAddress(), said)


def press(outcome: Outcome, title_part: str) -> Outcome:
    """Press the button of `outcome` whose title holds `title_part` (its payload's entities, as Rasa reads them)."""
    [payload] = [p for title, p in outcome.buttons if title_part in title]
    intent, _, entities = payload[1:].partition("{")
    return run(ActionNameAddress(), tracker(payload, intent, json.loads("{" + entities)))


# --- after an order -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_the_first_address_is_home_and_no_name_is_asked(app: App) -> None:
    done = place(**{**HOME, "time_slot": SLOT, "payment_method": "on_delivery"})
    assert saved_of(app) == [("home", "Rue de Carouge 50", "1205")]
    assert not any("name_address" in payload for payload in done.payloads)


@pytest.mark.usefixtures("basket")
def test_a_new_address_is_offered_a_name_after_the_order(app: App) -> None:
    keep(app, "Rue de Carouge 50", label="home")
    done = place(**{**HOME, "delivery_address": VOGT, "time_slot": SLOT, "payment_method": "on_delivery"})
    assert "Donner un nom à Boulevard Carl-Vogt 101, 1205 Genève ?" in done.text
    assert [title for title, _ in done.buttons] == ["🏠 Domicile", "💼 Travail", "Pas de nom"]
    named = press(done, "Travail")
    assert named.text == "🏷️ C'est noté : Boulevard Carl-Vogt 101, 1205 Genève s'appelle désormais « Travail »."
    assert saved_of(app) == [("work", "Boulevard Carl-Vogt 101", "1205"), ("home", "Rue de Carouge 50", "1205")]
    listed = run(ActionListAddresses(), tracker("mes adresses", "list_addresses"))
    assert "1. Travail : Boulevard Carl-Vogt 101, 1205 Genève" in listed.text


@pytest.mark.usefixtures("basket")
def test_no_name_keeps_it_unnamed_and_a_known_address_is_not_offered_again(app: App) -> None:
    keep(app, "Rue de Carouge 50", label="home")
    done = place(**{**HOME, "delivery_address": VOGT, "time_slot": SLOT, "payment_method": "on_delivery"})
    assert press(done, "Pas de nom").text == "D'accord : Boulevard Carl-Vogt 101, 1205 Genève reste sans nom."
    assert saved_of(app)[0] == ("", "Boulevard Carl-Vogt 101", "1205")


# --- naming in words ------------------------------------------------------------------------------------

IN_WORDS = [
    ("fr", "enregistre cette adresse comme travail", "work", "Travail"),
    ("fr", "l'adresse 2 s'appelle chez maman", "chez maman", "chez maman"),
    ("de", "speichere diese Adresse als Büro", "work", "Arbeit"),
    ("de", "Adresse 2 heisst Ferienwohnung", "ferienwohnung", "ferienwohnung"),
    ("it", "salva questo indirizzo come casa", "home", "Casa"),
    ("it", "l'indirizzo 2 si chiama palestra", "palestra", "palestra"),
    ("en", "save this address as work", "work", "Work"),
    ("en", "rename address 2 to cottage", "cottage", "cottage"),
]


@pytest.mark.parametrize(("lang", "typed", "label", "shown"), IN_WORDS)
@pytest.mark.usefixtures("shop")
def test_name_an_address_in_words(app: App, lang: str, typed: str, label: str, shown: str) -> None:
    keep(app, "Rue de Carouge 50")
    keep(app, "Boulevard Carl-Vogt 101")  # the last used: « cette adresse »; « l'adresse 2 » is Carouge
    done = name(typed, lang)
    street = "Rue de Carouge 50" if "2" in typed else "Boulevard Carl-Vogt 101"
    assert dict((s, lab) for lab, s, _ in saved_of(app))[street] == label
    assert shown in done.text and street in done.text


@pytest.mark.usefixtures("shop")
def test_a_name_belongs_to_one_address(app: App) -> None:
    keep(app, "Rue de Carouge 50", label="work")
    keep(app, "Boulevard Carl-Vogt 101")
    name("enregistre cette adresse comme bureau")
    assert saved_of(app) == [("work", "Boulevard Carl-Vogt 101", "1205"), ("", "Rue de Carouge 50", "1205")]


@pytest.mark.usefixtures("shop")
def test_naming_without_a_name_asks_for_one_and_odd_names_are_refused(app: App) -> None:
    keep(app, "Rue de Carouge 50")
    asked_name = name("enregistre cette adresse")
    assert asked_name.text.startswith("Quel nom donner à Rue de Carouge 50, 1205 Genève ?")
    assert [title for title, _ in asked_name.buttons] == ["🏠 Domicile", "💼 Travail", "Pas de nom"]
    refused = name("enregistre cette adresse comme " + "x" * 60)
    assert refused.text == "Ce nom ne convient pas : 40 caractères au plus, sans caractères spéciaux."
    assert name("l'adresse 7 s'appelle bureau").text.startswith("Je ne trouve pas cette adresse parmi les vôtres.")
    assert saved_of(app) == [("", "Rue de Carouge 50", "1205")]


@pytest.mark.usefixtures("shop")
def test_nobody_names_someone_elses_address(app: App) -> None:
    theirs = keep(app, "Chemin des Crêts 4", "1218", address=CELLAR)
    done = name("/name_address", entities={"address_id": str(theirs), "address_label": "work"})
    assert done.text == "Je ne trouve pas cette adresse parmi les vôtres."
    assert saved_of(app, CELLAR) == [("", "Chemin des Crêts 4", "1218")]
    assert name("enregistre cette adresse comme travail").text == (
        "Vous n'avez pas encore d'adresse enregistrée : celle de votre prochaine livraison le sera."
    )


@pytest.mark.usefixtures("shop")
def test_delete_an_address_by_its_name(app: App) -> None:
    keep(app, "Boulevard Carl-Vogt 101", label="work")
    keep(app, "Rue de Carouge 50", label="home")
    done = run(ActionDeleteAddress(), tracker("oublie mon adresse du travail", "delete_address"))
    assert done.text == "Adresse supprimée : Boulevard Carl-Vogt 101, 1205 Genève."
    assert saved_of(app) == [("home", "Rue de Carouge 50", "1205")]
    # NLU may take « supprime l'adresse chez maman » for naming (a name is in it): it deletes all the same.
    keep(app, "Boulevard Carl-Vogt 101", label="chez maman")
    deleted = name("supprime l'adresse chez maman")
    assert deleted.text == "Adresse supprimée : Boulevard Carl-Vogt 101, 1205 Genève."
    assert saved_of(app) == [("home", "Rue de Carouge 50", "1205")]


# --- chosen by name in checkout ---------------------------------------------------------------------------

BY_NAME = [
    ("fr", "livre au travail"),
    ("fr", "au bureau"),
    ("de", "zur Arbeit bitte"),
    ("it", "al lavoro"),
    ("en", "deliver to work"),
]


@pytest.mark.parametrize(("lang", "typed"), BY_NAME)
@pytest.mark.usefixtures("basket")
def test_choose_an_address_by_its_name_in_checkout(app: App, lang: str, typed: str) -> None:
    keep(app, "Boulevard Carl-Vogt 101", label="work", recipient_name="Marie Dupont")
    keep(app, "Rue de Carouge 50", label="home")
    done = form("delivery_address", typed, "nlu_fallback", lang=lang, delivery_mode="delivery")
    assert done.slots["delivery_address"] == VOGT
    assert done.slots["recipient_name"] == "Marie Dupont"


@pytest.mark.usefixtures("basket")
def test_an_own_name_and_the_mode_question(app: App) -> None:
    keep(app, "Boulevard Carl-Vogt 101", label="chez maman")
    own = form("delivery_address", "chez maman", "search_product", delivery_mode="delivery")
    assert own.slots["delivery_address"] == VOGT
    at_mode = form("delivery_mode", "livraison chez maman", "choose_delivery")
    assert at_mode.slots["delivery_mode"] == "delivery" and at_mode.slots["delivery_address"] == VOGT
    keep(app, "Rue de Carouge 50", label="home")  # « livraison à domicile » is the mode, still not that address:
    for typed, lang in [("livraison à domicile", "fr"), ("Lieferung nach Hause", "de"), ("home delivery", "en"),
                        ("consegna a domicilio", "it")]:  # fmt: skip
        mode = form("delivery_mode", typed, "choose_delivery", lang=lang)
        assert mode.slots["delivery_mode"] == "delivery" and "delivery_address" not in mode.slots, typed


@pytest.mark.usefixtures("basket")
def test_a_name_nobody_gave_asks_for_the_address(app: App) -> None:
    # At the mode's question, « livraison à domicile » without a home address is just home delivery.
    first = form("delivery_mode", "livraison à domicile", "choose_delivery")
    assert first.slots["delivery_mode"] == "delivery" and "delivery_address" not in first.slots
    keep(app, "Rue de Carouge 50", label="home")
    done = form("delivery_address", "au travail", "nlu_fallback", delivery_mode="delivery")
    assert done.text == (
        "Vous n'avez pas encore d'adresse « Travail ». Donnez-la une fois : après la commande, je vous proposerai "
        "de l'appeler ainsi."
    )
    assert done.slots["delivery_address"] is None and done.slots["address_draft"]["declined"] is True


@pytest.mark.usefixtures("basket")
def test_a_street_named_like_a_label_is_an_address(app: App) -> None:
    keep(app, "Boulevard Carl-Vogt 101", label="work")
    done = form("delivery_address", "Rue du Travail 5, 1205 Genève", "nlu_fallback", delivery_mode="delivery")
    assert done.slots["delivery_address"]["street"] == "Rue du Travail 5"


# --- reorder --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("basket")
def test_reorder_asks_about_the_last_address(app: App) -> None:
    place(**{**HOME, "time_slot": SLOT, "payment_method": "on_delivery"})
    assert basket_of(app) == {}
    again = run(ActionReorder(), tracker("comme la dernière fois", "reorder"))
    assert basket_of(app) and again.text
    question = asked(ActionAskDeliveryAddress(), delivery_mode="delivery")
    assert question.text == "Livrer à Rue de Carouge 50 comme la dernière fois ?"
    done = form("delivery_address", "oui", "affirm", delivery_mode="delivery")
    assert done.slots["delivery_address"] == CAROUGE and done.slots["recipient_name"] == "Marie Dupont"
    assert len(orders_of(app)) == 1
