"""The bot process's payment work over real HTTP: the e-Léman webhook endpoint, which checks every webhook
on the (fake) node before counting it, and the jobs that look hints up again and poll the node."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bootstrap import App
from bot.payment_jobs import WEBHOOK_PATH, LemanWebhook, PaymentJobs
from checkout.status import OrderStatus
from marketplace.clock import utcnow
from payments.comchain import ComChainNode
from payments.leman import check_due
from payments.models import HintStatus, LegMethod, LegStatus, LemanTransaction
from tests.integration.test_payments import SHOP, _legs, _leman_order, _status, webhook
from tests.support.leman_node import FakeLemanNode, settings_with_node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_node(app: App, tmp_path: Path, key: rsa.RSAPrivateKey, node: FakeLemanNode) -> App:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "node.pem").write_bytes(pem)
    app.settings = settings_with_node(app.settings, node.url, tmp_path / "node.pem")
    return app


def _post_all(app: App, posts: list[tuple[bytes, dict[str, str]]]) -> list[tuple[int, dict]]:
    port = free_port()

    async def scenario() -> list[tuple[int, dict]]:
        endpoint = LemanWebhook(app, "127.0.0.1", port)
        await endpoint.start()
        try:
            async with aiohttp.ClientSession() as http:
                answers = []
                for body, headers in posts:
                    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                    async with http.post(url, data=body, headers=headers) as response:
                        answers.append((response.status, await response.json()))
                return answers
        finally:
            await endpoint.stop()

    return asyncio.run(scenario())


def test_the_webhook_endpoint_counts_a_payment_the_node_confirms_and_refuses_a_forged_signature(
    app: App, shop, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with FakeLemanNode() as node:
        _with_node(app, tmp_path, key, node)
        number, reference, amount, wallet = _leman_order(app, shop)
        tx = node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference)
        body, headers = webhook(key, tx, reference, int(amount * 100), wallet=wallet)
        forged_signature = {**headers, "COMCHAIN-TRANSMISSION-SIG": "Zm9yZ2Vk"}
        forged, first, replayed = _post_all(app, [(body, forged_signature), (body, headers), (body, headers)])
        assert node.lookups(tx) == 1  # the bad signature never reached the node; the replay was known
    assert forged[0] == 401
    assert first == (200, {"ok": True, "outcome": "paid"}) and replayed == (200, {"ok": True, "outcome": "duplicate"})
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PAID


def test_when_the_node_is_down_the_webhook_is_kept_and_confirmed_by_the_jobs_later(app: App, shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    node = FakeLemanNode().start()
    try:
        _with_node(app, tmp_path, key, node)
        number, reference, amount, wallet = _leman_order(app, shop)
        tx = node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference)
        node.stop()  # the node goes away: the port refuses connections
        [answer] = _post_all(app, [webhook(key, tx, reference, int(amount * 100), wallet=wallet)])
        assert answer == (202, {"ok": True, "outcome": "queued"})
        assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.AWAITING
        with app.db.uow() as uow:
            hint = uow.session.query(LemanTransaction).filter_by(tx_hash=tx).one()
            assert (hint.status, hint.attempts) == (HintStatus.UNVERIFIED, 1)
            assert hint.next_check_at is not None and "ConnectError" in hint.last_error
        assert asyncio.run(PaymentJobs(app).check_due()) == []  # not due yet: back-off
        node.start()  # back, on the same port
        leman = app.settings.payments.leman
        client = ComChainNode(leman.node_url, leman.server_name)
        outcomes = check_due(app.db, app.settings, client, now=utcnow() + timedelta(hours=1))
        client.close()
    finally:
        node.stop()
    assert [o.outcome for o in outcomes] == ["paid"]
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PAID


def test_polling_the_node_catches_a_payment_whose_webhook_never_came(app: App, shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with FakeLemanNode() as node:
        _with_node(app, tmp_path, key, node)
        number, reference, amount, wallet = _leman_order(app, shop)
        node.pay(wallet, int(amount * 100), store_id=SHOP, store_ref=reference)
        node.pay(wallet, 100, store_id="someone-else", store_ref="x")  # not a payment to our shop
        node.pay("0x" + "2" * 40, 100, store_id=SHOP, store_ref=reference)  # to another wallet
        outcomes = asyncio.run(PaymentJobs(app).poll_node())
        again = asyncio.run(PaymentJobs(app).poll_node())
    assert outcomes == ["paid"] and again == []
    assert _legs(app, number)[LegMethod.LEMAN][:3:2] == (amount, LegStatus.PAID)
    assert _status(app, number) == OrderStatus.PLACED  # the francs are still to come
