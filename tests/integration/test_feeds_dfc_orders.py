"""A vendor's orders exported as DFC Order/OrderLine JSON-LD: its own part only, nothing about the customer, only
for its members and admins, and readable as DFC by our own JSON-LD reader."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.feeds.jsonld import read_graph
from checkout.dfc_orders import export_vendor_orders
from checkout.services import DeliveryChoice, add_to_basket, change_status, place_order
from checkout.status import OrderStatus
from marketplace.accounts import person_for_chat
from marketplace.errors import PermissionDenied, VendorNotFound
from tests.conftest import person

BASE = "https://ge.example.ch"
D = Decimal


def place(app, shop, *items: tuple[str, str]) -> str:  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        consumer = person(uow, shop["consumer"])
        for key, qty in items:
            add_to_basket(uow, consumer, shop[key], D(qty))
        placed = place_order(uow, app.settings, consumer, DeliveryChoice("delivery", "1205"))
        uow.commit()
        return placed.number


def nodes(document: dict, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [n for n in document["@graph"] if n["@type"] == f"dfc-b:{kind}"]


def test_the_vendor_gets_its_own_lines_only_and_nothing_about_the_customer(app, shop) -> None:  # type: ignore[no-untyped-def]
    number = place(app, shop, ("tomato", "1.5"), ("eggs", "2"), ("wine", "1"))
    with app.db.uow() as uow:
        document = export_vendor_orders(uow, "ferme-test", BASE, actor=person(uow, shop["farmer"]))
    (order,) = nodes(document, "Order")
    assert order["dfc-b:orderNumber"] == number
    assert order["@id"] == f"{BASE}/api/dfc/enterprises/ferme-test/orders/{number}"
    assert (order["dfc-b:hasOrderStatus"], order["dfc-b:hasFulfilmentStatus"]) == (
        "dfc-v:Complete",
        "dfc-v:Unfulfilled",
    )
    assert order["dfc-b:hasPaymentStatus"] == "dfc-v:Unpaid"
    lines = nodes(document, "OrderLine")
    assert [(line["dfc-b:description"], line["dfc-b:quantity"]) for line in lines] == [
        ("Tomates, kg", "1.5"), ("Œufs (6)", "2"),
    ]  # fmt: skip
    assert lines[0]["dfc-b:hasPrice"] == {"@type": "dfc-b:Price", "dfc-b:value": "4.80", "dfc-b:VATrate": "2.6",
                                          "dfc-b:hasUnit": "dfc-m:SwissFranc"}  # fmt: skip
    assert lines[1]["dfc-b:concerns"] == f"{BASE}/api/dfc/enterprises/ferme-test/offers/EGG"
    text = json.dumps(document)
    assert "Chasselas" not in text and "telegram" not in text and "1205" not in text
    graph = read_graph(text.encode())  # valid JSON-LD against the shipped context, offline
    (read,) = graph.of_type("dfc-b:Order")
    assert len(graph.linked(read, "dfc-b:hasPart")) == 2
    assert read.ids("dfc-b:hasOrderStatus") == ["dfc-v:Complete"]


def test_statuses_filter_and_follow_the_order(app, shop) -> None:  # type: ignore[no-untyped-def]
    first = place(app, shop, ("tomato", "1"))
    second = place(app, shop, ("tomato", "1"))
    with app.db.uow() as uow:
        change_status(uow, None, first, OrderStatus.CANCELLED)
        uow.commit()
    with app.db.uow() as uow:
        everything = export_vendor_orders(uow, "ferme-test", BASE)
        cancelled = export_vendor_orders(uow, "ferme-test", BASE, statuses=[OrderStatus.CANCELLED])
    assert [o["dfc-b:orderNumber"] for o in nodes(everything, "Order")] == [first, second]
    (order,) = nodes(cancelled, "Order")
    assert order["dfc-b:orderNumber"] == first
    assert {order[k] for k in ("dfc-b:hasOrderStatus", "dfc-b:hasFulfilmentStatus", "dfc-b:hasPaymentStatus")} == {
        "dfc-v:Cancelled"
    }


def test_another_vendors_member_or_a_consumer_may_not_export_them(app, shop) -> None:  # type: ignore[no-untyped-def]
    place(app, shop, ("tomato", "1"))
    with app.db.uow() as uow:
        for outsider in (person(uow, shop["cellar"]), person(uow, shop["consumer"])):
            with pytest.raises(PermissionDenied):
                export_vendor_orders(uow, "ferme-test", BASE, actor=outsider)
        with pytest.raises(VendorNotFound):
            export_vendor_orders(uow, "nobody", BASE)


def test_an_admin_may_export_any_vendors_orders(app, shop) -> None:  # type: ignore[no-untyped-def]
    place(app, shop, ("wine", "2"))
    with app.db.uow() as uow:
        admin = person_for_chat(uow, "telegram:9009")
        admin.is_admin = True
        uow.commit()
    with app.db.uow() as uow:
        document = export_vendor_orders(uow, "cave-test", BASE, actor=person_for_chat(uow, "telegram:9009"))
    assert [line["dfc-b:quantity"] for line in nodes(document, "OrderLine")] == ["2"]
