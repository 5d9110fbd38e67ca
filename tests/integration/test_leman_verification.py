"""An e-Léman webhook is a hint, checked at the source: the transaction is looked up on the node (a real
HTTP server on 127.0.0.1, tests/support/leman_node.py) through the production adapter, and only what the
node says is counted."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from bootstrap import App
from checkout.status import OrderStatus
from marketplace.clock import utcnow
from payments.comchain import ComChainNode, NodeUnavailable
from payments.leman import LemanOutcome, check_due, verify_webhook
from payments.models import HintStatus, LegMethod, LegStatus, LemanTransaction, PaymentCredit
from tests.integration.test_payments import SHOP, _legs, _leman_order, _status, receive, sign, webhook
from tests.support.leman_node import OTHER_CURRENCY_CONTRACT, FakeLemanNode, settings_with_node

D = Decimal
ATTACKER = "0x" + "e" * 40


@pytest.fixture
def node_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def node(app: App) -> Iterator[FakeLemanNode]:
    with FakeLemanNode() as fake:
        app.settings = settings_with_node(app.settings, fake.url)
        yield fake


def _credits(app: App) -> list[tuple[str, D, D, str]]:
    with app.db.uow() as uow:
        rows = uow.session.scalars(select(PaymentCredit).order_by(PaymentCredit.id))
        return [(c.credit_key, c.amount, c.counted, c.refund_reason) for c in rows]


def _hint(app: App, tx: str) -> tuple[str, int]:
    with app.db.uow() as uow:
        hint = uow.session.scalars(select(LemanTransaction).where(LemanTransaction.tx_hash == tx)).one()
        return hint.status, hint.attempts


# --- forging a body under a valid signature ----------------------------------------------------------------


def forge_crc32(body: bytes, target: int, filler: bytes) -> bytes:
    """`body` with the run of "0"s `filler` turned into "0"s and "1"s so that its CRC32 is `target`.

    CRC32 is affine in the message bits: turning the i-th "0" into "1" flips one bit, which XORs a fixed
    32-bit delta into the CRC. Solving delta-combination = crc(body) ^ target over GF(2) picks which ones."""
    start = body.index(filler)
    base = zlib.crc32(body)
    deltas = []
    for i in range(len(filler)):
        flipped = bytearray(body)
        flipped[start + i] ^= 1  # "0" (0x30) <-> "1" (0x31)
        deltas.append(zlib.crc32(bytes(flipped)) ^ base)
    basis: list[tuple[int, int]] = []  # (vector, which flips make it), distinct leading bits, highest first
    for i, delta in enumerate(deltas):
        vector, mask = delta, 1 << i
        for b_vector, b_mask in basis:
            if vector ^ b_vector < vector:
                vector, mask = vector ^ b_vector, mask ^ b_mask
        if vector:
            basis.append((vector, mask))
            basis.sort(reverse=True)
    want, mask = base ^ target, 0
    for b_vector, b_mask in basis:
        if want ^ b_vector < want:
            want, mask = want ^ b_vector, mask ^ b_mask
    assert want == 0, "not enough free bits"
    forged = bytearray(body)
    for i in range(len(filler)):
        if mask >> i & 1:
            forged[start + i] ^= 1
    return bytes(forged)


def test_a_forged_body_under_a_valid_signature_is_refused_and_the_order_stays_unpaid(
    app: App, shop: dict[str, int], node_key, node
) -> None:  # type: ignore[no-untyped-def]
    """The attacker pays 1 Léman (pending) for an order of theirs and receives the node's signed PENDING
    webhook. The signature covers `id|create_time|store_id|crc32(body)`: they rewrite the body (completed,
    the victim order's reference, its amount) and fix the CRC32. The signature still verifies; the node,
    asked about that hash, says otherwise."""
    number, reference, amount, wallet = _leman_order(app, shop)  # the order to have marked paid
    own_number, own_reference, _, _ = _leman_order(app, shop)  # the attacker's own order
    tx = node.pay(wallet, 100, store_id=SHOP, store_ref=own_reference, sender=ATTACKER, final=False)
    genuine, headers = webhook(node_key, tx, own_reference, 100, wallet=wallet, event="PENDING", sender=ATTACKER)

    payload = json.loads(genuine)
    payload["event_type"], payload["summary"] = "PAYMENT.SALE.COMPLETED", "0" * 64
    payload["resource"].update(reference=reference, state="completed")
    payload["resource"]["amount"].update(sent=int(amount * 100), recieved=int(amount * 100))
    forged = forge_crc32(json.dumps(payload).encode(), zlib.crc32(genuine), b"0" * 64)

    assert forged != genuine and zlib.crc32(forged) == zlib.crc32(genuine)
    claims = verify_webhook(forged, headers, node_key.public_key())  # the signature still verifies
    assert (claims.completed, claims.reference, claims.amount) == (True, reference, amount)
    assert headers["COMCHAIN-TRANSMISSION-SIG"] == sign(node_key, payload, forged)  # the very same signature

    outcome = receive(app, node_key, forged, headers)
    assert outcome.outcome == "refused" and "reference, amount" in outcome.reason
    assert node.lookups(tx) == 1
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
    assert _status(app, number) == OrderStatus.PLACED and _credits(app) == []
    # The genuine webhook for that hash still counts what was really paid, for the order it really paid.
    node.confirm(tx)
    done = webhook(node_key, tx, own_reference, 100, wallet=wallet, sender=ATTACKER)
    assert receive(app, node_key, *done) == LemanOutcome("partial", own_number)
    assert _credits(app) == [(tx, D("1.00"), D("1.00"), "")]
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING


def test_a_genuine_webhook_is_confirmed_by_the_node_and_counted_once(
    app: App, shop: dict[str, int], node_key, node
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    tx = node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference, kind="TransferCredit")
    posted = webhook(node_key, tx, reference, int(amount * 100), wallet=wallet)
    assert receive(app, node_key, *posted) == LemanOutcome("paid", number)
    assert receive(app, node_key, *posted).outcome == "duplicate"
    assert _credits(app) == [(tx, amount, amount, "")]
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PAID
    assert _hint(app, tx) == (HintStatus.COMPLETED, 0)


@pytest.mark.parametrize(
    ("on_the_node", "reason"),
    [
        ({"recipient": "0x" + "d" * 40}, "the webhook disagrees with the node on: recipient"),
        ({"cents": 100}, "the webhook disagrees with the node on: amount"),
        ({"store_ref": "GE-OTHER-1"}, "the webhook disagrees with the node on: reference"),
        ({"kind": "Pledge"}, "not a payment (Pledge)"),
        ({"unknown": True}, "the node does not know this transaction"),
    ],
    ids=["other-recipient", "other-amount", "other-reference", "not-a-payment", "unknown-hash"],
)
def test_a_webhook_the_node_contradicts_is_refused(
    app: App, shop: dict[str, int], node_key, node, on_the_node: dict, reason: str
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(
        on_the_node.get("recipient", wallet), on_the_node.get("cents", cents), store_id=SHOP,
        store_ref=on_the_node.get("store_ref", reference), kind=on_the_node.get("kind", "Transfer"),
    )  # fmt: skip
    if on_the_node.get("unknown"):
        del node.ledger[tx]
    assert receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet)) == LemanOutcome(
        "refused", reason=reason
    )
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
    assert _credits(app) == [] and _hint(app, tx)[0] == HintStatus.REFUSED


def test_a_payment_pending_on_the_node_is_not_confirmed_until_the_node_says_final(
    app: App, shop: dict[str, int], node_key, node
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference, final=False)
    # The webhook claims COMPLETED; the node says pending: not counted, looked up again later.
    assert receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet)) == LemanOutcome(
        "pending", number
    )
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PENDING and _credits(app) == []
    assert _status(app, number) == OrderStatus.PLACED and _hint(app, tx) == (HintStatus.PENDING, 1)
    client = ComChainNode(node.url, "Monnaie-Leman")
    try:
        assert check_due(app.db, app.settings, client) == []  # not due yet
        later = utcnow() + timedelta(hours=1)
        assert check_due(app.db, app.settings, client, now=later) == [LemanOutcome("pending", number)]
        node.confirm(tx)
        assert check_due(app.db, app.settings, client, now=later + timedelta(hours=1)) == [LemanOutcome("paid", number)]
    finally:
        client.close()
    assert _credits(app) == [(tx, amount, amount, "")]


def test_a_forged_webhook_for_a_hash_already_waiting_does_not_spoil_the_genuine_hint(
    app: App, shop: dict[str, int], node_key, node
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference, final=False)
    assert receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet)).outcome == "pending"
    liar = receive(app, node_key, *webhook(node_key, tx, "GE-OTHER-1", cents, wallet=wallet))
    assert liar.outcome == "refused" and _hint(app, tx)[0] == HintStatus.PENDING
    node.confirm(tx)
    client = ComChainNode(node.url, "Monnaie-Leman")
    try:
        outcomes = check_due(app.db, app.settings, client, now=utcnow() + timedelta(hours=2))
    finally:
        client.close()
    assert outcomes == [LemanOutcome("paid", number)]


@pytest.mark.parametrize("trouble", ["down", "http-503", "timeout", "too-large", "node-error"])
def test_when_the_node_cannot_say_nothing_is_confirmed_and_the_hint_is_retried(
    app: App, shop: dict[str, int], node_key, node, trouble: str
) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    cents = int(amount * 100)
    tx = node.pay(wallet, cents, store_id=SHOP, store_ref=reference)
    if trouble == "down":
        node.stop()
    node.failing = 503 if trouble == "http-503" else None
    node.delay = 1.5 if trouble == "timeout" else 0.0
    node.oversized = trouble == "too-large"
    if trouble == "node-error":
        node.failing = None
        node.answer = lambda _path: (200, json.dumps({"error": True, "msg": "geth not reachable"}).encode())  # type: ignore[method-assign]
    outcome = receive(app, node_key, *webhook(node_key, tx, reference, cents, wallet=wallet), timeout=0.5)
    assert outcome.outcome == "queued"
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING and _credits(app) == []
    assert _hint(app, tx) == (HintStatus.UNVERIFIED, 1)
    # The node is back: the payment jobs look the hint up again and confirm it.
    if trouble == "down":
        node.start()
    node.failing, node.delay, node.oversized = None, 0.0, False
    node.__dict__.pop("answer", None)
    client = ComChainNode(node.url, "Monnaie-Leman")
    try:
        assert check_due(app.db, app.settings, client, now=utcnow() + timedelta(minutes=5)) == [
            LemanOutcome("paid", number)
        ]
    finally:
        client.close()
    assert _credits(app) == [(tx, amount, amount, "")]


def test_the_adapter_reads_the_node_api_shapes(node: FakeLemanNode) -> None:
    """Lookup by hash (answer encoded twice), the wallet's list, the currency's contracts; limits."""
    wallet = "0x" + "c" * 40
    tx = node.pay(wallet, 480, store_id=SHOP, store_ref="GE-1-2", final=False)
    client = ComChainNode(node.url, "Monnaie-Leman", max_bytes=64 * 1024)
    try:
        found = client.transaction(tx)
        assert found is not None and (found.final, found.amount, found.reference, found.recipient) == (
            False, D("4.80"), "GE-1-2", wallet,
        )  # fmt: skip
        node.confirm(tx)
        assert client.transaction(tx).final
        assert client.transaction("0x" + "0" * 64) is None
        assert [t.tx_hash for t in client.recent(wallet)] == [tx]
        assert OTHER_CURRENCY_CONTRACT not in client.currency_contracts() and len(client.currency_contracts()) == 2
        with pytest.raises(ValueError, match="not a transaction hash"):
            client.transaction("0x1&evil=1")
        node.oversized = True
        with pytest.raises(NodeUnavailable, match="too large"):
            client.transaction(tx)
    finally:
        client.close()
