"""Money that cannot pay an order (another currency, a cancelled or already paid order) never marks it paid:
it is recorded, listed for an admin to refund, and the customer is told in their language. The surplus of
an overpayment likewise."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from typer.testing import CliRunner

import admin_cli
import bootstrap
from admin.context import console
from bootstrap import App
from checkout.services import cancel_order, get_order
from checkout.status import OrderStatus
from marketplace.outbox import OutboxMessage
from payments.models import LegMethod, LegStatus, PaymentCredit, RefundStatus
from payments.refunds import NoSuchRefund, mark_refunded, refunds
from tests.conftest import person
from tests.integration.test_bank_credits import Entry, camt054
from tests.integration.test_payments import SHOP, _import, _legs, _leman_order, _order, _status, receive, webhook
from tests.support.leman_node import OTHER_CURRENCY_CONTRACT, FakeLemanNode, settings_with_node

D = Decimal


@pytest.fixture
def node_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def node(app: App) -> Iterator[FakeLemanNode]:
    with FakeLemanNode() as fake:
        app.settings = settings_with_node(app.settings, fake.url)
        yield fake


def _speaks(app: App, shop: dict[str, int], lang: str) -> None:
    with app.db.uow() as uow:
        person(uow, shop["consumer"]).language = lang
        uow.commit()


def _told(app: App, kind: str) -> list[str]:
    """The messages of this kind in the outbox, non-breaking spaces read as spaces."""
    with app.db.uow() as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return [m.text.replace("\xa0", " ").replace("\u202f", " ") for m in rows]


def _due(app: App) -> list[tuple[str | None, D, str, str]]:
    with app.db.uow() as uow:
        return [
            (c.leg.order.number if c.leg else None, c.refund_amount, c.currency, c.refund_reason) for c in refunds(uow)
        ]


def _cancel(app: App, shop: dict[str, int], number: str) -> None:
    with app.db.uow() as uow:
        cancel_order(uow, person(uow, shop["consumer"]), number)
        uow.commit()


# --- bank --------------------------------------------------------------------------------------------------


def test_a_bank_payment_in_another_currency_is_not_counted_and_is_listed_to_refund(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    report = _import(app, camt054(Entry(reference, str(amount), acct_ref="TX-EUR", currency="EUR")))
    assert report.refunds == [(reference, amount, "EUR", "other_currency")] and report.applied == 0
    assert _legs(app, number)[LegMethod.QR_BILL][2] == LegStatus.AWAITING and _status(app, number) == "placed"
    assert _due(app) == [(number, amount, "EUR", "other_currency")]
    [text] = _told(app, "refund_due")
    assert text == (
        f"💸 Commande {number} : nous vous rembourserons 24,10 EUR (le paiement est arrivé dans une autre monnaie "
        "que celle de la facture). Nous nous en occupons au plus vite."
    )


def test_a_bank_payment_for_a_cancelled_order_never_marks_it_paid(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    """Before: the credit was counted and the legs of a cancelled order became paid."""
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    _cancel(app, shop, number)
    _speaks(app, shop, "de")
    report = _import(app, camt054(Entry(reference, str(amount), acct_ref="TX-LATE")))
    assert report.refunds == [(reference, amount, "CHF", "cancelled")] and report.paid == []
    assert _legs(app, number)[LegMethod.QR_BILL][2] == LegStatus.AWAITING
    assert _status(app, number) == OrderStatus.CANCELLED
    with app.db.uow() as uow:
        assert uow.session.scalars(select(PaymentCredit)).one().counted == 0
    assert _due(app) == [(number, amount, "CHF", "cancelled")]
    [text] = _told(app, "refund_due")
    assert "storniert" in text and "CHF 24.10" in text


def test_an_already_paid_bill_paid_again_is_listed_to_refund(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    _speaks(app, shop, "it")
    _import(app, camt054(Entry(reference, str(amount), acct_ref="TX-1")))
    _import(app, camt054(Entry(reference, str(amount), acct_ref="TX-2"), message="N2"))
    assert _status(app, number) == OrderStatus.PAID
    assert _due(app) == [(number, amount, "CHF", "already_paid")]
    [text] = _told(app, "refund_due")
    assert "già pagata" in text


def test_the_surplus_of_an_overpayment_is_listed_to_refund(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    _speaks(app, shop, "en")
    report = _import(app, camt054(Entry(reference, "30.00", acct_ref="TX-1")))
    assert report.overpaid == [(reference, D("30.00"), D("30.00") - amount)]
    assert _status(app, number) == OrderStatus.PAID and _legs(app, number)[LegMethod.QR_BILL][2] == LegStatus.PAID
    assert _due(app) == [(number, D("5.90"), "CHF", "overpaid")]
    [text] = _told(app, "refund_due")
    assert text == (
        f"💸 Order {number}: we will refund you CHF 5.90 (you paid more than the amount due). "
        "We'll see to it as soon as we can."
    )


def test_a_credit_with_an_unknown_reference_is_listed_and_nobody_is_told(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    _order(app, shop, "chf")
    _import(app, camt054(Entry("000000000000000000000999995", "5.00", acct_ref="TX-X")))
    assert _due(app) == [(None, D("5.00"), "CHF", "unknown_reference")]
    assert _told(app, "refund_due") == []


# --- e-Léman -----------------------------------------------------------------------------------------------


def test_an_e_leman_payment_for_a_cancelled_order_is_listed_to_refund(
    app: App, shop: dict[str, int], node_key, node
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    _cancel(app, shop, number)
    tx = node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference)
    outcome = receive(app, node_key, *webhook(node_key, tx, reference, int(amount * 100), wallet=wallet))
    assert (outcome.outcome, outcome.reason) == ("refund", "cancelled")
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
    assert _status(app, number) == OrderStatus.CANCELLED
    assert _due(app) == [(number, amount, "LEM", "cancelled")]
    [text] = _told(app, "refund_due")
    assert "4,80 Léman" in text and "annulée" in text


def test_an_e_leman_payment_in_another_currency_is_not_counted(app: App, shop: dict[str, int], node_key, node) -> None:  # type: ignore[no-untyped-def]
    """The transaction called another currency's contract: not Léman, whatever the webhook says."""
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference, contract=OTHER_CURRENCY_CONTRACT)
    outcome = receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet))
    assert (outcome.outcome, outcome.reason) == ("refund", "other_currency")
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
    assert _due(app) == [(number, amount, "XXX", "other_currency")]
    assert len(_told(app, "refund_due")) == 1


