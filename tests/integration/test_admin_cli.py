"""The admin command line, driven as an admin would (on a throw-away SQLite file): exact replies, and what
each command leaves in the database."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

import admin_cli
from admin.context import console, errors
from admin.vendors import Kind
from bootstrap import App, build_app
from catalog.csv_io import COLUMNS
from catalog.services import find_product
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from demo import DEMO_DIR
from marketplace.accounts import (
    ChatIdentity,
    OrganisationKind,
    Person,
    Role,
    add_member,
    add_organisation,
    get_organisation,
    person_for_chat,
)
from marketplace.linking import redeem_link_code
from marketplace.outbox import OutboxMessage, enqueue
from payments.services import legs_of, open_payment
from tests.conftest import make_product
from tests.integration.test_payments import camt054
from work.vendors import set_stock

D = Decimal
ENTRY = Path(admin_cli.__file__)
Run = Callable[..., tuple[int, str]]
runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The command line on a throw-away SQLite file and data directory, its schema upgraded."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    # Wide enough that no table wraps a cell onto a second line.
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setattr(errors, "width", 200)

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(admin_cli.cli, ["--lang", "en", *args])
        return result.exit_code, result.output

    code, out = run("db", "upgrade")
    assert code == 0, out
    return run


@pytest.fixture
def app(cli: Run) -> Iterator[App]:  # noqa: ARG001 (built once `cli` set the environment and upgraded the database)
    """The same deployment and database as the command line, to set up and read back what it did."""
    app = build_app()
    yield app
    app.close()


def rows(out: str) -> list[list[str]]:
    """The body rows of the tables (and the lines of the panels) printed, as lists of stripped cells; the
    non-breaking space in amounts ("CHF 4.80") reads as a space."""
    table = [line.replace("\xa0", " ").strip()[1:-1] for line in out.splitlines() if line[:1] == "│"]
    return [[cell.strip() for cell in line.split("│")] for line in table]


def lines(out: str) -> list[str]:
    return [line.replace("\xa0", " ").strip() for line in out.splitlines() if line.strip()]


def words(out: str) -> str:
    """The text printed, whatever the terminal's width made of it: frames dropped, runs of spaces as one."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", out).split())


