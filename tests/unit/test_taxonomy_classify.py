"""A producer's file in its own words imports; a product whose category matches nothing of ours is imported "to
classify", offered to nobody (search, basket, vendor's "back on sale") until an admin classifies it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

import admin_cli
from admin.context import console, errors
from bootstrap import App
from catalog.csv_io import COLUMNS, RowNote, export_products, import_products
from catalog.models import Product
from catalog.services import classify_product, find_product, list_products
from checkout.services import add_to_basket
from marketplace import migrate
from marketplace.accounts import OrganisationKind, add_member, add_organisation, person_for_chat
from marketplace.db import Database
from marketplace.errors import InvalidInput, ProductUnavailable
from tests.support.actions import served  # noqa: F401 (fixture)
from work.vendors import set_availability

HEADER = ",".join(COLUMNS)
# What a Geneva producers' cooperative sends: its own category and label words.
PRODUCERS = f"""{HEADER}
coop,FAR,Farine bise,Ruchmehl,,Brown flour,flour,kg,4.20,reduced,50,fairtrade;Bio,Meinier (9 km)
coop,OIL,Huile de colza,Rapsöl,,Rapeseed oil,Öl,50 cl,9.80,reduced,20,,Jussy (11 km)
coop,CHO,Chocolat noir,Schokolade,,Dark chocolate,chocolate,100 g,5.50,reduced,30,Commerce équitable,
coop,PNE,Chambre à air,Schlauch,,Inner tube,bike parts,piece,12.00,standard,10,,
coop,SRV,Affûtage de couteaux,Messerschleifen,,Knife sharpening,services,hour,25.00,standard,4,,
coop,GIZ,Bidule doseur,Dosierding,,Dosing gizmo,gizmos,piece,3.00,standard,8,shiny;fairtrade,
"""
SOURCE_WORDS = {"categories": {"bike parts": "bike-repair"}}


@pytest.fixture
def geneva(app: App) -> App:
    """The Geneva test app (its search holds Geneva's taxonomy, as build_app's does) and a producers' cooperative."""
    assert app.search.taxonomy is app.settings.taxonomy
    with app.db.uow() as uow:
        add_organisation(uow, "coop", "Coopérative des producteurs", OrganisationKind.PRODUCER)
        uow.commit()
    return app


def imported(app: App, csv: str = PRODUCERS, mapping: dict | None = SOURCE_WORDS):  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        report = import_products(uow, csv, taxonomy=app.settings.taxonomy, mapping=mapping)
        uow.commit()
    return report


def found(app: App, query: str) -> list[str]:
    with app.db.uow() as uow:
        return [r.product.sku for r in app.search.search(uow, query, "fr")]


def test_a_producers_file_in_its_own_words_imports_and_reports_what_needs_an_admin(geneva):
    report = imported(geneva)
    assert (report.ok, report.created) == (True, 6)
    assert report.to_classify == [RowNote(7, "coop", "GIZ", "gizmos")]
    assert report.dropped_labels == [RowNote(7, "coop", "GIZ", "shiny")]
    with geneva.db.uow() as uow:
        by_sku = {p.sku: p for p in uow.session.scalars(select(Product))}
        uow.session.expunge_all()  # read after the unit of work, as loaded
    assert {sku: p.category for sku, p in by_sku.items()} == {
        "FAR": "grains", "OIL": "oils", "CHO": "sweets", "PNE": "bike-repair", "SRV": "services", "GIZ": "",
    }  # fmt: skip
    assert (by_sku["FAR"].labels, by_sku["CHO"].labels, by_sku["GIZ"].labels) == (
        ["fair_trade", "organic"], ["fair_trade"], ["fair_trade"],
    )  # fmt: skip
    assert (by_sku["PNE"].kind, by_sku["SRV"].kind, by_sku["OIL"].kind) == ("service", "service", "good")
    assert (by_sku["GIZ"].classify_word, by_sku["GIZ"].available, by_sku["FAR"].available) == ("gizmos", False, True)


def test_without_the_sources_mapping_its_own_word_waits_to_be_classified(geneva):
    report = imported(geneva, mapping=None)
    assert [(n.sku, n.word) for n in report.to_classify] == [("PNE", "bike parts"), ("GIZ", "gizmos")]


