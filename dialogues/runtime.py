"""Run the Rasa side of the marketplace: its own Python 3.10 virtualenv, training, the servers.

    .venv/bin/python -m dialogues.runtime venv            create (or reuse) the Rasa virtualenv
    .venv/bin/python -m dialogues.runtime train [--force]  train the model unless it is cached

Rasa 3.6 needs Python 3.10 and pins old libraries, so it lives in `.venv-rasa` (a link to a cached
virtualenv outside the checkout) and is driven from here over the command line and HTTP. This module
never imports Rasa. The two long set-up steps (installing Rasa, training) write what pip, Rasa and
TensorFlow print to a log file under `~/.cache/smartketplace/logs`, and say on screen what they do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from marketplace.secrets import ACTIONS, CHANNEL, RASA_API, Secret, load_secret
from marketplace.settings import DEMO_ENV, PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from bot.rasa_client import RasaClient

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


# --- long set-up steps: output to a log, a line on screen -------------------------------------------


def logs_dir() -> Path:
    from marketplace.media import private_folder  # set-up and quality logs: owner only, like the runtime's

    return private_folder(cache_dir() / "logs")


def no_progress(_log: str) -> str:
    return ""


@dataclass(frozen=True)
class LongStep:
    """A set-up step that takes minutes: what it does, how often, how long, and where its output goes."""

    doing: str  # "Installing Rasa 3.6.21 ..."
    once: str  # "once per machine"
    takes: str  # "about 3-5 min"
    log: Path
    progress: Callable[[str], str] = no_progress  # the log so far -> a few words ("DIETClassifier: epoch 12/60")


ShowStep = Callable[[LongStep], AbstractContextManager[object]]


def quietly(_step: LongStep) -> AbstractContextManager[object]:
    """Library callers (tests, the bot, the admin CLI's own status line) show nothing."""
    return contextlib.nullcontext()


def read_log(log: Path, limit: int = 1_000_000) -> str:
    """The end of a log, with progress-bar redraws (carriage returns) and colours turned into plain lines."""
    try:
        with log.open("rb") as file:
            file.seek(max(0, log.stat().st_size - limit))
            raw = file.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw).replace("\r", "\n")


