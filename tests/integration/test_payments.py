"""Payments on the database: legs per order, QR-bills, bank files, e-Léman webhooks, deadlines."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bootstrap import App
from catalog.models import Product
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from checkout.status import OrderStatus
from marketplace.clock import utcnow
from marketplace.outbox import OutboxMessage
from marketplace.settings import SettingsError, load_settings
from payments.camt import BankFileError, import_bank_file
from payments.comchain import ComChainNode
from payments.deadlines import cancel_overdue
from payments.leman import (
    SIGNATURE_HEADER,
    LemanOutcome,
    WebhookRejected,
    payment_request,
    receive_webhook,
    verify_webhook,
)
from payments.models import LegMethod, LegStatus
from payments.qr_bill import make_qr_bill
from payments.references import is_valid_creditor_reference, is_valid_qrr
from payments.refunds import refunds
from payments.services import legs_of, open_payment, payment_state, vendor_breakdown
from tests.conftest import person
from tests.support.leman_node import FakeLemanNode, settings_with_node

D = Decimal


def _order(app: App, shop: dict[str, int], method: str, mode: str = "pickup") -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], D(2))  # 2 x 4.80 at a 50 % Léman vendor
        add_to_basket(uow, buyer, shop["wine"], D(1))  # 14.50 at a 0 % Léman vendor
        choice = DeliveryChoice(mode, "1205" if mode == "delivery" else "", "2026-11-25 17:00-19:00", method)
        order = place_order(uow, app.settings, buyer, choice)
        open_payment(uow, app.settings, order)
        uow.commit()
        return order.number


def _legs(app: App, number: str) -> dict[str, tuple[D, str, str]]:
    with app.db.uow() as uow:
        return {leg.method: (leg.amount, leg.reference, leg.status) for leg in legs_of(uow, get_order(uow, number))}


def _status(app: App, number: str) -> OrderStatus:
    with app.db.uow() as uow:
        return get_order(uow, number).status


# --- legs and QR-bills -----------------------------------------------------------------------


def test_francs_only_is_one_qr_bill_leg_with_a_qrr_reference(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop, "chf")
    legs = _legs(app, number)
    assert list(legs) == [LegMethod.QR_BILL]
    amount, reference, status = legs[LegMethod.QR_BILL]
    assert amount == D("24.10") and is_valid_qrr(reference) and status == LegStatus.AWAITING


def test_mixed_takes_each_vendors_share_in_leman_and_the_rest_in_francs(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop, "mixed", mode="delivery")
    legs = _legs(app, number)
    assert legs[LegMethod.LEMAN][0] == D("4.80")  # half of the tomatoes; the wine vendor takes none
    assert legs[LegMethod.QR_BILL][0] == D("24.10") - D("4.80") + D("7.00")  # plus the delivery fee
    with app.db.uow() as uow:
        breakdown = {p.vendor.slug: (chf, lem) for p, chf, lem in vendor_breakdown(get_order(uow, number))}
    assert breakdown == {"ferme-test": (D("4.80"), D("4.80")), "cave-test": (D("14.50"), D("0.00"))}


def test_the_qr_bill_payload_follows_the_swiss_standard_field_by_field(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop, "chf")
    with app.db.uow() as uow:
        order = get_order(uow, number)
        leg = legs_of(uow, order)[0]
        bill = make_qr_bill(app.settings, order, leg, "de")
        reference = leg.reference
    fields = bill.payload.split("\r\n")
    creditor = app.settings.payments.creditor
    assert fields[:4] == ["SPC", "0200", "1", creditor.iban]
    assert fields[4:11] == ["S", creditor.name, creditor.street, creditor.house_number, creditor.postal_code,
                            creditor.city, "CH"]  # fmt: skip
    assert fields[11:18] == [""] * 7  # ultimate creditor: reserved
    assert fields[18:20] == ["24.10", "CHF"]
    assert fields[20:27] == [""] * 7  # no debtor: we do not keep addresses
    assert fields[27:29] == ["QRR", reference]
    assert number in fields[29] and fields[30] == "EPD"
    assert bill.png.startswith(b"\x89PNG") and bill.pdf.startswith(b"%PDF")
    assert b"Zahlteil" in bill.svg  # the payment part in the person's language


def test_an_ordinary_iban_gets_creditor_references(app: App, shop: dict[str, int]) -> None:
    creditor = replace(app.settings.payments.creditor, iban="CH9300762011623852957")
    app.settings = replace(app.settings, payments=replace(app.settings.payments, creditor=creditor))
    number = _order(app, shop, "chf")
    assert is_valid_creditor_reference(_legs(app, number)[LegMethod.QR_BILL][1])


@pytest.mark.parametrize(
    ("iban", "message"),
    [("CH44 3199 9123 0008 8901 3", "not a valid IBAN"), ("DE89 3704 0044 0532 0130 00", "Swiss or Liechtenstein")],
)
def test_bad_ibans_are_refused_with_a_clear_message(tmp_path, iban: str, message: str) -> None:  # type: ignore[no-untyped-def]
    from marketplace.settings import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('"CH44 3199 9123 0008 8901 2"', f'"{iban}"')
    config = tmp_path / "town.toml"
    config.write_text(text.replace('data_dir = "../var/geneva"', f'data_dir = "{tmp_path}"'), encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(config, environ={})


# --- bank files --------------------------------------------------------------------------------


def camt054(*credits: tuple[str, str, str], version: str = "08") -> bytes:
    """A camt.054 notification with one booked credit entry per (entry ref, reference, amount)."""
    entries = "".join(
        f"""<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="CHF">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-24</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><AcctSvcrRef>{ref}-1</AcctSvcrRef></Refs>
        <Amt Ccy="CHF">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>QRR</Prtry></CdOrPrtry></Tp><Ref>{reference}</Ref>
        </CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for ref, reference, amount in credits
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-24T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><IBAN>CH4431999123000889012</IBAN></Id></Acct>{entries}</Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>""".encode()


def _import(app: App, data: bytes):  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        report = import_bank_file(uow, data, "notification.xml")
        uow.commit()
        return report


def test_a_bank_credit_pays_the_order_once_whatever_the_file_version(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    file = camt054(("E1", reference, str(amount)), version="04")
    report = _import(app, file)
    assert report.paid == [(reference, amount)] and _status(app, number) == OrderStatus.PAID
    assert _import(app, file).already_imported
    again = _import(app, camt054(("E1", reference, str(amount))))  # the same entry in another file
    assert again.duplicates == [reference] and again.applied == 0
    with app.db.uow() as uow:
        assert payment_state(uow, get_order(uow, number)).paid == amount  # counted once


def test_a_second_payment_for_a_paid_leg_is_listed_to_refund_and_the_leg_keeps_its_first(
    app: App, shop: dict[str, int]
) -> None:
    """The customer pays the same QR-bill twice (two bank entries): the second is never counted, and is
    listed to refund."""
    number = _order(app, shop, "chf")
    amount, reference, _ = _legs(app, number)[LegMethod.QR_BILL]
    assert _import(app, camt054(("E1", reference, str(amount)))).paid == [(reference, amount)]
    with app.db.uow() as uow:
        leg = legs_of(uow, get_order(uow, number))[0]
        first = (leg.status, leg.received, leg.paid_at)
    again = _import(app, camt054(("E2", reference, str(amount))))
    assert (again.refunds, again.overpaid, again.applied) == ([(reference, amount, "CHF", "already_paid")], [], 0)
    with app.db.uow() as uow:
        order = get_order(uow, number)
        leg = legs_of(uow, order)[0]
        assert (leg.status, leg.received, leg.paid_at) == first
        assert first[:2] == (LegStatus.PAID, amount)
        assert payment_state(uow, order).paid == amount
        [due] = refunds(uow)
        assert (due.leg_id, due.refund_amount, due.counted, due.refund_reason) == (leg.id, amount, 0, "already_paid")


def test_underpayments_unknown_references_and_overpayments_are_reported(app: App, shop: dict[str, int]) -> None:
    short, full = _order(app, shop, "chf"), _order(app, shop, "chf")
    (short_amount, short_ref, _), (full_amount, full_ref, _) = (
        _legs(app, short)[LegMethod.QR_BILL],
        _legs(app, full)[LegMethod.QR_BILL],
    )
    report = _import(app, camt054(
        ("E1", short_ref, "10.00"), ("E2", "000000000000000000000999995", "5.00"), ("E3", full_ref, "30.00"),
    ))  # fmt: skip
    assert report.underpaid == [(short_ref, D("10.00"), short_amount - D("10.00"))]
    assert report.unknown == [("000000000000000000000999995", D("5.00"))]
    assert report.overpaid == [(full_ref, D("30.00"), D("30.00") - full_amount)]
    assert _status(app, short) == OrderStatus.PLACED and _status(app, full) == OrderStatus.PAID
    with app.db.uow() as uow:
        assert payment_state(uow, get_order(uow, short)).state == "partial"


@pytest.mark.parametrize(
    "data",
    [
        b"<Document><unclosed>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<Document>&lol2;</Document>",
        b'<Document xmlns="urn:example:not-a-bank"><x/></Document>',
    ],
    ids=["malformed", "xml-bomb", "not-camt"],
)
def test_unreadable_files_are_refused_and_change_nothing(app: App, shop: dict[str, int], data: bytes) -> None:
    number = _order(app, shop, "chf")
    with pytest.raises(BankFileError), app.db.uow() as uow:
        import_bank_file(uow, data)
    assert _status(app, number) == OrderStatus.PLACED


# --- e-Léman ---------------------------------------------------------------------------------------------

SHOP = "ge-consomme-local"


@pytest.fixture
def node_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def node(app: App) -> Iterator[FakeLemanNode]:
    """The fake e-Léman node, and the deployment pointed at it."""
    with FakeLemanNode() as fake:
        app.settings = settings_with_node(app.settings, fake.url)
        yield fake


def webhook(key: rsa.RSAPrivateKey, tx: str, reference: str, cents: int, *, wallet: str, event: str = "COMPLETED",
            spelling: str = "resource", store: str = SHOP, sender: str = "0x" + "a" * 40,
            ) -> tuple[bytes, dict[str, str]]:  # fmt: skip
    """A webhook as the node builds and signs it (github.com/com-chain/api, webhook.py)."""
    payload = {
        "id": tx, "create_time": 1795600000, "resource_type": "sale", "event_type": f"PAYMENT.SALE.{event}",
        "summary": "A sale has been completed.",
        spelling: {"id": tx, "create_time": 1795600000, "state": event.lower(), "store_id": store,
                   "reference": reference, "addr_from": sender, "addr_to": wallet,
                   "amount": {"sent": cents, "recieved": cents, "tax": 0, "type": "Transfer",
                              "currency": "Monnaie-Leman"}},
    }  # fmt: skip
    body = json.dumps(payload).encode()
    return body, {SIGNATURE_HEADER: sign(key, payload, body)}


def sign(key: rsa.RSAPrivateKey, payload: dict, body: bytes) -> str:
    resource = payload.get("resource") or payload.get("resources")
    message = f"{payload['id']}|{payload['create_time']}|{resource['store_id']}|{zlib.crc32(body)}".encode()
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _leman_order(app: App, shop: dict[str, int]) -> tuple[str, str, D, str]:
    number = _order(app, shop, "mixed")
    amount, reference, _ = _legs(app, number)[LegMethod.LEMAN]
    return number, reference, amount, app.settings.payments.leman.wallet


def receive(app: App, key: rsa.RSAPrivateKey, body: bytes, headers: dict[str, str], **node_options) -> LemanOutcome:  # type: ignore[no-untyped-def]
    """A webhook through signature check, hint and node lookup, as the webhook endpoint does it."""
    event = verify_webhook(body, headers, key.public_key())
    leman = app.settings.payments.leman
    node = ComChainNode(leman.node_url, leman.server_name, **node_options)
    try:
        return receive_webhook(app.db, app.settings, node, event)
    finally:
        node.close()


def test_the_payment_request_holds_the_six_fields_the_wallet_reads(app: App, shop: dict[str, int]) -> None:
    number, reference, amount, wallet = _leman_order(app, shop)
    with app.db.uow() as uow:
        order = get_order(uow, number)
        request = json.loads(payment_request(app.settings, order, legs_of(uow, order)[1]), parse_float=D)
    assert request == {"address": wallet, "amount": amount, "shopId": SHOP, "txId": reference,
                       "serverName": "Monnaie-Leman", "ref": f"GE consomme local {number}"}  # fmt: skip
    assert all(request.values())


def test_pending_then_completed_then_replayed(app: App, shop: dict[str, int], node_key, node) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference, final=False)
    pending = webhook(node_key, tx, reference, cents, wallet=wallet, event="PENDING")
    assert receive(app, node_key, *pending).outcome == "pending"
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PENDING
    node.confirm(tx)
    completed = webhook(node_key, tx, reference, cents, wallet=wallet, spelling="resources")
    assert receive(app, node_key, *completed) == LemanOutcome("paid", number)
    assert receive(app, node_key, *completed).outcome == "duplicate"
    assert node.lookups(tx) == 2  # the replay was known already: no need to ask
    # Léman paid, francs not yet: partially paid, still placed.
    assert _status(app, number) == OrderStatus.PLACED
    with app.db.uow() as uow:
        assert payment_state(uow, get_order(uow, number)).state == "partial"
    francs, qrr, _ = _legs(app, number)[LegMethod.QR_BILL]
    _import(app, camt054(("E9", qrr, str(francs))))
    assert _status(app, number) == OrderStatus.PAID


def test_bad_signature_other_wallet_and_a_partial_payment(app: App, shop: dict[str, int], node_key, node) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    tx = node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference)
    body, headers = webhook(node_key, tx, reference, int(amount * 100), wallet=wallet)
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(body.replace(b'"tax": 0', b'"tax": 1'), headers, node_key.public_key())
    assert rejected.value.status == 401
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WebhookRejected):
        verify_webhook(body, headers, other_key.public_key())
    elsewhere = node.pay("0x" + "d" * 40, int(amount * 100), store_id=SHOP, store_ref=reference)
    refused = receive(
        app, node_key, *webhook(node_key, elsewhere, reference, int(amount * 100), wallet="0x" + "d" * 40)
    )
    assert refused == LemanOutcome("refused", reason="payment to another wallet")
    one_cent = node.pay(wallet, 1, store_id=SHOP, store_ref=reference)
    assert receive(app, node_key, *webhook(node_key, one_cent, reference, 1, wallet=wallet)).outcome == "partial"
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
    pem = node_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")


# --- deadlines -----------------------------------------------------------------------------------


def test_unpaid_orders_past_the_deadline_are_cancelled_and_their_stock_released(app: App, shop: dict[str, int]) -> None:
    unpaid, on_delivery = _order(app, shop, "chf"), _order(app, shop, "on_delivery")
    with app.db.uow() as uow:
        assert cancel_overdue(uow, app.settings) == []  # not late yet
        later = utcnow() + timedelta(hours=app.settings.payments.deadline_hours + 1)
        assert cancel_overdue(uow, app.settings, now=later) == [unpaid]
        uow.commit()
    assert _status(app, unpaid) == OrderStatus.CANCELLED and _status(app, on_delivery) == OrderStatus.PLACED
    with app.db.uow() as uow:
        assert uow.session.get(Product, shop["tomato"]).stock == D(10) - D(2)  # only the other order's
        told = [m.text for m in uow.session.query(OutboxMessage) if unpaid in m.text]
    assert any("annulée" in text for text in told)


def test_a_chosen_amount_of_leman_is_spread_over_the_vendors_and_capped(app: App, shop: dict[str, int]) -> None:
    from checkout.services import set_leman_wanted

    with app.db.uow() as uow:
        set_leman_wanted(uow, person(uow, shop["consumer"]), D("3.00"))
        uow.commit()
    number = _order(app, shop, "mixed")
    legs = _legs(app, number)
    assert legs[LegMethod.LEMAN][0] == D("3.00") and legs[LegMethod.QR_BILL][0] == D("24.10") - D("3.00")
    with app.db.uow() as uow:
        set_leman_wanted(uow, person(uow, shop["consumer"]), D("500"))  # more than the vendors accept
        uow.commit()
    capped = _legs(app, _order(app, shop, "mixed"))
    assert capped[LegMethod.LEMAN][0] == D("4.80")


def test_with_the_vendor_order_money_flow_each_vendor_is_paid_by_its_own_legs(app: App, shop: dict[str, int]) -> None:
    from payments.models import CreditSource
    from payments.services import IncomingCredit, record_credit

    app.settings = replace(app.settings, payments=replace(app.settings.payments, money_flow="vendor_order"))
    number = _order(app, shop, "mixed", mode="delivery")
    with app.db.uow() as uow:
        order = get_order(uow, number)
        slug = {part.id: part.vendor.slug for part in order.vendor_orders}
        legs = {(leg.method, slug.get(leg.vendor_order_id, "delivery")): leg for leg in legs_of(uow, order)}
        assert {key: leg.amount for key, leg in legs.items()} == {
            (LegMethod.QR_BILL, "ferme-test"): D("4.80"),
            (LegMethod.QR_BILL, "cave-test"): D("14.50"),
            (LegMethod.QR_BILL, "delivery"): D("7.00"),  # the fee: for the whole order
            (LegMethod.LEMAN, "ferme-test"): D("4.80"),  # the cave takes no Léman: no leg
        }
        assert len({leg.reference for leg in legs.values()}) == 4
        assert all(is_valid_qrr(leg.reference) for (method, _), leg in legs.items() if method == LegMethod.QR_BILL)
        refs = {key: (leg.reference, leg.amount) for key, leg in legs.items()}
        fee, farm = legs[LegMethod.QR_BILL, "delivery"], legs[LegMethod.LEMAN, "ferme-test"]
        record_credit(uow, fee, IncomingCredit(CreditSource.BANK, "fee", fee.reference, D("7.00"), "CHF"))
        record_credit(uow, farm, IncomingCredit(CreditSource.LEMAN, "0xferme", farm.reference, D("4.80"), "LEM"))
        uow.commit()

    # The farm's francs come by bank: the farm's part is paid, the cave's is still waiting for its own.
    reference, amount = refs[LegMethod.QR_BILL, "ferme-test"]
    assert _import(app, camt054(("E9", reference, str(amount)))).paid == [(reference, amount)]
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert {p.vendor.slug: p.status for p in order.vendor_orders} == {
            "ferme-test": OrderStatus.PAID,
            "cave-test": OrderStatus.PLACED,
        }
        assert payment_state(uow, order).state == "partial"
    reference, amount = refs[LegMethod.QR_BILL, "cave-test"]
    _import(app, camt054(("E10", reference, str(amount))))
    assert _status(app, number) == OrderStatus.PAID


def test_an_unknown_money_flow_is_refused_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from marketplace.settings import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('money_flow = "order"', 'money_flow = "weekly"')
    config = tmp_path / "town.toml"
    config.write_text(text.replace('data_dir = "../var/geneva"', f'data_dir = "{tmp_path}"'), encoding="utf-8")
    with pytest.raises(SettingsError, match="money_flow 'weekly' must be one of order, vendor_order"):
        load_settings(config, environ={})
