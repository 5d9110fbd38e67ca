"""A person's copy of their data (`privacy.export`): everything held about them — account, chat identities,
memberships, saved addresses, baskets, orders with lines, delivery address and payments, link codes, changes
made, messages sent to them, and the conversation Rasa keeps — and nothing about anyone else, checked against
a second customer with look-alike data (same name prefix, same products, same postal code).

The helpers here (customers, their orders, Rasa's event table) are shared by test_privacy_erase.py and
test_admin_privacy.py.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Table, insert

from bootstrap import App
from checkout.address_book import DeliveryAddress, save_address, set_order_delivery
from checkout.services import DeliveryChoice, add_to_basket, change_status, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_member, add_organisation, person_for_chat
from marketplace.linking import create_link_code, redeem_link_code
from payments.models import CreditSource
from payments.services import IncomingCredit, open_payment, record_credit
from privacy.conversations import EVENTS
from privacy.export import SCHEMA_VERSION, export_file, export_json, export_person
from privacy.people import find_person
from tests.conftest import person
from work.vendors import set_stock

D = Decimal
SLOT = "2026-12-02 17:00-19:00"
NOW = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
FARMER = "matrix:@anna:example.org"  # member of Ferme Test (the shop fixture)
COURIER = "telegram:3003"


@dataclass(frozen=True)
class Someone:
    """A customer and what of them must never leak: chat id, display name, street, phone, bank account."""

    address: str
    name: str
    street: str
    phone: str
    iban: str

    @property
    def chat_id(self) -> str:
        return self.address.partition(":")[2]

    @property
    def private(self) -> tuple[str, ...]:
        return (self.chat_id, self.name, self.street, self.phone, self.iban)

    def delivery(self) -> DeliveryAddress:
        return DeliveryAddress(
            street=self.street, postal_code="1205", locality="Genève", recipient_name=self.name,
            details=f"interphone {self.name.split()[-1]}", phone=self.phone,
            latitude=D("46.1983714"), longitude=D("6.1426721"),
        )  # fmt: skip


# Two customers alike in all but what identifies them: name prefix, products, postal code, locality.
ADA = Someone("telegram:7700123", "Ada Lovelace", "Rue de Carouge 50", "079 555 01 23", "CH9300762011623852957")
ADA_TOO = Someone("telegram:7700456", "Ada Lovelock", "Rue de Carouge 52", "079 555 98 76", "CH5604835012345678009")
STAFF = ("Anna Fermière", "anna:example.org", "Carl Coursier", "3003")  # the vendor's member, the courier

# Rasa's SQLTrackerStore table, as Rasa creates it (its columns are declared once, in privacy.conversations).
RASA_EVENTS = EVENTS


@pytest.fixture
def tracker(app: App) -> Iterator[Table]:
    """Rasa's event table in the test database, as Rasa's first start leaves it; dropped afterwards."""
    RASA_EVENTS.drop(app.db.engine, checkfirst=True)
    RASA_EVENTS.create(app.db.engine)
    yield RASA_EVENTS
    RASA_EVENTS.drop(app.db.engine, checkfirst=True)


def converse(app: App, who: Someone, at: float = 1_795_000_000.0) -> None:
    """Store one turn of `who` the way Rasa's SQLTrackerStore does: a user message (naming their street), the
    action, a slot, the bot's answer (naming them)."""
    said = f"livrez à {who.street} s'il vous plaît"
    events = [
        ("user", "inform_address", None, {"text": said, "parse_data": {"intent": {"name": "inform_address"}},
                                          "metadata": {"display_name": who.name, "channel": "telegram"}}),
        ("action", None, "checkout_form", {"name": "checkout_form"}),
        ("slot", None, "postal_code", {"name": "postal_code", "value": "1205"}),
        ("bot", None, None, {"text": f"Merci {who.name}, c'est noté."}),
    ]  # fmt: skip
    rows = [
        {
            "sender_id": who.address, "type_name": kind, "timestamp": at + i, "intent_name": intent,
            "action_name": action, "data": json.dumps({"event": kind, "timestamp": at + i, **data}),
        }
        for i, (kind, intent, action, data) in enumerate(events)
    ]  # fmt: skip
    with app.db.engine.begin() as conn:
        conn.execute(insert(RASA_EVENTS), rows)


@pytest.fixture
def staff(app: App, shop: dict[str, int]) -> None:
    """Names for the vendor's member and a delivery company with its courier: people a customer's order meets."""
    with app.db.uow() as uow:
        person(uow, shop["farmer"]).display_name = STAFF[0]
        velo = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        courier = person_for_chat(uow, COURIER)
        courier.display_name = STAFF[2]
        add_member(uow, courier, velo)
        uow.commit()


