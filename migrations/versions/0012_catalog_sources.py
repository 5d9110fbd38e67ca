"""catalog sources and their syncs (Step 10)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00

A source is a feed (DFC JSON-LD, schema.org JSON-LD, our CSV) filling one vendor's catalog, or many vendors'
for a sectoral marketplace; the products it brings are keyed by (products.source, products.external_id), so
products.source gets an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('catalog_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('word_map', sa.JSON(), nullable=False),
    sa.Column('enterprise_map', sa.JSON(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=False),
    sa.Column('last_counts', sa.JSON(), nullable=False),
    sa.Column('last_problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['organisations.id'], name=op.f('fk_catalog_sources_vendor_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_catalog_sources_name'))
    )
    op.create_index(op.f('ix_catalog_sources_vendor_id'), 'catalog_sources', ['vendor_id'], unique=False)
    # A plain CREATE INDEX: a batch operation on SQLite could copy `products` (and cascade on the old one).
    op.create_index(op.f('ix_products_source'), 'products', ['source'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_products_source'), table_name='products')
    op.drop_index(op.f('ix_catalog_sources_vendor_id'), table_name='catalog_sources')
    op.drop_table('catalog_sources')
