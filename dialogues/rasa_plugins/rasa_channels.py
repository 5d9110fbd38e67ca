"""Rasa's REST channel, with pressed buttons spared the NLU pipeline.

Runs inside the Rasa server (Python 3.10, Rasa 3.6), loaded by credentials.yml as
`rasa_channels.ButtonRestInput`; it imports nothing of the marketplace.

Why: a button's payload (`/add_to_basket{"product": "#84"}`) already says the intent and entities, yet
Rasa runs every NLU component on it before its RegexMessageHandler overrides their answer. Here such a
payload is unpacked by that same Rasa code and handed to the processor as the message's parse data, so
the turn goes on exactly as before (same text, metadata, slot extraction, policies) minus the NLU work.
Typed text, and payloads naming an intent the domain does not know, still go through the pipeline.

Who may post: only a process holding the channel secret (the bot process, or a local script that reads
it), sent in the `X-Smartket-Channel-Secret` header; Rasa gets it in $SMARTKET_CHANNEL_SECRET and refuses
to start without it. A request without it gets 401, a wrong one 403, and nothing is processed. `GET
/webhooks/rest/status` tells whether a model is loaded (the bots' readiness check; Rasa's own `/status`
belongs to its HTTP API, which stays off unless an admin turns it on).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from sanic import response
from sanic.request import Request

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"  # dialogues/domain.yml
# Named as the entities' extractor, so a tracker shows which path parsed a message.
EXTRACTOR = "ButtonRestInput"
SECRET_ENV = "SMARTKET_CHANNEL_SECRET"
SECRET_HEADER = "X-Smartket-Channel-Secret"
# Longer texts are refused before any work: Rasa spends about 35 s of CPU on a 100 kB message, and the bots
# refuse such messages themselves (bot/router.py).
MAX_TEXT = 4096
FALLBACK_INTENT = "nlu_fallback"


def payload_parse_data(text: str, domain: Domain) -> dict[str, Any] | None:
    """The parse data of a button payload, as the NLU pipeline would end with; None for anything else."""
    if not text or not text.strip().startswith(INTENT_MESSAGE_PREFIX):
        return None
    message = YAMLStoryReader.unpack_regex_message(Message({TEXT: text}), domain, EXTRACTOR)
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if intent is None or intent not in domain.intents:
        return None
    return message.as_dict(only_output_properties=True)


def unreadable_payload_parse_data(text: str) -> dict[str, Any]:
    """A text starting with "/" that is not one of our payloads (unknown intent, broken JSON, "/ greet"):
    not understood, with no entities. Left to the NLU, "/forget" would be read as clear_basket."""
    intent = {INTENT_NAME_KEY: FALLBACK_INTENT, "confidence": 1.0}
    return {TEXT: text, INTENT: intent, "entities": [], "intent_ranking": [intent]}


def secret_refusal(provided: str | None, secret: bytes) -> int | None:
    """The HTTP status refusing a request that carries `provided` as its secret (401 none, 403 wrong);
    None lets it in. Compared in constant time."""
    if not provided:
        return 401
    return None if hmac.compare_digest(provided.encode(), secret) else 403


def too_long(request: Request) -> bool:
    """A message whose text is over MAX_TEXT characters (its body is over 8 bytes per character allowed)."""
    if len(request.body or b"") > 8 * MAX_TEXT + 4096:
        return True
    try:
        body = request.json
    except Exception:  # not JSON: RestInput answers it
        return False
    text = body.get("message") if isinstance(body, dict) else None
    return isinstance(text, str) and len(text) > MAX_TEXT


class ButtonRestInput(RestInput):
    """Same name and URL as Rasa's `rest` channel (`/webhooks/rest/webhook`), for holders of the secret."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, domain_file: str | None = None, secret: str | None = None) -> None:
        self.domain = Domain.load(domain_file or str(DOMAIN_FILE))
        secret = secret if secret is not None else os.environ.get(SECRET_ENV, "")
        if not secret.strip():
            raise RasaException(f"{SECRET_ENV} is not set: the REST channel accepts no message without a secret")
        self.secret = secret.strip().encode()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ButtonRestInput:
        return cls((credentials or {}).get("domain_file"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Any:
        async def handle(message: UserMessage) -> Any:
            if message.parse_data is None:
                text = message.text or ""
                message.parse_data = payload_parse_data(text, self.domain)
                if message.parse_data is None and text.strip().startswith(INTENT_MESSAGE_PREFIX):
                    message.parse_data = unreadable_payload_parse_data(text)
            return await on_new_message(message)

        webhook = super().blueprint(handle)

        # Blueprint middleware runs for this blueprint's routes only, before their handler.
        @webhook.middleware("request")
        async def require_secret(request: Request) -> Any:
            if request.method in ("GET", "HEAD"):  # the health and readiness checks say nothing of anyone
                return None
            status = secret_refusal(request.headers.get(SECRET_HEADER), self.secret)
            if status is not None:
                error = "no channel secret" if status == 401 else "wrong channel secret"
                return response.json({"error": error}, status=status)
            if too_long(request):
                return response.json({"error": f"message longer than {MAX_TEXT} characters"}, status=413)
            return None

        @webhook.route("/status", methods=["GET"])
        async def status(request: Request) -> Any:
            agent = getattr(request.app.ctx, "agent", None)
            ready = agent is not None and agent.is_ready()
            return response.json({"ready": ready}, status=200 if ready else 503)

        return webhook