def customer(app: App, shop: dict[str, int], who: Someone, *, delivered: bool = True) -> str:
    """`who` with a saved address, an order delivered to it (paid by bank transfer, their account recorded) or
    still placed, and eggs left in the basket; returns the order number."""
    with app.db.uow() as uow:
        buyer = person_for_chat(uow, who.address, "fr")
        buyer.display_name = who.name
        save_address(uow, buyer, who.delivery(), "home")
        add_to_basket(uow, buyer, shop["tomato"], D(2))
        order = place_order(uow, app.settings, buyer, DeliveryChoice("delivery", "1205", SLOT, "chf"))
        set_order_delivery(order, who.delivery())
        for leg in open_payment(uow, app.settings, order):
            credit = IncomingCredit(CreditSource.BANK, f"bank-{leg.reference}", leg.reference, leg.amount, leg.currency,
                                    payer=who.iban)  # fmt: skip
            record_credit(uow, leg, credit, settings=app.settings)
        if delivered:
            for status in (OrderStatus.PREPARED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED):
                change_status(uow, None, order.number, status)
        add_to_basket(uow, buyer, shop["eggs"], D(1))
        uow.commit()
        return order.number


def exported(app: App, address: str) -> dict:
    with app.db.uow() as uow:
        return export_person(uow, find_person(uow, address), NOW)


def serialised(data: dict) -> str:
    return export_json(data).decode("utf-8")


# --- what is in it -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_the_export_holds_the_account_addresses_orders_payments_basket_and_conversation(
    app: App, shop: dict[str, int]
) -> None:
    number = customer(app, shop, ADA)
    converse(app, ADA)
    data = exported(app, ADA.address)

    assert (data["schema"], data["schema_version"], data["generated_at"]) == (
        "smartketplace-personal-data", SCHEMA_VERSION, "2026-12-10T09:30:00+00:00",
    )  # fmt: skip
    assert data["account"] | {"created_at": None} == {
        "number": data["account"]["number"], "display_name": ADA.name, "language": "fr", "status": "approved",
        "admin": False, "created_at": None,
    }  # fmt: skip
    assert [i["address"] for i in data["chat_identities"]] == [ADA.address]
    [saved] = data["saved_addresses"]
    assert (saved["label"], saved["street"], saved["phone"], saved["recipient_name"], saved["latitude"]) == (
        "home", ADA.street, ADA.phone, ADA.name, "46.1983714",
    )  # fmt: skip
    [basket] = data["baskets"]
    assert [(line["sku"], line["quantity"], line["vendor"]) for line in basket["lines"]] == [
        ("EGG", "1.000", "Ferme Test")
    ]

    [order] = data["orders"]
    assert (order["number"], order["status"], order["total"], order["delivery_company"]) == (
        number, "delivered", order["total"], "Vélo Test",
    )  # fmt: skip
    assert D(order["total"]) == D(order["goods_total"]) + D(order["delivery_fee"]) > 0
    delivery = order["delivery_address"]
    assert (delivery["street"], delivery["phone"], delivery["details"], delivery["postal_code"]) == (
        ADA.street, ADA.phone, "interphone Lovelace", "1205",
    )  # fmt: skip
    [part] = order["vendors"]
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in part["lines"]] == [("TOM", "2.000", "4.80")]
    assert [step["to"] for step in part["history"]] == ["paid", "prepared", "out_for_delivery", "delivered"]
    assert order["payments"] and all(p["status"] == "paid" for p in order["payments"])
    credits = [c for p in order["payments"] for c in p["credits"]]
    assert credits and {c["payer"] for c in credits} == {"…2957"}  # masked: whoever paid may be someone else
    assert data["consents"] == []
    assert {m["kind"] for m in data["messages_sent_to_you"]} >= {"order_prepared", "order_delivered"}
    assert all(m["text"] and number in m["text"] for m in data["messages_sent_to_you"])

    [conversation] = data["conversations"]
    assert conversation["address"] == ADA.address
    assert [(e["type"], e.get("text"), e.get("intent"), e.get("action")) for e in conversation["events"]] == [
        ("user", f"livrez à {ADA.street} s'il vous plaît", "inform_address", None),
        ("action", None, None, "checkout_form"),
        ("slot", None, None, None),
        ("bot", f"Merci {ADA.name}, c'est noté.", None, None),
    ]
    assert conversation["events"][2] | {"at": None} == {
        "type": "slot",
        "at": None,
        "slot": "postal_code",
        "value": "1205",
    }
    assert conversation["events"][0]["at"] == "2026-11-18T11:06:40+00:00"


