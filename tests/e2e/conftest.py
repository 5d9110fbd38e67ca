"""One real stack per test session: the demo catalog in SQLite, the action server and a Rasa server
with the trained model (loading a model takes Rasa about 45 s, so it is started once).

The stack runs as a production deployment would (no demo: no terminal chat ids), with the shared secrets
made as `admin_cli.py rasa secrets` makes them, and Rasa's HTTP API on behind its token so that tests can
read trackers and call /model/parse (`make rasa` serves it so too); the clients hold the secret and token."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest

from bootstrap import App
from bot.__main__ import BotProcess, build_process
from bot.matrix_crypto import STORE_KEY as MATRIX_STORE_KEY
from bot.rasa_client import BotMessage, RasaClient
from catalog.services import CatalogSearch
from demo import load_demo
from dialogues.runtime import Servers
from marketplace import migrate
from marketplace.accounts import add_member, get_organisation, person_for_chat
from marketplace.crypto import KeyStore, bind_keys
from marketplace.db import Database
from marketplace.linking import create_link_code
from marketplace.secrets import ensure_secrets, secret_path, write_secret
from marketplace.settings import DEFAULT_CONFIG, Settings, load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    db: Database
    rasa: RasaClient  # holds the channel secret and the API token
    servers: Servers
    _senders = count(1)

    def new_sender(self) -> str:
        """A fresh Telegram user for each conversation, so tests never share a basket."""
        return f"telegram:{880000 + next(self._senders)}"

    def new_member(self, vendor: str) -> str:
        """A fresh Telegram user who is a member of `vendor` (as `/link` makes them)."""
        sender = self.new_sender()
        with self.db.uow() as uow:
            add_member(uow, person_for_chat(uow, sender), get_organisation(uow, vendor))
            uow.commit()
        return sender


@dataclass
class Conversation:
    stack: Stack
    sender: str
    lang: str
    last: list[BotMessage]

    def say(self, text: str) -> str:
        self.last = self.stack.rasa.send(self.sender, text, {"language": self.lang})
        answer = "\n".join(m.text for m in self.last)
        assert "Traceback" not in answer and "Exception" not in answer
        return answer

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [(b.title, b.payload) for m in self.last for b in m.buttons]

    def press(self, title_part: str) -> str:
        """Press the first button whose title contains `title_part` (sends its payload, as a chat would)."""
        payload = next(p for t, p in self.buttons if title_part.lower() in t.lower())
        return self.say(payload)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{data / 'marketplace.sqlite3'}"
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": url, "SMARTKET_DATA_DIR": str(data)})
    db = Database(url)
    migrate.upgrade(db)
    with db.uow() as uow:
        load_demo(uow, chat_accounts=False)
        uow.commit()
    ensure_secrets(data)
    write_secret(secret_path(MATRIX_STORE_KEY, data), exclusive=True)  # as an operator provides it (README)
    bind_keys(db.engine, KeyStore(data))  # the tests read orders as the servers seal them (delivery addresses)
    servers = Servers(settings, rasa_port=free_port(), actions_port=free_port(), log_dir=data / "logs", api=True)
    with servers:
        yield Stack(settings, db, servers.client(timeout=60), servers)
    db.dispose()


@pytest.fixture
def french(stack: Stack) -> Conversation:
    return Conversation(stack, stack.new_sender(), "fr", [])


@pytest.fixture
def english(stack: Stack) -> Conversation:
    return Conversation(stack, stack.new_sender(), "en", [])


class BotRunner:
    """A bot process (channels + outbox dispatcher) on its own event loop thread, driven from sync tests."""

    def __init__(self, process: BotProcess) -> None:
        self.process = process
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot", daemon=True)

    def call(self, coro: Any, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> BotRunner:
        self.thread.start()
        self.call(self.process.start())
        self.call(self.process.wait_connected())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.process.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def bot_process(stack: Stack, env: dict[str, str], rasa_url: str | None = None) -> BotProcess:
    app = App(stack.settings, stack.db, CatalogSearch(stack.settings.default_language))
    env = {"LEMAN_WEBHOOK_PORT": str(free_port()), "PAYMENT_JOBS_INTERVAL": "3600", **env}
    return build_process(app, env, rasa_url=rasa_url or stack.rasa.url)


def link_code(stack: Stack, vendor: str) -> str:
    with stack.db.uow() as uow:
        code, _ = create_link_code(uow, vendor)
        uow.commit()
    return code
