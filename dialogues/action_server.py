"""The custom-action server (rasa-sdk, Python 3.11), bound to 127.0.0.1 unless told otherwise.

Only Rasa may call it: every request but `/health` must carry the action secret (marketplace/secrets.py)
in the `X-Smartket-Action-Secret` header that Rasa sends from endpoints.yml (dialogues/runtime.py);
without it the answer is 401 and nothing runs. An action call for a sender id that none of our bots
builds (`bob`, or `terminal:…` outside the demo deployment) is answered with a refusal in the channel's
language and runs nothing: no person is created, nothing changes.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.addresses import UnknownSender, sender_address
from dialogues.runtime import ACTION_SECRET_HEADER, ACTIONS_HOST, ACTIONS_PORT
from marketplace import log_privacy
from marketplace.i18n import resolve_language, translate
from marketplace.secrets import ACTIONS, MissingSecret, load_secret, secrets_dir
from marketplace.settings import Settings

if TYPE_CHECKING:
    from rasa_sdk.executor import ActionExecutor
    from sanic import HTTPResponse, Request, Sanic

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})


@dataclass(frozen=True)
class Guard:
    """What the action server checks before running anything (picklable: each Sanic worker gets a copy)."""

    secret: str = field(repr=False)
    demo: bool  # terminal ids accepted
    languages: tuple[str, ...]  # the deployment's, first = default: the refusal's language

    @classmethod
    def for_deployment(cls, settings: Settings) -> Guard:
        secret = load_secret(ACTIONS, settings.data_dir, create=settings.demo)
        return cls(secret, settings.demo, settings.languages)

    def admits(self, provided: str | None) -> bool:
        """Whether a request carries the action secret (compared in constant time)."""
        return bool(provided) and hmac.compare_digest(str(provided).encode(), self.secret.encode())

    def refusal(self, action_call: dict[str, Any]) -> dict[str, Any] | None:
        """The action server's answer refusing a call whose sender id is not one of our bots' chat
        addresses, or None when the sender is fine: one sentence, and Rasa listens again. The id checked is
        the tracker's, which the actions read (Rasa sends the same one beside it)."""
        tracker = action_call.get("tracker")
        sender = tracker.get("sender_id") if isinstance(tracker, dict) else None
        try:
            if not isinstance(sender, str) or action_call.get("sender_id", sender) != sender:
                raise UnknownSender()
            sender_address(sender, demo=self.demo)
            return None
        except UnknownSender as refused:
            lang = resolve_language(self.languages, platform=channel_language(action_call))
            text = translate(refused.message_key, lang)
        return {"events": [{"event": "followup", "name": "action_listen"}], "responses": [{"text": text}]}


def channel_language(action_call: dict[str, Any]) -> str | None:
    """The language the channel's metadata names in the call's latest message, whatever shape the call has."""
    value: Any = action_call
    for key in ("tracker", "latest_message", "metadata", "language"):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def action_call_of(request: Request) -> dict[str, Any] | None:
    """The JSON body of an action call (Rasa may deflate it), or None when it is not one."""
    try:
        raw = zlib.decompress(request.body) if request.headers.get("Content-Encoding") == "deflate" else request.body
        body = json.loads(raw)
    except (zlib.error, ValueError):
        return None
    return body if isinstance(body, dict) else None


def guarded_app(executor: ActionExecutor, guard: Guard) -> Sanic:
    """rasa-sdk's app, with the guard in front of every route but /health."""
    from rasa_sdk.endpoint import create_app_for_serve
    from sanic import response

    app = create_app_for_serve(executor, cors_origins=None, auto_reload=False)

    @app.on_request
    async def check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not guard.admits(request.headers.get(ACTION_SECRET_HEADER)):
            log.warning("refused a request to %s without the action secret", request.path)
            return response.json({"error": "not authenticated"}, status=401)
        if request.path == "/webhook":
            action_call = action_call_of(request)
            refusal = guard.refusal(action_call) if action_call is not None else None
            if refusal is not None:
                log.warning("refused action %s: unknown sender id", str(action_call.get("next_action"))[:64])
                return response.json(refusal)
        return None

    return app


def worker_app(executor: ActionExecutor, guard: Guard) -> Sanic:
    """The app as each Sanic worker process builds it: a fresh process, whose log is scrubbed first."""
    log_privacy.install(log_privacy.secret_values(os.environ) | {guard.secret}, level=logging.INFO)
    return guarded_app(executor, guard)


def serve(guard: Guard, port: int = ACTIONS_PORT, host: str | None = None) -> None:
    """Serve the actions of dialogues.actions behind `guard` (rasa-sdk's `run`, with our app)."""
    # rasa-sdk reads its interface from SANIC_HOST and would listen on 0.0.0.0 by default.
    host = host or os.environ.get("SMARTKET_ACTIONS_HOST", ACTIONS_HOST)
    os.environ.setdefault("ACTION_SERVER_SANIC_WORKERS", "1")
    log_privacy.install(log_privacy.secret_values(os.environ) | {guard.secret}, level=logging.INFO)
    from rasa_sdk import utils
    from rasa_sdk.executor import ActionExecutor
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    executor = ActionExecutor()
    executor.register_package("dialogues.actions")
    loader = AppLoader(factory=partial(worker_app, executor, guard))
    app = loader.load()
    log.info("action server on http://%s:%s", host, port)
    app.prepare(host=host, port=port, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


def main(port: int) -> None:
    """Migrate the schema the actions expect, then serve; a missing secret stops here, saying what to do."""
    from dialogues.actions.base import marketplace
    from marketplace.migrate import upgrade

    try:
        app = marketplace()  # a missing data key stops here too
        guard = Guard.for_deployment(app.settings)
    except MissingSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    log_privacy.install(log_privacy.secret_values(os.environ, secrets_dir(app.settings.data_dir)), level=logging.INFO)
    upgrade(app.db)  # the schema the actions expect, before the first message
    serve(guard, port)


if __name__ == "__main__":
    # Run from the module imported by its name, so what Sanic hands its worker process (the app factory
    # and the guard) is pickled as `dialogues.action_server.…`, not `__main__.…`.
    from dialogues import action_server

    action_server.main(int(os.environ.get("SMARTKET_ACTIONS_PORT", ACTIONS_PORT)))
