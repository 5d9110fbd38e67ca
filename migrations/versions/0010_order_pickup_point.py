"""the pickup point an order is collected at

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

A plain column, without a foreign key: SQLite adds a constraint only by copying the table, and dropping the
old `orders` (foreign keys on) would delete its vendor orders and payment legs with it. A pickup point that no
longer exists is read as none (`session.get` returns None). Nothing to backfill: pickup orders placed before
this revision were collected "at the producers'".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('pickup_point_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('orders', 'pickup_point_id')  # SQLite 3.35+: in place, no copy of the table
