"""CSV import: all rows validated first, errors with line numbers, nothing written on error, idempotent."""

from decimal import Decimal

from sqlalchemy import func, select

from catalog.csv_io import COLUMNS, export_products, import_products, parse_origin
from catalog.models import Product
from marketplace.accounts import OrganisationKind, add_organisation

HEADER = ",".join(COLUMNS)
GOOD = f"""{HEADER}
ferme,TOM,Tomates cerises,Kirschtomaten,Pomodorini,Cherry T,vegetables,500 g,4.80,reduced,40,organic;grta,Troinex (5km)
ferme,CAR,Cardon épineux,Karde,,Cardoon,vegetables,kg,9.50,reduced,12,grta,Plan-les-Ouates (6 km)
cave,CHA,"Chasselas, Satigny",Chasselas,,Chasselas,wine,75 cl,14.50,standard,60,,Satigny (12 km)
"""


def vendors(app) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "ferme", "Ferme", OrganisationKind.PRODUCER)
        add_organisation(uow, "cave", "Cave", OrganisationKind.PRODUCER)
        add_organisation(uow, "velo-express", "Vélo Express", OrganisationKind.DELIVERY)
        uow.commit()


def count(app) -> int:
    with app.db.uow() as uow:
        return uow.session.scalar(select(func.count(Product.id)))


def test_a_good_file_is_imported_and_reimporting_updates_in_place(app):
    vendors(app)
    with app.db.uow() as uow:
        report = import_products(uow, GOOD)
        uow.commit()
    assert (report.ok, report.created, report.updated) == (True, 3, 0)
    with app.db.uow() as uow:
        report = import_products(uow, GOOD.replace("4.80", "5.10"))
        uow.commit()
    assert (report.created, report.updated) == (0, 3)
    assert count(app) == 3
    with app.db.uow() as uow:
        tomato = uow.session.scalar(select(Product).where(Product.sku == "TOM"))
        assert tomato.price_chf == Decimal("5.10")
        assert tomato.names == {
            "fr": "Tomates cerises", "de": "Kirschtomaten", "it": "Pomodorini", "en": "Cherry T"
        }  # fmt: skip
        assert (tomato.unit, tomato.labels, tomato.origin_place, tomato.origin_km) == (
            "500 g", ["grta", "organic"], "Troinex", Decimal("5"),
        )  # fmt: skip
        assert tomato.source == "csv" and tomato.external_id == "TOM"


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_written(app):
    vendors(app)
    bad = GOOD + (
        "nobody,X1,Pain,Brot,,Bread,bakery,piece,3.00,reduced,5,,\n"  # line 5
        "ferme,X2,Pain,Brot,,Bread,bakery,piece,abc,reduced,5,,\n"  # line 6
        "ferme,X3,Pain,Brot,,Bread,bakers,dozen,3.00,zero,5,shiny,\n"  # line 7
        "ferme,TOM,Tomates,,,,vegetables,kg,4.00,reduced,1,,\n"  # line 8: duplicate of line 2
        "velo-express,X4,Course,,,,repairs,hour,30.00,standard,5,,\n"  # line 9: delivery companies sell nothing
        "ferme,X5,Œufs,,,,eggs,piece,6.00,reduced,2.5,,\n"  # line 10: half a box
    )
    with app.db.uow() as uow:
        report = import_products(uow, bad)
        uow.commit()
    assert not report.ok
    by_line = {}
    for error in report.errors:
        by_line.setdefault(error.line, []).append(error.message)
    assert sorted(by_line) == [5, 6, 7, 8, 9, 10]
    assert "unknown vendor 'nobody'" in by_line[5]
    assert "price_chf 'abc' is not a number" in by_line[6]
    # An unknown category or label word is not an error (to classify, left out: tests/unit/test_taxonomy_*.py).
    assert "unknown unit 'dozen'" in by_line[7] and not any("bakers" in m or "shiny" in m for m in by_line[7])
    assert any("duplicate of line 2" in m for m in by_line[8])
    assert count(app) == 0


def test_missing_columns_are_reported_on_line_1(app):
    with app.db.uow() as uow:
        report = import_products(uow, "vendor,sku,name_fr\nferme,A,Pain\n")
    assert report.errors[0].line == 1 and "price_chf" in report.errors[0].message


def test_export_round_trips_through_import(app):
    vendors(app)
    with app.db.uow() as uow:
        import_products(uow, GOOD)
        uow.commit()
    with app.db.uow() as uow:
        exported = export_products(uow)
        report = import_products(uow, exported)
        assert report.ok and report.updated == 3
        assert export_products(uow) == exported
    assert exported.splitlines()[0].startswith(HEADER)


def test_origin_cells():
    assert parse_origin("Satigny (12 km)") == ("Satigny", Decimal("12"))
    assert parse_origin("Honduras (9200,5 km)") == ("Honduras", Decimal("9200.5"))
    assert parse_origin("Genève") == ("Genève", None)
