"""What every custom action shares: the marketplace, who is talking, in which language, and replies.

Actions are thin adapters: they read the tracker, call a service of the core in a worker thread
(the core is synchronous SQLAlchemy), and render the answer from the gettext catalogs.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bootstrap import App, build_app
from bot.addresses import sender_address
from marketplace.accounts import Person, person_for_chat
from marketplace.db import UnitOfWork
from marketplace.errors import MarketplaceError
from marketplace.i18n import (
    error_message,
    format_chf,
    format_number,
    format_sale_quantity,
    format_slot,
    resolve_language,
    translate,
)
from marketplace.settings import SUPPORTED_LANGUAGES

log = logging.getLogger(__name__)


@cache
def marketplace() -> App:
    """The marketplace this action server serves, built on first use (never at import)."""
    return build_app()


def chat_address(sender_id: str) -> str:
    """The sender's chat address as our bots build it (`telegram:<id>`, `matrix:@user:server`, and
    `terminal:<name>` in the demo deployment only). Any other id raises UnknownSender before anyone is
    looked up or created (the action server refuses such calls before any action runs, too)."""
    return sender_address(sender_id, demo=marketplace().settings.demo)


EXTERNAL_PREFIX = "EXTERNAL: "  # Rasa's text for an intent triggered over its HTTP API (trigger_intent)


def typed_text(tracker: Tracker) -> str:
    """What the person typed; empty for an intent triggered over Rasa's API, whose values are entities.
    (Our buttons send `/intent{...}` payloads as text; the form's own reader skips those.)"""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith(EXTERNAL_PREFIX) else text


def metadata_language(tracker: Tracker) -> str | None:
    metadata = tracker.latest_message.get("metadata")  # what the channel's caller sent: any JSON
    lang = str(metadata.get("language") or "")[:2].lower() if isinstance(metadata, dict) else ""
    return lang if lang in SUPPORTED_LANGUAGES else None


def latest_intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def latest_entity(tracker: Tracker, name: str) -> str | None:
    """The entity's value in the latest message (not an older slot value)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") not in (None, ""):
            return str(entity["value"])
    return None


def latest_entities(tracker: Tracker, name: str) -> list[str]:
    """Every value of the entity in the latest message, in order (a button may carry several)."""
    entities = tracker.latest_message.get("entities") or []
    return [str(e["value"]) for e in entities if e.get("entity") == name and e.get("value") not in (None, "")]


@dataclass
class Reply:
    """Collects the answer of one action, rendered in one language."""

    dispatcher: CollectingDispatcher
    lang: str
    lines: list[str] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    # Files to show after the text: (kind, path, caption), kind "image" or "document".
    files: list[tuple[str, str, str]] = field(default_factory=list)
    # What the person may share instead of typing ("location", "contact"): a custom payload after the text,
    # which the chat adapters turn into share buttons (notes: step 8 contract).
    share: list[str] = field(default_factory=list)

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.lang, **params)

    def chf(self, amount: Decimal) -> str:
        return format_chf(amount, self.lang)

    def quantity(self, quantity: Decimal, unit: str) -> str:
        """How much of a product, as the person writes it: "1,5 kg", "3", "2 × 500 g"."""
        return format_sale_quantity(quantity, unit, self.lang)

    def number(self, value: Decimal) -> str:
        """A number as the person writes it: "1,5" in French, "1.5" in English."""
        return format_number(value, self.lang)

    def slot(self, slot: str) -> str:
        """ "2026-11-23 17:00-19:00" -> "lun. 23 nov. 17:00-19:00" in the person's language."""
        return format_slot(slot, self.lang)

    def say(self, key: str, **params: Any) -> None:
        self.lines.append(self.t(key, **params))

    def line(self, text: str) -> None:
        self.lines.append(text)

    def button(self, key: str, payload: str, **params: Any) -> None:
        self.buttons.append({"title": self.t(key, **params), "payload": payload})

    def attach(self, kind: str, path: str, caption: str = "") -> None:
        self.files.append((kind, path, caption))

    def send(self) -> None:
        if self.lines or self.buttons:
            self.dispatcher.utter_message(text="\n".join(self.lines), buttons=self.buttons or None)
            if self.share:
                self.dispatcher.utter_message(json_message={"share": list(self.share)})
        for kind, path, caption in self.files:
            if kind == "image":
                self.dispatcher.utter_message(image=path, text=caption or None)
            else:  # documents travel as custom payloads; each channel sends them natively
                self.dispatcher.utter_message(json_message={"document": path, "caption": caption})
        self.lines, self.buttons, self.files, self.share = [], [], [], []


@dataclass
class Turn:
    """One user turn as an action sees it."""

    app: App
    uow: UnitOfWork
    person: Person
    tracker: Tracker
    reply: Reply

    @property
    def lang(self) -> str:
        return self.reply.lang

    @property
    def intent(self) -> str:
        return latest_intent(self.tracker)

    @property
    def text(self) -> str:
        return typed_text(self.tracker)

    def entity(self, name: str) -> str | None:
        return latest_entity(self.tracker, name)


class MarketplaceAction(Action):
    """Base of our actions: runs `handle` with a unit of work and turns errors into friendly replies."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # rasa-sdk passes the domain positionally; our actions read the tracker only.
        return await asyncio.to_thread(self._run, dispatcher, tracker)

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        app = marketplace()
        # The channel's language until the person is known (an unknown sender is refused in it).
        reply = Reply(dispatcher, resolve_language(app.settings.languages, platform=metadata_language(tracker)))
        events: list[EventType] = []
        try:
            with app.db.uow() as uow:
                person = person_for_chat(uow, chat_address(tracker.sender_id), metadata_language(tracker))
                reply.lang = self._language(tracker, person, app)
                if person.language != reply.lang:
                    person.language = reply.lang
                events = self.handle(Turn(app, uow, person, tracker, reply)) or []
                uow.commit()
        except MarketplaceError as exc:
            reply.lines, reply.buttons, reply.share = [error_message(exc, reply.lang)], [], []
            events = self.on_error(exc)
        except Exception:  # one top-level guard: users get a sentence, the log gets the traceback
            log.exception("action %s failed", self.name())
            reply.lines, reply.buttons, reply.share = [translate("reply.oops", reply.lang)], [], []
            events = []
        reply.send()
        return events

    @staticmethod
    def _language(tracker: Tracker, person: Person, app: App) -> str:
        """A language chosen in the chat wins; then the channel's; then what we knew of the person."""
        chosen, platform = tracker.get_slot("language"), metadata_language(tracker)
        return resolve_language(app.settings.languages, chosen=chosen, platform=platform, known=person.language)

    def handle(self, turn: Turn) -> list[EventType] | None:
        raise NotImplementedError

    def on_error(self, _error: MarketplaceError) -> list[EventType]:
        """Events to return when `handle` raised a marketplace error; none by default."""
        return []


class MarketplaceFormValidation(FormValidationAction, abc.ABC):
    """Base of our form validators (checkout, registration). Abstract, so the action server does not register
    it (rasa-sdk registers every concrete Action subclass by its name)."""

    @abc.abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        # rasa-sdk reads every event as a dict: a malformed one in a tracker posted to us is dropped, not a crash.
        tracker.events = [event for event in tracker.events or [] if isinstance(event, dict)]
        return await super().run(dispatcher, tracker, domain)
