"""Run the Rasa side of the marketplace: its own Python 3.10 virtualenv, training, the servers.

Rasa 3.6 needs Python 3.10 and pins old libraries, so it lives in `.venv-rasa` (a link to a cached
virtualenv outside the checkout) and is driven from here over the command line and HTTP. This module
only uses the standard library and the project's settings: it never imports Rasa.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from marketplace.settings import PROJECT_ROOT, Settings

RASA_VERSION = "3.6.21"
DIALOGUES = PROJECT_ROOT / "dialogues"
RASA_VENV_LINK = PROJECT_ROOT / ".venv-rasa"
TRAINING_INPUTS = ("config.yml", "domain.yml", "data")
RASA_HOST, RASA_PORT = "127.0.0.1", 5005
ACTIONS_HOST, ACTIONS_PORT = "127.0.0.1", 5055


class RasaSetupError(RuntimeError):
    """The Rasa side cannot be set up; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("SMARTKET_CACHE", Path.home() / ".cache" / "smartketplace"))


def _is_python310(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == "(3, 10)"


def find_python310() -> str:
    """$RASA_PYTHON, else python3.10 on PATH, else pyenv's 3.10 — or a clear error."""
    candidates = [os.environ.get("RASA_PYTHON", ""), shutil.which("python3.10") or ""]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root, "versions").glob("3.10.*/bin/python"))
    for candidate in candidates:
        if candidate and _is_python310(candidate):
            return candidate
    raise RasaSetupError(
        "Rasa 3.6 needs Python 3.10 and none was found. Install it (e.g. `pyenv install 3.10.13`, "
        "or `apt-get install python3.10 python3.10-venv`), or point RASA_PYTHON=/path/to/python3.10."
    )


def rasa_bin() -> Path:
    return RASA_VENV_LINK / "bin" / "rasa"


def ensure_rasa_venv() -> Path:
    """Create (or reuse from the cache) the Rasa virtualenv and link it as .venv-rasa."""
    venv = cache_dir() / f"rasa-{RASA_VERSION}-py3.10"
    marker = venv / ".complete"
    if not marker.exists():
        python = find_python310()
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip", "setuptools<70", "wheel"], check=True)
        subprocess.run([*pip, f"rasa=={RASA_VERSION}", "psycopg2-binary>=2.9,<3"], check=True)
        marker.write_text(RASA_VERSION)
    if RASA_VENV_LINK.is_symlink() or RASA_VENV_LINK.exists():
        if RASA_VENV_LINK.resolve() == venv.resolve():
            return venv
        if RASA_VENV_LINK.is_symlink():
            RASA_VENV_LINK.unlink()
        else:
            shutil.rmtree(RASA_VENV_LINK)
    RASA_VENV_LINK.symlink_to(venv)
    return venv


def training_fingerprint() -> str:
    """Hash of everything Rasa trains on: a changed file means a new model."""
    digest = hashlib.sha256(RASA_VERSION.encode())
    for name in TRAINING_INPUTS:
        path = DIALOGUES / name
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(DIALOGUES)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def models_dir() -> Path:
    return Path(os.environ.get("SMARTKET_MODELS", cache_dir() / "models"))


def model_path() -> Path:
    return models_dir() / f"smartket-{training_fingerprint()}.tar.gz"


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env |= {"SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    env |= {"RASA_TELEMETRY_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    # Rasa's training cache goes next to the models, not into the checkout.
    env["RASA_CACHE_DIRECTORY"] = str(cache_dir() / "rasa-training-cache")
    env["PYTHONPATH"] = str(DIALOGUES / "rasa_plugins")  # our Rasa plug-ins, and nothing of the Python 3.11 side
    return env


def train(force: bool = False) -> Path:
    """Train the model unless one with the same fingerprint exists (from the cache)."""
    ensure_rasa_venv()
    target = model_path()
    if target.exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(rasa_bin()), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
            "--out", str(target.parent), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ],
        cwd=DIALOGUES,
        env=rasa_env(),
        check=True,
    )  # fmt: skip
    return target


