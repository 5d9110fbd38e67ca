"""payment legs per vendor order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payment_legs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_payment_legs_vendor_order_id_vendor_orders', 'vendor_orders', ['vendor_order_id'], ['id'],
            ondelete='CASCADE',
        )


def downgrade() -> None:
    with op.batch_alter_table('payment_legs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payment_legs_vendor_order_id_vendor_orders', type_='foreignkey')
        batch_op.drop_column('vendor_order_id')
