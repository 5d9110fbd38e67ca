"""What our processes write to their logs: what happened, to which of our ids, and which error — never what
people wrote, their names, addresses or phones, and never a secret.

Installed once per process, before anything logs: by the bot process (`bot/__main__.py`), the action server
(`dialogues/action_server.py`, in each Sanic worker too) and the Rasa server (`rasa_plugins/rasa_launch.py`).
It works on every log record as it is made (a log record factory), so it holds whatever handlers the
libraries add later (Rasa, Sanic and python-telegram-bot each configure their own):

- records of loggers that quote the messages they handle (`QUOTING_LOGGERS`, up to the level at which they
  do) keep their logger, level and exception type; their text is withheld;
- Rasa's structured lines (JSON, `{"event": "rest.message.received.failure", "text": ...}`) keep their event
  names; every other field is withheld (they are the fields Rasa itself anonymises: text, slots, entities…);
- everywhere, known secrets (the values given to `install`: tokens, shared secrets, data keys, passwords),
  a Telegram bot token inside a URL (`/bot<token>/`), `token=` and `access_token=` query values and
  SQLAlchemy's echo of bound parameters are replaced by `[redacted]`; tracebacks stay, redacted the same way;
- warnings go through logging (`py.warnings`), so they are redacted too;
- libraries that log each request's URL at INFO (httpx: the Bot API URL holds the bot token) log warnings only.

Runs inside Rasa's Python 3.10 virtualenv too (loaded there by its path): the standard library only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

REDACTED = "[redacted]"
WITHHELD = "[withheld]"

# Loggers whose lines quote what people wrote or what the bot answered them ("a.b" covers "a.b.c"), and the
# highest level at which they do: their records up to it keep logger, level and exception type only.
QUOTING_LOGGERS: dict[str, int] = {
    "rasa.core.channels": logging.CRITICAL,  # the REST channel logs a failed message with its text
    "rasa.core.processor": logging.CRITICAL,  # slots, parse data, predictions
    "rasa.core.actions": logging.CRITICAL,  # action failures quote the action server's answer
    "rasa.core.nlg": logging.CRITICAL,  # a response failing to fill quotes the response
    "rasa.core.http_interpreter": logging.CRITICAL,
    "rasa.nlu": logging.CRITICAL,  # tokenizers, featurizers and extractors quote the message's words
    "rasa.shared.nlu": logging.CRITICAL,
    "telegram.Bot": logging.DEBUG,  # python-telegram-bot: each call's parameters, each update, in debug lines
    "telegram.ext.ExtBot": logging.DEBUG,
    "telegram.ext.Application": logging.DEBUG,
    "nio.events": logging.CRITICAL,  # matrix-nio: an event failing its schema is quoted whole
    "nio.responses": logging.CRITICAL,
    "nio.crypto": logging.CRITICAL,  # end-to-end encryption: people's user and device ids, room ids
}
# Rasa's structured log fields that only name what happened.
STRUCTLOG_KEYS = frozenset({"event", "event_key", "event_info", "level", "timestamp", "logger"})
# Library loggers that log every request's URL at INFO; they keep their warnings and errors.
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "sanic.access", "urllib3")
# Environment variables that hold a secret (a password inside DATABASE_URL counts).
SECRET_ENV = (
    "SMARTKET_CHANNEL_SECRET", "SMARTKET_ACTION_SECRET", "SMARTKET_RASA_API_TOKEN", "SMARTKET_DATA_KEYS",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "MATRIX_ACCESS_TOKEN", "MATRIX_PASSWORD",
    "SMARTKET_MATRIX_STORE_KEY", "RASA_TRACKER_PASSWORD", "DATABASE_URL",
)  # fmt: skip
MIN_SECRET = 8  # characters: shorter values would redact ordinary words
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

SECRET_SHAPES = (
    (re.compile(r"(/bot)\d+:[\w-]+"), r"\1" + REDACTED),  # Bot API and file URLs: /bot<id>:<token>/…
    (re.compile(r"([?&](?:access_)?token=)[^&\s'\"]+"), r"\1" + REDACTED),
    (re.compile(r"(Bearer )[\w.~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.S), f"[parameters: {REDACTED}]"),  # SQLAlchemy errors
)
_formatter = logging.Formatter()


class WarningsAndAbove(logging.Filter):
    """On a logger that reports every request at INFO: its warnings and errors only. A logger's filter
    stays when a library configures logging again (Sanic's dictConfig sets its access log back to INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def _quotes_people(record: logging.LogRecord, quoting: Mapping[str, int]) -> bool:
    name = record.name
    while name:
        if name in quoting:
            return record.levelno <= quoting[name]
        name = name.rpartition(".")[0]
    return False


class LogScrubber:
    """Rewrites each log record as it is made (see the module's docstring); idempotent."""

    def __init__(self, secrets: Iterable[str] = (), quoting: Mapping[str, int] | None = None) -> None:
        self.secrets: set[str] = set()
        self.quoting = QUOTING_LOGGERS if quoting is None else quoting
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.secrets |= {s.strip() for s in secrets if len(s.strip()) >= MIN_SECRET}

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):  # a longer secret may hold a shorter one
            if secret in text:
                text = text.replace(secret, REDACTED)
        for shape, replacement in SECRET_SHAPES:
            text = shape.sub(replacement, text)
        return text

    def scrub(self, record: logging.LogRecord) -> logging.LogRecord:
        if getattr(record, "scrubbed", False):
            return record
        try:
            message = record.getMessage()
        except Exception as exc:  # a wrong format string must not hide the record
            message = f"{record.msg!s} (unformattable: {type(exc).__name__})"
        event = structured_event(message)
        if _quotes_people(record, self.quoting):
            kept = f" {event}" if event else ""
            message = f"{record.levelname.lower()}{kept}: {WITHHELD} (this logger quotes what people write)"
            if record.exc_info and record.exc_info[0] is not None:
                message += f" [{record.exc_info[0].__name__}]"
            record.exc_text, record.stack_info = None, None
        else:
            message = self.redact(structured_fields(message) if event else message)
            if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
                record.exc_text = _formatter.formatException(record.exc_info)
            record.exc_text = self.redact(record.exc_text) if record.exc_text else record.exc_text
            record.stack_info = self.redact(record.stack_info) if record.stack_info else record.stack_info
        # exc_text carries the (redacted) traceback; exc_info would let a handler format the raw one again.
        record.msg, record.args, record.exc_info = message, None, None
        record.scrubbed = True
        return record


