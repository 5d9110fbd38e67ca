"""`admin_cli.py privacy export|erase|report`, driven as an admin would on a throw-away SQLite file: requests
that come by letter or e-mail go through the same code as the chat, and the report's retention rules are the
deployment's `[privacy]` settings."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import admin_cli
from admin.context import console, errors
from bootstrap import App, build_app
from marketplace.accounts import ChatIdentity, OrganisationKind, add_organisation, person_for_chat
from marketplace.settings import DEFAULT_CONFIG
from tests.conftest import make_product
from tests.integration.test_admin_cli import rows
from tests.integration.test_privacy_export import ADA, ADA_TOO, RASA_EVENTS, converse, customer

Run = Callable[..., tuple[int, str]]
runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The command line on a throw-away SQLite file and data directory, its schema upgraded; `input` answers
    its questions."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.setattr(console, "width", 250)
    monkeypatch.setattr(errors, "width", 250)

    def run(*args: str, input: str | None = None) -> tuple[int, str]:
        result = runner.invoke(admin_cli.cli, ["--lang", "en", *args], input=input)
        return result.exit_code, result.output

    code, out = run("db", "upgrade")
    assert code == 0, out
    return run


@pytest.fixture
def app(cli: Run) -> Iterator[App]:  # noqa: ARG001 (built once `cli` set the environment and upgraded the database)
    app = build_app()
    yield app
    app.close()


@pytest.fixture
def shop(app: App) -> dict[str, int]:
    """Ada with a delivered order and her conversation, and a look-alike customer beside her."""
    with app.db.uow() as uow:
        add_organisation(uow, "ferme-test", "Ferme Test", OrganisationKind.PRODUCER, leman_share_pct=50)
        ids = {
            "tomato": make_product(uow, "ferme-test", "TOM", "Tomates", "4.80", "10", unit="kg"),
            "eggs": make_product(uow, "ferme-test", "EGG", "Œufs (6)", "5.20", "5", category="eggs"),
        }
        uow.commit()
    RASA_EVENTS.create(app.db.engine)
    ids["ada"] = customer(app, ids, ADA)  # type: ignore[assignment]
    customer(app, ids, ADA_TOO)
    converse(app, ADA)
    return ids


def ada_exists(app: App) -> bool:
    with app.db.uow() as uow:
        return uow.session.scalar(select(ChatIdentity).where(ChatIdentity.external_id == ADA.chat_id)) is not None


# --- export ----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("shop")
def test_export_writes_the_person_s_file_readable_by_its_owner_only(cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "letters" / "ada.json"

    code, out = cli("privacy", "export", ADA.address, "--output", str(target))

    assert code == 0, out
    assert "ada.json" in out and ADA.name not in out  # the console names the number, not the person
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["account"]["display_name"] == ADA.name
    assert [event["type"] for event in data["conversations"][0]["events"]] == ["user", "action", "slot", "bot"]
    assert ADA_TOO.street not in target.read_text(encoding="utf-8")


@pytest.mark.usefixtures("shop")
def test_export_without_a_file_prints_the_json_and_finds_a_person_by_number_or_name(cli: Run) -> None:
    code, out = cli("privacy", "export", ADA.name)
    assert code == 0, out
    number = json.loads(out)["account"]["number"]

    code, out = cli("privacy", "export", f"#{number}")

    assert code == 0 and json.loads(out)["chat_identities"][0]["address"] == ADA.address


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("who", ["telegram:404", "Ada", "#9999"])
def test_export_of_nobody_or_of_an_ambiguous_name_says_so(cli: Run, app: App, who: str) -> None:
    with app.db.uow() as uow:
        person_for_chat(uow, "telegram:1").display_name = person_for_chat(uow, "telegram:2").display_name = "Ada"
        uow.commit()

    code, out = cli("privacy", "export", who)

    assert code == 1 and f"Nobody matches “{who}”" in out and "Traceback" not in out


# --- erase -----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("shop")
def test_erase_asks_first_and_a_no_changes_nothing(cli: Run, app: App) -> None:
    code, out = cli("privacy", "erase", ADA.address, input="n\n")

    assert code == 1 and "Erase #" in out and ADA.name in out and "Aborted" in out
    assert ada_exists(app)


def test_erase_confirmed_deletes_the_person_keeps_her_orders_and_shows_her_message(
    cli: Run, app: App, shop: dict[str, int]
) -> None:
    code, out = cli("privacy", "erase", ADA.address, input="y\n")

    assert code == 0, out
    assert not ada_exists(app)
    table = {row[0]: row[1] for row in rows(out) if len(row) == 2}
    assert (table["chat identities"], table["saved addresses"], table["conversation events"]) == ("1", "1", "4")
    assert "Kept anonymised (accounting, 10 years, until 20" in out and str(shop["ada"]) in out
    assert "Message for the person (fr):" in out and "votre compte est effacé" in out


def test_erase_is_refused_while_an_order_is_under_way(cli: Run, app: App, shop: dict[str, int]) -> None:
    under_way = customer(app, shop, ADA, delivered=False)

    code, out = cli("privacy", "erase", ADA.address, "--yes")

    assert code == 1 and under_way in out and "delivered or cancelled first" in out and "Traceback" not in out
    assert ada_exists(app)


# --- report ----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("shop")
def test_the_report_counts_each_kind_of_personal_data_with_the_deployment_s_retention(cli: Run, tmp_path: Path) -> None:
    config = tmp_path / "town.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace("conversation_days = 90", "conversation_days = 45")
    config.write_text(text.replace('data_dir = "../var/geneva"', f'data_dir = "{tmp_path / "data"}"'), encoding="utf-8")
    (tmp_path / "data" / "payments").mkdir(parents=True)
    (tmp_path / "data" / "payments" / "GE-X-1-qr-bill.pdf").write_bytes(b"%PDF")

    code, out = cli("--config", str(config), "privacy", "report")

    assert code == 0, out
    table = {row[0]: row[1:] for row in rows(out) if len(row) == 5}
    assert table["accounts (display name, language)"][0] == "2"
    assert table["conversation events (Rasa tracker)"] == [
        "4", table["conversation events (Rasa tracker)"][1], "45 days, and deleted at erasure",
        "privacy.conversation_days = 45",
    ]  # fmt: skip
    assert table["delivery addresses of orders"][0] == "2" and table["saved delivery addresses"][0] == "2"
    assert table["orders linked to a person"][2:] == [
        "the link to the person until erasure, or 10 years after the end of the order's year (the order stays)",
        "privacy.accounting_years = 10",
    ]  # fmt: skip
    assert table["payment files (QR-bills, e-Léman QR codes)"][0] == "1"
    assert table["payers' bank accounts (credits)"][0] != "0"
    assert ADA.name not in out and ADA.chat_id not in out  # counts only


def test_the_report_of_an_empty_marketplace_without_rasa_s_table(cli: Run) -> None:
    code, out = cli("privacy", "report")

    assert code == 0, out
    table = {row[0]: row[1:] for row in rows(out) if len(row) == 5}
    assert table["conversation events (Rasa tracker)"][:2] == ["0", "-"]
    assert all(cells[0] == "0" for cells in table.values())
