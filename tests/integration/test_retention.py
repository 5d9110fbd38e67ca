"""Retention (issue 13): with a fake clock, each kind of personal data is purged on time and not before.

Every record of a kind is stamped at one moment T0; a purge the day before its delay ends keeps it, a purge the
day after removes it (or clears it). A second purge finds nothing more; a dry run counts and changes nothing.
The delays are the Geneva deployment's [privacy] section, read from the settings, never repeated here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from bootstrap import App
from bot.payment_jobs import RetentionJob
from checkout.address_book import DeliveryAddress, set_order_delivery
from checkout.models import Basket, BasketLine, Order, StatusChange, VendorOrder
from checkout.services import DeliveryChoice, add_to_basket, change_status, get_order, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from marketplace.db import Database
from marketplace.linking import LinkCode, create_link_code
from payments.documents import payment_folder
from payments.models import LemanTransaction, PaymentCredit, PaymentLeg
from payments.services import open_payment
from privacy.conversations import EVENTS
from privacy.retention import PurgeReport, accounting_deadline, purge
from tests.conftest import person
from tests.support.clock import ManualClock

D = Decimal
DAY = timedelta(days=1)
ADA = DeliveryAddress(
    street="Rue de Carouge 50",
    postal_code="1205",
    locality="Genève",
    recipient_name="Ada Lovelace",
    details="3e étage, code 4521",
    phone="079 555 01 23",
    latitude=D("46.1983714"),
    longitude=D("6.1426721"),
)


def moment(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


@pytest.fixture
def private_app(app: App, tmp_path: Path) -> App:
    """The Geneva settings with a data directory of the test's own (payment files are written there)."""
    app.settings = dataclasses.replace(app.settings, data_dir=tmp_path / "data")
    return app


@pytest.fixture
def tracker_store(app: App) -> Iterator[None]:
    """Rasa's event table, as its tracker store creates it on first start (migrations never do)."""
    EVENTS.create(app.db.engine, checkfirst=True)
    yield
    EVENTS.drop(app.db.engine, checkfirst=True)


def run_purge(app: App, at: datetime, **options: bool) -> PurgeReport:
    with app.db.uow() as uow:
        return purge(uow, app.settings, at, **options)


def place(app: App, shop: dict[str, int], *, address: DeliveryAddress | None = ADA) -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], D(2))
        choice = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "chf")
        order = place_order(uow, app.settings, buyer, choice)
        if address is not None:
            set_order_delivery(order, address)
        uow.commit()
        return order.number


def move(app: App, shop: dict[str, int], number: str, *statuses: OrderStatus) -> None:
    with app.db.uow() as uow:
        for status in statuses:
            change_status(uow, person(uow, shop["farmer"]), number, status)
        uow.commit()


def stamp_order(app: App, number: str, created: datetime, finished: datetime) -> None:
    """The order placed at `created`, every status change of it at `finished`."""
    with app.db.uow() as uow:
        order = get_order(uow, number)
        parts = [part.id for part in order.vendor_orders]
        uow.session.execute(update(Order).where(Order.id == order.id).values(created_at=created))
        uow.session.execute(update(VendorOrder).where(VendorOrder.id.in_(parts)).values(updated_at=finished))
        uow.session.execute(
            update(StatusChange).where(StatusChange.vendor_order_id.in_(parts)).values(changed_at=finished)
        )
        uow.commit()


def address_of(app: App, number: str) -> tuple:
    with app.db.uow() as uow:
        o = get_order(uow, number)
        return (
            o.delivery_recipient, o.delivery_street, o.delivery_details, o.delivery_phone,
            o.delivery_latitude, o.delivery_longitude, o.postal_code, o.delivery_locality,
        )  # fmt: skip


CLEARED = (None, None, None, None, None, None, "1205", "Genève")


# --- one world, every kind stamped at T0 -----------------------------------------------------------------------


@dataclasses.dataclass
class World:
    app: App
    shop: dict[str, int]
    t0: datetime
    delivered: str  # an order delivered at T0
    cancelled: str  # an order cancelled at T0
    open_order: str  # an order placed before T0, still on its way
    files: list[Path]

    def count(self, model: type, *where: object) -> int:
        with self.app.db.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def events(self) -> int:
        with self.app.db.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(EVENTS)) or 0