def structured_event(message: str) -> str:
    """The event name of one of Rasa's JSON log lines (structlog), or "" for any other line."""
    if not message.startswith("{"):
        return ""
    try:
        fields = json.loads(message)
    except ValueError:
        return ""
    return str(fields.get("event", "")) if isinstance(fields, dict) else ""


def structured_fields(message: str) -> str:
    """A JSON log line with only the fields that name what happened, and its exception's type; the others
    withheld."""
    fields = json.loads(message)
    kept = {k: (v if k in STRUCTLOG_KEYS else WITHHELD) for k, v in fields.items()}
    if isinstance(fields.get("exception"), list):  # structlog's dict_tracebacks: keep the types, not the texts
        kept["exception"] = [e.get("exc_type") for e in fields["exception"] if isinstance(e, dict)]
    return json.dumps(kept)


def secret_values(environ: Mapping[str, str], folder: Path | None = None) -> set[str]:
    """The secrets a process holds: those of `environ` (SECRET_ENV) and the files of a secrets `folder`
    (channel, action and API secrets, data keys); each data key entry `KID:BASE64` counts by its key too."""
    texts = [environ.get(name, "") for name in SECRET_ENV if name != "DATABASE_URL"]
    password = urlsplit(environ.get("DATABASE_URL", "")).password
    texts.append(password or "")
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            try:
                texts.append(path.read_text("utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
    values = set()
    for text in texts:
        for line in text.splitlines():
            for entry in re.split(r"[\s,]+", line.partition("#")[0]):
                values |= {entry, entry.partition(":")[2]} if entry else set()
    return {v for v in values if len(v) >= MIN_SECRET}


_scrubber: LogScrubber | None = None


def install(secrets: Iterable[str] = (), *, level: int | None = None) -> LogScrubber:
    """Scrub every log record of this process from now on (again: adds the secrets); with `level`, also
    log to stderr at that level unless logging is configured already."""
    global _scrubber
    if _scrubber is not None:
        _scrubber.add_secrets(secrets)
        return _scrubber
    scrubber = _scrubber = LogScrubber(secrets)
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
        return scrubber.scrub(make_record(*args, **kwargs))

    logging.setLogRecordFactory(scrubbed_record)
    logging.captureWarnings(True)  # warnings.warn text goes through the factory too
    if level is not None:
        logging.basicConfig(level=level, format=FORMAT, stream=sys.stderr)
    for name in QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        quiet.setLevel(max(logging.WARNING, quiet.level))
        quiet.addFilter(WarningsAndAbove())
    return scrubber


def add_secrets(secrets: Iterable[str]) -> None:
    """Secrets learnt after `install` (e.g. read from the deployment's files once its settings are known)."""
    if _scrubber is not None:
        _scrubber.add_secrets(secrets)