def test_real_errors_still_refuse_the_whole_file(geneva):
    bad = PRODUCERS + (
        "coop,BAD,Pain,,,,brot,dozen,3.00,reduced,5,,\n"  # line 8: a unit we do not sell in
        "coop,BAD2,Pain,,,,nowhere,piece,-1,reduced,5,,\n"  # line 9: a negative price
    )
    report = imported(geneva, bad)
    assert [(e.line, e.message) for e in report.errors] == [
        (8, "unknown unit 'dozen'"),
        (9, "price -1 is not an amount in CHF with at most 2 decimals"),
    ]
    with geneva.db.uow() as uow:
        assert uow.session.scalars(select(Product)).all() == []


def test_a_product_to_classify_is_offered_to_nobody_until_an_admin_classifies_it(geneva):
    imported(geneva)
    with geneva.db.uow() as uow:
        person_for_chat(uow, "telegram:501")
        farmer = person_for_chat(uow, "telegram:502")
        add_member(uow, farmer, find_product(uow, "coop", "GIZ").vendor)
        uow.commit()
        gizmo = find_product(uow, "coop", "GIZ").id
    assert found(geneva, "bidule") == found(geneva, "gizmo") == [] and found(geneva, "farine") == ["FAR"]
    with geneva.db.uow() as uow:
        with pytest.raises(ProductUnavailable):
            add_to_basket(uow, person_for_chat(uow, "telegram:501"), gizmo)
        # Its vendor cannot put it on sale either: it has no category a shopper could find it by.
        set_availability(uow, person_for_chat(uow, "telegram:502"), gizmo, True)
        uow.commit()
        assert find_product(uow, "coop", "GIZ").available is False
        assert [v.sku for v in list_products(uow, "fr", taxonomy=geneva.settings.taxonomy, to_classify=True)] == ["GIZ"]

    with geneva.db.uow() as uow:
        product = classify_product(uow, "coop", "GIZ", "Haushalt und Pflege", geneva.settings.taxonomy)
        uow.commit()
        assert (product.category, product.classify_word, product.available, product.kind) == (
            "household", "", True, "good",
        )  # fmt: skip
    assert found(geneva, "bidule") == found(geneva, "gizmo") == ["GIZ"]
    with geneva.db.uow() as uow:
        assert add_to_basket(uow, person_for_chat(uow, "telegram:501"), gizmo) == 1
        assert list_products(uow, "fr", to_classify=True) == []


def test_classifying_needs_a_category_we_know_and_a_product_that_exists(geneva):
    imported(geneva)
    taxonomy = geneva.settings.taxonomy
    with geneva.db.uow() as uow:
        with pytest.raises(InvalidInput) as raised:
            classify_product(uow, "coop", "GIZ", "gadgets", taxonomy)
        assert raised.value.params == {"field": "category", "value": "gadgets"}
        with pytest.raises(Exception, match="product_not_found"):
            classify_product(uow, "coop", "NOPE", "household", taxonomy)
        assert find_product(uow, "coop", "GIZ").category == ""


def test_reimporting_keeps_an_admins_classification_and_export_keeps_the_sources_word(geneva):
    imported(geneva)
    with geneva.db.uow() as uow:
        exported = export_products(uow)
        assert "coop,GIZ,Bidule doseur,Dosierding,,Dosing gizmo,gizmos," in exported
        again = import_products(uow, exported, taxonomy=geneva.settings.taxonomy)
        assert [n.sku for n in again.to_classify] == ["GIZ"] and again.updated == 6
        assert find_product(uow, "coop", "GIZ").category == ""  # still to classify, still unavailable
        classify_product(uow, "coop", "GIZ", "household", geneva.settings.taxonomy)
        uow.commit()
    report = imported(geneva)  # the source still says "gizmos"
    assert report.to_classify == []
    with geneva.db.uow() as uow:
        gizmo = find_product(uow, "coop", "GIZ")
        assert (gizmo.category, gizmo.available) == ("household", True)


def test_whoever_writes_the_row_a_product_without_category_is_never_available(geneva):
    """A sync writes columns directly (catalog/sync.py): the model keeps the rule, in either order."""
    imported(geneva)
    with geneva.db.uow() as uow:
        far = find_product(uow, "coop", "FAR")
        far.category, far.available = "", True
        assert far.available is False
        oil = find_product(uow, "coop", "OIL")
        oil.available, oil.category = True, ""
        assert oil.available is False
        oil.category = "oils"
        oil.available = True
        assert oil.available is True


