"""Basket, order placement split per vendor, stock reservation and the status machine, on the database."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from catalog.models import Product
from checkout.models import Order
from checkout.services import (
    DeliveryChoice,
    add_to_basket,
    cancel_order,
    change_status,
    clear_basket,
    order_for_consumer,
    place_order,
    remove_from_basket,
    reorder,
    set_basket_quantity,
    vendor_orders,
    view_basket,
)
from checkout.status import OrderStatus
from marketplace.accounts import ApprovalStatus, set_organisation_status
from marketplace.errors import (
    DeliveryNotAvailable,
    EmptyBasket,
    IllegalTransition,
    InsufficientStock,
    InvalidQuantity,
    OrderNotFound,
    PermissionDenied,
    ProductUnavailable,
)
from tests.conftest import person

D = Decimal
HOME = DeliveryChoice("delivery", "1205")


def stock(app, product_id: int) -> Decimal:
    with app.db.uow() as uow:
        return uow.session.get(Product, product_id).stock


def fill(app, shop, *items: tuple[str, str]) -> None:
    with app.db.uow() as uow:
        consumer = person(uow, shop["consumer"])
        for key, qty in items:
            add_to_basket(uow, consumer, shop[key], D(qty))
        uow.commit()


def order(app, shop, choice: DeliveryChoice = HOME) -> str:
    with app.db.uow() as uow:
        placed = place_order(uow, app.settings, person(uow, shop["consumer"]), choice)
        uow.commit()
        return placed.number


def test_basket_groups_lines_by_vendor_with_totals_and_leman_share(app, shop):
    fill(app, shop, ("tomato", "1.5"), ("eggs", "2"), ("wine", "2"))
    with app.db.uow() as uow:
        basket = view_basket(uow, app.settings, person(uow, shop["consumer"]), "fr")
    assert [g.vendor_slug for g in basket.groups] == ["ferme-test", "cave-test"]
    farm, cellar = basket.groups
    assert farm.goods_total == D("7.20") + D("10.40")
    assert farm.leman_payable == D("8.80")  # 50 % accepted in Léman
    assert cellar.leman_payable == D("0.00")
    assert basket.quote.goods_total == D("46.60")
    assert basket.quote.delivery_fee == D("7.00")
    assert basket.quote.total == D("53.60")
    assert basket.problems == ()


def test_adding_twice_adds_up_and_remove_takes_out(app, shop):
    fill(app, shop, ("eggs", "1"), ("eggs", "1"))
    with app.db.uow() as uow:
        consumer = person(uow, shop["consumer"])
        assert remove_from_basket(uow, consumer, shop["eggs"], D(1)) == D(1)
        assert remove_from_basket(uow, consumer, shop["eggs"]) == D(0)
        assert view_basket(uow, app.settings, consumer, "fr").is_empty


def test_clearing_the_basket_empties_it_when_read_afresh(app, shop):
    """As an action does: the basket is loaded in a new session, then cleared (it raised KeyError: 'lines')."""
    fill(app, shop, ("eggs", "1"), ("wine", "1"))
    with app.db.uow() as uow:
        clear_basket(uow, person(uow, shop["consumer"]))
        uow.commit()
    with app.db.uow() as uow:
        assert view_basket(uow, app.settings, person(uow, shop["consumer"]), "fr").is_empty


def test_basket_rejects_quantity_above_stock_and_fractions_of_pieces(app, shop):
    with app.db.uow() as uow:
        consumer = person(uow, shop["consumer"])
        with pytest.raises(InsufficientStock) as info:
            add_to_basket(uow, consumer, shop["eggs"], D(4))
        assert info.value.params["available"] == "3"
        with pytest.raises(InvalidQuantity):
            add_to_basket(uow, consumer, shop["eggs"], D("0.5"))
        with pytest.raises(InvalidQuantity):
            add_to_basket(uow, consumer, shop["tomato"], D("-1"))
        assert set_basket_quantity(uow, consumer, shop["tomato"], D("0.5")) == D("0.5")  # loose goods by weight


def test_placing_an_order_splits_it_per_vendor_snapshots_lines_and_reserves_stock(app, shop):
    fill(app, shop, ("tomato", "2"), ("eggs", "3"), ("wine", "1"))
    number = order(app, shop)
    with app.db.uow() as uow:
        placed = uow.session.scalar(select(Order).where(Order.number == number))
        assert number.startswith("GE-") and placed.status == OrderStatus.PLACED
        assert [len(v.lines) for v in placed.vendor_orders] == [2, 1]
        assert placed.total == D("9.60") + D("15.60") + D("14.50") + D("7.00")
        assert (
            placed.platform_commission + sum(v.vendor_receives for v in placed.vendor_orders) + placed.delivery_fee
            == placed.total
        )
        eggs = next(line for v in placed.vendor_orders for line in v.lines if line.sku == "EGG")
        assert (eggs.name, eggs.unit_price, eggs.vat_rate) == ("Œufs (6)", D("5.20"), D("2.60"))
        assert view_basket(uow, app.settings, person(uow, shop["consumer"]), "fr").is_empty
    assert stock(app, shop["eggs"]) == 0
    assert stock(app, shop["tomato"]) == 8


def test_order_lines_keep_the_price_they_were_placed_at(app, shop):
    fill(app, shop, ("wine", "1"))
    number = order(app, shop)
    with app.db.uow() as uow:
        uow.session.get(Product, shop["wine"]).price_chf = D("99.00")
        uow.commit()
    with app.db.uow() as uow:
        placed = order_for_consumer(uow, person(uow, shop["consumer"]), number)
        assert placed.vendor_orders[0].lines[0].unit_price == D("14.50")


def test_an_order_that_cannot_be_served_changes_nothing(app, shop):
    fill(app, shop, ("eggs", "3"), ("tomato", "1"))
    with app.db.uow() as uow:  # someone else bought eggs meanwhile
        uow.session.get(Product, shop["eggs"]).stock = D(2)
        uow.commit()
    with pytest.raises(InsufficientStock):
        order(app, shop)
    assert stock(app, shop["tomato"]) == 10  # the tomato reservation was rolled back too
    with app.db.uow() as uow:
        assert uow.session.scalars(select(Order)).all() == []
        assert len(view_basket(uow, app.settings, person(uow, shop["consumer"]), "fr").groups) == 1


def test_delivery_outside_the_zones_and_empty_baskets_are_refused(app, shop):
    with pytest.raises(EmptyBasket):
        order(app, shop)
    fill(app, shop, ("eggs", "1"))
    with pytest.raises(DeliveryNotAvailable):
        order(app, shop, DeliveryChoice("delivery", "8001"))
    assert order(app, shop, DeliveryChoice("pickup"))


def test_free_delivery_from_the_configured_amount(app, shop):
    fill(app, shop, ("wine", "6"))
    with app.db.uow() as uow:
        assert view_basket(uow, app.settings, person(uow, shop["consumer"]), "fr").quote.delivery_fee == 0


def test_suspended_vendors_cannot_sell(app, shop):
    fill(app, shop, ("wine", "1"))
    with app.db.uow() as uow:
        set_organisation_status(uow, "cave-test", ApprovalStatus.SUSPENDED)
        uow.commit()
    with pytest.raises(ProductUnavailable):
        order(app, shop)
    with app.db.uow() as uow, pytest.raises(ProductUnavailable):
        add_to_basket(uow, person(uow, shop["consumer"]), shop["wine"], D(1))


def test_status_machine_on_orders_and_stock_back_on_cancel(app, shop):
    fill(app, shop, ("eggs", "2"))
    number = order(app, shop)
    assert stock(app, shop["eggs"]) == 1
    with app.db.uow() as uow:
        with pytest.raises(IllegalTransition):
            change_status(uow, None, number, OrderStatus.DELIVERED)
        cancel_order(uow, person(uow, shop["consumer"]), number)
        uow.commit()
    assert stock(app, shop["eggs"]) == 3
    with app.db.uow() as uow, pytest.raises(IllegalTransition):
        cancel_order(uow, person(uow, shop["consumer"]), number)


def test_consumers_cannot_cancel_once_paid_and_vendors_move_their_part_only(app, shop):
    fill(app, shop, ("eggs", "1"), ("wine", "1"))
    number = order(app, shop)
    with app.db.uow() as uow:
        change_status(uow, None, number, OrderStatus.PAID)
        farmer = person(uow, shop["farmer"])
        placed = change_status(uow, farmer, number, OrderStatus.PREPARED, vendor_slug="ferme-test")
        assert [v.status for v in placed.vendor_orders] == ["prepared", "paid"]
        assert placed.status == OrderStatus.PAID
        with pytest.raises(PermissionDenied):
            change_status(uow, farmer, number, OrderStatus.PREPARED, vendor_slug="cave-test")
        with pytest.raises(IllegalTransition):
            cancel_order(uow, person(uow, shop["consumer"]), number)
        uow.commit()
    with app.db.uow() as uow:
        history = [(h.old_status, h.new_status) for h in placed.vendor_orders[0].history]
        assert history == [("placed", "paid"), ("paid", "prepared")]


def test_nobody_sees_or_cancels_someone_elses_order(app, shop):
    fill(app, shop, ("eggs", "1"))
    number = order(app, shop)
    with app.db.uow() as uow:
        stranger = person(uow, shop["cellar"])
        with pytest.raises(OrderNotFound):
            order_for_consumer(uow, stranger, number)
        with pytest.raises(OrderNotFound):
            cancel_order(uow, stranger, number)


def test_vendors_list_only_their_own_orders(app, shop):
    fill(app, shop, ("eggs", "1"), ("wine", "1"))
    order(app, shop)
    with app.db.uow() as uow:
        farmer = person(uow, shop["farmer"])
        mine = vendor_orders(uow, farmer, "ferme-test")
        assert [line.sku for v in mine for line in v.lines] == ["EGG"]
        with pytest.raises(PermissionDenied):
            vendor_orders(uow, farmer, "cave-test")


def test_reorder_puts_the_last_order_back_in_the_basket(app, shop):
    fill(app, shop, ("tomato", "2"), ("eggs", "3"))
    order(app, shop)
    with app.db.uow() as uow:
        consumer = person(uow, shop["consumer"])
        added, missing = reorder(uow, consumer)
        assert added == [shop["tomato"]] and missing == [shop["eggs"]]  # eggs are sold out now
        lines = view_basket(uow, app.settings, consumer, "fr").groups[0].lines
        assert [(line.product.sku, line.quantity) for line in lines] == [("TOM", D(2))]
        clear_basket(uow, consumer)
        assert view_basket(uow, app.settings, consumer, "fr").is_empty
