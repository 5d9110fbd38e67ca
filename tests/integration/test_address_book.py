"""Saved delivery addresses and the order's delivery snapshot: a person's own only, sealed at rest (the raw
database file holds no street, phone or coordinate), and the migration that adds them goes up and down."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from bootstrap import App
from catalog.services import CatalogSearch
from checkout.address_book import (
    MAX_ADDRESSES,
    AddressBookFull,
    AddressNotFound,
    DeliveryAddress,
    InvalidAddress,
    SavedAddress,
    delete_address,
    get_address,
    last_address,
    list_addresses,
    order_delivery,
    save_address,
    set_order_delivery,
)
from checkout.models import Order
from checkout.services import DeliveryChoice, add_to_basket, place_order
from marketplace import migrate
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from marketplace.crypto import UnreadableData, bind_keys, parse_key_ring
from marketplace.db import Database
from marketplace.i18n import error_message, translate
from marketplace.settings import DEFAULT_CONFIG, load_settings
from tests.conftest import POSTGRES_URL, TEST_DATA_KEYS, make_product, person

D = Decimal
HOME = DeliveryAddress(
    street="Rue de Carouge 50",
    postal_code="1205",
    locality="Genève",
    recipient_name="Ada Lovelace",
    details="3e étage, porte bleue 4B",
    phone="+41 79 555 01 23",
    latitude=D("46.1983714"),
    longitude=D("6.1426721"),
)
WORK = DeliveryAddress(street="Boulevard Carl-Vogt 101", postal_code="1205", locality="Genève")
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def place(app: App, buyer_id: int, product_id: int, postal_code: str = "1205") -> str:
    with app.db.uow() as uow:
        buyer = person(uow, buyer_id)
        add_to_basket(uow, buyer, product_id, D(1))
        order = place_order(uow, app.settings, buyer, DeliveryChoice("delivery", postal_code))
        uow.commit()
        return order.number


def order_named(uow, number: str) -> Order:  # type: ignore[no-untyped-def]
    return uow.session.scalars(select(Order).where(Order.number == number)).one()


# --- a person's own addresses ------------------------------------------------------------------------------


def test_saved_addresses_come_back_most_recently_used_first_and_can_be_deleted(app: App, shop) -> None:
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        home = save_address(uow, me, HOME, "Home", now=T0)
        work = save_address(uow, me, WORK, "work", now=T0 + timedelta(hours=1))
        uow.commit()
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        assert [(a.id, a.label) for a in list_addresses(uow, me)] == [(work.id, "work"), (home.id, "home")]
        assert last_address(uow, me).id == work.id
        assert get_address(uow, me, home.id).address() == HOME  # every field back as it was given
        delete_address(uow, me, work.id)
        uow.commit()
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        assert [a.id for a in list_addresses(uow, me)] == [home.id]
        assert last_address(uow, me).id == home.id


def test_a_label_names_one_address_and_the_same_street_is_not_kept_twice(app: App, shop) -> None:
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        first = save_address(uow, me, HOME, "home", now=T0)
        again = save_address(uow, me, DeliveryAddress("rue de  Carouge 50", "1205"), now=T0 + timedelta(days=1))
        moved = save_address(uow, me, WORK, "HOME", now=T0 + timedelta(days=2))
        uow.commit()
        assert first.id == again.id == moved.id
        [only] = list_addresses(uow, me)
        assert (only.label, only.street, only.details, only.phone) == ("home", WORK.street, None, None)


def test_a_person_keeps_a_bounded_number_of_addresses(app: App, shop) -> None:
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        for number in range(MAX_ADDRESSES):
            save_address(uow, me, DeliveryAddress(f"Rue du Marché {number + 1}", "1204"))
        with pytest.raises(AddressBookFull):
            save_address(uow, me, DeliveryAddress("Rue du Rhône 1", "1204"))
        assert len(list_addresses(uow, me)) == MAX_ADDRESSES


def test_nobody_reads_lists_uses_or_deletes_another_persons_addresses(app: App, shop) -> None:
    with app.db.uow() as uow:
        mine = save_address(uow, person(uow, shop["consumer"]), HOME, "home").id
        theirs = save_address(uow, person(uow, shop["cellar"]), WORK, "work").id
        uow.commit()
    number = place(app, shop["consumer"], shop["tomato"])
    with app.db.uow() as uow:
        other = person(uow, shop["cellar"])
        assert [a.id for a in list_addresses(uow, other)] == [theirs]
        assert last_address(uow, other).id == theirs
        with pytest.raises(AddressNotFound):
            get_address(uow, other, mine)
        with pytest.raises(AddressNotFound):
            delete_address(uow, other, mine)
        with pytest.raises(AddressNotFound):  # someone else's saved address cannot be put on my order
            set_order_delivery(order_named(uow, number), uow.session.get(SavedAddress, theirs))
        nobody = person_for_chat(uow, "telegram:3003")
        assert list_addresses(uow, nobody) == [] and last_address(uow, nobody) is None
        uow.commit()
    with app.db.uow() as uow:
        assert uow.session.get(SavedAddress, mine) is not None
        assert order_named(uow, number).delivery_street is None


@pytest.mark.parametrize(
    ("address", "bad"),
    [
        (DeliveryAddress("", "1205"), "street"),
        (DeliveryAddress("Rue de Carouge 50", "12O5"), "postal_code"),
        (DeliveryAddress("Rue de Carouge 50", "F-74100"), "postal_code"),
        (DeliveryAddress("R" * 121, "1205"), "street"),
        (DeliveryAddress("Rue de Carouge 50\x00", "1205"), "street"),
        (DeliveryAddress("Rue de Carouge 50", "1205", details="\u202eetage"), "details"),
        (DeliveryAddress("Rue de Carouge 50", "1205", phone="call me"), "phone"),
        (DeliveryAddress("Rue de Carouge 50", "1205", latitude=D("46.2")), "longitude"),
        (DeliveryAddress("Rue de Carouge 50", "1205", latitude=D("91"), longitude=D("6")), "latitude"),
    ],
)
def test_a_bad_field_is_refused_by_name_without_its_value(app: App, shop, address, bad) -> None:
    with app.db.uow() as uow:
        with pytest.raises(InvalidAddress) as refused:
            save_address(uow, person(uow, shop["consumer"]), address)
        assert refused.value.params == {"field": bad}  # the value is personal data: never in errors or logs


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
def test_address_errors_read_as_sentences_in_every_language(lang: str) -> None:
    refusals = [
        AddressNotFound(),
        InvalidAddress(field="street"),
        AddressBookFull(limit=MAX_ADDRESSES),
        UnreadableData(where="saved_addresses.street", key_id="k1", reason="authentication"),
    ]
    for refusal in refusals:
        sentence = error_message(refusal, lang)
        assert sentence != translate("error.error", lang)  # its own sentence, every placeholder filled
        assert "{" not in sentence and "error." not in sentence and "k1" not in sentence
    assert str(MAX_ADDRESSES) in error_message(AddressBookFull(limit=MAX_ADDRESSES), lang)


# --- the order's snapshot ----------------------------------------------------------------------------------


def test_an_order_keeps_its_address_when_the_saved_one_changes_or_goes(app: App, shop) -> None:
    with app.db.uow() as uow:
        saved = save_address(uow, person(uow, shop["consumer"]), HOME, "home", now=T0)
        uow.commit()
    number = place(app, shop["consumer"], shop["tomato"])  # placing works as before, with no address yet
    with app.db.uow() as uow:
        order = order_named(uow, number)
        assert order_delivery(order) is None and order.delivery_locality == ""
        set_order_delivery(order, get_address(uow, person(uow, shop["consumer"]), saved.id))
        uow.commit()
    with app.db.uow() as uow:
        me = person(uow, shop["consumer"])
        used = get_address(uow, me, saved.id).last_used_at
        assert used.replace(tzinfo=UTC) > T0  # using it makes it the one offered next (SQLite gives naive UTC)
        save_address(uow, me, WORK, "home")  # "home" moves
        uow.commit()
    with app.db.uow() as uow:
        assert order_delivery(order_named(uow, number)) == HOME
        delete_address(uow, person(uow, shop["consumer"]), saved.id)
        uow.commit()
    with app.db.uow() as uow:
        assert order_delivery(order_named(uow, number)) == HOME


def test_an_order_takes_an_address_only_for_its_own_postal_code_and_for_delivery(app: App, shop) -> None:
    number = place(app, shop["consumer"], shop["tomato"])
    elsewhere = DeliveryAddress("Rue du Stand 3", "1204", "Genève")
    with app.db.uow() as uow:
        order = order_named(uow, number)
        with pytest.raises(InvalidAddress) as refused:  # its zone and slot were chosen for 1205
            set_order_delivery(order, elsewhere)
        assert refused.value.params == {"field": "postal_code"}
        order.delivery_mode = "pickup"
        with pytest.raises(InvalidAddress):
            set_order_delivery(order, HOME)


# --- sealed at rest ----------------------------------------------------------------------------------------


def test_the_raw_database_file_holds_no_street_phone_or_coordinate(tmp_path: Path) -> None:
    """Writes a saved address and an order's delivery snapshot into a fresh SQLite file, then reads every byte
    SQLite wrote (database, journal): the clear postal code and locality are there, no personal field is."""
    db = Database(f"sqlite:///{tmp_path / 'raw.sqlite3'}")
    migrate.upgrade(db)
    bind_keys(db.engine, parse_key_ring(TEST_DATA_KEYS, "tests"))
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": db.url})
    app = App(settings=settings, db=db, search=CatalogSearch(settings.default_language))
    with db.uow() as uow:
        add_organisation(uow, "ferme-test", "Ferme Test", OrganisationKind.PRODUCER)
        tomato = make_product(uow, "ferme-test", "TOM", "Tomates", "4.80")
        buyer = person_for_chat(uow, "telegram:1001").id
        uow.commit()
    number = place(app, buyer, tomato)
    with db.uow() as uow:
        saved = save_address(uow, person(uow, buyer), HOME, "home")
        set_order_delivery(order_named(uow, number), saved)
        uow.commit()
    with db.uow() as uow:  # read back through the models: all there
        assert order_delivery(order_named(uow, number)) == HOME
    db.dispose()

    raw = b"".join(path.read_bytes() for path in sorted(tmp_path.glob("raw.sqlite3*")))
    assert b"1205" in raw and "Genève".encode() in raw  # the file is readable here: what is clear shows
    secrets = [
        "Rue de Carouge", "Carouge 50", "Lovelace", "porte bleue", "+41 79 555 01 23", "79 555", "795550123",
        "46.1983714", "46.19837", "6.1426721", "6.14267",
    ]  # fmt: skip
    for secret in secrets:
        for form in (secret, secret.lower(), secret.upper()):
            assert form.encode() not in raw, f"{secret!r} is stored in clear"
    sealed = raw.count(b"v1:test-key:")
    assert sealed >= 12  # 6 sealed fields of the saved address, 6 of the order


# --- the migration -----------------------------------------------------------------------------------------


def _downgrade(db: Database, revision: str) -> None:
    config = migrate.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _columns(db: Database, table: str) -> set[str]:
    names = inspect(db.engine).get_table_names()
    return {c["name"] for c in inspect(db.engine).get_columns(table)} if table in names else set()


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def _up_down_up(db: Database) -> None:
    migrate.upgrade(db)
    bind_keys(db.engine, parse_key_ring(TEST_DATA_KEYS, "tests"))
    with db.uow() as uow:
        save_address(uow, person_for_chat(uow, "telegram:1001"), HOME, "home")
        uow.commit()
    snapshot = {"delivery_street", "delivery_phone", "delivery_latitude", "delivery_locality"}
    assert snapshot <= _columns(db, "orders") and "street" in _columns(db, "saved_addresses")

    _downgrade(db, "0008")
    assert migrate.current_revision(db) == "0008"
    assert _columns(db, "saved_addresses") == set() and not snapshot & _columns(db, "orders")
    assert "postal_code" in _columns(db, "orders")  # the rest of the order is untouched

    migrate.upgrade(db)
    assert migrate.current_revision(db) == _head()
    assert snapshot <= _columns(db, "orders")
    assert _columns(db, "saved_addresses") == {c.name for c in SavedAddress.__table__.columns}


def test_the_migration_goes_up_down_and_up_again_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
    try:
        _up_down_up(db)
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="DATABASE_URL is not PostgreSQL")
def test_the_migration_goes_up_down_and_up_again_on_postgresql() -> None:
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        db = Database(POSTGRES_URL, schema=schema)
        _up_down_up(db)
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
