"""Delivers the outbox: claims due messages, sends each on its platform, marks it sent or schedules a retry.

Runs in the bot process next to the channels. Several dispatchers may run at once (claims are atomic).
Each message is marked `sending` (committed) just before it is handed to the platform. A dispatcher that
dies after that leaves the row `sending`; when its lease expires the next dispatcher sends it again only
on platforms that drop duplicates of our key (Matrix transaction ids), and reports it `in_doubt`
elsewhere (Telegram), so nobody gets a message twice. Rows it had claimed but not started are simply
sent by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from marketplace import outbox
from marketplace.db import Database

log = logging.getLogger(__name__)


class SendError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporarySendError(SendError):
    """Worth retrying later: network trouble, server errors, flood limits."""


class PermanentSendError(SendError):
    """Retrying will not help: the person blocked the bot, the chat does not exist."""


class Sender(Protocol):
    name: str
    idempotent: bool  # True when sending twice with the same key shows the message once

    async def deliver(
        self, destination: str, text: str, key: str, buttons: tuple[tuple[str, str], ...] = ()
    ) -> str:
        """Send `text` (with `buttons`, (title, payload) pairs, when given); return the platform's id of it."""
        ...


class OutboxDispatcher:
    def __init__(self, db: Database, senders: list[Sender], interval: float = 1.0, batch: int = 20) -> None:
        self.db = db
        self.senders = {s.name: s for s in senders}
        self.interval = interval
        self.batch = batch
        self._stopping = asyncio.Event()

    def _claim(self) -> list[outbox.Claimed]:
        with self.db.uow() as uow:
            return outbox.claim_due(uow, {n: s.idempotent for n, s in self.senders.items()}, limit=self.batch)

    def _start(self, message_id: int) -> bool:
        with self.db.uow() as uow:
            return outbox.start_sending(uow, message_id)

    def _sent(self, message_id: int, remote_id: str) -> None:
        with self.db.uow() as uow:
            outbox.mark_sent(uow, message_id, remote_id)

    def _failed(self, message_id: int, error: SendError, permanent: bool) -> str:
        with self.db.uow() as uow:
            return outbox.mark_failed(uow, message_id, str(error), permanent=permanent, retry_after=error.retry_after)

    async def deliver_due(self) -> int:
        """One pass: send what is due now. Returns how many were sent."""
        sent = 0
        for message in await asyncio.to_thread(self._claim):
            sender = self.senders[message.platform]
            if not await asyncio.to_thread(self._start, message.id):
                continue  # taken back by an admin or another dispatcher meanwhile
            try:
                if message.buttons:  # only senders that render buttons get them (an admin's Approve / Refuse)
                    remote_id = await sender.deliver(message.destination, message.text, message.key, message.buttons)
                else:
                    remote_id = await sender.deliver(message.destination, message.text, message.key)
            except (TemporarySendError, PermanentSendError) as exc:
                permanent = isinstance(exc, PermanentSendError)
                status = await asyncio.to_thread(self._failed, message.id, exc, permanent)
                log.warning("outbox message %s not delivered (%s): now %s", message.id, exc, status)
                continue
            except Exception as exc:  # an adapter bug must not stop the dispatcher; retry later
                log.exception("outbox message %s: unexpected error", message.id)
                await asyncio.to_thread(self._failed, message.id, TemporarySendError(repr(exc)), False)
                continue
            await asyncio.to_thread(self._sent, message.id, remote_id)
            sent += 1
        return sent

    async def run(self) -> None:
        log.info("outbox dispatcher started for %s", ", ".join(self.senders))
        while not self._stopping.is_set():
            try:
                busy = await self.deliver_due()
            except Exception:  # the database away for a moment: keep going
                log.exception("outbox pass failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        self._stopping.set()
