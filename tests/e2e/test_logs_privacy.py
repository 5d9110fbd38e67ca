"""No personal data and no secret in the logs: a whole purchase on Telegram with recognisable personal data, then
the person's rights (/mydata, /forget), through the bot process as `python -m bot` runs it (its own console),
the Rasa server and the action server (their log files), and the fake Bot API; then every log file written,
the bot's console and this test's own console are searched for each canary (tests/support/log_scan.py: as
typed, lowercased, JSON-escaped, URL-encoded, accents folded). Own servers, own data and log folders: the
secrets, the data key and the bot token are this test's, and nothing else writes there."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo import load_demo
from dialogues.runtime import Servers, cache_dir
from marketplace import migrate
from marketplace.crypto import DATA_KEYS, KeyRing
from marketplace.db import Database
from marketplace.i18n import translate
from marketplace.secrets import ACTIONS, CHANNEL, ensure_secrets, load_secret
from marketplace.settings import DEFAULT_CONFIG, PROJECT_ROOT, load_settings
from tests.e2e.conftest import free_port
from tests.support.log_scan import scan_files, scan_text, sizes
from tests.support.telegram_api import BOT_ID, FakeTelegramAPI, SentMessage

pytestmark = pytest.mark.e2e

NAME = "Zéphyrine Quiblet-Canari"  # the person's Telegram name, offered as the name on the doorbell
STREET = "Rue du Canari-Témoin 77"
DETAILS = "code 9137"
PHONE = "+41 79 555 01 37"
NOT_FOUND = "je cherche de la confiture de canari-témoin"  # a search that finds nothing
FOUND = "je cherche du miel de forêt s'il vous plaît"  # and one that does
PERSONAL = (
    NAME, "Zéphyrine", "Quiblet", STREET, "Canari-Témoin", DETAILS, PHONE, "555 01 37", "+41795550137",
    "0795550137", NOT_FOUND, FOUND,
)  # fmt: skip
BOT_TOKEN = f"{BOT_ID}:AAcanary-Bot-Token_5f1c9e7a0b3d4c2e"
ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
WAIT = 120.0  # seconds, for a turn on a loaded machine; a passing run never waits this long
USER = 5550137


@dataclass
class Run:
    """One stack of our processes, and where each writes its log."""

    fake: FakeTelegramAPI
    secrets: list[str]  # this run's: channel and action secrets, data key, bot token
    logs: list[Path]  # folders (searched whole) and files written by this run only
    shared_logs: Path  # ~/.cache/smartketplace/logs, shared with other runs: only what it gains counts
    shared_before: dict[Path, int]
    bot_console: Path


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'marketplace.sqlite3'}"
    data_key = KeyRing.generate().current.entry  # this test's own, so that it is a canary too
    monkeypatch.setenv(DATA_KEYS.env, data_key)
    for name in (CHANNEL.env, ACTIONS.env, "SMARTKET_DEMO"):
        monkeypatch.delenv(name, raising=False)  # production; the secrets from this data folder's files
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": url, "SMARTKET_DATA_DIR": str(data)})
    data.mkdir()
    db = Database(url)
    migrate.upgrade(db)
    with db.uow() as uow:
        load_demo(uow, chat_accounts=False)
        uow.commit()
    db.dispose()
    ensure_secrets(data)
    secrets = [load_secret(CHANNEL, data), load_secret(ACTIONS, data), data_key, data_key.partition(":")[2], BOT_TOKEN]
    shared_before = sizes(cache_dir() / "logs")
    console = tmp_path / "console" / "bot.log"
    console.parent.mkdir()
    servers = Servers(settings, rasa_port=free_port(), actions_port=free_port())  # logs in data/logs
    servers.start()
    with contextlib.ExitStack() as stack:
        stack.callback(servers.stop)
        servers.wait_ready(timeout=WAIT * 8)  # loading the model: 10 min seen with 3 trainings sharing the 2 cores
        fake = stack.enter_context(FakeTelegramAPI(token=BOT_TOKEN))
        out = stack.enter_context(console.open("wb"))
        env = dict(os.environ) | {
            "DATABASE_URL": url, "SMARTKET_DATA_DIR": str(data), "SMARTKET_CONFIG": str(DEFAULT_CONFIG),
            "RASA_URL": servers.rasa_url, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url, "LEMAN_WEBHOOK_PORT": str(free_port()),
            "PAYMENT_JOBS_INTERVAL": "3600",
        }  # fmt: skip
        bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)
        try:
            until(lambda: any(name == "getUpdates" for name, _ in list(fake.requests)) or bot.poll() is not None)
            assert bot.poll() is None, console.read_text("utf-8")
            yield Run(fake, secrets, [data / "logs"], cache_dir() / "logs", shared_before, console)
        finally:
            bot.send_signal(signal.SIGINT)  # as Ctrl-C: it stops its channels and says so
            try:
                bot.wait(30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()


def until(condition, timeout: float = WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.05)
    return result


class Person:
    """The person in a private chat with the bot, under their own name."""

    def __init__(self, fake: FakeTelegramAPI) -> None:
        self.fake = fake

    def say(self, text: str, expect: str) -> list[SentMessage]:
        seen = len(self.fake.messages_to(USER))
        self.fake.user_sends(USER, text, first_name=NAME, language_code="fr")
        return self._answer(seen, expect)

    def press(self, title_part: str, expect: str) -> list[SentMessage]:
        for message in reversed(self.fake.messages_to(USER)):
            for title, data in message.buttons:
                if title_part.lower() in title.lower():
                    seen = len(self.fake.messages_to(USER))
                    self.fake.user_presses(USER, message.message_id, data)
                    return self._answer(seen, expect)
        raise AssertionError(f"no button {title_part!r}")

    def _answer(self, seen: int, expect: str) -> list[SentMessage]:
        def arrived() -> list[SentMessage]:
            new = self.fake.messages_to(USER)[seen:]
            shown = [" ".join([m.text or m.caption or "", *(title for title, _ in m.buttons)]) for m in new]
            return new if any(expect.lower() in text.lower() for text in shown) else []

        try:
            return until(arrived)
        except AssertionError:
            got = [m.text for m in self.fake.messages_to(USER)[seen:]]
            raise AssertionError(f"expected {expect!r}, got {got}") from None


def text_of(messages: list[SentMessage]) -> str:
    return "\n".join((m.text or m.caption or "").replace("\u00a0", " ") for m in messages)


def test_a_purchase_and_the_privacy_rights_leave_no_personal_data_in_any_log(run: Run, capfd) -> None:  # type: ignore[no-untyped-def]
    person = Person(run.fake)
    person.say("/start", expect="Que cherchez-vous")
    person.say(NOT_FOUND, expect="")
    time.sleep(2)  # the whole answer to the search that finds nothing
    person.say(FOUND, expect="Miel de forêt")
    person.press("Miel de forêt", expect="Panier :")
    person.press("Commander", expect="retrait ?")
    person.press("Livraison à domicile", expect="adresse")
    person.say(f"{STREET}, {DETAILS}, 1205 Genève", expect="quel nom")
    person.press("Zéphyrine", expect="coursier")  # the name Telegram gives, with one tap
    slots = person.say(PHONE, expect="créneau")
    person.press(slots[-1].buttons[0][0], expect="payer")
    summary = text_of(person.press("Francs", expect="On confirme"))
    assert all(part in summary for part in (STREET, NAME, DETAILS, "555 01 37")), summary  # all the way through
    placed = person.press("Confirmer", expect="Scannez-la")
    assert ORDER_NUMBER.search(text_of(placed)), text_of(placed)
    run.fake.wait_for(USER, lambda m: m.kind == "document", timeout=WAIT)  # the QR-bill's PDF, sent last

    person.say("/mydata", expect=translate("privacy.mydata.sent", "fr"))
    person.say("où en est ma commande ?", expect="Annuler")  # an order under way is kept: cancelled first
    person.press("Annuler la commande", expect="annulée")
    person.say("/forget", expect="?")
    done = person.press(translate("privacy.forget.yes", "fr"), expect=translate("privacy.erased.done", "fr"))
    assert text_of(done)
    time.sleep(2)  # what the processes log after answering

    data = run.logs[0].parent
    logs = [*run.logs, *(f for f in data.rglob("*.log") if run.logs[0] not in f.parents)]
    found = scan_files(logs, [*PERSONAL, *run.secrets])
    found += scan_files([run.shared_logs], [*PERSONAL, *run.secrets], since=run.shared_before)
    found += scan_files([run.bot_console], [*PERSONAL, *run.secrets])
    captured = capfd.readouterr()
    found += scan_text(captured.out + captured.err, [*PERSONAL, *run.secrets], "this test's console")
    assert found == [], "\n".join(map(str, found))