@dataclass(frozen=True)
class TrackerStore:
    """Rasa's SQL tracker store settings, derived from the marketplace's database URL."""

    dialect: str
    db: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> TrackerStore:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            return cls("sqlite", url.split("///", 1)[1])
        if scheme in ("postgresql", "postgres"):
            return cls("postgresql", parts.path.lstrip("/"), parts.hostname, parts.port, parts.username, parts.password)
        raise RasaSetupError(f"no Rasa tracker store for database {scheme!r}")

    def yaml(self) -> str:
        lines = ["tracker_store:", "  type: rasa_tracker_store.WindowedSQLTrackerStore", "  window: 40"]
        lines += [f"  dialect: {self.dialect}", f"  db: {self.db!r}"]
        for key in ("host", "port", "username"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"  {'url' if key == 'host' else key}: {value!r}")
        if self.password is not None:
            lines.append("  password: ${RASA_TRACKER_PASSWORD}")
        return "\n".join(lines)


def write_endpoints(settings: Settings, actions_url: str | None = None) -> Path:
    """Endpoints for this deployment: our action server, and the marketplace's database as tracker store."""
    runtime = settings.data_dir / "rasa"
    runtime.mkdir(parents=True, exist_ok=True)
    store = TrackerStore.from_url(settings.database_url)
    url = actions_url or f"http://{ACTIONS_HOST}:{ACTIONS_PORT}/webhook"
    path = runtime / "endpoints.yml"
    path.write_text(f"action_endpoint:\n  url: {url!r}\n{store.yaml()}\n", encoding="utf-8")
    return path


def rasa_server_command(
    settings: Settings, model: Path, port: int = RASA_PORT, host: str = RASA_HOST, actions_port: int = ACTIONS_PORT
) -> list[str]:
    endpoints = write_endpoints(settings, f"http://{ACTIONS_HOST}:{actions_port}/webhook")
    return [
        str(rasa_bin()), "run", "--enable-api", "--interface", host, "--port", str(port),
        "--model", str(model), "--endpoints", str(endpoints),
        "--credentials", str(DIALOGUES / "credentials.yml"),
    ]  # fmt: skip


class Servers:
    """The action server and the Rasa server as child processes: started together, stopped together."""

    def __init__(self, settings: Settings, rasa_port: int = RASA_PORT, actions_port: int = ACTIONS_PORT,
                 log_dir: Path | None = None) -> None:  # fmt: skip
        self.settings, self.rasa_port, self.actions_port = settings, rasa_port, actions_port
        self.log_dir = log_dir or settings.data_dir / "logs"
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def rasa_url(self) -> str:
        return f"http://{RASA_HOST}:{self.rasa_port}"

    def start(self) -> None:
        model = train()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ) | {
            "SMARTKET_CONFIG": str(self.settings.config_path),
            "SMARTKET_ACTIONS_PORT": str(self.actions_port),
            "SMARTKET_DATA_DIR": str(self.settings.data_dir),  # payment files go where the bot reads them
        }
        if self.settings.database_url_override:
            env["DATABASE_URL"] = self.settings.database_url_override
        self._spawn([sys.executable, "-m", "dialogues.action_server"], env, "actions.log", cwd=PROJECT_ROOT)
        command = rasa_server_command(self.settings, model, self.rasa_port, actions_port=self.actions_port)
        self._spawn(command, rasa_env() | rasa_password_env(self.settings), "rasa.log", cwd=DIALOGUES)

    def _spawn(self, command: list[str], env: dict[str, str], log_name: str, cwd: Path) -> None:
        log = open(self.log_dir / log_name, "ab")  # noqa: SIM115 - lives as long as the process
        self.processes.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT))

    def wait_ready(self, timeout: float = 240.0) -> None:
        """Block until Rasa has loaded its model and the action server answers."""
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RasaSetupError(f"a server stopped (exit {process.returncode}); see {self.log_dir}")
            try:
                with urllib.request.urlopen(f"{self.rasa_url}/status", timeout=2) as r:
                    rasa_ok = b"model_file" in r.read()
                with urllib.request.urlopen(f"http://{ACTIONS_HOST}:{self.actions_port}/health", timeout=2) as r:
                    if rasa_ok and r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        raise RasaSetupError(f"servers not ready after {timeout:.0f} s; see {self.log_dir}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def __enter__(self) -> Servers:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rasa_password_env(settings: Settings) -> dict[str, str]:
    password = urlsplit(settings.database_url).password
    return {"RASA_TRACKER_PASSWORD": password} if password else {}


def main(argv: list[str]) -> int:  # pragma: no cover - thin CLI used by the Makefile
    command = argv[1] if len(argv) > 1 else "train"
    try:
        if command == "venv":
            print(ensure_rasa_venv())
        elif command == "train":
            print(train(force="--force" in argv))
        else:  # serving is `admin_cli.py rasa serve`
            print(f"usage: {argv[0]} venv|train", file=sys.stderr)
            return 2
    except RasaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
