"""`rasa run`, with the HTTP API token taken from the environment instead of the command line.

Runs inside Rasa's virtualenv (Python 3.10): `python -m rasa_launch run ... --enable-api`. Rasa reads its
API token only from `--auth-token`, and a process's command line can be read by every user of the machine
(`ps`), so the token travels in $SMARTKET_RASA_API_TOKEN (readable by the same user only) and is added to
the arguments here, inside the process. The API is never served without a token.
"""

from __future__ import annotations

import os
import sys

TOKEN_ENV = "SMARTKET_RASA_API_TOKEN"


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


def main() -> None:
    token = os.environ.pop(TOKEN_ENV, "")  # not passed on to anything Rasa starts
    sys.argv = ["rasa", *arguments(sys.argv[1:], token)]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
