"""Key rotation on the tests' database: a new current key, every sealed value re-encrypted in batches, safe to
stop and resume; an old key retired only when nothing uses it; a running process follows the key file."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

import admin_cli
import bootstrap
from admin.context import console, errors
from admin.keys import sealed_tables
from bootstrap import App
from checkout.address_book import DeliveryAddress, list_addresses, order_delivery, save_address, set_order_delivery
from checkout.models import Order
from checkout.services import DeliveryChoice, add_to_basket, place_order
from marketplace import crypto
from marketplace.accounts import person_for_chat
from marketplace.crypto import (
    DATA_KEYS,
    KeyRetirementRefused,
    KeyStore,
    bind_keys,
    reencrypt,
    retire_key,
    rotate_key,
    rows_per_key,
    rows_to_reencrypt,
)
from marketplace.settings import DEMO_ENV
from tests.conftest import person

PEOPLE, ORDERS = 5, 3
ROWS = PEOPLE + ORDERS


def address(number: int) -> DeliveryAddress:
    return DeliveryAddress(
        f"Rue de Carouge {number}", "1205", "Genève", f"Client {number}", phone=f"+41 79 555 00 {number:02}"
    )


@pytest.fixture
def store(app: App, tmp_path: Path) -> Iterator[KeyStore]:
    """The tests' database sealed with a key file in a throw-away data directory (as `keys init` makes it)."""
    keys = KeyStore(tmp_path, {}, create=True)
    bind_keys(app.db.engine, keys)
    yield keys
    bind_keys(app.db.engine, app.keys)


@pytest.fixture
def sealed(app: App, shop, store: KeyStore) -> None:  # noqa: ARG001 (store: sealed under the file's key)
    """Five people's saved addresses, and three orders with their delivery address."""
    with app.db.uow() as uow:
        for number in range(1, PEOPLE + 1):
            save_address(uow, person_for_chat(uow, f"telegram:{7000 + number}"), address(number), "home")
        buyer = person(uow, shop["consumer"])
        for number in range(ORDERS):
            add_to_basket(uow, buyer, shop["tomato"], Decimal(1))
            order = place_order(uow, app.settings, buyer, DeliveryChoice("delivery", "1205"))
            set_order_delivery(order, address(50 + number))
        uow.commit()


def everything(app: App) -> list[DeliveryAddress | None]:
    """Every address, read through the models (so through the keys), in a stable order."""
    with app.db.uow() as uow:
        saved = []
        for n in range(1, PEOPLE + 1):
            saved += [a.address() for a in list_addresses(uow, person_for_chat(uow, f"telegram:{7000 + n}"))]
        orders = uow.session.scalars(select(Order).order_by(Order.id))
        return [*saved, *(order_delivery(order) for order in orders)]


def raw_prefixes(app: App) -> set[str]:
    with app.db.engine.connect() as conn:
        values = conn.execute(text("SELECT street FROM saved_addresses UNION ALL SELECT delivery_street FROM orders"))
        return {value.rpartition(":")[0] for (value,) in values if value is not None}


@pytest.mark.usefixtures("sealed")
def test_rotation_stopped_after_one_batch_is_finished_by_running_it_again(app: App, store: KeyStore) -> None:
    before = everything(app)
    assert before[0] == address(1) and before[-ORDERS:] == [address(50), address(51), address(52)]
    old = store.ring().current.kid
    tables = sealed_tables()
    assert [t.name for t in tables] == ["orders", "saved_addresses", "vendor_applications"]  # none of the last here

    new = rotate_key(store).current.kid
    assert new != old and store.ring().kids == (new, old)
    assert rows_to_reencrypt(app.db.engine, tables, new) == ROWS
    batches = reencrypt(app.db.engine, store, tables, batch_size=2)
    assert next(batches) == 2
    batches.close()  # stopped, as by Ctrl-C, right after the first batch's commit

    counts = rows_per_key(app.db.engine, tables, store.ring())
    assert counts == {
        "orders": {new: 2, old: 1, "unknown": 0},
        "saved_addresses": {new: 0, old: PEOPLE, "unknown": 0},
        "vendor_applications": {new: 0, old: 0, "unknown": 0},
    }
    assert everything(app) == before  # half-way, everything still reads
    with pytest.raises(KeyRetirementRefused, match=f"{ROWS - 2} rows still use"):
        retire_key(store, app.db.engine, tables, old)

    assert list(reencrypt(app.db.engine, store, tables, batch_size=2)) == [1, 2, 2, 1]  # only what was left
    assert rows_to_reencrypt(app.db.engine, tables, new) == 0
    assert raw_prefixes(app) == {f"v1:{new}"}
    assert list(reencrypt(app.db.engine, store, tables, batch_size=2)) == []  # run again: nothing to do
    assert everything(app) == before


@pytest.mark.usefixtures("sealed")
def test_an_old_key_is_retired_only_when_nothing_uses_it_and_never_the_current_one(app: App, store: KeyStore) -> None:
    tables = sealed_tables()
    old = store.ring().current.kid
    with pytest.raises(KeyRetirementRefused, match="current"):
        retire_key(store, app.db.engine, tables, old)
    with pytest.raises(KeyRetirementRefused, match="no data key"):
        retire_key(store, app.db.engine, tables, "nope")
    new = rotate_key(store).current.kid
    with pytest.raises(KeyRetirementRefused, match=f"{ROWS} rows still use"):
        retire_key(store, app.db.engine, tables, old)
    assert store.ring().kids == (new, old)  # refused: the file is unchanged
    for _ in reencrypt(app.db.engine, store, tables):
        pass
    assert retire_key(store, app.db.engine, tables, old).kids == (new,)
    assert KeyStore(store.path.parent.parent, {}).ring().kids == (new,)  # the file itself
    assert everything(app)[-1] == address(52)


