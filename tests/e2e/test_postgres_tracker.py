"""On PostgreSQL, Rasa keeps its conversations in the marketplace's database, and they survive a restart.

Runs in the PostgreSQL pass of `make test` (DATABASE_URL=postgresql…), in a database of its own that it
creates and drops; skipped on SQLite, where the other end-to-end tests cover the same store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from bot.rasa_client import RasaClient
from demo import load_demo
from dialogues.runtime import Servers
from marketplace import migrate
from marketplace.db import Database
from marketplace.secrets import ensure_secrets
from marketplace.settings import DEFAULT_CONFIG, load_settings
from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("DATABASE_URL", "")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL.startswith("postgresql"):
        pytest.skip("needs DATABASE_URL=postgresql+psycopg://… (run in the PostgreSQL pass of make test)")
    name = f"smartket_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def tracker_texts(client: RasaClient, sender: str) -> list[str]:
    """What the person said, as Rasa's HTTP API (on, behind its token) gives the conversation back."""
    return [e.get("text") or "" for e in client.tracker(sender)["events"] if e["event"] == "user"]


def test_conversations_live_in_postgresql_and_survive_a_restart(postgres_url: str, tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": postgres_url, "SMARTKET_DATA_DIR": str(tmp_path)})
    db = Database(postgres_url)
    migrate.upgrade(db)
    with db.uow() as uow:
        load_demo(uow, chat_accounts=False)
        uow.commit()
    ensure_secrets(tmp_path)  # as `admin_cli.py rasa secrets` makes them
    sender = "telegram:424242"
    rasa_port, actions_port = free_port(), free_port()

    def servers() -> Servers:
        return Servers(settings, rasa_port=rasa_port, actions_port=actions_port, log_dir=tmp_path / "logs", api=True)

    try:
        with servers() as running:
            client = running.client(timeout=60)
            found = client.send(sender, "je cherche du miel", {"language": "fr"})
            add = next(b.payload for m in found for b in m.buttons if "add_to_basket" in b.payload)
            added = "\n".join(m.text for m in client.send(sender, add, {"language": "fr"}))
            assert "panier" in added.lower()
        with db.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": sender}
            ).scalar_one()
        assert stored == 2  # both turns, in the marketplace's PostgreSQL database

        with servers() as restarted:  # the same conversation, after a restart
            client = restarted.client(timeout=60)
            assert tracker_texts(client, sender)[:2] == ["je cherche du miel", add]
            basket = "\n".join(m.text for m in client.send(sender, "montre mon panier", {"language": "fr"}))
            assert "Miel" in basket
    finally:
        db.dispose()
