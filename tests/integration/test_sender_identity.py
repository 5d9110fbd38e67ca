"""Who is speaking is proven, not claimed: the action server runs nothing for a caller without the action
secret, nor for a sender id that none of our bots builds (`bob`, or `terminal:…` outside the demo), and
then nobody is created and nothing changes. The action server's real app is called in-process (ASGI)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sqlalchemy import func, select
from typer.testing import CliRunner

from bootstrap import App
from bot.addresses import UnknownSender, sender_address
from catalog.models import Product
from dialogues.action_server import Guard, guarded_app
from dialogues.actions import ActionSearchProducts, ActionUpdateStock
from dialogues.runtime import ACTION_SECRET_HEADER
from marketplace.accounts import ChatIdentity, Person, add_member, get_organisation, person_for_chat
from marketplace.db import Database
from marketplace.i18n import translate
from tests.support.actions import (  # noqa: F401
    CONSUMER,
    DOMAIN,
    basket_of,
    run,
    served,
    stock_of,
    tracker,
)

pytestmark = [
    pytest.mark.usefixtures("served", "shop"),
    pytest.mark.filterwarnings("ignore:Your versions of rasa and rasa_sdk"),  # Rasa 3.6 calls rasa-sdk 3.21
]

SECRET = "s3cret-" * 6
TERMINAL_FARMER = "terminal:ferme-test"


def people(app: App) -> int:
    with app.db.uow() as uow:
        return uow.session.scalar(select(func.count(Person.id)))


def identities(app: App) -> set[tuple[str, str]]:
    with app.db.uow() as uow:
        return {(i.platform, i.external_id) for i in uow.session.scalars(select(ChatIdentity))}


@pytest.fixture
def terminal_farmer(app: App) -> str:
    """A terminal chat id that is a member of ferme-test (as `demo load` makes them in the demo)."""
    with app.db.uow() as uow:
        add_member(uow, person_for_chat(uow, TERMINAL_FARMER), get_organisation(uow, "ferme-test"))
        uow.commit()
    return TERMINAL_FARMER


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["telegram:1001", "matrix:@anna:example.org"])
def test_chat_platform_ids_are_senders_everywhere(sender: str) -> None:
    assert sender_address(sender, demo=False) == sender_address(sender, demo=True) == sender


@pytest.mark.parametrize(
    "sender",
    [
        *["bob", "", "telegram:bob", "tg:1001", " telegram:1001", "telegram:1001\n", "matrix:anna", "admin"],
        # longer than any platform's ids (and than the column: PostgreSQL refused them mid-action)
        "telegram:" + "4" * 21,
        "matrix:@" + "a" * 250 + ":example.org",
    ],
)
def test_ids_no_bot_builds_are_refused_even_in_the_demo(sender: str) -> None:
    for demo in (False, True):
        with pytest.raises(UnknownSender):
            sender_address(sender, demo=demo)


def test_terminal_ids_belong_to_the_demo_only() -> None:
    assert sender_address("terminal:demo", demo=True) == "terminal:demo"
    for sender in ("terminal:demo", "terminal:admin"):
        with pytest.raises(UnknownSender):
            sender_address(sender, demo=False)


# --- actions ----------------------------------------------------------------------------------


def test_a_sender_without_a_known_prefix_is_refused_and_nobody_is_created(app: App) -> None:
    before = identities(app)
    done = run(ActionSearchProducts(), tracker("je cherche des tomates", "search_product", {"product": "tomates"},
                                               sender="bob", lang="de"))  # fmt: skip
    assert done.text == translate("error.unknown_sender", "de")
    assert done.buttons == [] and done.events == []
    assert identities(app) == before  # no "terminal:bob" (nor anyone) created


def test_a_terminal_producer_outside_the_demo_changes_nothing(
    app: App, shop: dict[str, int], terminal_farmer: str
) -> None:
    said = tracker("j'ai encore 12 kg de tomates", "update_stock", {"product": "tomates", "quantity": "12"},
                   sender=terminal_farmer)  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert done.text == translate("error.unknown_sender", "fr")
    assert stock_of(app, shop["tomato"]) == Decimal(10)


def test_in_the_demo_a_terminal_producer_is_heard(app: App, shop: dict[str, int], terminal_farmer: str) -> None:
    app.settings = dataclasses.replace(app.settings, demo=True)
    said = tracker("j'ai encore 12 kg de tomates", "update_stock", {"product": "tomates", "quantity": "12"},
                   sender=terminal_farmer)  # fmt: skip
    assert run(ActionUpdateStock(), said).text == "Stock de « Tomates » : 12 (kg)."
    assert stock_of(app, shop["tomato"]) == Decimal(12)


# --- the action server's HTTP boundary ----------------------------------------------------------


class ActionServer:
    """The action server's real Sanic app (secret check, sender check, rasa-sdk's routes), served in-process."""

    def __init__(self, guard: Guard) -> None:
        executor = ActionExecutor()
        executor.register_package("dialogues.actions")
        self.app = guarded_app(executor, guard)

    def call(self, method: str, path: str, secret: str | None = SECRET, body: Any = None) -> httpx.Response:
        headers = {} if secret is None else {ACTION_SECRET_HEADER: secret}
        return asyncio.run(self._call(method, path, headers, body))

    async def _call(self, method: str, path: str, headers: dict[str, str], body: Any) -> httpx.Response:
        started, stopped = asyncio.Queue(), asyncio.Queue()  # ASGI lifespan: Sanic starts, then stops
        await started.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, started.get,
                                                stopped.put))  # fmt: skip
        assert (await stopped.get())["type"] == "lifespan.startup.complete"
        try:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://actions") as client:
                return await client.request(method, path, headers=headers, json=body)
        finally:
            await started.put({"type": "lifespan.shutdown"})
            await stopped.get()
            await lifespan


@pytest.fixture
def action_server(app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[ActionServer]:
    monkeypatch.setattr(Sanic, "test_mode", True)  # one app per test, all named "rasa_sdk"
    yield ActionServer(Guard(SECRET, app.settings.demo, app.settings.languages))


def action_call(action: str, sender: str, text: str, intent: str, entities: dict[str, str]) -> dict[str, Any]:
    """What Rasa posts to the action server's /webhook to run `action` after one user message."""
    state = tracker(text, intent, entities, sender=sender).current_state()
    return {"next_action": action, "sender_id": sender, "tracker": state, "domain": DOMAIN, "version": "3.6.21"}