@pytest.mark.usefixtures("staff", "tracker")
def test_a_second_customer_with_look_alike_data_is_absent_from_the_export(app: App, shop: dict[str, int]) -> None:
    customer(app, shop, ADA)
    customer(app, shop, ADA_TOO)  # same products, same postal code, a name with the same prefix
    converse(app, ADA)
    converse(app, ADA_TOO)

    mine, theirs = serialised(exported(app, ADA.address)), serialised(exported(app, ADA_TOO.address))

    for value in ADA.private[:-1]:  # the bank account is shown masked
        assert value in mine and value not in theirs
    for value in ADA_TOO.private[:-1]:
        assert value in theirs and value not in mine, value
    for value in STAFF:  # the vendor's member and the courier who handled the order
        assert value not in mine
    assert ADA.iban not in mine and ADA_TOO.iban[-4:] not in mine


@pytest.mark.usefixtures("staff")
def test_a_vendor_member_gets_her_membership_and_changes_not_the_business_nor_its_customers(
    app: App, shop: dict[str, int]
) -> None:
    customer(app, shop, ADA)  # the farmer is told of Ada's order, with Ada's first name
    with app.db.uow() as uow:
        code, _ = create_link_code(uow, "cave-test")
        farmer = person(uow, shop["farmer"])
        redeem_link_code(uow, farmer, code)
        set_stock(uow, farmer, shop["tomato"], D(7))
        uow.commit()

    data = exported(app, FARMER)

    assert sorted((m["slug"], m["role"]) for m in data["memberships"]) == [
        ("cave-test", "vendor_member"), ("ferme-test", "vendor_member"),
    ]  # fmt: skip
    assert [entry["organisation"] for entry in data["link_codes_redeemed"]] == ["Cave Test"]
    assert [(c["sku"], c["field"], c["to"]) for c in data["changes_made"]] == [("TOM", "stock", "7")]
    [notice] = [m for m in data["messages_sent_to_you"] if m["kind"] == "new_order"]
    assert notice["text"] is None  # the notice names a customer: only that it was sent is shown
    assert data["orders"] == [] and data["conversations"] == [{"address": FARMER, "events": []}]
    text = serialised(data)
    assert "Ada" not in text and "Lovelace" not in text
    assert "Chasselas" not in text and "14.50" not in text  # the business's products and prices are not hers


def test_without_rasa_s_table_the_conversation_is_empty(app: App, shop: dict[str, int]) -> None:  # noqa: ARG001
    with app.db.uow() as uow:
        person_for_chat(uow, ADA.address)
        uow.commit()
    assert exported(app, ADA.address)["conversations"] == [{"address": ADA.address, "events": []}]


@pytest.mark.usefixtures("tracker")
def test_the_export_file_is_readable_by_its_owner_only_and_names_no_one(
    app: App, shop: dict[str, int], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    customer(app, shop, ADA)
    folder = tmp_path / "exports"
    folder.mkdir()
    with app.db.uow() as uow:
        path = export_file(uow, find_person(uow, ADA.address), folder, NOW)
        named = export_file(uow, find_person(uow, ADA.address), tmp_path / "new" / "ada.json", NOW)
    assert path.parent == folder and path.name.startswith("personal-data-20261210-")
    assert ADA.chat_id not in path.name and "Ada" not in path.name
    for file in (path, named):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert json.loads(file.read_text(encoding="utf-8"))["account"]["display_name"] == ADA.name
    assert stat.S_IMODE(named.parent.stat().st_mode) == 0o700


def test_a_person_is_found_by_number_chat_address_or_a_name_no_one_else_has(app: App, shop: dict[str, int]) -> None:
    from privacy.people import PersonNotFound

    with app.db.uow() as uow:
        ada = person_for_chat(uow, ADA.address)
        ada.display_name = "Zoé Ada"
        twin_one, twin_two = person_for_chat(uow, "telegram:1"), person_for_chat(uow, "telegram:2")
        twin_one.display_name = twin_two.display_name = "Twin"
        uow.commit()
        assert find_person(uow, f"#{ada.id}") is ada
        assert find_person(uow, str(ada.id)) is ada
        assert find_person(uow, ADA.address) is ada
        assert find_person(uow, " zoé ADA ") is ada
        assert find_person(uow, "#" + str(shop["farmer"])).identities[0].address == FARMER
        for unknown in ("Twin", "telegram:999", "#999999", "", "Ada"):
            with pytest.raises(PersonNotFound):
                find_person(uow, unknown)
