"""Log records scrubbed of what people write and of secrets (marketplace/log_privacy.py), and the canary scanner
that the end-to-end privacy test relies on (tests/support/log_scan.py) shown to find what it looks for."""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace import log_privacy
from marketplace.log_privacy import REDACTED, WITHHELD, LogScrubber, secret_values
from tests.support.log_scan import canary_forms, scan_files, scan_text, sizes

NAME = "Zéphyrine Quiblet-Canari"
SECRET = "chan-secret-7f3a9b2c4d5e6f70"
BOT_TOKEN = "987654:AAcanary-bot-token_0123456789abcdef"
RASA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-rasa" / "bin" / "python"


def record(name: str, msg: str, *args: object, level: int = logging.WARNING, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"no product called {NAME} (secret {SECRET})")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, msg, args or None, exc_info)


def shown(rec: logging.LogRecord) -> str:
    return logging.Formatter("%(name)s %(levelname)s %(message)s").format(rec)


def test_the_scanner_finds_a_canary_logged_in_any_form(tmp_path: Path) -> None:
    logger = logging.getLogger("tests.log_privacy.deliberate")
    handler = logging.FileHandler(tmp_path / "deliberate.log", encoding="utf-8")
    logger.addHandler(handler)
    try:
        logger.warning("hello %s", NAME)  # deliberately: the scanner must see it
    finally:
        logger.removeHandler(handler)
        handler.close()
    [found] = scan_files([tmp_path], [NAME])
    assert found.where.endswith("deliberate.log") and found.line.endswith("hello Zéphyrine Quiblet-Canari")

    for text in (
        json.dumps({"text": NAME}),  # \u00e9
        json.dumps(json.dumps({"text": NAME})),  # \\u00e9
        "GET /search?q=Z%C3%A9phyrine%20Quiblet-Canari",
        "q=z%c3%a9phyrine+quiblet-canari",
        "zephyrine quiblet-canari",  # folded, lowercased
    ):
        assert scan_text(text, [NAME], "console"), text
    assert scan_text("nothing personal here", [NAME], "console") == []


def test_the_scanner_reads_only_what_a_shared_log_gained(tmp_path: Path) -> None:
    shared = tmp_path / "train.log"
    shared.write_text(f"an older run: {NAME}\n", encoding="utf-8")
    before = sizes(tmp_path)
    assert scan_files([tmp_path], [NAME], since=before) == []
    with shared.open("a", encoding="utf-8") as log:
        log.write(f"this run: {NAME}\n")
    assert [f.line for f in scan_files([tmp_path], [NAME], since=before)] == [f"this run: {NAME}"]


def test_canary_forms_cover_json_and_url_escapes() -> None:
    forms = canary_forms("Rue du Canari-Témoin 77")
    assert "rue du canari-t\\u00e9moin 77" in forms
    assert {"rue%20du%20canari-t%c3%a9moin%2077", "rue+du+canari-t%c3%a9moin+77"} <= forms


def test_secrets_are_redacted_in_messages_arguments_and_tracebacks() -> None:
    scrubber = LogScrubber([SECRET])
    rec = scrubber.scrub(record("bot", "sent with %s", SECRET, exc=True))
    text = shown(rec)
    assert SECRET not in text and REDACTED in text
    assert "Traceback" in text and "ValueError" in text  # the error stays, with its type
    assert rec.exc_info is None  # no handler can format the raw traceback again


def test_a_bot_token_in_a_url_and_token_query_values_are_redacted() -> None:
    scrubber = LogScrubber()
    url = f"HTTP Request: POST http://127.0.0.1:8081/bot{BOT_TOKEN}/getUpdates"
    assert shown(scrubber.scrub(record("any", url))).endswith(f"/bot{REDACTED}/getUpdates")
    line = shown(scrubber.scrub(record("any", "GET /model/parse?token=abcdefgh12345&x=1 200")))
    assert "abcdefgh12345" not in line and f"token={REDACTED}&x=1" in line
    sql = "(sqlite3.IntegrityError) UNIQUE failed\n[SQL: INSERT INTO people VALUES (?)]\n[parameters: ('Zéphyrine',)]"
    assert "Zéphyrine" not in shown(scrubber.scrub(record("sqlalchemy", sql)))


def test_a_logger_that_quotes_people_keeps_its_event_and_error_type_only() -> None:
    line = json.dumps({"text": NAME, "event": "rest.message.received.failure", "level": "error"})
    rec = LogScrubber().scrub(record("rasa.core.channels.rest", line, level=logging.ERROR, exc=True))
    text = shown(rec)
    assert NAME not in text and "Quiblet" not in text
    assert "rest.message.received.failure" in text and WITHHELD in text and "[ValueError]" in text
    assert "Traceback" not in text


def test_rasa_structured_lines_keep_their_event_names_only() -> None:
    line = json.dumps({"event": "processor.slots.log", "slot_values": f"name: {NAME}", "level": "warning"})
    text = shown(LogScrubber().scrub(record("rasa.engine.runner", line)))
    fields = json.loads(text.split(" ", 2)[2])
    assert fields == {"event": "processor.slots.log", "slot_values": WITHHELD, "level": "warning"}


def test_a_library_that_quotes_people_in_debug_lines_keeps_its_other_lines() -> None:
    scrubber = LogScrubber()
    debug = record("telegram.ext.ExtBot", "Calling sendMessage with %s", {"text": NAME}, level=logging.DEBUG)
    assert NAME not in shown(scrubber.scrub(debug))
    assert shown(scrubber.scrub(record("telegram.ext.Application", "Application started", level=logging.INFO))) == (
        "telegram.ext.Application INFO Application started"
    )


