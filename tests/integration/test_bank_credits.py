"""Bank credits are stored one row each, under a stable id, and added to a leg once: whatever file repeats
them (a camt.054 notice, then the camt.053 statement), however many credits come without a bank reference."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bootstrap import App
from checkout.models import Order
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from checkout.status import OrderStatus
from payments.camt import parse_camt
from payments.models import CreditSource, LegStatus, PaymentCredit, PaymentLeg
from payments.services import IncomingCredit, legs_of, open_payment, payment_state, record_credit
from tests.conftest import POSTGRES_URL, make_product, person
from tests.integration.test_payments import _import

D = Decimal


@dataclass(frozen=True)
class Entry:
    reference: str
    amount: str
    acct_ref: str = ""  # the bank's reference for the transaction (TxDtls/Refs/AcctSvcrRef)
    entry_ref: str = ""  # NtryRef
    iban: str = "CH5604835012345678009"
    booked: str = "2026-11-24"
    currency: str = "CHF"

    def xml(self) -> str:
        refs = f"<Refs><AcctSvcrRef>{self.acct_ref}</AcctSvcrRef></Refs>" if self.acct_ref else ""
        entry_ref = f"<NtryRef>{self.entry_ref}</NtryRef>" if self.entry_ref else ""
        return f"""<Ntry>{entry_ref}<Amt Ccy="{self.currency}">{self.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{self.booked}</Dt></BookgDt><ValDt><Dt>{self.booked}</Dt></ValDt>
        <NtryDtls><TxDtls>{refs}<Amt Ccy="{self.currency}">{self.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <RltdPties><DbtrAcct><Id><IBAN>{self.iban}</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Strd><CdtrRefInf><Ref>{self.reference}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def camt054(*entries: Entry, message: str = "N1") -> bytes:
    """A camt.054 debit/credit notification (sent as each credit is booked)."""
    body = "".join(e.xml() for e in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>{message}</MsgId><CreDtTm>2026-11-24T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>{message}</Id><Acct><Id><IBAN>CH4431999123000889012</IBAN></Id></Acct>{body}</Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>""".encode()


def camt053(*entries: Entry, message: str = "S1") -> bytes:
    """A camt.053 end-of-day statement, repeating the day's credits."""
    body = "".join(e.xml() for e in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>{message}</MsgId><CreDtTm>2026-11-24T23:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{message}</Id><Acct><Id><IBAN>CH4431999123000889012</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CHF">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-11-24</Dt></Dt></Bal>{body}</Stmt>
</BkToCstmrStmt></Document>""".encode()


def _bill_of_39(app: App, shop: dict[str, int]) -> tuple[str, str]:
    """An order paid in francs by one QR-bill of CHF 39.00: (number, reference)."""
    with app.db.uow() as uow:
        magnum = make_product(uow, "cave-test", "MAG", "Magnum", "39.00", "50", category="wine", unit="piece")
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, magnum, D(1))
        order = place_order(uow, app.settings, buyer, DeliveryChoice("pickup", "", "2026-11-25 17:00-19:00", "chf"))
        [leg] = open_payment(uow, app.settings, order)
        uow.commit()
        assert leg.amount == D("39.00")
        return order.number, leg.reference


def _leg(app: App, number: str) -> tuple[D, str, str]:
    with app.db.uow() as uow:
        order = get_order(uow, number)
        [leg] = legs_of(uow, order)
        return leg.received, leg.status, payment_state(uow, order).state


def _credit_rows(app: App) -> int:
    with app.db.uow() as uow:
        return uow.session.scalar(select(func.count(PaymentCredit.id)))


def test_a_partial_payment_in_a_notice_and_again_in_the_statement_counts_once(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    """39.00 due, 19.50 paid: the camt.054 notice and the camt.053 statement (another entry reference, the
    same bank transaction reference) are one credit. Before: "paid"."""
    number, reference = _bill_of_39(app, shop)
    notice = _import(app, camt054(Entry(reference, "19.50", acct_ref="TX-778", entry_ref="N-1")))
    statement = _import(app, camt053(Entry(reference, "19.50", acct_ref="TX-778", entry_ref="S-31")))
    assert notice.underpaid == [(reference, D("19.50"), D("19.50"))]
    assert statement.duplicates == [reference] and statement.applied == 0
    assert _leg(app, number) == (D("19.50"), LegStatus.AWAITING, "partial")
    with app.db.uow() as uow:
        assert get_order(uow, number).status == OrderStatus.PLACED
    assert _credit_rows(app) == 1


def test_credits_without_any_bank_reference_are_told_apart_by_their_content(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    """Two different credits without a bank reference both count (before: both were `/0`), and the
    statement repeating them adds nothing."""
    number, reference = _bill_of_39(app, shop)
    first = Entry(reference, "19.50", booked="2026-11-23")
    second = Entry(reference, "19.50", booked="2026-11-24", iban="CH9300762011623852957")
    assert _import(app, camt054(first)).underpaid == [(reference, D("19.50"), D("19.50"))]
    assert _import(app, camt054(second, message="N2")).paid == [(reference, D("19.50"))]
    assert _leg(app, number) == (D("39.00"), LegStatus.PAID, "paid")
    repeated = _import(app, camt053(first, second))
    assert repeated.duplicates == [reference, reference] and repeated.refunds == []
    assert _credit_rows(app) == 2


def test_two_identical_credits_in_one_file_are_two_credits_and_their_statement_adds_nothing(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number, reference = _bill_of_39(app, shop)
    same = Entry(reference, "19.50")
    assert len(_import(app, camt054(same, same)).paid + _import(app, camt053(same, same)).paid) == 1
    assert _leg(app, number) == (D("39.00"), LegStatus.PAID, "paid")
    assert _credit_rows(app) == 2


def test_the_same_file_imported_twice_changes_nothing(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    number, reference = _bill_of_39(app, shop)
    file = camt054(Entry(reference, "19.50", acct_ref="TX-1"), Entry(reference, "10.00"))
    _import(app, file)
    assert _import(app, file).already_imported
    assert _leg(app, number) == (D("29.50"), LegStatus.AWAITING, "partial")
    assert _credit_rows(app) == 2


def test_the_stable_id_is_the_servicers_reference_then_the_entry_reference_then_a_content_hash() -> None:
    credits = parse_camt(
        camt054(
            Entry("RF18539007547034", "1.00", acct_ref="TX-9", entry_ref="N-9"),
            Entry("RF18539007547034", "2.00", entry_ref="N-10"),
            Entry("RF18539007547034", "3.00"),
            Entry("RF18539007547034", "3.00"),
        )
    )
    keys = [c.entry_id for c in credits]
    assert keys[:2] == ["ref:TX-9", "entry:N-10"]
    assert keys[2].startswith("sha256:") and keys[2].endswith("#1") and keys[3] == keys[2][:-1] + "2"
    assert [c.debtor_iban for c in credits] == ["CH5604835012345678009"] * 4


# --- idempotence, whatever the order and the repetitions ----------------------------------------------------

# A credit: which of five distinct bank credits (id and amount fixed per id), delivered in a sequence that
# repeats some of them, as files overlapping each other do.
AMOUNTS = [D("0.05"), D("7.00"), D("19.50"), D("25.00"), D("40.00")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    due=st.sampled_from([D("0.05"), D("19.50"), D("39.00"), D("100.00")]),
    deliveries=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=12),
)
@example(due=D("39.00"), deliveries=[2, 2])  # the camt.054 + camt.053 case
def test_a_legs_credits_never_count_one_id_twice(app: App, shop, due: D, deliveries: list[int]) -> None:  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        order_id = uow.session.scalar(select(Order.id).limit(1))
    if order_id is None:  # one order per test database to hang the generated legs on
        _bill_of_39(app, shop)
    with app.db.uow() as uow:
        order_id = uow.session.scalar(select(Order.id).limit(1))
        count = uow.session.scalar(select(func.count(PaymentLeg.id)))
        leg = PaymentLeg(order_id=order_id, method="qr_bill", currency="CHF", amount=due, reference=f"P{count}")
        uow.session.add(leg)
        uow.session.flush()
        for index in deliveries:
            key = f"{leg.reference}:{index}"
            record_credit(uow, leg, IncomingCredit(CreditSource.BANK, key, leg.reference, AMOUNTS[index], "CHF"))
        uow.commit()
        credits = list(uow.session.scalars(select(PaymentCredit).where(PaymentCredit.leg_id == leg.id)))
        distinct = sorted(set(deliveries), key=deliveries.index)
        # Each id is one row; what the leg received is the sum of their counted parts, never more than due.
        assert sorted(c.credit_key for c in credits) == sorted(f"{leg.reference}:{i}" for i in distinct)
        assert leg.received == sum((c.counted for c in credits), D("0.00")) <= due
        # Nothing is lost: what came in is counted or listed to refund, to the centime.
        assert sum((c.counted + c.refund_amount for c in credits), D("0.00")) == sum(AMOUNTS[i] for i in distinct)
        assert (leg.status == LegStatus.PAID) == (sum(AMOUNTS[i] for i in distinct) >= due)


def test_a_leg_paid_before_the_credits_table_keeps_its_credit_and_still_recognises_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0008: what a leg received becomes one credit, keyed so that the bank entry it remembered
    is still a duplicate when a statement repeats it; and the schema goes down and up again."""
    from alembic import command
    from sqlalchemy import text

    from marketplace import migrate
    from marketplace.db import Database

    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(db, "0007")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO orders (id, number, language, delivery_mode, postal_code, goods_total, delivery_fee, total,"
            " leman_payable, platform_commission, created_at, time_slot, payment_method)"
            " VALUES (1, 'GE-OLD', 'fr', 'pickup', '', 39, 0, 39, 0, 0, '2026-11-20', '', 'chf')"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO payment_legs (id, order_id, method, currency, amount, reference, status, received,"
            " external_id, created_at) VALUES (1, 1, 'qr_bill', 'CHF', 39, 'RF18539007547034', 'awaiting', 19.50,"
            " 'bank:TX-778', '2026-11-20')"
        ))  # fmt: skip
    migrate.upgrade(db)
    with db.uow() as uow:
        [credit] = uow.session.scalars(select(PaymentCredit))
        kept = (credit.source, credit.credit_key, credit.leg_id, credit.counted)
        assert kept == ("bank", "ref:TX-778", 1, D("19.50"))
        leg = uow.session.get(PaymentLeg, 1)
        incoming = IncomingCredit(CreditSource.BANK, "ref:TX-778", leg.reference, D("19.50"), "CHF")
        assert record_credit(uow, leg, incoming).outcome == "duplicate"
        assert leg.received == D("19.50")
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        command.upgrade(config, "head")
    from alembic.script import ScriptDirectory

    assert migrate.current_revision(db) == ScriptDirectory.from_config(config).get_current_head()  # 0009 on
    db.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="SQLite runs one writer at a time: no race")
def test_credits_racing_for_one_leg_add_up_and_one_credit_counts_once_on_postgresql(app: App, shop) -> None:  # type: ignore[no-untyped-def]
    """Eight imports and webhooks at once, each in its own transaction: four carry the same credit (a notice and
    its statement imported side by side), four carry other credits. The same credit counts once, the others
    add up to what is due, the rest is listed to refund."""
    number, reference = _bill_of_39(app, shop)
    with app.db.uow() as uow:
        leg_id = legs_of(uow, get_order(uow, number))[0].id
    deliveries = [("TX-SAME", D("19.50"))] * 4 + [(f"TX-{i}", D("10.00")) for i in range(4)]
    gate = threading.Barrier(len(deliveries), timeout=60)

    def deliver(key: str, amount: D) -> str:
        with app.db.uow() as uow:
            leg = uow.session.get(PaymentLeg, leg_id)
            gate.wait()
            outcome = record_credit(uow, leg, IncomingCredit(CreditSource.BANK, key, reference, amount, "CHF")).outcome
            uow.commit()
            return outcome

    with ThreadPoolExecutor(len(deliveries)) as pool:
        outcomes = list(pool.map(lambda d: deliver(*d), deliveries))

    assert outcomes.count("duplicate") == 3
    with app.db.uow() as uow:
        leg = uow.session.get(PaymentLeg, leg_id)
        credits = list(uow.session.scalars(select(PaymentCredit).where(PaymentCredit.leg_id == leg_id)))
        assert sorted(c.credit_key for c in credits) == ["TX-0", "TX-1", "TX-2", "TX-3", "TX-SAME"]
        assert leg.received == sum((c.counted for c in credits), D("0.00")) == D("39.00")
        assert sum((c.refund_amount for c in credits), D("0.00")) == D("59.50") - D("39.00")
        assert get_order(uow, number).status == OrderStatus.PAID
