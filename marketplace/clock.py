"""The one clock of the marketplace: timezone-aware UTC timestamps for rows and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
