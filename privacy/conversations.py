"""The conversation history the dialogue layer keeps: Rasa's tracker events, stored in the marketplace's own
database (dialogues/rasa_plugins/rasa_tracker_store.py) in the table `events`, one row per event, keyed by
`sender_id` = the chat address (`telegram:123`, `matrix:@ana:example.org`).

Rasa creates that table when its server first starts; a database Rasa never used (unit tests, an admin machine)
has none, and then there is no history to read or delete. The table is described here, outside the
marketplace's metadata, so that migrations never create or change it: it is Rasa's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select

from marketplace.db import UnitOfWork

# The columns of rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def has_tracker_store(uow: UnitOfWork) -> bool:
    """Whether Rasa's event table exists in this database (on PostgreSQL: in the schema of the search path)."""
    return inspect(uow.session.connection()).has_table(EVENTS.name)


def _moment(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else None


def _event(type_name: str, timestamp: float | None, intent: str | None, action: str | None, data: str | None) -> dict:
    """One event as the person reads it: its type, when, and what was said or done (empty fields left out)."""
    try:
        body: dict[str, Any] = json.loads(data or "{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    event: dict[str, Any] = {"type": type_name, "at": _moment(timestamp)}
    if body.get("text"):
        event["text"] = body["text"]
    if intent:
        event["intent"] = intent
    if action and type_name != "slot":  # Rasa files a slot's name under action_name too
        event["action"] = action
    if type_name == "slot":
        event["slot"], event["value"] = body.get("name"), body.get("value")
    if body.get("metadata"):
        event["metadata"] = body["metadata"]  # what the chat channel sent along: channel, language, display name
    return event


def conversation_events(uow: UnitOfWork, address: str) -> list[dict]:
    """Every stored event of the conversation with one chat address, oldest first ([] without a tracker store)."""
    if not has_tracker_store(uow):
        return []
    rows = uow.session.execute(
        select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name, EVENTS.c.action_name, EVENTS.c.data)
        .where(EVENTS.c.sender_id == address)
        .order_by(EVENTS.c.id)
    )
    return [_event(*row) for row in rows]


def forget_conversations(uow: UnitOfWork, addresses: Iterable[str]) -> int:
    """Delete every stored event of these chat addresses; how many. In the caller's transaction.

    Called from inside a conversation (a Rasa action), this runs before Rasa stores the current turn: the
    caller deletes that turn's events once Rasa has answered (or the tracker retention purges them)."""
    senders = sorted(set(addresses))
    if not senders or not has_tracker_store(uow):
        return 0
    result = uow.session.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(senders)))
    return result.rowcount or 0


@dataclass(frozen=True)
class TrackerSummary:
    conversations: int  # distinct chat addresses
    events: int
    oldest: datetime | None


def tracker_summary(uow: UnitOfWork) -> TrackerSummary:
    """How much conversation history is kept, and since when (zeros without a tracker store)."""
    if not has_tracker_store(uow):
        return TrackerSummary(0, 0, None)
    senders, events, oldest = uow.session.execute(
        select(func.count(func.distinct(EVENTS.c.sender_id)), func.count(), func.min(EVENTS.c.timestamp))
    ).one()
    return TrackerSummary(senders or 0, events or 0, datetime.fromtimestamp(oldest, UTC) if oldest else None)
