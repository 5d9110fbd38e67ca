"""Erasing a person (`privacy.erase`): afterwards no table row and no Rasa tracker event holds their chat id,
name, street, phone or bank account (every table scanned whole, sealed columns opened), while order totals,
stock, payments and the vendors' accounting figures are what they were; orders under way block it; a vendor
member erasing herself leaves her business's data; the one message says what was kept and why.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, Table, inspect, select

import bot.cursors  # noqa: F401 (every table's model is loaded, so the scan below opens every sealed column)
import checkout.address_book
import checkout.delivery  # noqa: F401
from bootstrap import App
from catalog.audit import AuditEntry
from catalog.models import Product
from checkout.models import Order
from checkout.reports import marketplace_stats
from checkout.services import add_to_basket, cancel_order, get_order
from marketplace.accounts import ChatIdentity, Membership, Organisation, Person, person_for_chat
from marketplace.db import Base
from marketplace.i18n import translate
from payments.models import PaymentCredit, PaymentLeg
from privacy.erase import ErasureReport, OpenOrders, erase_person, erasure_message
from privacy.export import export_person
from privacy.people import find_person
from tests.conftest import POSTGRES_URL, person
from tests.integration.test_privacy_export import (  # staff, tracker: fixtures
    ADA,
    ADA_TOO,
    FARMER,
    NOW,
    STAFF,
    Someone,
    converse,
    customer,
    staff,  # noqa: F401
    tracker,  # noqa: F401
)
from work.vendors import set_stock

D = Decimal
NOT_OURS = {"alembic_version", "events"}  # Alembic's and Rasa's own tables, read raw


def stored_text(app: App) -> str:
    """Every value of every row of every table in the database, sealed columns opened, and Rasa's events."""
    values: list[str] = []
    with app.db.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        assert set(names) - NOT_OURS <= set(Base.metadata.tables), "a table the scan could not open"
        for name in sorted(names):
            table = (
                Base.metadata.tables[name]
                if name in Base.metadata.tables
                else Table(name, MetaData(), autoload_with=conn)
            )
            # Sealed values come decrypted. Rows sorted: PostgreSQL returns updated rows in no fixed order.
            rows = sorted([str(value) for value in row] for row in conn.execute(select(table)))
            values += [value for row in rows for value in row]
    return "\n".join(values)


def accounts(app: App) -> tuple:
    """What the accounts rest on: the marketplace's figures, each order's and vendor order's amounts and lines,
    the stock, the payments and every credit's amounts."""
    with app.db.uow() as uow:
        session = uow.session
        orders = [
            (o.number, o.goods_total, o.delivery_fee, o.total, o.leman_payable, o.platform_commission, o.postal_code,
             [(v.vendor_id, v.status, v.goods_total, v.commission, v.vendor_receives, v.leman_due,
               [(line.sku, line.quantity, line.unit_price, line.total) for line in v.lines]) for v in o.vendor_orders])
            for o in session.scalars(select(Order).order_by(Order.id))
        ]  # fmt: skip
        stock = [(p.sku, p.stock, p.price_chf) for p in session.scalars(select(Product).order_by(Product.id))]
        legs = [(g.reference, g.amount, g.received, g.status) for g in session.scalars(select(PaymentLeg))]
        credits = [(c.amount, c.counted, c.refund_amount) for c in session.scalars(select(PaymentCredit))]
        return marketplace_stats(uow), orders, stock, legs, credits


def erase(app: App, address: str, **options: int) -> ErasureReport:
    with app.db.uow() as uow:
        report = erase_person(uow, find_person(uow, address), NOW, **options)
        uow.commit()
    return report


