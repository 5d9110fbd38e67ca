"""Payment work the bot process does besides chatting: the e-Léman webhook endpoint, a polling fallback
for late webhooks, and the payment-deadline job.

The webhook endpoint listens on LEMAN_WEBHOOK_LISTEN (default 127.0.0.1) : LEMAN_WEBHOOK_PORT, path
/leman/webhook; put it behind the public HTTPS proxy the node posts to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from typing import Any

import httpx
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bootstrap import App
from payments.deadlines import cancel_overdue
from payments.leman import (
    COMPLETED,
    LemanEvent,
    WebhookRejected,
    apply_event,
    load_public_key,
    verify_webhook,
)

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/leman/webhook"


class LemanWebhook:
    name = "leman-webhook"

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 8089) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None
        self._key: rsa.RSAPublicKey | None = None

    def _public_key(self) -> rsa.RSAPublicKey:
        if self._key is None:
            payments = self.app.settings.payments
            path = payments.leman.public_key_file if payments and payments.leman else None
            if path is None:
                raise WebhookRejected("no node key configured (payments.leman.public_key_file)", 503)
            self._key = load_public_key(path.read_bytes())
        return self._key

    def _apply(self, event: LemanEvent) -> str:
        with self.app.db.uow() as uow:
            outcome = apply_event(uow, self.app.settings, event)
            uow.commit()
            return outcome.outcome

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verify_webhook(body, request.headers, self._public_key())
            outcome = await asyncio.to_thread(self._apply, event)
        except WebhookRejected as rejected:
            log.warning("e-Léman webhook rejected: %s", rejected)
            return web.json_response({"ok": False, "error": str(rejected)}, status=rejected.status)
        log.info("e-Léman webhook: %s", outcome)
        return web.json_response({"ok": True, "outcome": outcome})

    async def start(self) -> None:
        webapp = web.Application(client_max_size=64 * 1024)
        webapp.router.add_post(WEBHOOK_PATH, self.handle)
        self._runner = web.AppRunner(webapp, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("e-Léman webhook listening on http://%s:%s%s", self.host, self.port, WEBHOOK_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def event_from_node(entry: dict[str, Any]) -> LemanEvent | None:
    """A transaction from the node's list, in the webhook's resource shape plus `id` and `status`
    (the shape our fake node serves; to be checked against a live node before relying on polling)."""
    amount = entry.get("amount") or {}
    cents = amount.get("recieved", amount.get("received", amount.get("sent")))
    if not entry.get("id") or cents is None:
        return None
    return LemanEvent(
        tx_hash=str(entry["id"]),
        completed=str(entry.get("status", "")).upper() in ("COMPLETED", COMPLETED),
        store_id=str(entry.get("store_id", "")),
        reference=str(entry.get("reference", "")),
        sender=str(entry.get("addr_from", "")).lower(),
        recipient=str(entry.get("addr_to", "")).lower(),
        amount=(Decimal(str(cents)) / 100).quantize(Decimal("0.01")),
        currency=str(entry.get("currency", "")),
    )


class PaymentJobs:
    """Every `interval` seconds: ask the node for the shop wallet's recent transactions (in case a webhook
    was lost), and cancel orders unpaid past the deadline."""

    name = "payment-jobs"

    def __init__(self, app: App, interval: float = 300.0, http: httpx.AsyncClient | None = None) -> None:
        self.app, self.interval = app, interval
        self.http = http or httpx.AsyncClient(timeout=20)
        self._stopping = asyncio.Event()

    async def poll_node(self) -> list[str]:
        payments = self.app.settings.payments
        leman = payments.leman if payments else None
        if leman is None or not leman.node_url:
            return []
        try:
            response = await self.http.get(f"{leman.node_url.rstrip('/')}/transactions", params={"addr": leman.wallet})
            entries = response.json() if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("e-Léman node not reachable for polling: %s", exc)
            return []
        outcomes = []
        for entry in entries if isinstance(entries, list) else []:
            event = event_from_node(entry) if isinstance(entry, dict) else None
            if event is None:
                continue
            try:
                outcomes.append(await asyncio.to_thread(self._apply, event))
            except WebhookRejected:
                continue  # another shop's payment, an unknown reference: not ours to count
        return outcomes

    def _apply(self, event: LemanEvent) -> str:
        with self.app.db.uow() as uow:
            outcome = apply_event(uow, self.app.settings, event).outcome
            uow.commit()
            return outcome

    def _deadlines(self) -> list[str]:
        with self.app.db.uow() as uow:
            cancelled = cancel_overdue(uow, self.app.settings)
            uow.commit()
            return cancelled

    async def run_once(self) -> None:
        await self.poll_node()
        cancelled = await asyncio.to_thread(self._deadlines)
        if cancelled:
            log.info("payment deadline passed: cancelled %s", ", ".join(cancelled))

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # the database or the node away for a moment: try again next time
                log.exception("payment jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        self._stopping.set()
