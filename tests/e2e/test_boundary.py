"""The HTTP boundary of the real servers: who may speak to Rasa and the action server, and as whom.

Rasa's REST channel takes a message only with the channel secret; Rasa's HTTP API (trackers, models,
/model/parse, executing actions) is not served unless an admin turns it on, and then only with its token;
the action server runs nothing without the action secret; a sender id none of our bots builds is refused.
Every refused attempt leaves the database as it was.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from catalog.models import Product
from dialogues.runtime import ACTION_SECRET_HEADER, RASA_VENV_LINK, Servers, rasa_env
from marketplace.accounts import ChatIdentity
from marketplace.i18n import translate
from tests.e2e.conftest import Stack, free_port

pytestmark = pytest.mark.e2e

CHANNEL_HEADER = "X-Smartket-Channel-Secret"
REFUSED = translate("error.unknown_sender", "fr")


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, JSON answer or None), errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


def post_message(stack: Stack, sender: str, message: str, secret: str | None) -> tuple[int, Any]:
    headers = {} if secret is None else {CHANNEL_HEADER: secret}
    body = {"sender": sender, "message": message, "metadata": {"language": "fr"}}
    return http("POST", f"{stack.rasa.url}/webhooks/rest/webhook", body, headers)


def stock(stack: Stack, sku: str) -> Decimal:
    with stack.db.uow() as uow:
        return uow.session.scalar(select(Product.stock).where(Product.sku == sku))


def events_of(stack: Stack, sender: str) -> int:
    with stack.db.uow() as uow:
        return uow.session.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar_one()


def identities(stack: Stack) -> set[tuple[str, str]]:
    with stack.db.uow() as uow:
        return {(i.platform, i.external_id) for i in uow.session.scalars(select(ChatIdentity))}


# --- the REST channel ---------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("", 401), ("forged-" * 6, 403)])
def test_a_vendors_id_posted_without_the_channel_secret_changes_nothing(
    stack: Stack, secret: str | None, status: int
) -> None:
    vendor = stack.new_member("abeilles-du-saleve")
    before = stock(stack, "ABE-MIEL-4")
    answer, _ = post_message(stack, vendor, "j'ai encore 3 pots de miel d'acacia", secret)
    assert answer == status
    assert stock(stack, "ABE-MIEL-4") == before
    assert events_of(stack, vendor) == 0  # nothing reached the conversation either


def test_the_bot_path_with_the_secret_is_heard(stack: Stack) -> None:
    vendor = stack.new_member("abeilles-du-saleve")
    status, answer = post_message(stack, vendor, "j'ai encore 3 pots de miel d'acacia", stack.rasa.secret)
    assert status == 200 and answer[0]["text"] == "Stock de « Miel d'acacia » : 3 (250 g)."
    assert stock(stack, "ABE-MIEL-4") == 3


@pytest.mark.parametrize("sender", ["bob", "admin", "terminal:admin", "terminal:abeilles-du-saleve", "terminal:demo"])
def test_a_sender_no_bot_builds_is_refused_and_nothing_changes(stack: Stack, sender: str) -> None:
    """Even with the channel secret: an id without a known prefix is nobody, and terminal ids exist only in
    the demo deployment (this stack is not one)."""
    known = identities(stack)
    before = stock(stack, "ABE-MIEL-4")
    for message in ("ajoute 2 pots de miel de forêt", "j'ai encore 40 pots de miel d'acacia", "mes commandes"):
        status, answer = post_message(stack, sender, message, stack.rasa.secret)
        assert status == 200 and [m.get("text") for m in answer] == [REFUSED]
    assert identities(stack) == known  # no person created for it (today: "terminal:bob")
    assert stock(stack, "ABE-MIEL-4") == before


# --- Rasa's HTTP API ------------------------------------------------------------------------------

# (method, path, body): reading a conversation, replacing the model, running an action as someone
API_CALLS = [
    ("GET", "/conversations/{sender}/tracker", None),
    ("PUT", "/model", {"model_file": "/tmp/other.tar.gz"}),
    ("POST", "/conversations/{sender}/execute", {"name": "action_show_basket"}),
    ("POST", "/conversations/{sender}/tracker/events", {"event": "slot", "name": "language", "value": "de"}),
    ("POST", "/model/parse", {"text": "je cherche du miel"}),
    ("GET", "/status", None),
]


def api_url(base: str, path: str, sender: str, token: str | None = None) -> str:
    url = base + path.format(sender=urllib.parse.quote(sender, safe=":@"))
    return url if token is None else f"{url}?{urllib.parse.urlencode({'token': token})}"


@pytest.fixture(scope="module")
def without_api(stack: Stack) -> Iterator[Servers]:
    """A second Rasa on the same deployment, as `make run` starts it: its HTTP API off."""
    servers = Servers(stack.settings, rasa_port=free_port(), actions_port=free_port(),
                      log_dir=stack.settings.data_dir / "logs-no-api")  # fmt: skip
    with servers:
        yield servers


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_without_the_api_rasa_serves_none_of_it(
    stack: Stack, without_api: Servers, method: str, path: str, body: Any
) -> None:
    customer = stack.new_sender()
    assert without_api.client().send(customer, "bonjour", {"language": "fr"})  # the bot's path works
    before = events_of(stack, customer)
    for token in (None, stack.rasa.api_token):  # not even with a token
        status, _ = http(method, api_url(without_api.rasa_url, path, customer, token), body)
        assert status == 404
    assert events_of(stack, customer) == before


def test_without_the_api_the_readiness_check_says_only_ready(without_api: Servers) -> None:
    assert http("GET", f"{without_api.rasa_url}/webhooks/rest/status") == (200, {"ready": True})
    assert without_api.client().ready()


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_with_the_api_on_every_call_needs_its_token(stack: Stack, method: str, path: str, body: Any) -> None:
    customer = stack.new_sender()
    stack.rasa.send(customer, "bonjour", {"language": "fr"})
    before = events_of(stack, customer)
    for token in (None, "", "forged-" * 6):
        status, _ = http(method, api_url(stack.rasa.url, path, customer, token), body)
        assert status == 401
    assert events_of(stack, customer) == before
    assert stack.rasa.tracker(customer)["sender_id"] == customer  # the token opens it


def test_no_secret_is_on_a_command_line_or_in_the_endpoints_file(stack: Stack) -> None:
    """Any local user can read a process's command line (`ps`); the secrets travel by environment only."""
    secrets = stack.servers.secrets
    values = (secrets.channel, secrets.actions, secrets.api_token)
    for process in stack.servers.processes:
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        assert not any(value in command_line for value in values)
    endpoints = (stack.settings.data_dir / "rasa" / "endpoints.yml").read_text(encoding="utf-8")
    assert "${SMARTKET_ACTION_SECRET}" in endpoints and secrets.actions not in endpoints


