"""Migrations build the whole schema on an empty database, and match the models exactly."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from marketplace import migrate
from marketplace.db import Base, Database
from tests.conftest import POSTGRES_URL


def _check(db: Database) -> None:
    migrate.upgrade(db)
    migrate.upgrade(db)  # idempotent
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert conn.execute(text("SELECT revision FROM catalog_revision")).scalar_one() == 0
    assert migrate.current_revision(db) is not None


def test_migrations_on_an_empty_sqlite(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    _check(db)
    db.dispose()


@pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="DATABASE_URL is not PostgreSQL")
def test_migrations_on_an_empty_postgresql_schema():
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        db = Database(POSTGRES_URL, schema=schema)
        _check(db)
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
