"""Payment work the bot process does besides chatting: the e-Léman webhook endpoint, the jobs that look
e-Léman transactions up on the node (hints not settled yet, and the wallet's latest transactions in case a
webhook was lost), and the payment-deadline job.

The webhook endpoint listens on LEMAN_WEBHOOK_LISTEN (default 127.0.0.1) : LEMAN_WEBHOOK_PORT, path
/leman/webhook; put it behind the public HTTPS proxy the node posts to. A webhook is only a hint: its hash
is stored, then looked up on the node (`payments.leman`); when the node cannot be reached the answer is
202 and the payment jobs look it up again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bootstrap import App
from bot.periodic import PeriodicJob
from marketplace.clock import utcnow
from payments.comchain import ComChainNode
from payments.deadlines import cancel_overdue
from payments.leman import (
    LemanEvent,
    LemanOutcome,
    WebhookRejected,
    check_due,
    load_public_key,
    node_for,
    poll_node,
    receive_webhook,
    verify_webhook,
)
from privacy.retention import PurgeReport, purge

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/leman/webhook"
STATUS = {"refused": 422, "queued": 202}


class LemanWebhook:
    name = "leman-webhook"

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 8089, node: ComChainNode | None = None) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None
        self._key: rsa.RSAPublicKey | None = None
        self._node = node
        self._own_node = node is None

    def _public_key(self) -> rsa.RSAPublicKey:
        if self._key is None:
            payments = self.app.settings.payments
            path = payments.leman.public_key_file if payments and payments.leman else None
            if path is None:
                raise WebhookRejected("no node key configured (payments.leman.public_key_file)", 503)
            self._key = load_public_key(path.read_bytes())
        return self._key

    def _node_client(self) -> ComChainNode | None:
        if self._node is None:
            self._node = node_for(self.app.settings)
        return self._node

    def _receive(self, event: LemanEvent) -> LemanOutcome:
        return receive_webhook(self.app.db, self.app.settings, self._node_client(), event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verify_webhook(body, request.headers, self._public_key())
        except WebhookRejected as rejected:
            log.warning("e-Léman webhook rejected: %s", rejected)
            return web.json_response({"ok": False, "error": str(rejected)}, status=rejected.status)
        result = await asyncio.to_thread(self._receive, event)
        log.info("e-Léman webhook for %s: %s", event.tx_hash, result.outcome)
        if result.outcome == "refused":
            return web.json_response({"ok": False, "error": result.reason}, status=STATUS["refused"])
        return web.json_response({"ok": True, "outcome": result.outcome}, status=STATUS.get(result.outcome, 200))

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
        if self._own_node and self._node is not None:
            self._node.close()


class PaymentJobs:
    """Every `interval` seconds: ask the node for the shop wallet's latest transactions and look up every
    e-Léman hint that is due (new, pending on the node, or the node away last time), then cancel orders
    unpaid past the deadline."""

    name = "payment-jobs"

    def __init__(self, app: App, interval: float = 300.0, node: ComChainNode | None = None) -> None:
        self.app, self.interval = app, interval
        self._node = node
        self._own_node = node is None
        self._stopping = asyncio.Event()

    def _node_client(self) -> ComChainNode | None:
        if self._node is None:
            self._node = node_for(self.app.settings)
        return self._node

    def _leman(self) -> list[LemanOutcome]:
        payments = self.app.settings.payments
        if payments is None or payments.leman is None:
            return []
        return poll_node(self.app.db, self.app.settings, self._node_client())

    async def poll_node(self) -> list[str]:
        """Look up what the node has for us; the outcomes, e.g. ["paid", "queued"]."""
        return [result.outcome for result in await asyncio.to_thread(self._leman)]

    async def check_due(self) -> list[str]:
        """Look up only the hints that are due (no listing of the wallet)."""
        outcomes = await asyncio.to_thread(check_due, self.app.db, self.app.settings, self._node_client())
        return [result.outcome for result in outcomes]

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
            except Exception:  # the database away for a moment: try again next time
                log.exception("payment jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
        if self._own_node and self._node is not None:
            self._node.close()

    def stop(self) -> None:
        self._stopping.set()


class RetentionJob(PeriodicJob):
    """Every [privacy] purge_every_hours, delete or clear the personal data past its retention
    (privacy.retention; `admin_cli.py privacy purge` runs the same). A service of the bot process, started and
    stopped with it; the first purge waits `first_delay` seconds, so a start stays quick."""

    name = "privacy-purge"

    def __init__(
        self,
        app: App,
        interval: float | None = None,
        first_delay: float = 60.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self.app, self.first_delay, self._now = app, first_delay, now
        self.interval = interval if interval is not None else app.settings.privacy.purge_every_hours * 3600.0

    def _purge(self) -> PurgeReport:
        with self.app.db.uow() as uow:
            return purge(uow, self.app.settings, self._now())

    async def run_once(self) -> PurgeReport:
        return await asyncio.to_thread(self._purge)

