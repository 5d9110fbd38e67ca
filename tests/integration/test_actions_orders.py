"""Consumer actions on placed orders (status, cancellation) run without Rasa, against the test database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bootstrap import App
from dialogues.actions import ActionCancelOrder, ActionOrderStatus
from tests.support.actions import chf, orders_of, placed_order, run, served, stock_of, tracker  # noqa: F401

pytestmark = pytest.mark.usefixtures("served")

STRANGER = "telegram:4004"


def test_status_of_the_latest_order_names_each_vendors_part_and_offers_to_cancel(
    app: App, shop: dict[str, int]
) -> None:
    number = placed_order(app, {shop["tomato"]: "2", shop["wine"]: "1"})
    done = run(ActionOrderStatus(), tracker("où en est ma commande ?", "order_status"))
    assert done.text == (
        f"Commande {number} : passée — total {chf('24.10')}\n"
        "  • Ferme Test: passée\n"
        "  • Cave Test: passée\n"
        "Créneau : mer. 25 nov. 17:00-19:00"
    )
    assert done.buttons == [("✖ Annuler la commande", f'/cancel_order{{"order_id": "{number}"}}')]
    assert done.events == []


def test_status_in_english_of_an_order_named_by_its_number(app: App, shop: dict[str, int]) -> None:
    placed_order(app, {shop["wine"]: "1"}, number="GE-7K3Q9M")
    placed_order(app, {shop["tomato"]: "1"})  # the latest is not the one asked about
    done = run(ActionOrderStatus(), tracker("status of order 7k3q9m", "order_status", lang="en"))
    assert done.text.splitlines()[0] == f"Order GE-7K3Q9M: placed — total {chf('14.50', 'en')}"


@pytest.mark.usefixtures("shop")
def test_status_without_any_order_says_so() -> None:
    done = run(ActionOrderStatus(), tracker("où en est ma commande ?", "order_status"))
    assert done.text == "Je ne trouve aucune commande à votre nom."
    assert done.buttons == []


def test_status_of_someone_elses_order_is_not_revealed(app: App, shop: dict[str, int]) -> None:
    number = placed_order(app, {shop["wine"]: "1"}, number="GE-7K3Q9M")
    done = run(ActionOrderStatus(), tracker("ma commande", "order_status", {"order_id": number}, sender=STRANGER))
    assert done.text == "Je ne trouve pas de commande « GE-7K3Q9M » à votre nom."
    assert done.buttons == []


def test_cancel_the_latest_order_gives_the_stock_back(app: App, shop: dict[str, int]) -> None:
    number = placed_order(app, {shop["tomato"]: "2", shop["wine"]: "1"})
    assert stock_of(app, shop["tomato"]) == Decimal(8)
    done = run(ActionCancelOrder(), tracker("annule ma commande", "cancel_order"))
    assert done.text == f"La commande {number} est annulée ; les produits sont remis en stock."
    assert done.events == []
    assert [o["status"] for o in orders_of(app)] == ["cancelled"]
    assert (stock_of(app, shop["tomato"]), stock_of(app, shop["wine"])) == (Decimal(10), Decimal(24))


def test_cancel_someone_elses_order_is_refused_and_changes_nothing(app: App, shop: dict[str, int]) -> None:
    number = placed_order(app, {shop["wine"]: "1"}, number="GE-7K3Q9M")
    done = run(ActionCancelOrder(), tracker("annule", "cancel_order", {"order_id": number}, sender=STRANGER))
    assert done.text == "Je ne trouve pas de commande « GE-7K3Q9M » à votre nom."
    assert [o["status"] for o in orders_of(app)] == ["placed"]
    assert stock_of(app, shop["wine"]) == Decimal(23)


def test_cancel_an_order_already_cancelled_explains_why_not(app: App, shop: dict[str, int]) -> None:
    number = placed_order(app, {shop["wine"]: "1"}, number="GE-7K3Q9M")
    run(ActionCancelOrder(), tracker("annule ma commande", "cancel_order"))
    done = run(ActionCancelOrder(), tracker("annule ma commande", "cancel_order", {"order_id": number}))
    assert done.text == "Impossible : la commande est « annulée » et ne peut pas passer à « annulée »."
    assert stock_of(app, shop["wine"]) == Decimal(24)  # given back once, not twice


def test_the_cancel_button_of_an_older_order_cancels_that_order(app: App, shop: dict[str, int]) -> None:
    """Order numbers are drawn from letters and digits: about one in six has no digit at all."""
    older = placed_order(app, {shop["wine"]: "1"}, number="GE-KXQWTZ")
    newer = placed_order(app, {shop["tomato"]: "1"}, number="GE-7K3Q9M")
    pressed = tracker(f'/cancel_order{{"order_id": "{older}"}}', "cancel_order", {"order_id": older})
    done = run(ActionCancelOrder(), pressed)
    assert done.text == f"La commande {older} est annulée ; les produits sont remis en stock."
    assert {o["number"]: o["status"] for o in orders_of(app)} == {older: "cancelled", newer: "placed"}


@pytest.mark.usefixtures("shop")
def test_cancel_without_any_order_says_so() -> None:
    done = run(ActionCancelOrder(), tracker("annule ma commande", "cancel_order"))
    assert done.text == "Je ne trouve aucune commande à votre nom."
