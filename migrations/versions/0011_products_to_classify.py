"""catalog: products a source could not classify (Step 10)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 07:00:00

A product whose source category matched none of ours is imported with the category "" (to classify) and the
source's word in `classify_word`, so an admin sees what the source meant; it stays unavailable (offered to nobody)
until an admin classifies it. Plain ADD/DROP COLUMN, no batch copy: on SQLite a copy drops the old `products`
table, and its foreign keys (basket items, order lines) with it.
Nothing to backfill: every product imported before this revision has a category.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('products', sa.Column('classify_word', sa.String(length=120), nullable=False, server_default=''))


def downgrade() -> None:
    # A product still to classify is unavailable already (catalog.services keeps it so); older code has no other
    # way to tell, so make sure of it before its marker goes.
    products = sa.table('products', sa.column('category', sa.String), sa.column('available', sa.Boolean))
    op.execute(products.update().where(products.c.category == '').values(available=False))
    op.drop_column('products', 'classify_word')  # SQLite 3.35+: in place, no copy of the table
