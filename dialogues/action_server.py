"""The custom-action server (rasa-sdk, Python 3.11), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import logging
import os

from dialogues.runtime import ACTIONS_HOST, ACTIONS_PORT


def serve(port: int = ACTIONS_PORT, host: str | None = None) -> None:
    # rasa-sdk reads its interface from SANIC_HOST and would listen on 0.0.0.0 by default.
    os.environ["SANIC_HOST"] = host or os.environ.get("SMARTKET_ACTIONS_HOST", ACTIONS_HOST)
    os.environ.setdefault("ACTION_SERVER_SANIC_WORKERS", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rasa_sdk.endpoint import run
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("dialogues.actions")
    run(executor, port=port, cors_origins=None, auto_reload=False)


if __name__ == "__main__":
    from dialogues.actions.base import marketplace
    from marketplace.migrate import upgrade

    upgrade(marketplace().db)  # the schema the actions expect, before the first message
    serve(int(os.environ.get("SMARTKET_ACTIONS_PORT", ACTIONS_PORT)))
