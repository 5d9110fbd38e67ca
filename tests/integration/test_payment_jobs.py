"""The bot process's payment work: the e-Léman webhook endpoint over HTTP, and polling a (fake) node."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bootstrap import App
from bot.payment_jobs import WEBHOOK_PATH, LemanWebhook, PaymentJobs
from payments.models import LegMethod, LegStatus
from tests.integration.test_payments import _legs, _leman_order, webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_node_key(app: App, tmp_path: Path, key: rsa.RSAPrivateKey, node_url: str = "") -> App:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "node.pem").write_bytes(pem)
    leman = replace(app.settings.payments.leman, public_key_file=tmp_path / "node.pem", node_url=node_url)
    app.settings = replace(app.settings, payments=replace(app.settings.payments, leman=leman))
    return app


def test_the_webhook_endpoint_counts_a_signed_payment_and_refuses_a_forged_one(app: App, shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _with_node_key(app, tmp_path, key)
    number, reference, amount, wallet = _leman_order(app, shop)
    body, headers = webhook(key, "0xweb1", reference, int(amount * 100), wallet=wallet)
    port = free_port()

    async def scenario() -> list[tuple[int, dict]]:
        endpoint = LemanWebhook(app, "127.0.0.1", port)
        await endpoint.start()
        try:
            async with aiohttp.ClientSession() as http:
                answers = []
                for sent_headers in ({**headers, "COMCHAIN-TRANSMISSION-SIG": "Zm9yZ2Vk"}, headers, headers):
                    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                    async with http.post(url, data=body, headers=sent_headers) as response:
                        answers.append((response.status, await response.json()))
                return answers
        finally:
            await endpoint.stop()

    forged, first, replayed = asyncio.run(scenario())
    assert forged[0] == 401
    assert first == (200, {"ok": True, "outcome": "paid"}) and replayed[1]["outcome"] == "duplicate"
    assert _legs(app, number)[LegMethod.LEMAN][2] == LegStatus.PAID


def test_polling_the_node_catches_a_payment_whose_webhook_never_came(app: App, shop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    number, reference, amount, wallet = _leman_order(app, shop)
    transactions = [
        {"id": "0xpoll1", "status": "COMPLETED", "store_id": "ge-consomme-local", "reference": reference,
         "addr_from": "0xabc", "addr_to": wallet, "amount": {"sent": int(amount * 100), "recieved": int(amount * 100)},
         "currency": "LEM"},
        {"id": "0xother", "status": "COMPLETED", "store_id": "someone-else", "reference": "x", "addr_from": "0x1",
         "addr_to": "0x2", "amount": {"sent": 100, "recieved": 100}, "currency": "LEM"},
    ]  # fmt: skip

    class FakeNode(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(transactions if self.path.startswith("/transactions") else []).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    node = ThreadingHTTPServer(("127.0.0.1", 0), FakeNode)
    threading.Thread(target=node.serve_forever, daemon=True).start()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _with_node_key(app, tmp_path, key, node_url=f"http://127.0.0.1:{node.server_address[1]}")
    try:
        outcomes = asyncio.run(PaymentJobs(app).poll_node())
        again = asyncio.run(PaymentJobs(app).poll_node())
    finally:
        node.shutdown()
    assert outcomes == ["paid"] and again == ["duplicate"]
    assert _legs(app, number)[LegMethod.LEMAN][:3:2] == (amount, LegStatus.PAID)
    assert amount > Decimal(0)
