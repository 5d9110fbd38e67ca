"""Small talk, fallback and language actions run without Rasa, against the test database."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from bootstrap import App
from dialogues.actions import ActionChangeLanguage, ActionFallback, ActionSmallTalk
from marketplace.i18n import translate
from tests.support.actions import CATEGORY_BUTTONS, CONSUMER, language_of, run, served, tracker  # noqa: F401

pytestmark = pytest.mark.usefixtures("served")


def test_a_greeting_introduces_the_marketplace_and_offers_categories() -> None:
    done = run(ActionSmallTalk(), tracker("bonjour", "greet"))
    assert done.text == (
        "Bonjour ! Je suis l'assistant de GE consomme local : produits et services locaux, "
        "payables en francs ou en Léman. Que cherchez-vous ?"
    )
    assert done.buttons == [*CATEGORY_BUTTONS, ("🧺 Voir le panier", "/show_basket")]
    assert done.events == []


def test_thanks_get_a_short_answer_without_buttons() -> None:
    done = run(ActionSmallTalk(), tracker("merci", "thank"))
    assert (done.text, done.buttons) == ("Avec plaisir !", [])


def test_help_in_english_explains_what_the_assistant_does() -> None:
    done = run(ActionSmallTalk(), tracker("what can you do?", "help", lang="en"))
    assert done.text == translate("reply.help", "en")
    assert done.text.startswith("I can search local products")
    assert done.buttons[-1] == ("🧺 Show basket", "/show_basket")


def test_a_payment_choice_outside_checkout_says_how_to_check_out() -> None:
    done = run(ActionSmallTalk(), tracker("je paie en lémans", "choose_payment"))
    assert done.text == "Le paiement se choisit au moment de commander : dites « commander »."


def test_an_intent_that_is_not_small_talk_is_answered_as_out_of_scope() -> None:
    done = run(ActionSmallTalk(), tracker("quel temps fait-il ?", "weather"))
    assert (
        done.text == "Je ne peux aider que pour les achats sur GE consomme local. Essayez par exemple une catégorie :"
    )
    assert done.buttons == [*CATEGORY_BUTTONS, ("🧺 Voir le panier", "/show_basket")]


def test_the_fallback_apologises_and_offers_a_way_on() -> None:
    done = run(ActionFallback(), tracker("qsdkjh zzvbw", "nlu_fallback"))
    assert done.text == (
        "Désolé, je n'ai pas compris. Vous pouvez chercher un produit (« du fromage ? »), "
        "voir votre panier ou demander de l'aide."
    )
    assert done.buttons == [*CATEGORY_BUTTONS, ("❓ Aide", "/help")]


@pytest.mark.usefixtures("shop")
def test_a_product_name_alone_that_the_nlu_did_not_understand_is_searched() -> None:
    done = run(ActionFallback(), tracker("chasselas", "nlu_fallback"))  # a product created today, say
    assert done.text.startswith("Voici ce que j'ai trouvé") and "Chasselas" in done.text
    assert done.buttons[0][0] == "➕ 1. Chasselas"
    vague = run(ActionFallback(), tracker("zorglub", "nlu_fallback"))  # names nothing of the catalog: no guess
    assert vague.text.startswith("Désolé, je n'ai pas compris")


@pytest.mark.usefixtures("shop")
def test_a_search_for_a_catalog_product_read_as_out_of_scope_is_still_a_search() -> None:
    done = run(ActionSmallTalk(), tracker("je cherche du chasselas", "out_of_scope"))  # created today, say
    assert done.text.startswith("Voici ce que j'ai trouvé") and "Chasselas" in done.text
    other = run(ActionSmallTalk(), tracker("quel temps fera-t-il demain ?", "out_of_scope"))
    assert other.text.startswith("Je ne peux aider que pour les achats")


def test_the_fallback_in_italian() -> None:
    done = run(ActionFallback(), tracker("boh", "nlu_fallback", lang="it"))
    assert done.text == (
        "Mi scusi, non ho capito. Può cercare un prodotto («formaggio?»), vedere il carrello o chiedere aiuto."
    )


def test_changing_language_answers_in_it_remembers_it_and_sets_the_slot(app: App) -> None:
    done = run(ActionChangeLanguage(), tracker("parle-moi en allemand", "change_language", {"language": "de"}))
    assert done.text == "Alles klar, ich spreche jetzt Deutsch mit Ihnen."
    assert done.events == [SlotSet("language", "de")]
    assert language_of(app, CONSUMER) == "de"
    # The chosen language wins over the channel's afterwards.
    thanked = run(ActionSmallTalk(), tracker("merci", "thank", slots={"language": "de"}, lang="fr"))
    assert thanked.text == "Gern geschehen!"


def test_a_language_named_in_words_is_understood(app: App) -> None:
    done = run(ActionChangeLanguage(), tracker("parle-moi en italien", "change_language"))
    assert done.text == "Va bene, d'ora in poi le parlo in italiano."
    assert done.events == [SlotSet("language", "it")]
    assert language_of(app, CONSUMER) == "it"


def test_an_unsupported_language_lists_the_supported_ones(app: App) -> None:
    done = run(ActionChangeLanguage(), tracker("parle-moi en klingon", "change_language"))
    assert done.text == "Je parle ces langues : fr, de, it, en."
    assert done.events == []
    assert language_of(app, CONSUMER) == "fr"