def test_every_model_module_with_sealed_columns_is_known_to_the_keys_command() -> None:
    """`keys rotate` walks the tables `sealed_tables` imports; a fresh process that imports every model module
    (as the migrations do) finds no other sealed table."""
    script = (
        "import importlib, pathlib, re\n"
        "env = pathlib.Path('migrations/env.py').read_text()\n"
        "for name in re.findall(r'^import (\\S+)', env, re.M): importlib.import_module(name)\n"
        "import bot.cursors\n"
        "from marketplace.crypto import encrypted_tables\n"
        "from marketplace.db import Base\n"
        "print(sorted(t.name for t in encrypted_tables(Base.metadata)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(t.name for t in sealed_tables()))


# --- on the command line -----------------------------------------------------------------------------------


@pytest.fixture
def cli(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The admin command line on the tests' database, in production (no demo), keys from its data directory."""
    monkeypatch.setenv("DATABASE_URL", app.db.url)
    if app.db.is_postgres:
        with app.db.engine.connect() as conn:
            schema = conn.exec_driver_sql("SHOW search_path").scalar()
        monkeypatch.setattr(bootstrap, "build_app", functools.partial(bootstrap.build_app, schema=schema))
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.delenv(DATA_KEYS.env, raising=False)
    monkeypatch.delenv(DEMO_ENV, raising=False)
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setattr(errors, "width", 200)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(admin_cli.cli, ["--lang", "en", *args])
        return result.exit_code, result.output

    return run


def test_without_a_data_key_outside_the_demo_commands_stop_saying_how_to_make_one(cli, tmp_path: Path) -> None:
    code, out = cli("stats")
    assert code == 2
    assert "Configuration error" in out and DATA_KEYS.env in out and "admin_cli.py keys init" in out
    assert "Traceback" not in out and not (tmp_path / "secrets").exists()
    code, out = cli("keys", "init")
    assert code == 0 and f"Data key file created: {tmp_path / 'secrets' / 'data-keys'}" in " ".join(out.split())
    assert (tmp_path / "secrets" / "data-keys").stat().st_mode & 0o777 == 0o600
    assert cli("stats")[0] == 0
    assert "already exists" in cli("keys", "init")[1]


def table_rows(out: str) -> dict[str, list[str]]:
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line[:1] == "│"]
    return {row[0]: row[1:] for row in cells}


@pytest.mark.usefixtures("sealed")
def test_keys_rotate_stopped_then_resumed_on_the_command_line(
    app: App, store: KeyStore, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin rotates while a server (this test's app, with its own KeyStore on the same file) keeps
    reading: it follows the new key without a restart."""
    before = everything(app)
    old = store.ring().current.kid
    code, out = cli("keys", "status")
    assert code == 0 and f"current key: {old}" in out
    rows = table_rows(out)
    assert f"┃ {old} (current) ┃ unknown ┃" in out
    assert rows["orders"] == [str(ORDERS), "0"] and rows["saved_addresses"] == [str(PEOPLE), "0"]

    original = crypto.reencrypt

    def stopped_after_one_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        batches = original(*args, **kwargs)
        yield next(batches)
        raise KeyboardInterrupt

    monkeypatch.setattr(crypto, "reencrypt", stopped_after_one_batch)
    code, out = cli("keys", "rotate", "--batch-size", "2")
    assert code == 130 and "Stopped after 2 rows: `keys rotate --resume` finishes the rotation." in out
    new = KeyStore(store.path.parent.parent, {}).ring().current.kid
    assert new != old and f"New current data key: {new}" in out
    assert everything(app) == before  # the "server" reads rows under both keys
    code, out = cli("keys", "status")
    assert table_rows(out)["orders"] == ["2", "1", "0"] and f"{ROWS - 2} rows use an older key" in out
    code, out = cli("keys", "retire", old)
    assert code == 1 and f"{ROWS - 2} rows still use data key {old}" in out
    monkeypatch.setattr(crypto, "reencrypt", original)

    code, out = cli("keys", "rotate", "--resume", "--batch-size", "2")
    assert code == 0 and f"{ROWS - 2} rows re-encrypted under {new}." in out and "New current data key" not in out
    assert raw_prefixes(app) == {f"v1:{new}"}
    assert cli("keys", "retire", new)[0] == 1  # the current key stays
    code, out = cli("keys", "retire", old)
    assert code == 0 and f"Data key {old} retired; keys left: {new} (current: {new})." in out
    assert everything(app) == before
    with app.db.uow() as uow:  # and the "server" writes under the new key
        save_address(uow, person_for_chat(uow, "telegram:7999"), address(99))
        uow.commit()
    assert raw_prefixes(app) == {f"v1:{new}"}
    code, out = cli("keys", "status")
    assert code == 0 and f"current key: {new}" in out and old not in out


def test_keys_from_the_environment_are_not_rotated_by_the_command(cli, app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import TEST_DATA_KEYS

    monkeypatch.setenv(DATA_KEYS.env, TEST_DATA_KEYS)
    code, out = cli("keys", "rotate")
    assert code == 1 and f"${DATA_KEYS.env}" in " ".join(out.split()) and "--resume" in out
    assert TEST_DATA_KEYS.partition(":")[2] not in out  # never the key
    assert app.keys is not None
