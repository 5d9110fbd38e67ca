"""Vendor and courier work in the core (work/): who acts for which vendor, which own product a name means,
stock, price and availability changes, the open orders, and a delivery reported with its cash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bootstrap import App
from catalog.audit import audit_trail
from catalog.models import Product
from checkout.services import DeliveryChoice, add_to_basket, change_status, get_order, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_member, add_organisation, person_for_chat
from marketplace.errors import NotLinked, PermissionDenied
from payments.services import open_payment, payment_state
from tests.conftest import make_product, person
from work.couriers import report_delivered
from work.vendors import (
    CANDIDATES_SHOWN,
    OPEN_ORDERS_SHOWN,
    mark_ready,
    match_own_product,
    open_orders,
    set_availability,
    set_price,
    set_stock,
    vendor_of,
)

HOME = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "on_delivery")


def matched(app: App, person_id: int, query: str, lang: str = "fr") -> tuple[str | None, list[str]]:
    """(the exact product's SKU, the candidates' SKUs) for what this person typed."""
    with app.db.uow() as uow:
        match = match_own_product(uow, person(uow, person_id), query, lang)
        return (match.exact.sku if match.exact else None), [p.sku for p in match.candidates]


# --- which vendor ---------------------------------------------------------------------------------


def test_vendor_of_is_the_persons_vendor_and_refuses_everyone_else(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        assert vendor_of(person(uow, shop["farmer"])).slug == "ferme-test"
        assert vendor_of(person(uow, shop["cellar"])).slug == "cave-test"
        courier = person_for_chat(uow, "telegram:3003")
        add_member(uow, courier, add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY))
        for outsider in (person(uow, shop["consumer"]), courier):
            with pytest.raises(NotLinked):
                vendor_of(outsider)


# --- which of my products -------------------------------------------------------------------------


def test_an_exact_sku_wins_case_insensitively_over_names(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        make_product(uow, "ferme-test", "FER-BOU-1", "Bougie", "12.00")
        make_product(uow, "ferme-test", "TOMATES", "Pollen", "9.50")  # an SKU that is another product's name
        uow.commit()
    assert matched(app, shop["farmer"], "fer-bou-1") == ("FER-BOU-1", [])
    assert matched(app, shop["farmer"], " Fer-Bou-1 ") == ("FER-BOU-1", [])
    assert matched(app, shop["farmer"], "tomates") == ("TOMATES", [])
    assert matched(app, shop["farmer"], "fer bou 1") == (None, ["FER-BOU-1"])  # close, not the SKU: confirm


def test_a_whole_name_in_any_language_or_inside_a_sentence_is_exact(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        names = {"de": "Akazienhonig", "en": "Acacia honey"}
        make_product(uow, "ferme-test", "MIEL-4", "Miel d'acacia", "11.00", category="honey", names=names)
        make_product(uow, "ferme-test", "MIEL-0", "Miel", "9.00", category="honey")
        uow.commit()
    farmer = shop["farmer"]
    assert matched(app, farmer, "MIEL D’ACACIA")[0] == "MIEL-4"  # accents, case and apostrophes aside
    assert matched(app, farmer, "akazienhonig", "de")[0] == "MIEL-4"
    assert matched(app, farmer, "acacia honey", "fr")[0] == "MIEL-4"  # any language, whoever asks
    assert matched(app, farmer, "j'ai encore 12 pots de miel d'acacia")[0] == "MIEL-4"  # the longest name said
    assert matched(app, farmer, "encore 3 pots de miel")[0] == "MIEL-0"


def test_every_word_said_in_one_products_name_is_that_product(app: App, shop: dict[str, int]) -> None:
    assert matched(app, shop["farmer"], "oeufs") == ("EGG", [])  # "Œufs (6)"
    assert matched(app, shop["farmer"], "tomate") == ("TOM", [])  # plurals aside
    assert matched(app, shop["farmer"], "tomatos") == (None, ["TOM"])  # a typo is confirmed first


def test_two_products_with_the_same_name_are_never_guessed_between(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        make_product(uow, "ferme-test", "MIEL-1", "Miel de fleurs", "16.00", unit="500 g", category="honey")
        make_product(uow, "ferme-test", "MIEL-2", "Miel de fleurs", "9.00", unit="250 g", category="honey")
        uow.commit()
    assert matched(app, shop["farmer"], "miel de fleurs") == (None, ["MIEL-1", "MIEL-2"])
    assert matched(app, shop["farmer"], "MIEL-2") == ("MIEL-2", [])


def test_only_the_vendors_own_products_are_ever_matched(app: App, shop: dict[str, int]) -> None:
    assert matched(app, shop["farmer"], "Chasselas") == (None, [])  # the cellar's name
    assert matched(app, shop["farmer"], "CHA") == (None, [])  # the cellar's SKU
    assert matched(app, shop["cellar"], "chasselas") == ("CHA", [])
    assert matched(app, shop["cellar"], "tomates") == (None, [])
    with app.db.uow() as uow, pytest.raises(NotLinked):
        match_own_product(uow, person(uow, shop["consumer"]), "tomates", "fr")


def test_close_names_are_offered_best_first_and_at_most_a_few(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        for n in range(CANDIDATES_SHOWN + 3):
            make_product(uow, "ferme-test", f"TOM-{n}", f"Tomates variété {n}", "5.00")
        uow.commit()
    exact, candidates = matched(app, shop["farmer"], "tomatos")
    assert exact is None and len(candidates) == CANDIDATES_SHOWN
    assert candidates[0] == "TOM"  # "Tomates" is closest


# --- stock, price, availability -------------------------------------------------------------------


def test_own_stock_price_and_availability_change_with_an_audit_entry(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        farmer = person(uow, shop["farmer"])
        assert set_stock(uow, farmer, shop["tomato"], Decimal("12.5")) == Decimal("12.5")
        assert set_price(uow, farmer, shop["tomato"], Decimal("5.2")) == Decimal("5.20")
        set_availability(uow, farmer, shop["tomato"], False)
        uow.commit()
    with app.db.uow() as uow:
        tomato = uow.session.get(Product, shop["tomato"])
        assert (tomato.stock, tomato.price_chf, tomato.available) == (Decimal("12.5"), Decimal("5.20"), False)
        trail = [(e.actor_id, e.sku, e.field, e.old_value, e.new_value) for e in reversed(audit_trail(uow))]
    assert trail == [
        (shop["farmer"], "TOM", "stock", "10.000", "12.5"),
        (shop["farmer"], "TOM", "price", "4.80", "5.20"),
        (shop["farmer"], "TOM", "available", "True", "False"),
    ]


def test_another_vendors_product_is_refused_and_left_alone(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        farmer = person(uow, shop["farmer"])
        with pytest.raises(PermissionDenied):
            set_stock(uow, farmer, shop["wine"], Decimal(0))
        with pytest.raises(PermissionDenied):
            set_price(uow, farmer, shop["wine"], Decimal("1.00"))
        with pytest.raises(PermissionDenied):
            set_availability(uow, farmer, shop["wine"], False)
        uow.commit()
    with app.db.uow() as uow:
        wine = uow.session.get(Product, shop["wine"])
        assert (wine.stock, wine.price_chf, wine.available) == (Decimal(24), Decimal("14.50"), True)
        assert audit_trail(uow) == []


# --- open orders ----------------------------------------------------------------------------------


def _place(app: App, shop: dict[str, int], items: dict[int, str], choice: DeliveryChoice = HOME) -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        for product_id, quantity in items.items():
            add_to_basket(uow, buyer, product_id, Decimal(quantity))
        order = place_order(uow, app.settings, buyer, choice)
        open_payment(uow, app.settings, order)
        uow.commit()
        return order.number


def test_open_orders_are_the_vendors_parts_still_at_the_vendor(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        uow.commit()
    placed = _place(app, shop, {shop["tomato"]: "2", shop["wine"]: "1"})
    prepared = _place(app, shop, {shop["tomato"]: "1"})
    gone = _place(app, shop, {shop["tomato"]: "1"})
    cancelled = _place(app, shop, {shop["eggs"]: "1"})
    with app.db.uow() as uow:
        farmer = person(uow, shop["farmer"])
        assert mark_ready(uow, farmer, prepared) == prepared
        change_status(uow, None, gone, OrderStatus.PREPARED)
        change_status(uow, None, gone, OrderStatus.OUT_FOR_DELIVERY)
        change_status(uow, None, cancelled, OrderStatus.CANCELLED)
        uow.commit()
    with app.db.uow() as uow:
        work = open_orders(uow, person(uow, shop["farmer"]))
    assert (work.vendor_name, work.count) == ("Ferme Test", 2)
    assert [(o.number, o.status, o.can_be_marked_ready) for o in work.orders] == [
        (prepared, OrderStatus.PREPARED, False),  # newest first
        (placed, OrderStatus.PLACED, True),
    ]
    first = work.orders[1]
    assert (first.payment, first.goods_total, first.slot) == ("awaiting", Decimal("9.60"), "2026-11-25 17:00-19:00")
    assert [(i.name, i.quantity, i.unit) for i in first.items] == [("Tomates", Decimal(2), "kg")]  # its own lines
    with app.db.uow() as uow:
        cellar = open_orders(uow, person(uow, shop["cellar"]))
        assert [(o.number, o.goods_total) for o in cellar.orders] == [(placed, Decimal("14.50"))]
        with pytest.raises(NotLinked):
            open_orders(uow, person(uow, shop["consumer"]))


def test_open_orders_list_the_newest_few_and_count_them_all(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        jam = make_product(uow, "ferme-test", "CON-1", "Confiture", "6.00", "100", category="grocery")
        uow.commit()
    numbers = [_place(app, shop, {jam: "1"}, DeliveryChoice("pickup")) for _ in range(OPEN_ORDERS_SHOWN + 2)]
    with app.db.uow() as uow:
        work = open_orders(uow, person(uow, shop["farmer"]))
    assert work.count == OPEN_ORDERS_SHOWN + 2
    assert [o.number for o in work.orders] == numbers[::-1][:OPEN_ORDERS_SHOWN]


def test_mark_ready_moves_only_the_vendors_own_part(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        uow.commit()
    number = _place(app, shop, {shop["tomato"]: "1", shop["wine"]: "1"})
    with app.db.uow() as uow:
        mark_ready(uow, person(uow, shop["cellar"]), number)
        uow.commit()
    with app.db.uow() as uow:
        parts = {p.vendor.slug: p.status for p in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": OrderStatus.PLACED, "cave-test": OrderStatus.PREPARED}


# --- couriers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("paid", "collected"), [(True, Decimal("16.60")), (False, None)])
def test_a_delivery_is_reported_with_the_cash_collected_or_without(
    app: App, shop: dict[str, int], paid: bool, collected: Decimal | None
) -> None:
    with app.db.uow() as uow:
        company = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        courier = person_for_chat(uow, "telegram:3003")
        add_member(uow, courier, company)
        uow.commit()
        courier_id = courier.id
    number = _place(app, shop, {shop["tomato"]: "2"})  # 9.60 + 7.00 delivery
    with app.db.uow() as uow:
        delivery = report_delivered(uow, person(uow, courier_id), number, paid=paid)
        uow.commit()
    assert (delivery.order, delivery.collected) == (number, collected)
    assert delivery.rounding == Decimal(0)
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert order.status == OrderStatus.DELIVERED
        assert payment_state(uow, order).state == ("paid" if paid else "awaiting")