def add_wine(shop: dict[str, int], sender: str = CONSUMER) -> dict[str, Any]:
    product = f"#{shop['wine']}"
    return action_call("action_add_to_basket", sender, f'/add_to_basket{{"product": "{product}"}}', "add_to_basket",
                       {"product": product, "quantity": "2"})  # fmt: skip


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
def test_a_call_without_the_action_secret_is_refused_and_runs_nothing(
    app: App, shop: dict[str, int], action_server: ActionServer, secret: str | None
) -> None:
    before = identities(app)
    answer = action_server.call("POST", "/webhook", secret, add_wine(shop))
    assert answer.status_code == 401 and "events" not in answer.json()
    assert basket_of(app) == {}
    assert action_server.call("GET", "/actions", secret).status_code == 401
    assert identities(app) == before


def test_rasa_with_the_secret_is_served(app: App, shop: dict[str, int], action_server: ActionServer) -> None:
    assert action_server.call("GET", "/health", secret=None).status_code == 200  # open: says nothing
    assert "action_add_to_basket" in {a["name"] for a in action_server.call("GET", "/actions").json()}
    answer = action_server.call("POST", "/webhook", SECRET, add_wine(shop))
    assert answer.status_code == 200 and answer.json()["responses"][0]["text"].startswith("C'est dans le panier")
    assert basket_of(app) == {shop["wine"]: 2}


def test_an_unknown_sender_with_the_secret_gets_a_refusal_and_nothing_runs(
    app: App, shop: dict[str, int], action_server: ActionServer
) -> None:
    before = people(app)
    for sender in ("bob", "terminal:demo", "terminal:admin"):
        answer = action_server.call("POST", "/webhook", SECRET, add_wine(shop, sender))
        assert answer.status_code == 200
        assert answer.json() == {
            "events": [{"event": "followup", "name": "action_listen"}],
            "responses": [{"text": translate("error.unknown_sender", "fr")}],
        }
    assert people(app) == before
    assert not [i for i in identities(app) if i[0] == "terminal"]



def test_a_call_whose_tracker_names_another_sender_is_refused(
    app: App, shop: dict[str, int], action_server: ActionServer
) -> None:
    """The actions read the tracker's sender id: it must be the one Rasa names beside it, and a known one."""
    mismatched = add_wine(shop) | {"sender_id": "telegram:2002"}
    no_prefix = add_wine(shop, "telegram:2002")
    no_prefix["tracker"]["sender_id"] = "bob"
    for call in (mismatched, no_prefix):
        answer = action_server.call("POST", "/webhook", SECRET, call)
        assert answer.json()["responses"] == [{"text": translate("error.unknown_sender", "fr")}]
    assert basket_of(app) == {} and basket_of(app, "telegram:2002") == {}


# --- the demo's chat accounts --------------------------------------------------------------------


@pytest.mark.parametrize("demo", ["", "1"])
def test_demo_load_makes_terminal_accounts_in_the_demo_deployment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo: str
) -> None:
    import admin_cli

    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMARTKET_DEMO", demo)
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    result = CliRunner().invoke(admin_cli.cli, ["demo", "load"])
    assert result.exit_code == 0, result.output
    db = Database(url)
    try:
        with db.uow() as uow:
            terminal = {i.external_id: i.person.is_admin for i in uow.session.scalars(select(ChatIdentity))
                        if i.platform == "terminal"}  # fmt: skip
            products = uow.session.scalar(select(func.count(Product.id)))
    finally:
        db.dispose()
    assert products > 100  # the catalog is loaded either way
    if demo:
        assert terminal["admin"] is True and terminal["demo"] is False and "abeilles-du-saleve" in terminal
    else:
        assert terminal == {}  # no terminal:admin with admin rights outside the demo
