"""saved delivery addresses, and the order's delivery snapshot; personal fields sealed (marketplace.crypto)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00

The sealed columns are plain text here (`v1:<key id>:<base64>`); the models' EncryptedText seals and opens
them. Nothing to backfill: orders placed before this revision have no street.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_SEALED = (
    'delivery_recipient', 'delivery_street', 'delivery_details', 'delivery_phone',
    'delivery_latitude', 'delivery_longitude',
)  # fmt: skip


def upgrade() -> None:
    op.create_table('saved_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('recipient_name', sa.Text(), nullable=True),
    sa.Column('street', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('postal_code', sa.String(length=8), nullable=False),
    sa.Column('locality', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('latitude', sa.Text(), nullable=True),
    sa.Column('longitude', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['person_id'], ['people.id'], name=op.f('fk_saved_addresses_person_id_people'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_addresses'))
    )
    with op.batch_alter_table('saved_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_addresses_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        for name in ORDER_SEALED[:3]:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('delivery_locality', sa.String(length=80), nullable=False, server_default=''))
        for name in ORDER_SEALED[3:]:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        for name in reversed(ORDER_SEALED):
            batch_op.drop_column(name)
        batch_op.drop_column('delivery_locality')

    with op.batch_alter_table('saved_addresses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_addresses_person_id'))

    op.drop_table('saved_addresses')
