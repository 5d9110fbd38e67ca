"""vendor products by chat: a service's capacity period

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 07:00:00

« atelier vélo, 1 heure, 35.–, 8 places par semaine »: the stock of a service is its capacity, and this
column says over which period it is counted ("day", "week", "month"; "" for goods and plain stocks). A
plain column with a server default, so existing rows need no backfill and SQLite adds it in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('products', sa.Column('capacity_period', sa.String(length=8), nullable=False, server_default=''))


def downgrade() -> None:
    op.drop_column('products', 'capacity_period')  # SQLite 3.35+: in place, no copy of the table
