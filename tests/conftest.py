"""Test fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so).

On PostgreSQL each test run gets a fresh schema, dropped at the end. Under CI=true an unreachable
PostgreSQL fails the run instead of skipping it, and Hypothesis is derandomised.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from bootstrap import App
from catalog.services import CatalogSearch, ProductDraft, upsert_product
from marketplace import migrate
from marketplace.accounts import OrganisationKind, Person, add_member, add_organisation, person_for_chat
from marketplace.crypto import DATA_KEYS, bind_keys, parse_key_ring
from marketplace.db import Base, Database
from marketplace.settings import DEFAULT_CONFIG, load_settings

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
# One fixed data key for the whole run, as production has one (build_app refuses to start without it outside the
# demo): apps built by the tests, and the servers they start, read what the fixtures wrote. Never a real key.
TEST_DATA_KEYS = "test-key:c21hcnRrZXRwbGFjZS10ZXN0cy1kYXRhLWtleS0zMmI="
os.environ[DATA_KEYS.env] = TEST_DATA_KEYS

# CI tries the same examples on every run, so a red build is red again when re-run, and prints the blob that
# replays a failure (@reproduce_failure); on a laptop Hypothesis keeps looking for new ones.
hypothesis_settings.register_profile(
    "ci", derandomize=True, print_blob=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")
# Hostile input through every adapter (tests/integration/test_hostile_input.py, tests/e2e/test_hostile_rest.py):
# a bounded budget in `make test`, a long one in `make fuzz` (HYPOTHESIS_PROFILE=fuzz); tests/support/hostile.py.
hypothesis_settings.register_profile(
    "hostile",
    max_examples=50,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much,
    ],
)  # fmt: skip
hypothesis_settings.register_profile("fuzz", hypothesis_settings.get_profile("hostile"), max_examples=2000)
if os.environ.get("HYPOTHESIS_PROFILE"):
    hypothesis_settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if POSTGRES_URL.startswith("postgresql"):
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:
            if os.environ.get("CI") == "true":
                pytest.exit(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}", returncode=3)
            pytest.skip(f"PostgreSQL not reachable: {exc}")
        db = Database(POSTGRES_URL, schema=schema)
        migrate.upgrade(db)
        yield db
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        db = Database(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}")
        migrate.upgrade(db)
        yield db
        db.dispose()


def _empty(database: Database) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "catalog_revision"]
    with database.engine.begin() as conn:
        if database.is_postgres:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
        conn.execute(text("UPDATE catalog_revision SET revision = 0"))


@pytest.fixture
def app(database: Database) -> Iterator[App]:
    """A marketplace with the Geneva settings on an empty (migrated) database."""
    _empty(database)
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": database.url})
    keys = parse_key_ring(TEST_DATA_KEYS, "tests")
    bind_keys(database.engine, keys)  # what build_app does with the deployment's keys
    yield App(
        settings=settings, db=database, search=CatalogSearch(settings.default_language, settings.taxonomy), keys=keys
    )


def make_product(uow, vendor: str, sku: str, name_fr: str, price: str, stock: str = "10", **extra) -> int:  # type: ignore[no-untyped-def]
    draft = ProductDraft(
        vendor=vendor,
        sku=sku,
        names={"fr": name_fr, **extra.pop("names", {})},
        category=extra.pop("category", "vegetables"),
        unit=extra.pop("unit", "piece"),
        price_chf=Decimal(price),
        vat_class=extra.pop("vat_class", "reduced"),
        stock=Decimal(stock),
        **extra,
    )
    product, _ = upsert_product(uow, draft)
    return product.id


@pytest.fixture
def shop(app: App) -> dict[str, int]:
    """Two vendors (50 % and 0 % Léman), a few products, a consumer, a member of each vendor."""
    with app.db.uow() as uow:
        verchers = add_organisation(uow, "ferme-test", "Ferme Test", OrganisationKind.PRODUCER, leman_share_pct=50)
        cave = add_organisation(uow, "cave-test", "Cave Test", OrganisationKind.PRODUCER, leman_share_pct=0)
        ids = {
            "tomato": make_product(uow, "ferme-test", "TOM", "Tomates", "4.80", "10", unit="kg"),
            "eggs": make_product(uow, "ferme-test", "EGG", "Œufs (6)", "5.20", "3", category="eggs"),
            "wine": make_product(
                uow, "cave-test", "CHA", "Chasselas", "14.50", "24", category="wine", unit="75 cl", vat_class="standard"
            ),
        }
        consumer = person_for_chat(uow, "telegram:1001")
        member = person_for_chat(uow, "matrix:@anna:example.org")
        add_member(uow, member, verchers)
        cellar = person_for_chat(uow, "telegram:2002")
        add_member(uow, cellar, cave)
        ids |= {"consumer": consumer.id, "farmer": member.id, "cellar": cellar.id}
        uow.commit()
    return ids


def person(uow, person_id: int) -> Person:  # type: ignore[no-untyped-def]
    return uow.session.get(Person, person_id)


DEMO_DIR = Path(__file__).resolve().parent.parent / "demo" / "data"
