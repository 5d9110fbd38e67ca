"""A job of the bot process that runs every so often until the process stops (privacy purge, catalog sync)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs `run_once` after `first_delay` seconds, then every `interval` seconds; a failed round is logged and the
    next one tries again (the database away for a moment must not stop the job for good). Subclasses set `name`,
    `interval`, `first_delay` and define `run_once`."""

    name = "periodic-job"
    interval: float
    first_delay: float

    def __init__(self) -> None:
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> Any:
        raise NotImplementedError

    async def _run(self) -> None:
        delay = self.first_delay
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            try:
                await self.run_once()
            except Exception:
                log.exception("%s failed; the next round tries again", self.name)
            delay = self.interval

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