# --- the action server ----------------------------------------------------------------------------


def test_the_action_server_runs_nothing_for_a_caller_without_its_secret(stack: Stack) -> None:
    customer = stack.new_sender()
    known = identities(stack)
    call = {
        "next_action": "action_add_to_basket", "sender_id": customer, "version": "3.6.21", "domain": {},
        "tracker": {"sender_id": customer, "slots": {}, "events": [], "latest_message": {
            "text": "/add_to_basket", "intent": {"name": "add_to_basket"}, "metadata": {"language": "fr"},
            "entities": [{"entity": "product", "value": "#1"}, {"entity": "quantity", "value": "2"}],
        }},
    }  # fmt: skip
    url = f"http://127.0.0.1:{stack.servers.actions_port}"
    for headers in ({}, {ACTION_SECRET_HEADER: "forged-" * 6}):
        assert http("POST", f"{url}/webhook", call, headers)[0] == 401
        assert http("GET", f"{url}/actions", None, headers)[0] == 401
    assert identities(stack) == known  # the customer was never created: no action ran
    assert http("GET", f"{url}/health")[0] == 200


def test_rasa_never_serves_its_api_without_a_token() -> None:
    for token in ("", "short"):
        env = rasa_env() | {"SMARTKET_RASA_API_TOKEN": token}
        launched = subprocess.run([str(RASA_VENV_LINK / "bin" / "python"), "-m", "rasa_launch", "run", "--enable-api"],
                                  env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert launched.returncode != 0 and "only with a token" in launched.stderr
    on_command_line = subprocess.run(
        [str(RASA_VENV_LINK / "bin" / "python"), "-m", "rasa_launch", "run", "--enable-api", "--auth-token", "x" * 20],
        env=rasa_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert on_command_line.returncode != 0 and "never on the command line" in on_command_line.stderr