# --- nothing left ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_after_erasure_no_row_and_no_tracker_event_holds_the_person_while_the_accounts_are_unchanged(
    app: App, shop: dict[str, int]
) -> None:
    numbers = [customer(app, shop, ADA), customer(app, shop, ADA_TOO)]
    converse(app, ADA)
    converse(app, ADA_TOO)
    before, text = accounts(app), stored_text(app)
    for value in ADA.private + ADA_TOO.private:  # the scan sees them, sealed or not
        assert value in text, value

    report = erase(app, ADA.address)

    text = stored_text(app)
    assert [value for value in ADA.private if value in text] == []
    assert "Lovelace" not in text  # nor the surname alone (in the delivery details, the vendor's notice)
    assert all(value in text for value in ADA_TOO.private)  # the other customer is untouched
    assert accounts(app) == before
    assert report.kept_orders == (numbers[0],)
    with app.db.uow() as uow:
        kept = get_order(uow, numbers[0])
        assert (kept.person_id, kept.delivery_street, kept.delivery_phone, kept.delivery_recipient) == (None,) * 4
        assert (kept.delivery_latitude, kept.delivery_details, kept.postal_code) == (None, None, "1205")
        assert uow.session.scalar(select(ChatIdentity).where(ChatIdentity.external_id == ADA.chat_id)) is None
        assert get_order(uow, numbers[1]).person is not None


@pytest.mark.usefixtures("staff", "tracker")
def test_the_report_counts_what_went_and_dates_what_is_kept(app: App, shop: dict[str, int]) -> None:
    number = customer(app, shop, ADA)
    converse(app, ADA)

    report = erase(app, ADA.address, accounting_years=11)

    assert report.deleted == {
        "chat_identities": 1, "memberships": 0, "messages": 3, "baskets": 1, "saved_addresses": 1,
        "conversation_events": 4, "account": 1,
    }  # fmt: skip
    assert report.kept_orders == (number,) and report.refunds_due == 0 and report.erased_at == NOW
    assert (report.accounting_years, report.kept_until) == (11, date(NOW.year + 11, 12, 31))
    assert report.notices_deleted == 1  # the farmer's notice of the new order, with Ada's first name


@pytest.mark.usefixtures("staff")
def test_writing_again_after_erasure_starts_an_empty_account(app: App, shop: dict[str, int]) -> None:
    customer(app, shop, ADA)
    with app.db.uow() as uow:
        old_id = find_person(uow, ADA.address).id
    erase(app, ADA.address)
    with app.db.uow() as uow:
        assert uow.session.get(Person, old_id) is None
        fresh = person_for_chat(uow, ADA.address)
        data = export_person(uow, fresh, NOW)
    assert (data["orders"], data["saved_addresses"], data["baskets"]) == ([], [], [])


# --- orders under way ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_orders_under_way_block_the_erasure_and_are_named(app: App, shop: dict[str, int]) -> None:
    delivered = customer(app, shop, ADA)
    paid = customer(app, shop, ADA, delivered=False)
    with app.db.uow() as uow:
        ada = find_person(uow, ADA.address)
        add_to_basket(uow, ada, shop["tomato"], D(1))
        uow.commit()
    converse(app, ADA)
    text = stored_text(app)

    with app.db.uow() as uow, pytest.raises(OpenOrders) as refused:
        erase_person(uow, find_person(uow, ADA.address), NOW)

    assert refused.value.numbers == (paid,) and delivered not in refused.value.params["orders"]
    assert stored_text(app) == text  # nothing was changed
    message = translate(refused.value.message_key, "fr", **refused.value.params)
    assert paid in message and "livrées ou annulées" in message


@pytest.mark.usefixtures("staff")
def test_a_cancelled_order_does_not_block_the_erasure(app: App, shop: dict[str, int]) -> None:
    from checkout.services import DeliveryChoice, place_order

    with app.db.uow() as uow:
        ada = person_for_chat(uow, ADA.address)
        add_to_basket(uow, ada, shop["wine"], D(1))
        number = place_order(uow, app.settings, ada, DeliveryChoice("pickup", payment_method="on_delivery")).number
        cancel_order(uow, ada, number)
        uow.commit()
    assert erase(app, ADA.address).kept_orders == (number,)


