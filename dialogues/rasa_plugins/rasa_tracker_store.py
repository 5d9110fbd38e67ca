"""Rasa's SQL tracker store, bounded: a turn loads only the latest events of a conversation.

Runs inside the Rasa server (Python 3.10, Rasa 3.6, SQLAlchemy 1.4), loaded by endpoints.yml as
`rasa_tracker_store.WindowedSQLTrackerStore`; it imports nothing of the marketplace.

Why: Rasa's SQLTrackerStore replays every event of the current session on every turn, so turn 200 of a
conversation costs several times turn 5. Our policies look back five turns and our actions keep the
state that matters (basket, language, orders) in the marketplace database, so the last `window` events
are enough (a form still open is always loaded from its start). Events are still all stored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event


class WindowedSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self, domain: Any = None, window: int = 40, keep_slots: tuple[str, ...] = ("language",), **kwargs: Any
    ) -> None:
        super().__init__(domain, **kwargs)
        self.window = int(window)
        # Slots that outlive the window: the language a person chose in the chat must not fall back to the
        # platform's when the choice is more than `window` events old (a checkout form makes many events).
        self.keep_slots = tuple(keep_slots)
        # How many stored events each retrieved tracker holds, between retrieve and save: the events after
        # them are the new ones to store (Rasa's lock store serialises the turns of one conversation).
        self._loaded: dict[str, int] = {}
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        event = self.SQLEvent
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            newest_first = query.order_by(None).order_by(event.id.desc())
            # Light columns of the latest events only (never the whole session: that grows with every turn),
            # to choose where the window starts.
            meta = newest_first.with_entities(event.id, event.type_name).limit(self.window * 2).all()[::-1]
            if not meta:
                return None
            start_id = meta[self._window_start([m.type_name for m in meta])].id
            # A form still open is loaded from its start, however far back (its state lives in that event).
            loop = newest_first.with_entities(event.id, event.action_name).filter(event.type_name == "active_loop")
            last_loop = loop.first()
            if last_loop is not None and last_loop.action_name and last_loop.id < start_id:
                start_id = last_loop.id
            rows = query.filter(event.id >= start_id).all()
            # The latest setting of each kept slot, when it is older than the window (a SlotSet row keeps the
            # slot's name in `action_name`).
            kept = [
                older
                for name in self.keep_slots
                if (older := newest_first.filter(event.type_name == "slot", event.action_name == name).first())
                is not None
                and older.id < start_id
            ]
        if not self.domain:
            return None
        events = [json.loads(r.data) for r in [*kept, *rows]]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._loaded[sender_id] = len(tracker.events)
        return tracker

    def _window_start(self, types: list[str]) -> int:
        """Index of the first event to load: the latest `window` events, starting on a user message."""
        start = max(0, len(types) - self.window)
        while start > 0 and types[start] != "user":
            start -= 1
        return start

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        loaded = self._loaded.pop(tracker.sender_id, None)
        if loaded is None:  # a tracker this store did not load (a new conversation): Rasa's own count
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, loaded, len(tracker.events))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Wait for the marketplace's writers instead of failing, and do not fsync every turn (WAL stays safe).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