@pytest.fixture
def world(private_app: App, shop: dict[str, int], tracker_store: None) -> World:  # noqa: ARG001 - Rasa's table
    app = private_app
    t0 = datetime.fromtimestamp(int(time.time()), UTC)
    delivered, cancelled, open_order = place(app, shop), place(app, shop), place(app, shop)
    move(app, shop, delivered, OrderStatus.PREPARED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
    move(app, shop, cancelled, OrderStatus.CANCELLED)
    for number in (delivered, cancelled, open_order):
        stamp_order(app, number, created=t0 - timedelta(hours=3), finished=t0)
    with app.db.uow() as uow:
        add_to_basket(uow, person(uow, shop["consumer"]), shop["eggs"], D(1))
        add_to_basket(uow, person(uow, shop["farmer"]), shop["wine"], D(2))
        uow.session.execute(update(Basket).values(updated_at=t0))
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        create_link_code(uow, "ferme-test")
        create_link_code(uow, "velo-test")
        uow.session.execute(update(LinkCode).values(expires_at=t0))
        rows = [
            {"sender_id": f"telegram:{n}", "type_name": "user", "timestamp": t0.timestamp(), "data": "{}"}
            for n in (1001, 2002)
        ]
        uow.session.execute(insert(EVENTS), rows)
        uow.commit()
    folder = payment_folder(app.settings)
    folder.mkdir(parents=True)
    files = [folder / f"{delivered}-1-qr-bill.pdf", folder / f"{delivered}-1-qr-bill.png"]
    for file in files:
        file.write_bytes(b"%PDF")
        os.utime(file, (t0.timestamp(), t0.timestamp()))
    return World(app, shop, t0, delivered, cancelled, open_order, files)


def baskets_kept(w: World) -> bool:
    return w.count(Basket) == 2 and w.count(BasketLine) == 2


def baskets_gone(w: World) -> bool:
    return w.count(Basket) == 0 and w.count(BasketLine) == 0


def events_kept(w: World) -> bool:
    return w.events() == 2


def events_gone(w: World) -> bool:
    return w.events() == 0


def codes_kept(w: World) -> bool:
    return w.count(LinkCode) == 2


def codes_gone(w: World) -> bool:
    return w.count(LinkCode) == 0


def addresses_kept(w: World) -> bool:
    return all(address_of(w.app, n)[1] == ADA.street for n in (w.delivered, w.cancelled, w.open_order))


def addresses_gone(w: World) -> bool:
    finished = [address_of(w.app, n) for n in (w.delivered, w.cancelled)]
    return finished == [CLEARED, CLEARED] and address_of(w.app, w.open_order)[1] == ADA.street


def files_kept(w: World) -> bool:
    return all(f.exists() for f in w.files)


def files_gone(w: World) -> bool:
    return not any(f.exists() for f in w.files)


KINDS: dict[str, tuple[str, Callable[[World], bool], Callable[[World], bool]]] = {
    # report field: ([privacy] delay in days, still there, gone)
    "baskets": ("abandoned_basket_days", baskets_kept, baskets_gone),
    "conversation_events": ("conversation_days", events_kept, events_gone),
    "link_codes": ("expired_link_code_days", codes_kept, codes_gone),
    "order_addresses": ("delivered_address_days", addresses_kept, addresses_gone),
    "payment_files": ("payment_file_days", files_kept, files_gone),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_kept_the_day_before_its_delay_ends_and_gone_the_day_after(world: World, kind: str) -> None:
    setting, kept, gone = KINDS[kind]
    days = getattr(world.app.settings.privacy, setting)
    clock = ManualClock(world.t0.timestamp())

    clock.advance((days - 1) * 86400)
    report = run_purge(world.app, moment(clock))
    assert getattr(report, kind) == 0
    assert kept(world), f"{kind} purged before its {days} days"

    clock.advance(2 * 86400)
    report = run_purge(world.app, moment(clock))
    expected = {"baskets": 2, "conversation_events": 2, "link_codes": 2, "order_addresses": 2, "payment_files": 2}
    assert getattr(report, kind) == expected[kind]
    assert gone(world), f"{kind} still there after {days} days"


def test_the_delivered_address_waits_for_the_delivery_not_for_the_order(world: World) -> None:
    """An order placed long ago but delivered at T0 keeps its address the whole delay after T0."""
    days = world.app.settings.privacy.delivered_address_days
    stamp_order(world.app, world.delivered, created=world.t0 - 200 * DAY, finished=world.t0)
    run_purge(world.app, world.t0 + (days - 1) * DAY)
    assert address_of(world.app, world.delivered)[1] == ADA.street
    run_purge(world.app, world.t0 + (days + 1) * DAY)
    assert address_of(world.app, world.delivered) == CLEARED


def test_an_order_still_on_its_way_keeps_its_address_however_old(world: World) -> None:
    run_purge(world.app, world.t0 + 3650 * DAY)
    assert address_of(world.app, world.open_order)[1] == ADA.street


def test_a_second_purge_finds_nothing_more_and_changes_nothing(world: World) -> None:
    late = world.t0 + 400 * DAY  # every delay but the accounting one is over
    first = run_purge(world.app, late)
    assert first.counts() == {
        "baskets": 2, "conversation_events": 2, "link_codes": 2, "order_addresses": 2, "payment_files": 2,
        "orders_anonymised": 0,
    }  # fmt: skip
    second = run_purge(world.app, late)
    assert second.total == 0
    assert baskets_gone(world) and events_gone(world) and codes_gone(world)
    assert addresses_gone(world) and files_gone(world)


def test_a_purge_in_small_batches_does_the_same_as_one_in_a_single_batch(world: World) -> None:
    report = run_purge(world.app, world.t0 + 400 * DAY, batch=1)
    assert (report.baskets, report.conversation_events, report.link_codes, report.order_addresses) == (2, 2, 2, 2)
    assert baskets_gone(world) and events_gone(world) and codes_gone(world) and addresses_gone(world)


def test_a_dry_run_counts_what_is_due_and_changes_nothing(world: World) -> None:
    late = world.t0 + 400 * DAY
    dry = run_purge(world.app, late, dry_run=True)
    assert dry.dry_run and dry.total == 10
    assert baskets_kept(world) and events_kept(world) and codes_kept(world)
    assert addresses_kept(world) and files_kept(world)
    real = run_purge(world.app, late)
    assert real.counts() == dry.counts()


def test_a_basket_changed_recently_is_kept_even_if_it_was_started_long_ago(private_app: App, shop) -> None:  # type: ignore[no-untyped-def]
    app = private_app
    now = datetime.now(UTC)
    days = app.settings.privacy.abandoned_basket_days
    with app.db.uow() as uow:
        add_to_basket(uow, person(uow, shop["consumer"]), shop["eggs"], D(1))
        uow.session.execute(update(Basket).values(updated_at=now - (days + 10) * DAY))
        uow.commit()
    with app.db.uow() as uow:  # today: one more item
        add_to_basket(uow, person(uow, shop["consumer"]), shop["tomato"], D(1))
        uow.commit()
    assert run_purge(app, now + timedelta(minutes=1)).baskets == 0
    with app.db.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(BasketLine)) == 2


def test_without_rasas_table_the_conversation_step_has_nothing_to_do(private_app: App) -> None:
    assert run_purge(private_app, datetime.now(UTC) + 1000 * DAY).conversation_events == 0


# --- the accounting retention -------------------------------------------------------------------------------


def test_orders_lose_their_last_personal_links_after_the_accounting_years_from_the_end_of_their_year(
    private_app: App, shop: dict[str, int]
) -> None:
    app = private_app
    years = app.settings.privacy.accounting_years
    number = place(app, shop)
    move(app, shop, number, OrderStatus.PREPARED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
    placed = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)
    stamp_order(app, number, created=placed, finished=placed + DAY)
    with app.db.uow() as uow:
        order = get_order(uow, number)
        [leg] = open_payment(uow, app.settings, order)
        uow.session.add(
            PaymentCredit(
                source="bank", credit_key="entry-1", leg_id=leg.id, amount=leg.amount, payer="CH9300762011623852957"
            )
        )
        # paid twice: the surplus is to go back to the account it came from, which is kept until then
        uow.session.add(
            PaymentCredit(source="bank", credit_key="entry-2", leg_id=leg.id, amount=leg.amount, refund_status="due",
                          refund_amount=leg.amount, refund_reason="already_paid", payer="CH5604835012345678009")
        )  # fmt: skip
        uow.session.add(
            LemanTransaction(tx_hash="0xabc", status="completed", reference=leg.reference, amount=leg.amount,
                             sender="0x1234567890abcdef")
        )  # fmt: skip
        totals = (order.total, order.goods_total, [p.vendor_receives for p in order.vendor_orders])
        uow.commit()

    last_day = datetime(2025 + years, 12, 31, 12, 0, tzinfo=UTC)  # the order's year plus `years`: still kept
    assert run_purge(app, last_day).orders_anonymised == 0
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert order.person_id == shop["consumer"]
        assert {c.actor_id for p in order.vendor_orders for c in p.history} == {shop["farmer"]}
        assert set(uow.session.scalars(select(PaymentCredit.payer))) == {
            "CH9300762011623852957",
            "CH5604835012345678009",
        }

    report = run_purge(app, last_day + 2 * DAY)
    assert report.orders_anonymised == 1
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert order.person_id is None
        assert {c.actor_id for p in order.vendor_orders for c in p.history} == {None}
        assert set(uow.session.scalars(select(PaymentCredit.payer))) == {"", "CH5604835012345678009"}
        assert uow.session.scalar(select(LemanTransaction.sender)) == ""
        # the accounts themselves are untouched
        assert (order.total, order.goods_total, [p.vendor_receives for p in order.vendor_orders]) == totals
        assert [p.status for p in order.vendor_orders] == [OrderStatus.DELIVERED]
        assert uow.session.scalar(select(func.count()).select_from(PaymentLeg)) == 1
    assert address_of(app, number) == CLEARED
    assert run_purge(app, last_day + 2 * DAY).orders_anonymised == 0


def test_the_accounting_year_ends_on_new_years_eve_in_the_deployments_time_zone() -> None:
    zurich = "Europe/Zurich"
    # 1 January 2036, 00:00 in Zurich is 31 December 2035, 23:00 UTC.
    assert accounting_deadline(datetime(2036, 1, 1, 0, 30, tzinfo=UTC), 10, zurich) == datetime(
        2025, 12, 31, 23, 0, tzinfo=UTC
    )
    assert accounting_deadline(datetime(2035, 12, 31, 22, 0, tzinfo=UTC), 10, zurich) == datetime(
        2024, 12, 31, 23, 0, tzinfo=UTC
    )


def test_a_naive_moment_is_refused(private_app: App) -> None:
    with pytest.raises(ValueError, match="aware"):
        run_purge(private_app, datetime(2030, 1, 1))


# --- run by the bot process -------------------------------------------------------------------------------------


def test_the_bot_process_runs_the_purge_on_its_own_and_stops_with_it(world: World) -> None:
    clock = ManualClock(world.t0.timestamp() + 400 * 86400)
    job = RetentionJob(world.app, first_delay=0, now=lambda: moment(clock))
    assert job.interval == world.app.settings.privacy.purge_every_hours * 3600

    async def scenario() -> None:
        await job.start()
        for _ in range(200):  # the first purge runs at once
            await asyncio.sleep(0.02)
            if await asyncio.to_thread(baskets_gone, world) and files_gone(world):
                break
        await job.stop()

    asyncio.run(scenario())
    assert baskets_gone(world) and events_gone(world) and codes_gone(world) and addresses_gone(world)
    assert job._task is not None and job._task.done()


# --- the admin command line -------------------------------------------------------------------------------------


def test_admin_cli_privacy_purge_and_its_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import admin_cli
    from admin.context import console

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.setattr(console, "width", 200)
    runner = CliRunner()
    assert runner.invoke(admin_cli.cli, ["db", "upgrade"]).exit_code == 0
    db = Database(url)
    try:
        with db.uow() as uow:
            old = datetime.now(UTC) - 400 * DAY
            uow.session.add(Basket(person_id=person_for_chat(uow, "telegram:1").id, updated_at=old))
            uow.commit()

        dry = runner.invoke(admin_cli.cli, ["privacy", "purge", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Dry run: nothing was changed." in dry.output and re.search(r"baskets\s+│\s+1\b", dry.output)
        with db.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Basket)) == 1

        done = runner.invoke(admin_cli.cli, ["privacy", "purge"])
        assert done.exit_code == 0, done.output
        assert re.search(r"baskets\s+│\s+1\b", done.output) and "Dry run" not in done.output
        with db.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Basket)) == 0
        again = runner.invoke(admin_cli.cli, ["privacy", "purge"])
        assert re.search(r"baskets\s+│\s+0\b", again.output)
    finally:
        db.dispose()
