"""Alembic environment: migrates the database of the current deployment (or the connection given)."""

from alembic import context
from sqlalchemy import create_engine

import catalog.audit
import catalog.models
import catalog.sources  # noqa: F401
import checkout.address_book
import checkout.delivery
import checkout.models  # noqa: F401
import marketplace.accounts
import marketplace.linking
import marketplace.outbox  # noqa: F401
import payments.models  # noqa: F401
from marketplace.db import Base
from marketplace.settings import load_settings

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
