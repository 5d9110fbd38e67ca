"""Helpers for authorisation tests: what the database holds, and which language a reply is written in.

`snapshot` reads every row of every marketplace table, so a refused attempt can be shown to change nothing
(not only the columns a test thought of); `languages_of` tells which catalogs in `locales/` a reply comes from,
so a refusal can be shown to be a sentence of ours in the person's language, not a stack trace or French.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from typing import Any

from babel.messages.pofile import read_po
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import select

from marketplace.db import Base, Database
from marketplace.i18n import LOCALES_DIR
from marketplace.settings import SUPPORTED_LANGUAGES

# Rows that first contact creates for anyone who writes (a person, their chat address, an empty basket) and
# the language a person's last message settled on: writing to the bot is no change to someone else's data.
FIRST_CONTACT_TABLES = frozenset({"people", "chat_identities", "baskets"})

Snapshot = dict[str, Counter[tuple[Any, ...]]]


def snapshot(db: Database) -> Snapshot:
    """Every row of every table but `FIRST_CONTACT_TABLES`, as a multiset of value tuples per table."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in FIRST_CONTACT_TABLES]
    with db.engine.connect() as conn:
        return {t.name: Counter(tuple(map(_hashable, row)) for row in conn.execute(select(t))) for t in tables}


def _hashable(value: Any) -> Any:
    """JSON columns (a product's names in four languages) come back as dicts and lists."""
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """What differs, per table: rows that appeared ("added") and rows that are gone or changed ("removed")."""
    diff: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, Counter()), after.get(name, Counter())
        added, removed = sorted((new - old).elements(), key=repr), sorted((old - new).elements(), key=repr)
        if added or removed:
            diff[name] = {"added": added, "removed": removed}
    return diff


# --- the language of a reply --------------------------------------------------------------------------

MIN_LITERAL_LETTERS = 4  # a template line with fewer letters of its own ("{order}: {status}") tells nothing


def _template_line(line: str) -> re.Pattern[str] | None:
    """ "Stock de « {product} » : {stock}" -> a pattern matching that line with any values filled in."""
    pieces = re.split(r"\{[a-z_]+\}", line)
    if sum(c.isalpha() for c in "".join(pieces)) < MIN_LITERAL_LETTERS:
        return None
    return re.compile(".+?".join(re.escape(piece) for piece in pieces), re.DOTALL)


@cache
def _templates(lang: str) -> tuple[re.Pattern[str], ...]:
    """Every line of every message of the catalog of `lang`, read from the .po file (what other work adds
    to the catalogs counts as soon as it is written)."""
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        messages = read_po(po, locale=lang)
    lines = {line.strip() for message in messages if message.id and isinstance(message.string, str)
             for line in message.string.splitlines() if line.strip()}  # fmt: skip
    return tuple(p for p in map(_template_line, sorted(lines)) if p is not None)


def languages_of(reply: str) -> set[str]:
    """The languages whose catalog holds every line of `reply` (values aside); empty when some line is no
    sentence of ours, in any one language."""
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return {
        lang
        for lang in SUPPORTED_LANGUAGES
        if lines and all(any(p.fullmatch(line) for p in _templates(lang)) for line in lines)
    }


# --- what the action server serves ----------------------------------------------------------------------


def served_actions() -> set[str]:
    """The names of the custom actions the action server registers (as `dialogues/action_server.py` does)."""
    executor = ActionExecutor()
    executor.register_package("dialogues.actions")
    return {name for name in executor.actions if name}


# --- a conversation with the bot's earlier messages in it --------------------------------------------------


def bot_event(message: dict[str, Any]) -> dict[str, Any]:
    """The `bot` event Rasa records for a message an action sent (as `rasa.core.actions.action.create_bot_utterance`
    does): text, rich data, and every other key of the message as the event's metadata."""
    rest = {key: value for key, value in message.items() if value}
    data = {key: rest.pop(key, None) for key in ("elements", "quick_replies", "buttons", "attachment", "custom")}
    data["image"] = rest.pop("image", None)
    data["attachment"] = data["attachment"] or data["image"]
    return {"event": "bot", "text": rest.pop("text", None), "data": data, "metadata": rest}


def after_messages(answer: Tracker, messages: list[dict[str, Any]]) -> Tracker:
    """`answer` (the tracker after one user message) with the bot's `messages` just before that message: the
    person answers what they were shown (a summary to confirm, whose metadata the answer may need)."""
    events = [*answer.events[:-1], *map(bot_event, messages), answer.events[-1]]
    return Tracker.from_dict(
        {
            "sender_id": answer.sender_id,
            "slots": answer.slots,
            "latest_message": answer.latest_message,
            "events": events,
            "active_loop": answer.active_loop,
            "latest_action_name": answer.latest_action_name,
        }
    )
