"""A real Synapse homeserver for the Matrix end-to-end tests.

    python -m tests.support.synapse install     # once (make synapse-install); cached outside the checkout

Synapse lives in its own virtualenv (`$SMARTKET_CACHE/synapse-<version>-py<x.y>`) so that its pinned
dependencies never clash with the project's. `SynapseServer` starts a throwaway homeserver in a temporary
directory: SQLite, one client listener on 127.0.0.1, no federation key servers, rate limits off, users
registered with the shared secret. Nothing here reaches beyond the loopback interface at run time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYNAPSE_VERSION = "1.163.2"
CACHE = Path(os.environ.get("SMARTKET_CACHE", Path.home() / ".cache" / "smartketplace"))
VENV = CACHE / f"synapse-{SYNAPSE_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"
MARKER = VENV / ".installed"
UNLIMITED = {"per_second": 10000, "burst_count": 10000}


def installed_python() -> Path | None:
    """The Synapse virtualenv's python, or None when `install` has not run."""
    return VENV / "bin" / "python" if MARKER.exists() else None


def ensure_installed() -> Path:
    python = installed_python()
    if python is not None:
        return python
    print(f"Installing Synapse {SYNAPSE_VERSION} into {VENV} (once) ...", flush=True)
    if VENV.exists():
        shutil.rmtree(VENV)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, f"matrix-synapse=={SYNAPSE_VERSION}"], check=True)
    MARKER.write_text(SYNAPSE_VERSION)
    return VENV / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


def _config(directory: Path, port: int, secret: str) -> dict[str, Any]:
    return {
        "server_name": "localhost",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(directory / "log.config"),
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": secret,
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        "rc_message": UNLIMITED,
        "rc_registration": UNLIMITED,
        "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
        "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
        "rc_joins_per_room": UNLIMITED,
        "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
        "rc_3pid_validation": UNLIMITED,
        "rc_admin_redaction": UNLIMITED,
        "rc_room_creation": UNLIMITED,
    }


LOG_CONFIG = """version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {path}
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


class SynapseServer:
    """A throwaway homeserver: `with SynapseServer() as hs: hs.register("alice")`."""

    def __init__(self, keep: bool = False, start_timeout: float = 120.0) -> None:
        python = installed_python()
        if python is None:
            raise RuntimeError(
                "Synapse is not installed: run `make synapse-install` (python -m tests.support.synapse install)"
            )
        self.python = python
        self.keep = keep
        self.start_timeout = start_timeout
        self.directory = Path(tempfile.mkdtemp(prefix="synapse-"))
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        self.server_name = "localhost"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "homeserver.log"

    def start(self) -> None:
        (self.directory / "media").mkdir()
        (self.directory / "log.config").write_text(LOG_CONFIG.format(path=self.log_file))
        # JSON is valid YAML: no YAML writer needed on this side.
        config = self.directory / "homeserver.yaml"
        config.write_text(json.dumps(_config(self.directory, self.port, self.secret), indent=2))
        subprocess.run(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
            check=True,
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        output = open(self.directory / "stdout.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=self.directory,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Synapse exited ({self.process.returncode}):\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {self.start_timeout:.0f} s:\n{self._tail()}")

    def _tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("stdout.log", "homeserver.log"):
            path = self.directory / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def register(
        self, localpart: str, password: str | None = None, admin: bool = False, displayname: str | None = None
    ) -> RegisteredUser:
        """A new user, through the shared-secret registration API (HMAC-SHA1 over nonce, user, password)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        message = b"\x00".join(
            [nonce.encode(), localpart.encode(), password.encode(), b"admin" if admin else b"notadmin"]
        )
        mac = hmac.new(self.secret.encode(), message, hashlib.sha1).hexdigest()
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac}
        if displayname:
            body["displayname"] = displayname
        answer = self._request("POST", "/_synapse/admin/v1/register", body)
        return RegisteredUser(answer["user_id"], password, answer["access_token"], answer["device_id"])


if __name__ == "__main__":
    if sys.argv[1:] == ["install"]:
        print(f"Synapse ready: {ensure_installed()}")
    else:
        sys.exit("usage: python -m tests.support.synapse install")
