"""Vendor and courier commands, as any chat platform delivers them: linking, stock, prices, orders, runs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bootstrap import App
from bot.commands import Commands, Incoming, command_of
from catalog.audit import audit_trail
from catalog.models import Product
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.linking import create_link_code
from payments.services import open_payment, payment_state
from tests.conftest import person

DAY = date(2026, 11, 25)
HOME = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "on_delivery")


@pytest.fixture
def commands(app: App) -> Commands:
    return Commands(app, today=lambda: DAY)


def say(commands: Commands, address: str, text: str, lang: str = "fr") -> str:
    return "\n".join(m.text for m in commands.handle(Incoming(address, text, lang)))


def stock(app: App, product_id: int) -> Decimal:
    with app.db.uow() as uow:
        return uow.session.get(Product, product_id).stock


def invite(app: App, slug: str) -> str:
    with app.db.uow() as uow:
        code, _ = create_link_code(uow, slug)
        uow.commit()
    return code


def test_command_parsing() -> None:
    assert command_of('/stock "miel de foret" 12') == ("stock", ["miel de foret", "12"])
    assert command_of("/stock@MarcheBot tomates 3") == ("stock", ["tomates", "3"])
    assert command_of("je cherche du miel") is None
    assert command_of("/add_to_basket") == ("add_to_basket", [])


def test_a_link_code_makes_a_vendor_member_once(app: App, shop: dict[str, int], commands: Commands) -> None:
    code = invite(app, "cave-test")
    assert "Cave Test" in say(commands, "telegram:5005", f"/link {code.lower()}")  # case and dashes do not matter
    assert "Chasselas" in say(commands, "telegram:5005", "/products")
    refused = say(commands, "telegram:6006", f"/link {code}")
    assert "pas valable" in refused
    assert "pas valable" in say(commands, "telegram:6006", "/link AAAA-BBBB-CC")


def test_unlinked_people_are_politely_refused(app: App, shop: dict[str, int], commands: Commands) -> None:
    answer = say(commands, "telegram:7007", "/stock tomates 3", lang="en")
    assert "/link" in answer
    assert stock(app, shop["tomato"]) == Decimal(10)


def test_stock_by_exact_name_and_price_in_any_form(app: App, shop: dict[str, int], commands: Commands) -> None:
    farmer = "matrix:@anna:example.org"
    assert "12" in say(commands, farmer, "/stock tomates 12")
    assert stock(app, shop["tomato"]) == Decimal(12)
    assert "6.20" in say(commands, farmer, "/price TOM CHF 6.20").replace(",", ".")
    with app.db.uow() as uow:
        trail = audit_trail(uow)
        assert [(e.field, e.old_value, e.new_value) for e in reversed(trail)] == [
            ("stock", "10.000", "12"),
            ("price", "4.80", "6.20"),
        ]
        assert all(e.actor_id == shop["farmer"] for e in trail)


def test_a_fuzzy_match_asks_for_confirmation_with_a_button(app: App, shop: dict[str, int], commands: Commands) -> None:
    farmer = "matrix:@anna:example.org"
    replies = commands.handle(Incoming(farmer, "/stock tomatos 7", "fr"))
    assert stock(app, shop["tomato"]) == Decimal(10)  # nothing changed yet
    button = next(b for m in replies for b in m.buttons if "Tomates" in b.title)
    assert button.payload == "/stock TOM 7"
    commands.handle(Incoming(farmer, button.payload, "fr"))
    assert stock(app, shop["tomato"]) == Decimal(7)


def test_a_vendor_never_reaches_another_vendors_products(app: App, shop: dict[str, int], commands: Commands) -> None:
    farmer = "matrix:@anna:example.org"
    answer = say(commands, farmer, "/stock chasselas 0")
    assert "Chasselas" not in answer or "introuvable" in answer
    answer = say(commands, farmer, "/unavailable CHA")
    with app.db.uow() as uow:
        wine = uow.session.get(Product, shop["wine"])
        assert wine.stock == Decimal(24) and wine.available
    assert "/products" in answer


def test_availability_round_trip(app: App, shop: dict[str, int], commands: Commands) -> None:
    farmer = "matrix:@anna:example.org"
    say(commands, farmer, "/unavailable EGG")
    assert "hors vente" in say(commands, farmer, "/products")
    say(commands, farmer, "/available EGG")
    assert "hors vente" not in say(commands, farmer, "/products")


def test_bad_numbers_get_an_answer_not_a_change(app: App, shop: dict[str, int], commands: Commands) -> None:
    farmer = "matrix:@anna:example.org"
    assert say(commands, farmer, "/stock tomates beaucoup")
    assert say(commands, farmer, "/price tomates -3")
    assert "/stock" in say(commands, farmer, "/stock")
    assert stock(app, shop["tomato"]) == Decimal(10)


def _order(app: App, shop: dict[str, int]) -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        add_to_basket(uow, buyer, shop["wine"], Decimal(1))
        order = place_order(uow, app.settings, buyer, HOME)
        open_payment(uow, app.settings, order)
        uow.commit()
        return order.number


def test_vendor_orders_and_ready(app: App, shop: dict[str, int], commands: Commands) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        uow.commit()
    number = _order(app, shop)
    farmer = "matrix:@anna:example.org"
    replies = commands.handle(Incoming(farmer, "/orders", "fr"))
    assert number in replies[0].text and "Tomates" in replies[0].text and "Chasselas" not in replies[0].text
    assert replies[0].buttons[0].payload == f"/ready {number}"
    assert "prête" in say(commands, farmer, replies[0].buttons[0].payload)
    with app.db.uow() as uow:
        parts = {p.vendor.slug: p.status for p in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": OrderStatus.PREPARED, "cave-test": OrderStatus.PLACED}
    # A consumer cannot mark anything ready; the other vendor only its own part.
    assert "/link" in say(commands, "telegram:1001", f"/ready {number}")
    say(commands, "telegram:2002", f"/ready {number}")
    with app.db.uow() as uow:
        parts = {p.vendor.slug: p.status for p in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": OrderStatus.PREPARED, "cave-test": OrderStatus.PREPARED}


def test_courier_run_pickups_then_drops_and_delivery(app: App, shop: dict[str, int], commands: Commands) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        add_organisation(uow, "autre-velo", "Autre Vélo", OrganisationKind.DELIVERY)
        uow.commit()
    number = _order(app, shop)
    courier, stranger = "telegram:3003", "telegram:3004"
    say(commands, courier, f"/link {invite(app, 'velo-test')}")
    say(commands, stranger, f"/link {invite(app, 'autre-velo')}")
    run = say(commands, courier, "/runs")
    lines = run.splitlines()
    pickups = [i for i, line in enumerate(lines) if "Enlever" in line]
    drops = [i for i, line in enumerate(lines) if "Livrer" in line]
    assert len(pickups) == 2 and len(drops) == 1 and max(pickups) < min(drops)
    assert "1205" in lines[drops[0]] and "À encaisser" in run  # paid on delivery: the courier collects
    assert "Rien à livrer" in say(commands, stranger, "/runs")
    refused = say(commands, stranger, f"/delivered {number}")  # another company's courier
    with app.db.uow() as uow:
        assert get_order(uow, number).status == OrderStatus.PLACED, refused
    say(commands, courier, f"/picked {number}")
    paid = say(commands, courier, f"/delivered {number} payé")
    assert "31,10" in paid  # 2 x 4.80 + 14.50 + 7.00 delivery, already a multiple of 5 centimes
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert {p.status for p in order.vendor_orders} == {OrderStatus.DELIVERED}
        assert payment_state(uow, order).state == "paid"
    assert "Rien à livrer" not in say(commands, courier, "/runs")  # done stops stay listed, ticked
    assert "livreurs" in say(commands, "telegram:1001", "/runs")  # consumers are not couriers
