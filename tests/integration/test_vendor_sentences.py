"""Producers' sentences through the Rasa actions (no model, no server): the product is found by the same
own-product matcher as the `/stock` command, its "which one?" buttons carry the SKU, and the reply comes
in the language the one rule resolves."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bootstrap import App
from dialogues.actions import ActionUpdatePrice, ActionUpdateStock
from tests.conftest import make_product
from tests.support.actions import FARMER, chf, language_of, price_of, run, served, stock_of, tracker  # noqa: F401

pytestmark = pytest.mark.usefixtures("served")


@pytest.fixture
def honeys(app: App, shop: dict[str, int]) -> dict[str, int]:  # noqa: ARG001 (shop makes the farm they belong to)
    """The farmer's honeys: two jar sizes of the same name, and one more."""
    with app.db.uow() as uow:
        ids = {
            "big": make_product(uow, "ferme-test", "MIEL-1", "Miel de fleurs", "16.00", "80", unit="500 g"),
            "small": make_product(uow, "ferme-test", "MIEL-2", "Miel de fleurs", "9.00", "100", unit="250 g"),
            "acacia": make_product(uow, "ferme-test", "MIEL-4", "Miel d'acacia", "11.00", "35", unit="250 g"),
        }
        uow.commit()
    return ids


def test_the_whole_sentence_names_the_product_when_the_nlu_caught_only_a_word(app: App, honeys: dict[str, int]) -> None:
    said = tracker("j'ai encore 12 pots de miel d'acacia", "update_stock", {"product": "miel", "quantity": "12"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert (done.text, done.buttons) == ("Stock de « Miel d'acacia » : 12 (250 g).", [])
    assert stock_of(app, honeys["acacia"]) == Decimal(12)


def test_two_jar_sizes_are_asked_about_and_the_pressed_sku_is_the_one_changed(app: App, honeys: dict[str, int]) -> None:
    said = tracker("plus que 12 miel de fleurs", "update_stock", {"product": "miel de fleurs", "quantity": "12"},
                   sender=FARMER)  # fmt: skip
    question = run(ActionUpdateStock(), said)
    assert question.text == "Lequel de vos produits voulez-vous dire par « miel de fleurs » ?"
    assert question.buttons == [
        ("Miel de fleurs (MIEL-1)", '/update_stock{"product": "MIEL-1", "quantity": "12"}'),
        ("Miel de fleurs (MIEL-2)", '/update_stock{"product": "MIEL-2", "quantity": "12"}'),
    ]
    assert stock_of(app, honeys["big"]) == Decimal(80) and stock_of(app, honeys["small"]) == Decimal(100)
    payload = question.buttons[1][1]
    entities = json.loads(payload.removeprefix("/update_stock"))
    pressed = run(ActionUpdateStock(), tracker(payload, "update_stock", entities, sender=FARMER))
    assert (pressed.text, pressed.buttons) == ("Stock de « Miel de fleurs » : 12 (250 g).", [])
    assert stock_of(app, honeys["small"]) == Decimal(12) and stock_of(app, honeys["big"]) == Decimal(80)


def test_a_price_by_sku_is_exact_and_an_unknown_name_is_said_so(app: App, honeys: dict[str, int]) -> None:
    said = tracker("MIEL-4 à 12.50", "update_price", {"product": "miel-4", "amount": "12.50"}, sender=FARMER)
    assert run(ActionUpdatePrice(), said).text == (
        f"« Miel d'acacia » passe de {chf('11.00')} à {chf('12.50')} / 250 g. "
        "Les commandes déjà passées gardent leur prix."
    )
    assert price_of(app, honeys["acacia"]) == Decimal("12.50")
    unknown = tracker("la confiture passe à 5", "update_price", {"product": "confiture", "amount": "5"}, sender=FARMER)
    assert run(ActionUpdatePrice(), unknown).text == (
        "Je ne trouve pas « confiture » parmi vos produits. /products les liste tous."
    )


def test_a_language_chosen_in_the_chat_wins_over_the_channels(app: App, shop: dict[str, int]) -> None:
    said = tracker("tomates 12", "update_stock", {"product": "tomates", "quantity": "12"}, sender=FARMER, lang="it",
                   slots={"language": "de"})  # fmt: skip
    assert run(ActionUpdateStock(), said).text == "Lagerbestand «Tomates»: 12 (kg)."
    assert language_of(app, FARMER) == "de"  # remembered for the direct commands
    said = tracker("tomates 13", "update_stock", {"product": "tomates", "quantity": "13"}, sender=FARMER, lang="es")
    assert run(ActionUpdateStock(), said).text == "Lagerbestand «Tomates»: 13 (kg)."  # then what we knew
    assert stock_of(app, shop["tomato"]) == Decimal(13)
