"""The shared secrets between our own processes: where each comes from, and how a missing one is made.

Three secrets guard the servers that listen on this machine (see README, "Security"):

- the channel secret: the bot process sends it with every message to Rasa's REST channel;
- the action secret: Rasa sends it with every call to the action server;
- the Rasa API token: needed for Rasa's HTTP API (`/model/parse`, trackers), which is off unless an admin
  turns it on.

Each comes from its environment variable, else from a file in the deployment's data directory
(`<data_dir>/secrets/<name>`, readable by its owner only). A missing file is created only when asked
(the demo deployment, or `admin_cli.py rasa secrets`); anywhere else a missing secret stops the start-up
with a message saying how to provide one. This module uses the standard library only, so any local
script can read a secret the same way.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe

MIN_LENGTH = 16  # characters; ours have 43 (32 random bytes)


@dataclass(frozen=True)
class Secret:
    """One shared secret: its environment variable and its file name under `<data_dir>/secrets/`."""

    env: str
    file: str
    what: str  # for messages: "The REST channel secret"


CHANNEL = Secret("SMARTKET_CHANNEL_SECRET", "channel-secret", "The REST channel secret")
ACTIONS = Secret("SMARTKET_ACTION_SECRET", "action-secret", "The action server secret")
RASA_API = Secret("SMARTKET_RASA_API_TOKEN", "rasa-api-token", "The Rasa API token")
ALL = (CHANNEL, ACTIONS, RASA_API)


class MissingSecret(RuntimeError):
    """A secret is not set, or its file is unsafe; the message says how to fix it (never the value)."""


def secrets_dir(data_dir: Path) -> Path:
    return data_dir / "secrets"


def secret_path(secret: Secret, data_dir: Path) -> Path:
    return secrets_dir(data_dir) / secret.file


def load_secret(secret: Secret, data_dir: Path, env: Mapping[str, str] | None = None, *, create: bool = False) -> str:
    """The secret's value: its environment variable wins, then its file; a missing file is created (0600,
    in a 0700 folder) only with `create`, else MissingSecret."""
    environ = os.environ if env is None else env
    value = environ.get(secret.env, "").strip()
    if value:
        return _checked(value, f"{secret.env}")
    path = secret_path(secret, data_dir)
    if path.exists():
        return _read(path)
    if not create:
        raise MissingSecret(
            f"{secret.what} is not set: set {secret.env}, or create {path} with "
            "`admin_cli.py rasa secrets` (make demo, make rasa, make actions and make run do it for you)"
        )
    return write_secret(path, exclusive=True)


def ensure_secrets(data_dir: Path, env: Mapping[str, str] | None = None) -> dict[Secret, str]:
    """Where each secret comes from ("$VAR" or its file), creating the missing files."""
    environ = os.environ if env is None else env
    sources = {}
    for secret in ALL:
        load_secret(secret, data_dir, environ, create=True)
        from_env = bool(environ.get(secret.env, "").strip())
        sources[secret] = f"${secret.env}" if from_env else str(secret_path(secret, data_dir))
    return sources


def rotate_secret(secret: Secret, data_dir: Path) -> Path:
    """A new value in the secret's file (replaced at once); the servers read it when they start again."""
    path = secret_path(secret, data_dir)
    write_secret(path, exclusive=False)
    return path


def write_secret(path: Path, *, exclusive: bool, value: str | None = None) -> str:
    """Write a new random secret (or `value`) to `path`, created 0600 inside a 0700 folder; with `exclusive`, a
    file that another process created meanwhile is kept and read instead."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # mkdir's mode is masked by the umask, and an older folder may be wider
    value = token_urlsafe(32) if value is None else value
    if exclusive:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read(path)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(value + "\n")
        return value
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(value + "\n")
    os.replace(temporary, path)
    return value


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MissingSecret(f"{path} can be read by other users: `chmod 600 {path}` (and rotate it)")
    return _checked(path.read_text(encoding="utf-8").strip(), str(path))


def _checked(value: str, where: str) -> str:
    if len(value) < MIN_LENGTH:
        raise MissingSecret(f"{where} is shorter than {MIN_LENGTH} characters: use e.g. `openssl rand -hex 32`")
    return value