# --- vendors and couriers --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff", "tracker")
def test_a_vendor_member_erasing_herself_leaves_her_business_data(app: App, shop: dict[str, int]) -> None:
    customer(app, shop, ADA)
    with app.db.uow() as uow:
        set_stock(uow, person(uow, shop["farmer"]), shop["tomato"], D(7))
        uow.commit()
    converse(app, Someone(FARMER, STAFF[0], "-", "-", "-"))  # what she said to the assistant
    before = accounts(app)

    report = erase(app, FARMER)

    text = stored_text(app)
    assert STAFF[0] not in text and STAFF[1] not in text  # her name, her Matrix id
    assert report.organisations == ("Ferme Test",) and report.kept_orders == ()
    assert accounts(app) == before  # products, prices, stock, the business's orders
    with app.db.uow() as uow:
        farm = uow.session.scalar(select(Organisation).where(Organisation.slug == "ferme-test"))
        assert farm is not None and farm.members == []
        assert uow.session.scalar(select(Membership).where(Membership.person_id == shop["farmer"])) is None
        [change] = uow.session.scalars(select(AuditEntry)).all()
        assert (change.sku, change.new_value, change.actor_id) == ("TOM", "7", None)  # kept, without her
        # Ada's order and her data are untouched.
        assert find_person(uow, ADA.address).display_name == ADA.name
    message = erasure_message(report, "fr")
    assert "Ferme Test" in message and "Nous ne gardons rien d'autre de vous." in message


# --- the one message -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", ("effacé", "10 ans", "31 décembre 2036")),
        ("de", ("gelöscht", "10 Jahre", "31. Dezember 2036")),
        ("it", ("cancellato", "10 anni", "31 dicembre 2036")),
        ("en", ("erased", "10 years", "31 December 2036")),
    ],
)
def test_the_message_says_what_went_what_is_kept_why_and_until_when(lang: str, words: tuple[str, ...]) -> None:
    report = ErasureReport(NOW, {"account": 1}, ("GE-7K3Q9M", "GE-2B4C6D"), 10, date(2036, 12, 31))

    message = erasure_message(report, lang)

    assert all(word in message for word in words), message
    assert "GE-7K3Q9M, GE-2B4C6D" in message
    assert "{" not in message and message.count("\n\n") == 1  # filled; two paragraphs: deleted, kept


def test_with_nothing_kept_the_message_says_so() -> None:
    message = erasure_message(ErasureReport(NOW, {"account": 1}, (), 10, None), "en")
    assert message.endswith("We keep nothing else about you.") and "orders" not in message


@pytest.mark.usefixtures("staff")
def test_a_refund_still_due_keeps_the_account_it_goes_to(app: App, shop: dict[str, int]) -> None:
    from payments.models import CreditSource
    from payments.services import IncomingCredit, record_credit

    number = customer(app, shop, ADA)
    with app.db.uow() as uow:
        [leg, *_] = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == get_order(uow, number).id))
        credit = IncomingCredit(CreditSource.BANK, "bank-twice", leg.reference, D("5.00"), "CHF", payer=ADA.iban)
        record_credit(uow, leg, credit, settings=app.settings)  # paid twice: 5 francs to give back
        uow.commit()

    report = erase(app, ADA.address)

    with app.db.uow() as uow:
        payers = {c.payer for c in uow.session.scalars(select(PaymentCredit))}
    assert payers == {"", ADA.iban} and report.refunds_due == 1
    assert translate("privacy.erased.refund_due", "en") in erasure_message(report, "en")


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="DATABASE_URL is not PostgreSQL")
@pytest.mark.usefixtures("staff", "tracker")
def test_erasure_leaves_nothing_of_the_person_on_postgresql(app: App, shop: dict[str, int]) -> None:
    assert app.db.is_postgres
    customer(app, shop, ADA)
    customer(app, shop, ADA_TOO)
    converse(app, ADA)
    before = accounts(app)

    erase(app, ADA.address)

    text = stored_text(app)
    assert [value for value in ADA.private if value in text] == []
    assert all(value in text for value in ADA_TOO.private[:-1])
    assert accounts(app) == before
