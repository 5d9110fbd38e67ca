"""The admin command line, driven as an admin would (on a throw-away SQLite file)."""

import json

import pytest
from typer.testing import CliRunner

import admin_cli
from catalog.csv_io import COLUMNS

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)

    def run(*args: str) -> tuple[int, str]:
        admin_cli.state.app = None
        result = runner.invoke(admin_cli.cli, ["--lang", "en", *args])
        if admin_cli.state.app:
            admin_cli.state.app.close()
        return result.exit_code, result.output

    code, out = run("db", "upgrade")
    assert code == 0, out
    return run


def test_vendor_lifecycle(cli):
    assert cli("vendor", "add", "ferme-a", "--name", "Ferme A", "--kind", "producer", "--pending")[0] == 0
    code, out = cli("vendor", "list")
    assert "ferme-a" in out and "pending" in out
    assert cli("vendor", "approve", "ferme-a")[0] == 0
    assert "approved" in cli("vendor", "list")[1]
    code, out = cli("vendor", "add", "ferme-a", "--name", "Again", "--kind", "producer")
    assert code == 1 and "Invalid value for slug" in out
    code, out = cli("vendor", "suspend", "nobody")
    assert code == 1 and "can't find the vendor" in out


def test_import_search_show_and_export(cli, tmp_path):
    cli("vendor", "add", "rucher", "--name", "Rucher du Salève", "--kind", "producer")
    csv_file = tmp_path / "miel.csv"
    csv_file.write_text(
        ",".join(COLUMNS) + "\n"
        "rucher,M1,Miel de fleurs,Blütenhonig,,Flower honey,honey,500 g,14.00,reduced,20,organic,Salève (15 km)\n"
        "rucher,M2,Miel de forêt,Waldhonig,,Forest honey,honey,250 g,9.50,reduced,0,,Salève (15 km)\n",
        encoding="utf-8",
    )
    code, out = cli("product", "import", str(csv_file))
    assert code == 0 and "2 created" in out

    code, out = cli("product", "search", "mielle", "--lang", "fr", "--json")
    hits = json.loads(out)
    assert [h["sku"] for h in hits] == ["M1", "M2"]
    assert hits[0] | {"score": 0} == {
        "sku": "M1",
        "vendor": "rucher",
        "name": "Miel de fleurs",
        "price_chf": "14.00",
        "score": 0,
    }
    code, out = cli("product", "search", "honey", "--json", "--in-stock")
    assert [h["sku"] for h in json.loads(out)] == ["M1"]

    code, out = cli("product", "update", "rucher/M2", "--price", "10.00", "--stock", "5")
    assert code == 0 and "Forest honey" in out
    code, out = cli("product", "update", "rucher/M2", "--price", "ten")
    assert code == 1 and "Invalid value for price" in out
    code, out = cli("product", "show", "rucher/M9")
    assert code == 1 and "can't find the product" in out

    exported = tmp_path / "out.csv"
    assert cli("product", "export", str(exported))[0] == 0
    assert "rucher,M2,Miel de forêt" in exported.read_text(encoding="utf-8")
    assert "10.00" in exported.read_text(encoding="utf-8")


def test_a_bad_import_lists_problems_by_line_and_writes_nothing(cli, tmp_path):
    cli("vendor", "add", "rucher", "--name", "Rucher", "--kind", "producer")
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(COLUMNS) + "\nrucher,M1,Miel,,,,honey,500 g,-3,reduced,1,,\n", encoding="utf-8")
    code, out = cli("product", "import", str(bad))
    assert code == 1 and "nothing was imported" in out
    assert "2" in out and "price -3" in out
    assert "Products (0)" in cli("product", "list")[1]


def test_demo_load_and_stats(cli):
    code, out = cli("demo", "load")
    assert code == 0, out
    code, out = cli("stats")
    assert code == 0 and "Products and services" in out
    code, out = cli("product", "search", "fromage d'alpage", "--json", "--lang", "de")
    assert code == 0 and json.loads(out), out


def test_invite_codes_outbox_and_delivery_runs(cli, tmp_path):
    cli("vendor", "add", "rucher", "--name", "Rucher du Salève", "--kind", "producer")
    code, out = cli("vendor", "invite", "rucher", "--days", "3")
    assert code == 0 and "/link " in out and "Rucher du Salève" in out
    code, out = cli("vendor", "invite", "nobody")
    assert code == 1 and "can't find the vendor" in out
    code, out = cli("outbox", "list")
    assert code == 0 and "Every notification was delivered" in out
    code, out = cli("outbox", "retry", "999")
    assert code == 1 and "No failed" in out
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    code, out = cli("delivery", "run", "velo", "--day", "2026-11-25")
    assert code == 0 and "Vélo Livraisons" in out
    assert cli("vendor", "audit")[0] == 0


def test_payments_import_reports_and_refuses_bad_files(cli, tmp_path):
    from tests.integration.test_payments import camt054

    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Document><oops>")
    code, out = cli("payments", "import", str(bad))
    assert code == 1 and "Nothing was imported" in out
    good = tmp_path / "camt.xml"
    good.write_bytes(camt054(("E1", "000000000000000000000999995", "5.00")))
    code, out = cli("payments", "import", str(good))
    assert code == 0 and "unknown reference" in out
    assert "already imported" in cli("payments", "import", str(good))[1]
    assert "Nothing overdue" in cli("payments", "deadlines")[1]
    assert cli("payments", "list")[0] == 0


def test_delivery_zones_slots_and_pickup_points(cli):
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    cli("vendor", "add", "epicerie", "--name", "Épicerie", "--kind", "shop")
    assert cli("delivery", "zone", "velo", "1200-1209", "1227")[0] == 0
    code, out = cli("delivery", "slot", "velo", "--weekdays", "mon,tue,wed,thu,fri,sat,sun", "--start", "17:00",
                    "--end", "19:00", "--capacity", "3", "--fee", "6.50", "--cutoff-hours", "0")  # fmt: skip
    assert code == 0, out
    assert cli("delivery", "pickup", "epicerie", "Épicerie du coin", "Rue X 1, 1205 Genève")[0] == 0
    code, out = cli("delivery", "list")
    assert "1200-1209" in out and "17:00-19:00" in out and "Épicerie du coin" in out
    code, out = cli("delivery", "list", "--postal-code", "1205")
    assert "Vélo Livraisons" in out and "3" in out
    assert "Vélo" not in cli("delivery", "list", "--postal-code", "1950")[1]
    code, out = cli("delivery", "slot", "velo", "--weekdays", "someday", "--start", "17:00", "--end", "19:00",
                    "--capacity", "3")  # fmt: skip
    assert code == 1
    code, out = cli("delivery", "zone", "epicerie", "1200")
    assert code == 1  # a shop is not a delivery company
