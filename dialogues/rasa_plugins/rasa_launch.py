"""`rasa run`, with the HTTP API token taken from the environment instead of the command line.

Runs inside Rasa's virtualenv (Python 3.10): `python -m rasa_launch run ... --enable-api`. Rasa reads its
API token only from `--auth-token`, and a process's command line can be read by every user of the machine
(`ps`), so the token travels in $SMARTKET_RASA_API_TOKEN (readable by the same user only) and is added to
the arguments here, inside the process. The API is never served without a token.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

TOKEN_ENV = "SMARTKET_RASA_API_TOKEN"
# Standard library only, so it runs here too; this virtualenv has nothing of the marketplace installed.
LOG_PRIVACY = Path(__file__).resolve().parents[2] / "marketplace" / "log_privacy.py"


def arguments(argv: list[str], token: str) -> list[str]:
    """`argv` with `--auth-token` added when the API is on; SystemExit when it is on without a token."""
    if any(a in ("-t", "--auth-token") or a.startswith("--auth-token=") for a in argv):
        raise SystemExit("pass the Rasa API token in $SMARTKET_RASA_API_TOKEN, never on the command line")
    if "--enable-api" not in argv:
        return argv
    if len(token.strip()) < 16:
        raise SystemExit(f"Rasa's HTTP API is served only with a token: set {TOKEN_ENV} (16 characters or more)")
    # One argument: a token starting with "-" (token_urlsafe makes one in 64) is not read as an option.
    return [*argv, f"--auth-token={token.strip()}"]


def private_logs() -> None:
    """Rasa's log without what people write nor our secrets (marketplace/log_privacy.py): its structured lines
    as JSON, whose fields that module reads, and every record scrubbed as it is made."""
    os.environ["FORCE_JSON_LOGGING"] = "1"  # read by Rasa at import: set before
    spec = importlib.util.spec_from_file_location("log_privacy", LOG_PRIVACY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["log_privacy"] = module
    spec.loader.exec_module(module)
    module.install(module.secret_values(os.environ))


def main() -> None:
    private_logs()  # before Rasa is imported; reads the API token before it leaves the environment
    token = os.environ.pop(TOKEN_ENV, "")  # not passed on to anything Rasa starts
    sys.argv = ["rasa", *arguments(sys.argv[1:], token)]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
