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
    def __init__(self, domain: Any = None, window: int = 40, **kwargs: Any) -> None:
        super().__init__(domain, **kwargs)
        self.window = int(window)
        # Events of the session not loaded into the tracker, per conversation, between retrieve and save.
        self._skipped: dict[str, int] = {}
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            # Light columns first, to choose where the window starts; then the data of that window only.
            meta = query.with_entities(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.action_name).all()
            start = self._window_start(meta)
            rows = query.filter(self.SQLEvent.id >= meta[start].id).all() if meta else []
        if not rows or not self.domain:
            return None
        self._skipped[sender_id] = start
        return DialogueStateTracker.from_dict(sender_id, [json.loads(r.data) for r in rows], self.domain.slots)

    def _window_start(self, meta: list[Any]) -> int:
        """Index of the first event to load: the latest `window` events, starting on a user message,
        and never after the start of a form that is still active (its state lives in that event)."""
        start = max(0, len(meta) - self.window)
        while start > 0 and meta[start].type_name != "user":
            start -= 1
        last_loop = next((i for i in range(len(meta) - 1, -1, -1) if meta[i].type_name == "active_loop"), None)
        if last_loop is not None and meta[last_loop].action_name and last_loop < start:
            start = last_loop
        return start

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        loaded_from = self._skipped.pop(tracker.sender_id, 0)
        return itertools.islice(tracker.events, max(0, stored - loaded_from), len(tracker.events))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Wait for the marketplace's writers instead of failing, and do not fsync every turn (WAL stays safe).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
