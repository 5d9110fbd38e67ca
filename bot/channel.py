"""What the bot process expects of a chat channel (Telegram, Matrix)."""

from __future__ import annotations

from typing import Protocol


class ChannelConfigError(Exception):
    """The channel cannot work with this configuration (bad token, wrong password): retrying is pointless."""


class Channel(Protocol):
    name: str
    idempotent: bool  # sending twice with the same outbox key shows the message once

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, destination: str, text: str, key: str) -> str:
        """Send one outbox message; return the platform's id for it."""
        ...