def test_an_e_leman_leg_paid_twice_lists_the_second_payment(app: App, shop: dict[str, int], node_key, node) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    for _ in range(2):
        tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference)
        receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet))
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PAID
    assert _due(app) == [(number, amount, "LEM", "already_paid")]


# --- the admin's side --------------------------------------------------------------------------------------


def test_an_admin_lists_refunds_and_marks_one_refunded(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number = _order(app, shop, "chf")
    reference = _legs(app, number)[LegMethod.QR_BILL][1]
    _import(app, camt054(Entry(reference, "30.00", acct_ref="TX-1")))
    with app.db.uow() as uow:
        [credit] = refunds(uow)
        mark_refunded(uow, credit.id, "bank transfer 2026-11-26", app.settings)
        uow.commit()
        with pytest.raises(NoSuchRefund):
            mark_refunded(uow, credit.id)
        assert refunds(uow) == [] and [c.refund_status for c in refunds(uow, True)] == [RefundStatus.REFUNDED]
    [text] = _told(app, "refunded")
    assert text == f"✅ Commande {number} : nous vous avons remboursé 5,90 CHF."


@pytest.fixture
def cli(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The admin command line on the tests' database (on PostgreSQL, in the tests' schema)."""
    monkeypatch.setenv("DATABASE_URL", app.db.url)
    if app.db.is_postgres:
        with app.db.engine.connect() as conn:
            schema = conn.exec_driver_sql("SHOW search_path").scalar()
        monkeypatch.setattr(bootstrap, "build_app", functools.partial(bootstrap.build_app, schema=schema))
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.setattr(console, "width", 200)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(admin_cli.cli, ["--lang", "en", *args])
        return result.exit_code, result.output.replace("\xa0", " ")

    return run


def test_payments_refunds_and_refunded_on_the_command_line(app: App, shop, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("payments", "refunds") == (0, "Nothing to refund.\n")
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    _cancel(app, shop, number)
    code, out = cli("payments", "import", str(_file(app, camt054(Entry(reference, str(amount), acct_ref="TX-9")))))
    assert code == 0 and f"│ to refund │ {reference} │ CHF 24.10 │ order cancelled" in out
    code, out = cli("payments", "refunds")
    with app.db.uow() as uow:
        credit_id = refunds(uow)[0].id
    row = [cell.strip() for cell in next(line for line in out.splitlines() if number in line).split("│")[1:-1]]
    assert code == 0 and row[:3] == [str(credit_id), number, "bank"]
    assert row[4:] == ["CHF 24.10", "order cancelled", "CH5604835012345678009", "due"]
    assert cli("payments", "refunded", str(credit_id), "--note", "e-banking") == (
        0, f"Refund #{credit_id} marked refunded: 24.10 CHF.\n",
    )  # fmt: skip
    assert cli("payments", "refunds") == (0, "Nothing to refund.\n")
    assert "refunded" in cli("payments", "refunds", "--all")[1]
    code, out = cli("payments", "refunded", str(credit_id))
    assert code == 1 and "No refund" in out
    with app.db.uow() as uow:
        assert get_order(uow, number).status == OrderStatus.CANCELLED


def _file(app: App, data: bytes) -> Path:
    path = app.settings.data_dir / "camt-refund.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
