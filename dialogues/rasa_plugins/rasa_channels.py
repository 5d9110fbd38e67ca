"""Rasa's REST channel, with pressed buttons spared the NLU pipeline.

Runs inside the Rasa server (Python 3.10, Rasa 3.6), loaded by credentials.yml as
`rasa_channels.ButtonRestInput`; it imports nothing of the marketplace.

Why: a button's payload (`/add_to_basket{"product": "#84"}`) already says the intent and entities, yet
Rasa runs every NLU component on it before its RegexMessageHandler overrides their answer. Here such a
payload is unpacked by that same Rasa code and handed to the processor as the message's parse data, so
the turn goes on exactly as before (same text, metadata, slot extraction, policies) minus the NLU work.
Typed text, and payloads naming an intent the domain does not know, still go through the pipeline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"  # dialogues/domain.yml
# Named as the entities' extractor, so a tracker shows which path parsed a message.
EXTRACTOR = "ButtonRestInput"


def payload_parse_data(text: str, domain: Domain) -> dict[str, Any] | None:
    """The parse data of a button payload, as the NLU pipeline would end with; None for anything else."""
    if not text or not text.strip().startswith(INTENT_MESSAGE_PREFIX):
        return None
    message = YAMLStoryReader.unpack_regex_message(Message({TEXT: text}), domain, EXTRACTOR)
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if intent is None or intent not in domain.intents:
        return None
    return message.as_dict(only_output_properties=True)


class ButtonRestInput(RestInput):
    """Same name and URL as Rasa's `rest` channel (`/webhooks/rest/webhook`)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, domain_file: str | None = None) -> None:
        self.domain = Domain.load(domain_file or str(DOMAIN_FILE))

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ButtonRestInput:
        return cls((credentials or {}).get("domain_file"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Any:
        async def handle(message: UserMessage) -> Any:
            if message.parse_data is None:
                message.parse_data = payload_parse_data(message.text or "", self.domain)
            return await on_new_message(message)

        return super().blueprint(handle)