def modules_imported(*args: str) -> set[str]:
    """The top-level packages that `admin_cli.py ARGS` imports, read from Python's own import log."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(ENTRY), *args],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "120"},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    logged = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {name.split(".")[0] for name in logged}


HEAVY = {"cairosvg", "qrbill", "numpy", "rasa_sdk", "telegram", "nio", "lxml", "alembic"}


@pytest.mark.parametrize(
    ("args", "not_loaded"),
    [
        # --help only lists the commands: not even the database library.
        (("--help",), HEAVY | {"sqlalchemy", "babel", "rapidfuzz"}),
        (("vendor", "list"), HEAVY),
        (("stats",), HEAVY),
    ],
)
@pytest.mark.usefixtures("cli")  # its environment: the throw-away database
def test_help_and_quick_commands_leave_payment_search_dialogue_and_chat_libraries_unloaded(
    args: tuple[str, ...], not_loaded: set[str]
) -> None:
    assert modules_imported(*args) & not_loaded == set()


def test_a_command_that_needs_a_library_still_loads_it(cli: Run) -> None:
    """The import log above does show what a command loads (so an empty intersection means something)."""
    cli("vendor", "add", "rucher", "--name", "Rucher", "--kind", "producer")
    assert {"numpy", "sqlalchemy"} <= modules_imported("product", "search", "miel")


def test_vendor_kinds_offered_are_the_organisation_kinds() -> None:
    assert get_args(Kind) == tuple(kind.value for kind in OrganisationKind)


def test_vendor_add_approve_suspend_and_list(cli: Run, app: App) -> None:
    code, out = cli("vendor", "add", "ferme-a", "--name", "Ferme A", "--kind", "producer", "--pending",
                    "--leman-share", "30", "--place", "Meyrin")  # fmt: skip
    assert (code, lines(out)) == (0, ["Vendor ferme-a added (producer, pending)."])
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    code, out = cli("vendor", "list")
    assert code == 0
    assert rows(out) == [
        ["velo", "Vélo Livraisons", "delivery", "approved", "", "0", "0"],
        ["ferme-a", "Ferme A", "producer", "pending", "Meyrin", "30", "0"],
    ]
    assert cli("vendor", "approve", "ferme-a") == (0, "Vendor ferme-a is now approved.\n")
    with app.db.uow() as uow:
        assert get_organisation(uow, "ferme-a").status == "approved"
    assert cli("vendor", "suspend", "ferme-a") == (0, "Vendor ferme-a is now suspended.\n")
    with app.db.uow() as uow:
        assert get_organisation(uow, "ferme-a").status == "suspended"


def test_vendor_add_refuses_a_taken_slug_an_unknown_kind_and_an_unknown_vendor(cli: Run, app: App) -> None:
    cli("vendor", "add", "ferme-a", "--name", "Ferme A", "--kind", "producer")
    assert cli("vendor", "add", "ferme-a", "--name", "Again", "--kind", "producer") == (
        1,
        "Invalid value for slug: “ferme-a”.\n",
    )
    with app.db.uow() as uow:
        assert get_organisation(uow, "ferme-a").name == "Ferme A"
    code, out = cli("vendor", "add", "ferme-b", "--name", "B", "--kind", "bogus")
    assert code == 2 and "'bogus' is not one of 'producer', 'shop', 'service', 'delivery', 'marketplace'." in words(out)
    assert cli("vendor", "suspend", "nobody") == (1, "I can't find the vendor “nobody”.\n")
    assert cli("--lang", "fr", "vendor", "suspend", "nobody") == (1, "Je ne trouve pas le vendeur « nobody ».\n")


def _honey_csv(tmp_path: Path) -> Path:
    file = tmp_path / "miel.csv"
    file.write_text(
        ",".join(COLUMNS) + "\n"
        "rucher,M1,Miel de fleurs,Blütenhonig,,Flower honey,honey,500 g,14.00,reduced,20,organic,Salève (15 km)\n"
        "rucher,M2,Miel de forêt,Waldhonig,,Forest honey,honey,250 g,9.50,reduced,0,,Salève (15 km)\n",
        encoding="utf-8",
    )
    return file


def test_product_import_search_update_show_and_export(cli: Run, app: App, tmp_path: Path) -> None:
    cli("vendor", "add", "rucher", "--name", "Rucher du Salève", "--kind", "producer")
    code, out = cli("product", "import", str(_honey_csv(tmp_path)))
    assert code == 0 and lines(out)[-1] == "2 rows: 2 created, 0 updated."

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
    code, out = cli("--lang", "fr", "product", "search", "mielle")
    assert [row[2:] for row in rows(out)] == [
        ["Miel de fleurs", "Rucher du Salève", "14,00 CHF / 500 g", "20", "Bio"],
        ["Miel de forêt", "Rucher du Salève", "9,50 CHF / 250 g", "0", ""],
    ]

    code, out = cli("product", "update", "rucher/M2", "--price", "10.00", "--stock", "5", "--unavailable")
    assert code == 0
    assert rows(out) == [
        ["Forest honey  —  Rucher du Salève (rucher/M2, #2)"],
        ["Honey · good · CHF 10.00 / 250 g · VAT reduced"],
        ["Stock: 5 (unavailable) · Léman accepted: 0 %"],
        ["Labels: —"],
        ["Origin: Salève (15 km)"],
    ]
    with app.db.uow() as uow:
        product = find_product(uow, "rucher", "M2")
        assert (product.price_chf, product.stock, product.available) == (D("10.00"), D(5), False)
        assert product.names["de"] == "Waldhonig"  # what the update did not name stays as it was

    assert cli("product", "update", "rucher/M2", "--price", "ten") == (1, "Invalid value for price: “ten”.\n")
    assert cli("product", "show", "rucher/M9") == (1, "I can't find the product “rucher/M9”.\n")

    exported = tmp_path / "out.csv"
    assert cli("product", "export", str(exported)) == (0, f"2 products written to {exported}.\n")
    with exported.open(encoding="utf-8") as file:
        written = {row["sku"]: row for row in csv.DictReader(file)}
    assert (written["M2"]["name_fr"], written["M2"]["price_chf"], written["M2"]["stock"]) == (
        "Miel de forêt",
        "10.00",
        "5",
    )


def test_a_bad_import_lists_problems_by_line_and_writes_nothing(cli: Run, tmp_path: Path) -> None:
    cli("vendor", "add", "rucher", "--name", "Rucher", "--kind", "producer")
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(COLUMNS) + "\nrucher,M1,Miel,,,,honey,500 g,-3,reduced,1,,\n", encoding="utf-8")
    code, out = cli("product", "import", str(bad))
    assert code == 1 and "1 problem(s): nothing was imported" in out
    assert rows(out) == [["2", "price -3 is not an amount in CHF with at most 2 decimals"]]
    code, out = cli("product", "list")
    assert "Products (0)" in out and rows(out) == []


def test_demo_load_is_idempotent_and_stats_count_it(cli: Run) -> None:
    with (DEMO_DIR / "products.csv").open(encoding="utf-8") as file:
        products = len(list(csv.DictReader(file)))
    organisations = len(tomllib.loads((DEMO_DIR / "vendors.toml").read_text(encoding="utf-8"))["vendor"])
    code, out = cli("demo", "load")
    assert code == 0 and lines(out)[-1] == f"Demo catalog: {products} products created, 0 updated."
    code, out = cli("demo", "load")
    assert code == 0 and lines(out)[-1] == f"Demo catalog: 0 products created, {products} updated."
    code, out = cli("stats")
    assert code == 0
    summary = {row[0]: row[1] for row in rows(out) if len(row) == 2}
    assert summary["Organisations"] == str(organisations)
    assert summary["Products and services"] == str(products)
    assert (summary["Orders"], summary["Goods sold"]) == ("0", "CHF 0.00")
    assert summary["Database"] == os.environ["DATABASE_URL"]
    by_category = [row for row in rows(out) if len(row) == 3]
    assert sum(int(count) for _, count, _ in by_category) == products
    code, out = cli("product", "search", "fromage d'alpage", "--json", "--lang", "de")
    assert code == 0 and {hit["sku"] for hit in json.loads(out)[:2]} == {"SEY-ALP-1", "SEY-ALP-2"}


def _shop(app: App) -> None:
    """Two producers (50 % and 0 % accepted in Léman), a product each, a customer."""
    with app.db.uow() as uow:
        add_organisation(uow, "ferme-test", "Ferme Test", OrganisationKind.PRODUCER, leman_share_pct=50)
        add_organisation(uow, "cave-test", "Cave Test", OrganisationKind.PRODUCER)
        make_product(uow, "ferme-test", "TOM", "Tomates", "4.80", "10", unit="kg")
        make_product(uow, "cave-test", "CHA", "Chasselas", "14.50", "24", category="wine", unit="75 cl",
                     vat_class="standard")  # fmt: skip
        person_for_chat(uow, "telegram:1001")
        uow.commit()


def _order(app: App, method: PaymentMethod = PaymentMethod.CHF) -> str:
    """An order for pickup of 2 kg of tomatoes and a Chasselas (CHF 24.10), with its payment opened."""
    with app.db.uow() as uow:
        buyer = person_for_chat(uow, "telegram:1001")
        add_to_basket(uow, buyer, find_product(uow, "ferme-test", "TOM").id, D(2))
        add_to_basket(uow, buyer, find_product(uow, "cave-test", "CHA").id, D(1))
        order = place_order(uow, app.settings, buyer, DeliveryChoice("pickup", payment_method=method))
        open_payment(uow, app.settings, order)
        uow.commit()
        return order.number


def test_stats_count_goods_sold_without_cancelled_or_refunded_orders(cli: Run, app: App) -> None:
    _shop(app)
    kept, cancelled, refunded = _order(app), _order(app), _order(app)
    assert cli("order", "status", cancelled, "cancelled")[0] == 0
    assert cli("order", "status", refunded, "paid")[0] == 0
    assert cli("order", "status", refunded, "refunded")[0] == 0
    with app.db.uow() as uow:
        assert [get_order(uow, n).status for n in (kept, cancelled, refunded)] == ["placed", "cancelled", "refunded"]
        assert get_order(uow, kept).goods_total == D("24.10")
    code, out = cli("stats")
    summary = {row[0]: row[1] for row in rows(out) if len(row) == 2}
    assert code == 0 and (summary["Orders"], summary["Goods sold"]) == ("3", "CHF 24.10")
    assert (summary["Products and services"], summary["Out of stock"]) == ("2", "0")
    assert [row for row in rows(out) if len(row) == 3] == [["vegetables", "1", "8"], ["wine", "1", "23"]]


def test_order_list_show_and_status(cli: Run, app: App) -> None:
    _shop(app)
    number = _order(app, PaymentMethod.MIXED)
    code, out = cli("order", "list")
    with app.db.uow() as uow:
        created = get_order(uow, number).created_at
    assert rows(out) == [[number, f"{created:%Y-%m-%d %H:%M}", "placed", "2", "pickup", "CHF 24.10", "CHF 4.80"]]
    code, out = cli("order", "show", number)
    assert code == 0
    table = rows(out)
    assert table[:2] == [
        ["Ferme Test", "placed", "Tomates", "2 kg", "CHF 4.80", "2.60", "CHF 9.60"],
        ["Cave Test", "placed", "Chasselas", "1 75 cl", "CHF 14.50", "8.10", "CHF 14.50"],
    ]
    assert ["Total", "CHF 24.10", ""] in table
    assert "Payable in Léman: up to CHF 4.80" in lines(out)
    assert [row[0] for row in table if row[0] in ("qr_bill", "leman")] == ["qr_bill", "leman"]

    code, out = cli("order", "status", number, "prepared", "--vendor", "ferme-test")
    assert (code, out) == (0, f"Order {number}: placed\n")  # the order is as far as its least advanced part
    code, out = cli("order", "status", number, "delivered")
    assert (code, out) == (1, "Not possible: the order is “prepared” and cannot become “delivered”.\n")
    with app.db.uow() as uow:
        parts = {part.vendor.slug: part.status for part in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": "prepared", "cave-test": "placed"}
    assert cli("order", "show", "GE-NOPE00")[0] == 1


def test_invite_code_links_the_member_who_sends_it(cli: Run, app: App) -> None:
    cli("vendor", "add", "rucher", "--name", "Rucher du Salève", "--kind", "producer")
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    code, out = cli("vendor", "invite", "rucher", "--days", "3")
    assert code == 0
    panel = [row[0] for row in rows(out)]
    link = re.fullmatch(r"/link (\S+)", panel[0])
    assert link is not None
    assert panel[2] == "Makes whoever sends it to the bot a member of Rucher du Salève."
    assert re.fullmatch(
        r"Valid once, until \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Hand it over in person or by phone\.", panel[3]
    )
    code, out = cli("vendor", "invite", "velo")
    assert "Makes whoever sends it to the bot a courier of Vélo Livraisons." in out
    with app.db.uow() as uow:
        membership = redeem_link_code(uow, person_for_chat(uow, "telegram:77"), link[1])
        assert (membership.organisation.slug, membership.role) == ("rucher", Role.VENDOR_MEMBER)
    assert cli("vendor", "invite", "nobody") == (1, "I can't find the vendor “nobody”.\n")


def test_vendor_audit_shows_who_changed_what(cli: Run, app: App) -> None:
    _shop(app)
    with app.db.uow() as uow:
        member = person_for_chat(uow, "telegram:2002")
        member.display_name = "Anna"
        add_member(uow, member, get_organisation(uow, "ferme-test"))
        set_stock(uow, member, find_product(uow, "ferme-test", "TOM").id, D(7))
        uow.commit()
    code, out = cli("vendor", "audit", "ferme-test")
    assert code == 0 and [row[1:] for row in rows(out)] == [["Anna", "ferme-test", "TOM", "stock", "10.000", "7"]]
    assert rows(cli("vendor", "audit", "cave-test")[1]) == []
    assert cli("vendor", "audit", "nobody") == (1, "I can't find the vendor “nobody”.\n")


def test_outbox_lists_undeliverable_messages_and_retries_them(cli: Run, app: App) -> None:
    assert cli("outbox", "list")[1].endswith("Every notification was delivered or is on its way.\n")
    with app.db.uow() as uow:
        person = Person(display_name="Léa")
        uow.session.add(person)
        uow.session.flush()
        message = enqueue(uow, "k1", person, "status_change", "Votre commande est prête.")
        assert message is not None
        message_id, person_id = message.id, person.id
        uow.commit()
    code, out = cli("outbox", "list")
    assert code == 0
    assert rows(out)[0][2:] == ["status_change", f"person #{person_id}", "unreachable", "0", "no chat address"]
    assert cli("outbox", "retry", str(message_id)) == (
        0,
        f"Message #{message_id}: unreachable (still no chat address).\n",
    )
    with app.db.uow() as uow:
        uow.session.add(ChatIdentity(person_id=person_id, platform="telegram", external_id="4242"))
        uow.commit()
    assert cli("outbox", "retry", str(message_id)) == (0, f"Message #{message_id}: pending (telegram).\n")
    with app.db.uow() as uow:
        row = uow.session.get(OutboxMessage, message_id)
        assert (row.status, row.destination) == ("pending", "4242")
    assert cli("outbox", "retry", "999") == (1, "No failed, in-doubt or unreachable message #999.\n")


def test_payments_qrbill_bank_file_list_and_deadlines(cli: Run, app: App, tmp_path: Path) -> None:
    _shop(app)
    number = _order(app)
    with app.db.uow() as uow:
        [leg] = legs_of(uow, get_order(uow, number))
        reference, amount = leg.reference, leg.amount
    assert amount == D("24.10")
    code, out = cli("payments", "list")
    assert rows(out) == [[number, "CHF 24.10", "awaiting", "qr_bill: 24.10 CHF awaiting"]]

    code, out = cli("payments", "qrbill", number, "--out", str(tmp_path))
    pdf = tmp_path / f"{number}.pdf"
    assert (code, words(out)) == (0, f"{pdf} and {pdf.with_suffix('.png')}: 24.10 CHF, reference {reference}")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.with_suffix(".png").read_bytes().startswith(b"\x89PNG")

    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Document><oops>")
    code, out = cli("payments", "import", str(bad))
    assert code == 1 and out.startswith("bad.xml: ") and out.endswith(". Nothing was imported.\n")
    bank = tmp_path / "camt.xml"
    bank.write_bytes(camt054(("E1", reference, "24.10"), ("E2", "000000000000000000000999995", "5.00")))
    code, out = cli("payments", "import", str(bank))
    assert code == 0 and "camt.xml: 1 credit(s) applied" in out
    assert rows(out) == [
        ["paid", reference, "CHF 24.10", ""],
        ["unknown reference", "000000000000000000000999995", "CHF 5.00", "no such bill"],
    ]
    with app.db.uow() as uow:
        assert get_order(uow, number).status == "paid"
    assert cli("payments", "import", str(bank)) == (0, "camt.xml was already imported: nothing changed.\n")
    assert rows(cli("payments", "list", "--state", "paid")[1]) == [
        [number, "CHF 24.10", "paid", "qr_bill: 24.10 CHF paid"]
    ]
    assert rows(cli("payments", "list", "--state", "awaiting")[1]) == []
    assert cli("payments", "deadlines") == (0, "Nothing overdue.\n")


def test_delivery_zones_slots_pickup_points_and_run(cli: Run) -> None:
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    cli("vendor", "add", "epicerie", "--name", "Épicerie", "--kind", "shop")
    assert cli("delivery", "zone", "velo", "1200-1209", "1227") == (0, "velo now also serves 1200-1209, 1227.\n")
    code, out = cli("delivery", "slot", "velo", "--weekdays", "mon,tue,wed,thu,fri,sat,sun", "--start", "17:00",
                    "--end", "19:00", "--capacity", "3", "--fee", "6.50", "--cutoff-hours", "0")  # fmt: skip
    assert (code, out) == (0, "velo: mon,tue,wed,thu,fri,sat,sun 17:00-19:00, 3 orders, CHF 6.50.\n")
    assert cli("delivery", "pickup", "epicerie", "Épicerie du coin", "Rue X 1, 1205 Genève", "--hours", "9-18") == (
        0,
        "Pickup point Épicerie du coin added.\n",
    )
    code, out = cli("delivery", "list")
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert rows(out) == [
        ["velo", "1200-1209"],
        ["velo", "1227"],
        *(["velo", day, "17:00-19:00", "3", "0 h", "CHF 6.50"] for day in days),
        ["Épicerie du coin", "Rue X 1, 1205 Genève", "9-18"],
    ]
    offered = rows(cli("delivery", "list", "--postal-code", "1205")[1])
    assert offered and {tuple(row[1:]) for row in offered} == {("17:00-19:00", "Vélo Livraisons", "CHF 6.50", "3")}
    assert rows(cli("delivery", "list", "--postal-code", "1950")[1]) == []
    code, out = cli("delivery", "slot", "velo", "--weekdays", "someday", "--start", "17:00", "--end", "19:00",
                    "--capacity", "3")  # fmt: skip
    assert code == 1
    assert cli("delivery", "zone", "epicerie", "1200")[0] == 1  # a shop is not a delivery company
    code, out = cli("delivery", "run", "velo", "--day", "2026-11-25")
    assert code == 0 and "Vélo Livraisons — 2026-11-25" in out and rows(out) == []


def test_a_missing_deployment_file_is_a_configuration_error(cli: Run, tmp_path: Path) -> None:
    code, out = cli("--config", str(tmp_path / "nowhere.toml"), "stats")
    assert code == 2 and out.startswith("Configuration error:")


def test_vendor_members_remove_member_and_revoke_codes(cli: Run, app: App) -> None:
    """Issue 11: the admin sees who acts for an organisation, takes one out, and revokes its open codes."""
    from marketplace.errors import InvalidLinkCode, NotLinked
    from marketplace.linking import create_link_code
    from work.vendors import vendor_of

    cli("vendor", "add", "rucher", "--name", "Rucher du Salève", "--kind", "producer")
    cli("vendor", "add", "velo", "--name", "Vélo Livraisons", "--kind", "delivery")
    with app.db.uow() as uow:
        codes = [create_link_code(uow, slug)[0] for slug in ("rucher", "rucher", "rucher", "velo", "velo")]
        addresses = ("telegram:7001", "matrix:@ben:example.org", "telegram:7003")
        anna, ben, cleo = (person_for_chat(uow, address) for address in addresses)
        anna.display_name = "Anna"
        for who, code in ((anna, codes[0]), (ben, codes[1]), (cleo, codes[3])):
            redeem_link_code(uow, who, code)
        uow.commit()
        ids = {"anna": anna.id, "ben": ben.id, "cleo": cleo.id}
    code, out = cli("vendor", "members", "rucher")
    assert code == 0 and "Members of Rucher du Salève (approved)" in out
    assert rows(out) == [
        [f"#{ids['ben']}", "-", "vendor_member", "approved", "matrix"],
        [f"#{ids['anna']}", "Anna", "vendor_member", "approved", "telegram"],
    ]
    assert "7001" not in out and "@ben" not in out  # no chat ids unless asked for
    shown = rows(cli("vendor", "members", "rucher", "--show-ids")[1])
    assert [row[-1] for row in shown] == ["matrix:@ben:example.org", "telegram:7001"]
    assert rows(cli("vendor", "members", "velo")[1]) == [[f"#{ids['cleo']}", "-", "courier", "approved", "telegram"]]

    assert cli("vendor", "revoke-codes", "rucher") == (0, "1 open link code of rucher revoked.\n")
    assert cli("vendor", "revoke-codes", "rucher") == (0, "0 open link codes of rucher revoked.\n")
    with app.db.uow() as uow, pytest.raises(InvalidLinkCode):
        redeem_link_code(uow, person_for_chat(uow, "telegram:7004"), codes[2])

    assert cli("vendor", "remove-member", "rucher", f"#{ids['anna']}") == (
        0,
        f"#{ids['anna']} Anna no longer acts for rucher.\n",
    )
    assert cli("vendor", "remove-member", "rucher", "matrix:@ben:example.org")[0] == 0
    assert rows(cli("vendor", "members", "rucher")[1]) == []
    with app.db.uow() as uow:  # their next message finds them no vendor's member
        for address in ("telegram:7001", "matrix:@ben:example.org"):
            with pytest.raises(NotLinked):
                vendor_of(person_for_chat(uow, address))
    assert cli("vendor", "remove-member", "velo", "Anna") == (
        1,
        "No member of velo matches “Anna” (give the number shown by “vendor members”).\n",
    )
    assert cli("vendor", "members", "nobody") == (1, "I can't find the vendor “nobody”.\n")

    # Suspending a delivery company revokes its open codes too.
    cli("vendor", "suspend", "velo")
    assert cli("vendor", "revoke-codes", "velo") == (0, "0 open link codes of velo revoked.\n")
    with app.db.uow() as uow, pytest.raises(InvalidLinkCode):
        redeem_link_code(uow, person_for_chat(uow, "telegram:7005"), codes[4])
    assert rows(cli("vendor", "members", "velo")[1]) == [[f"#{ids['cleo']}", "-", "courier", "approved", "telegram"]]