def log_tail(log: Path, lines: int = 20) -> str:
    kept = [line for line in read_log(log, 64_000).splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_logged(
    log: Path, *commands: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None,
    append: bool = False,
) -> None:  # fmt: skip
    """Run `commands` one after the other, everything they print going to `log`; the first that fails
    raises RasaSetupError with the log's last lines and its path."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as out:
        for command in commands:
            out.write(f"$ {shlex.join(command)}\n".encode())
            out.flush()
            code = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
            if code != 0:
                out.flush()
                raise RasaSetupError(
                    f"`{shlex.join(command[:3])} ...` failed (exit {code}). Last lines of {log}:\n{log_tail(log)}"
                )


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@contextlib.contextmanager
def on_screen(step: LongStep) -> Iterator[None]:
    """Say what the step does, how often and how long, where its log is; then a spinner with the elapsed
    time and the progress the log shows, and one line when it is over."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    console.print(f"[bold]{step.doing}[/bold] — {step.once}, {step.takes}.")
    console.print(f"  [dim]output in {step.log}[/dim]")
    started = time.monotonic()
    outcome = "[red]✗[/red] failed"
    columns = (SpinnerColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    try:
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("starting", total=None)
            stop = threading.Event()

            def follow_log() -> None:
                while not stop.wait(1.0):
                    progress.update(task, description=step.progress(read_log(step.log)) or "working")

            watcher = threading.Thread(target=follow_log, daemon=True)
            watcher.start()
            try:
                yield
            finally:
                stop.set()
                watcher.join()
        outcome = "[green]✓[/green] done"
    except KeyboardInterrupt:
        outcome = "[yellow]■[/yellow] stopped"
        raise
    finally:
        took = _duration(time.monotonic() - started)
        done = outcome.endswith("done")
        console.print(f"{outcome} in {took}" if done else f"{outcome} after {took} (log: {step.log})")


def pip_progress(log: str) -> str:
    if "Installing collected packages" in log:
        return "installing the packages"
    collected = log.count("\nCollecting ")
    return f"downloading packages ({collected} so far)" if collected else ""


TRAINING_COMPONENT = re.compile(r"Starting to train component '(\w+)'")
EPOCH = re.compile(r"Epochs:.*?(\d+)/(\d+) \[")


def training_progress(log: str) -> str:
    """From Rasa's INFO lines and its epoch bars: the component being trained and its epoch."""
    components = list(TRAINING_COMPONENT.finditer(log))
    if not components:
        return "reading the training data"
    current = components[-1]
    epochs = EPOCH.findall(log, current.end())
    if epochs:
        done, total = epochs[-1]
        return f"{current.group(1)}: epoch {done}/{total}"
    return f"training {current.group(1)}"


def ensure_rasa_venv(show: ShowStep = quietly) -> Path:
    """Create (or reuse from the cache) the Rasa virtualenv and link it as .venv-rasa."""
    venv = cache_dir() / f"rasa-{RASA_VERSION}-py3.10"
    marker = venv / ".complete"
    if not marker.exists():
        python = find_python310()
        venv.parent.mkdir(parents=True, exist_ok=True)
        step = LongStep(
            f"Installing Rasa {RASA_VERSION} and TensorFlow in their own Python 3.10 virtualenv",
            f"once per machine (kept in {venv.parent})",
            "about 3-5 min",
            logs_dir() / "rasa-install.log",
            pip_progress,
        )
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        with show(step):
            run_logged(
                step.log,
                [python, "-m", "venv", "--clear", str(venv)],
                [*pip, "--upgrade", "pip", "setuptools<70", "wheel"],
                [*pip, f"rasa=={RASA_VERSION}", "psycopg2-binary>=2.9,<3"],
            )
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


def train(force: bool = False, show: ShowStep = quietly) -> Path:
    """Train the model unless one with the same fingerprint exists (from the cache)."""
    ensure_rasa_venv(show)
    target = model_path()
    if target.exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    step = LongStep(
        "Training the Rasa model",
        f"once, and again only when dialogues/ changes (models are kept in {target.parent})",
        "about 8 min on 2 cores",
        logs_dir() / "train.log",
        training_progress,
    )
    with show(step):
        run_logged(
            step.log,
            [
                str(rasa_bin()), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
                "--out", str(target.parent), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
            ],
            cwd=DIALOGUES,
            env=rasa_env() | {"LOG_LEVEL": "INFO"},  # INFO: which component trains, and its epochs, into the log
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


# The header Rasa sends the action server with every call, holding the action secret (checked there).
ACTION_SECRET_HEADER = "X-Smartket-Action-Secret"


def write_endpoints(settings: Settings, actions_url: str | None = None) -> Path:
    """Endpoints for this deployment: our action server, called with the action secret (Rasa fills
    `${SMARTKET_ACTION_SECRET}` from its environment, so the file holds no secret), and the marketplace's
    database as tracker store."""
    runtime = settings.data_dir / "rasa"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = TrackerStore.from_url(settings.database_url)
    url = actions_url or f"http://{ACTIONS_HOST}:{ACTIONS_PORT}/webhook"
    path = runtime / "endpoints.yml"
    action = f"action_endpoint:\n  url: {url!r}\n  headers:\n    {ACTION_SECRET_HEADER}: ${{{ACTIONS.env}}}\n"
    path.write_text(f"{action}{store.yaml()}\n", encoding="utf-8")
    return path


def rasa_server_command(
    settings: Settings, model: Path, port: int = RASA_PORT, host: str = RASA_HOST, actions_port: int = ACTIONS_PORT,
    *, api: bool = False,
) -> list[str]:  # fmt: skip
    """`rasa run` serving our REST channel (and `/webhooks/rest/status`) only; with `api`, Rasa's whole HTTP
    API too, behind the token that `rasa_launch` (dialogues/rasa_plugins) takes from the environment."""
    endpoints = write_endpoints(settings, f"http://{ACTIONS_HOST}:{actions_port}/webhook")
    return [
        str(RASA_VENV_LINK / "bin" / "python"), "-m", "rasa_launch", "run", *(["--enable-api"] if api else []),
        "--interface", host, "--port", str(port), "--model", str(model), "--endpoints", str(endpoints),
        "--credentials", str(DIALOGUES / "credentials.yml"),
    ]  # fmt: skip


@dataclass(frozen=True)
class DialogueSecrets:
    """The secrets between the bot, Rasa and the action server (marketplace/secrets.py says where each
    comes from). Missing ones are created in the demo deployment only; elsewhere MissingSecret."""

    channel: str
    actions: str
    api_token: str = ""  # only when Rasa's HTTP API is on

    @classmethod
    def load(cls, settings: Settings, *, api: bool = False, env: Mapping[str, str] | None = None) -> DialogueSecrets:
        def load(secret: Secret) -> str:
            return load_secret(secret, settings.data_dir, env, create=settings.demo)

        return cls(load(CHANNEL), load(ACTIONS), load(RASA_API) if api else "")

    def rasa_env(self) -> dict[str, str]:
        """What Rasa's process needs: the channel secret to check, the action secret to send, the API token."""
        env = {CHANNEL.env: self.channel, ACTIONS.env: self.actions}
        return env | ({RASA_API.env: self.api_token} if self.api_token else {})


def rasa_server_env(settings: Settings, secrets: DialogueSecrets) -> dict[str, str]:
    env = rasa_env() | rasa_password_env(settings) | secrets.rasa_env()
    if not secrets.api_token:
        env.pop(RASA_API.env, None)  # an API token in our own environment must not turn anything on
    return env


class Servers:
    """The action server and the Rasa server as child processes: started together, stopped together.
    Rasa serves our REST channel only, unless `api` turns its HTTP API on (behind the API token)."""

    def __init__(self, settings: Settings, rasa_port: int = RASA_PORT, actions_port: int = ACTIONS_PORT,
                 log_dir: Path | None = None, *, api: bool = False) -> None:  # fmt: skip
        self.settings, self.rasa_port, self.actions_port, self.api = settings, rasa_port, actions_port, api
        self.log_dir = log_dir or settings.data_dir / "logs"
        self.processes: list[subprocess.Popen[bytes]] = []
        self._secrets: DialogueSecrets | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://{RASA_HOST}:{self.rasa_port}"

    @property
    def secrets(self) -> DialogueSecrets:
        if self._secrets is None:
            self._secrets = DialogueSecrets.load(self.settings, api=self.api)
        return self._secrets

    def client(self, timeout: float = 30.0) -> RasaClient:
        """A client of this Rasa holding the channel secret (and the API token when the API is on)."""
        from bot.rasa_client import RasaClient

        return RasaClient(self.rasa_url, timeout, secret=self.secrets.channel, api_token=self.secrets.api_token)

    def start(self) -> None:
        secrets = self.secrets  # before anything starts: a missing secret stops here, with what to do
        model = train()
        env = dict(os.environ) | {
            "SMARTKET_CONFIG": str(self.settings.config_path),
            "SMARTKET_ACTIONS_PORT": str(self.actions_port),
            "SMARTKET_DATA_DIR": str(self.settings.data_dir),  # payment files go where the bot reads them
            DEMO_ENV: "1" if self.settings.demo else "",
            ACTIONS.env: secrets.actions,
        }
        for secret in (CHANNEL, RASA_API):  # the action server needs neither
            env.pop(secret.env, None)
        if self.settings.database_url_override:
            env["DATABASE_URL"] = self.settings.database_url_override
        self._spawn([sys.executable, "-m", "dialogues.action_server"], env, "actions.log", cwd=PROJECT_ROOT)
        command = rasa_server_command(
            self.settings, model, self.rasa_port, actions_port=self.actions_port, api=self.api
        )
        self._spawn(command, rasa_server_env(self.settings, secrets), "rasa.log", cwd=DIALOGUES)

    def _spawn(self, command: list[str], env: dict[str, str], log_name: str, cwd: Path) -> None:
        from marketplace.media import open_private, private_folder  # Rasa logs what people type: owner only

        log = open_private(private_folder(self.log_dir) / log_name, "ab")  # lives as long as the process
        self.processes.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT))

    def wait_ready(self, timeout: float = 240.0) -> None:
        """Block until Rasa has loaded its model and the action server answers."""
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RasaSetupError(f"a server stopped (exit {process.returncode}); see {self.log_dir}")
            try:
                rasa_ok = self.client().ready()
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


# --- command line (the Makefile's `rasa-install` and `model`; serving is `admin_cli.py rasa serve`) -----

cli = typer.Typer(
    help="The Rasa side: its Python 3.10 virtualenv and the trained model, both cached in ~/.cache/smartketplace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _exit_on_setup_error(step: Callable[[], Path]) -> None:
    try:
        print(step())
    except RasaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc


@cli.command("venv")
def venv_command() -> None:
    """Create the Rasa virtualenv (once per machine) and link it as .venv-rasa."""
    _exit_on_setup_error(lambda: ensure_rasa_venv(on_screen))


@cli.command("train")
def train_command(
    force: Annotated[bool, typer.Option("--force", help="Train even if an identical model exists.")] = False,
) -> None:
    """Train the model, unless one was already trained on exactly these files."""
    _exit_on_setup_error(lambda: train(force, on_screen))


if __name__ == "__main__":  # pragma: no cover
    cli()