def test_scrubbing_twice_changes_nothing() -> None:
    scrubber = LogScrubber([SECRET])
    rec = scrubber.scrub(record("bot", "%s", SECRET))
    assert scrubber.scrub(rec).getMessage() == f"{REDACTED}"


def test_secret_values_come_from_the_environment_and_the_secret_files(tmp_path: Path) -> None:
    (tmp_path / "channel-secret").write_text("channel-secret-value-0123456789\n")
    (tmp_path / "data-keys").write_text("# keys\nk1:QUJDREVGR0hJSktMTU5PUA==\nk2:UVJTVFVWV1hZWmFiY2RlZg==\n")
    environ = {
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "DATABASE_URL": "postgresql+psycopg://market:db-password-42@db:5432/market",
        "HOME": "/home/someone",  # not a secret
    }
    values = secret_values(environ, tmp_path)
    assert {BOT_TOKEN, "db-password-42", "channel-secret-value-0123456789", "QUJDREVGR0hJSktMTU5PUA=="} <= values
    assert "k2:UVJTVFVWV1hZWmFiY2RlZg==" in values and "/home/someone" not in values


def test_every_secret_of_the_deployment_is_known_by_its_variable() -> None:
    from marketplace.crypto import DATA_KEYS
    from marketplace.secrets import ALL

    assert {secret.env for secret in (*ALL, DATA_KEYS)} <= set(log_privacy.SECRET_ENV)


def test_the_module_imports_the_standard_library_only() -> None:
    """Rasa's Python 3.10 virtualenv loads it by its path (rasa_launch.py), where nothing else is installed."""
    tree = ast.parse(Path(log_privacy.__file__).read_text("utf-8"))
    nodes = list(ast.walk(tree))
    imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_installed_in_a_process_every_record_and_warning_is_scrubbed() -> None:
    """In a process of its own (install() changes the whole process's logging): the httpx request line with the
    bot token is not logged, a warning's secret is redacted, a quoting logger's text withheld."""
    script = f"""
import logging, warnings
from marketplace import log_privacy
log_privacy.install([{SECRET!r}], level=logging.INFO)
logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/bot{BOT_TOKEN}/sendMessage")
warnings.warn("the secret is {SECRET}")
logging.getLogger("nio.events.misc").warning("Error validating event: %s", {{"body": {NAME!r}}})
logging.getLogger("telegram.ext.Application").info("Application started")
logging.getLogger("bot").info("bot running (telegram)")
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert scan_text(out, [SECRET, BOT_TOKEN, NAME, "Quiblet"], "console") == []
    assert "bot running (telegram)" in out and "Application started" in out  # the rest stays
    assert REDACTED in out and f"nio.events.misc: warning: {WITHHELD}" in out


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="no Rasa virtualenv (make rasa-install)")
def test_rasa_launch_installs_it_in_rasas_python() -> None:
    """rasa_launch.py loads the module by its path in Rasa's Python 3.10, before Rasa is imported: Rasa's
    structured lines are JSON, and a secret from Rasa's environment is redacted."""
    script = f"""
import logging, os, rasa_launch
rasa_launch.private_logs()
assert os.environ["FORCE_JSON_LOGGING"] == "1"
logging.basicConfig()
logging.getLogger("rasa.core.channels.rest").error('{{"text": "{NAME}", "event": "rest.message.received.failure"}}')
logging.getLogger("rasa.core.agent").warning("channel secret {SECRET}")
"""
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root / "dialogues" / "rasa_plugins"), "SMARTKET_CHANNEL_SECRET": SECRET}
    done = subprocess.run([str(RASA_PYTHON), "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert scan_text(done.stderr, [NAME, SECRET], "console") == []
    assert "rest.message.received.failure" in done.stderr and f"channel secret {REDACTED}" in done.stderr


RASA_REST_FAILURE = """
import logging, os, sys
if sys.argv[1] == "scrubbed":
    import rasa_launch
    rasa_launch.private_logs()
else:
    os.environ["FORCE_JSON_LOGGING"] = "1"
from rasa.utils.log_utils import configure_structlog
configure_structlog(logging.WARNING)
import rasa.core.channels.rest as rest
try:
    raise RuntimeError("database is locked [parameters: ('%(text)s',)]")
except RuntimeError:
    rest.structlogger.exception("rest.message.received.failure", text="%(text)s")
"""


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="no Rasa virtualenv (make rasa-install)")
def test_rasas_rest_channel_failure_line_quotes_the_message_unless_scrubbed() -> None:
    """Rasa's own code: a message that fails (e.g. the tracker store's "database is locked" on a busy SQLite) is
    logged with its text, JSON-escaped, and its traceback; with rasa_launch's scrubbing, the event and the
    exception type only."""
    text = "je cherche de la confiture de canari-témoin"
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root / "dialogues" / "rasa_plugins"), "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore"}

    def logged(mode: str) -> str:
        script = RASA_REST_FAILURE % {"text": text}
        done = subprocess.run(
            [str(RASA_PYTHON), "-c", script, mode], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    assert scan_text(logged("raw"), [text], "console"), "the scanner sees Rasa's own line (as canari-t\\u00e9moin)"
    scrubbed = logged("scrubbed")
    assert scan_text(scrubbed, [text], "console") == []
    assert '"event": "rest.message.received.failure"' in scrubbed and '"exception": ["RuntimeError"]' in scrubbed