# --- the admin's commands ---------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setattr(errors, "width", 200)

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(admin_cli.cli, ["--lang", "en", *args])
        return result.exit_code, result.output

    assert run("db", "upgrade")[0] == 0
    yield run


def test_the_admin_imports_lists_and_classifies_from_the_command_line(cli, tmp_path):
    assert cli("vendor", "add", "coop", "--name", "Coopérative", "--kind", "producer")[0] == 0
    csv = tmp_path / "coop.csv"
    csv.write_text(PRODUCERS, encoding="utf-8")
    code, out = cli("product", "import", str(csv))
    assert code == 0, out
    assert "6 rows: 6 created, 0 updated." in out
    assert "2 product(s) to classify" in out and "bike parts" in out and "gizmos" in out
    assert "line 7: label 'shiny' matches none of ours; left out" in out

    code, out = cli("product", "unclassified")
    assert code == 0 and "Products to classify (2)" in out and "coop/PNE" in out and "coop/GIZ" in out
    code, out = cli("product", "show", "coop/GIZ")
    assert "TO CLASSIFY (source word 'gizmos'), offered to nobody" in out

    code, out = cli("product", "classify", "PNE", "--vendor", "coop", "Velo-Reparatur")
    assert (code, out.strip()) == (0, "coop/PNE classified as 'bike-repair'.")
    code, out = cli("product", "classify", "GIZ", "--vendor", "coop", "gadgets")
    assert code == 1 and "gadgets" in out and "Traceback" not in out
    code, out = cli("product", "unclassified")
    assert "Products to classify (1)" in out and "coop/PNE" not in out
    code, out = cli("product", "search", "chambre à air", "--json")
    assert '"sku": "PNE"' in out


# --- the migration ------------------------------------------------------------------------------------------------


def test_migration_0011_adds_and_removes_the_to_classify_column_on_sqlite(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(db, "0011")
    assert "classify_word" in {c["name"] for c in inspect(db.engine).get_columns("products")}
    raw = create_engine(db.url)  # without the foreign keys the app turns on: one bare row is enough here
    with raw.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO products (vendor_id, sku, source, external_id, names, descriptions, category, kind, unit,"
                " price_chf, vat_class, labels, origin_place, stock, available, photo_url, created_at, updated_at)"
                " VALUES (1, :sku, 'csv', :sku, '{}', '{}', :category, 'good', 'piece', 1, 'reduced', '[]', '', 1,"
                " 1, '', '2026-11-30', '2026-11-30')"
            ),
            [{"sku": "A", "category": ""}, {"sku": "B", "category": "honey"}],
        )
        assert conn.execute(text("SELECT classify_word FROM products WHERE sku = 'A'")).scalar_one() == ""
    config = migrate.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert "classify_word" not in {c["name"] for c in inspect(db.engine).get_columns("products")}
    with raw.connect() as conn:
        rows = dict(conn.execute(text("SELECT sku, available FROM products ORDER BY sku")).all())
    assert rows == {"A": 0, "B": 1}  # the unclassified row went unavailable; the other kept its rows and state
    migrate.upgrade(db, "0011")
    assert migrate.current_revision(db) == "0011"
    raw.dispose()
    db.dispose()


# --- the chat ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("served")
def test_a_shopper_finds_the_regions_own_category_in_the_chat_but_never_a_product_to_classify(geneva):
    from dialogues.actions import ActionSearchProducts
    from tests.support.actions import chf, run, tracker

    imported(geneva)
    done = run(
        ActionSearchProducts(),
        tracker("ich suche Velo-Reparatur", "search_product", {"category": "Velo-Reparatur"}, lang="de"),
    )
    # "Velo-Reparatur" is Geneva's own category (config/geneva.toml); the source mapped "bike parts" onto it.
    price = chf("12.00", "de")
    assert done.text == f"Das habe ich gefunden (1):\n1. Schlauch — {price} / Stück — Coopérative des producteurs"
    done = run(ActionSearchProducts(), tracker("bidule", "search_product", {"product": "bidule"}))
    assert done.text.startswith("Je n'ai rien trouvé pour « bidule »")
