"""Stock is never oversold: real concurrent buyers, and random sequences of orders and cancellations."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from catalog.models import Product
from checkout.models import Order, OrderLine
from checkout.services import DeliveryChoice, add_to_basket, cancel_order, clear_basket, place_order
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from marketplace.errors import InsufficientStock
from tests.conftest import POSTGRES_URL, make_product, person

D = Decimal
BUYERS = 16
STOCK = 5


def buy_at_once(app, buyer_ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    """Every buyer places their basket as a pickup order, each in its own thread and transaction, all
    released at once; the outcome of each: "sold", "refused" (not enough stock) or the unexpected error."""
    start = threading.Barrier(len(buyer_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(buyer_id: int) -> None:
        start.wait()
        try:
            with app.db.uow() as uow:
                place_order(uow, app.settings, person(uow, buyer_id), DeliveryChoice("pickup"))
                uow.commit()
            result = "sold"
        except InsufficientStock:
            result = "refused"
        except Exception as exc:  # any other failure is a bug the tests must show
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(b,)) for b in buyer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_more_buyers_than_units_race_for_the_last_items(app):
    """Each buyer, in its own thread and session, orders 1 of A and 1 of B: exactly STOCK orders succeed."""
    with app.db.uow() as uow:
        add_organisation(uow, "rare", "Rare Goods", OrganisationKind.PRODUCER)
        a = make_product(uow, "rare", "A", "Truffes", "80.00", str(STOCK))
        b = make_product(uow, "rare", "B", "Morilles", "60.00", str(STOCK))
        buyers = []
        for i in range(BUYERS):
            buyer = person_for_chat(uow, f"telegram:{5000 + i}")
            # Half the baskets list B first, so a naive implementation would deadlock on PostgreSQL.
            for product in [a, b] if i % 2 else [b, a]:
                add_to_basket(uow, buyer, product, D(1))
            buyers.append(buyer.id)
        uow.commit()

    outcomes = buy_at_once(app, buyers)

    assert sorted(outcomes) == ["refused"] * (BUYERS - STOCK) + ["sold"] * STOCK
    with app.db.uow() as uow:
        assert uow.session.scalar(select(Product.stock).where(Product.id == a)) == 0
        assert uow.session.scalar(select(Product.stock).where(Product.id == b)) == 0
        assert uow.session.scalar(select(func.count(Order.id))) == STOCK


@contextmanager
def everyone_reads_before_anyone_writes(engine: Engine, writers: int) -> Iterator[None]:
    """Hold each thread's first UPDATE of `products` until every writer has reached its own: the interleaving
    in which a stock read in Python and written back later oversells, made certain instead of likely."""
    gate = threading.Barrier(writers, timeout=60)
    passed = threading.local()

    def hold(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE PRODUCTS") and not getattr(passed, "gate", False):
            passed.gate = True
            gate.wait()

    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hold)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="SQLite runs one writer at a time: no race")
def test_concurrent_orders_sell_exactly_the_stock_on_postgresql(app):
    """Twelve buyers order 3 each of 15 in stock, at once and each in its own transaction: five orders succeed,
    the stock ends at 0 and never goes below."""
    buyers, quantity, initial = 12, D(3), D(15)
    with app.db.uow() as uow:
        add_organisation(uow, "miel-rare", "Miel Rare", OrganisationKind.PRODUCER)
        honey = make_product(uow, "miel-rare", "MIEL", "Miel de sapin", "18.00", str(initial), category="honey")
        people = []
        for i in range(buyers):
            buyer = person_for_chat(uow, f"telegram:{6000 + i}")
            add_to_basket(uow, buyer, honey, quantity)
            people.append(buyer.id)
        uow.commit()

    with everyone_reads_before_anyone_writes(app.db.engine, buyers):
        outcomes = buy_at_once(app, people)

    with app.db.uow() as uow:
        stock = uow.session.scalar(select(Product.stock).where(Product.id == honey))
        ordered = uow.session.scalar(select(func.sum(OrderLine.quantity)).where(OrderLine.product_id == honey))
    assert stock == 0, f"stock {stock} after {outcomes}"
    assert sorted(outcomes) == ["refused"] * (buyers - 5) + ["sold"] * 5
    assert outcomes.count("sold") * quantity == ordered == initial


operations = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(min_value=0, max_value=2), st.integers(min_value=1, max_value=6)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20), st.just(0)),
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, initial=st.integers(min_value=0, max_value=10))
@example(ops=[("order", 0, 1)], initial=0)  # nothing on the shelf
@example(ops=[("order", 0, 6), ("order", 1, 4), ("order", 2, 1)], initial=10)  # exactly the stock, then one more
@example(ops=[("order", 0, 6), ("cancel", 0, 0), ("order", 1, 6), ("order", 2, 6)], initial=10)  # given back, resold
def test_stock_never_goes_negative_and_always_matches_open_orders(app, ops, initial):
    with app.db.uow() as uow:
        if uow.session.scalar(select(func.count(Product.id))) == 0:
            add_organisation(uow, "prop", "Prop", OrganisationKind.PRODUCER)
            make_product(uow, "prop", "P", "Pommes", "3.00", "0")
            for i in range(3):
                person_for_chat(uow, f"telegram:{7000 + i}")
            uow.commit()
    with app.db.uow() as uow:
        product = uow.session.scalar(select(Product))
        product.stock = D(initial)
        people = [person_for_chat(uow, f"telegram:{7000 + i}") for i in range(3)]
        reserved = D(0)
        placed: list[tuple[int, str, Decimal]] = []
        for op, who, qty in ops:
            if op == "order":
                buyer = people[who]
                try:
                    add_to_basket(uow, buyer, product.id, D(qty))
                    place_order(uow, app.settings, buyer, DeliveryChoice("pickup"))
                    reserved += qty
                    placed.append(
                        (who, uow.session.scalars(select(Order).order_by(Order.id.desc())).first().number, D(qty))
                    )
                except InsufficientStock:
                    assert qty > initial - reserved
                    clear_basket(uow, buyer)
            elif placed:
                who_, number, qty_ = placed.pop(who % len(placed))
                cancel_order(uow, people[who_], number)
                reserved -= qty_
            uow.session.flush()
            uow.session.refresh(product)
            assert product.stock >= 0
            assert product.stock == initial - reserved
        uow.rollback()
