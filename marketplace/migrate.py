"""Apply the Alembic migrations in migrations/ to a database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from marketplace.db import Database
from marketplace.settings import PROJECT_ROOT


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (the latest by default); idempotent."""
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
