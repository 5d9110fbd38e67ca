"""payment credits, one row per credit; e-Léman hints checked on the node

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KNOWN_SOURCES = ('bank', 'leman', 'cash')


def upgrade() -> None:
    credits = op.create_table('payment_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('credit_key', sa.String(length=100), nullable=False),
    sa.Column('leg_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('counted', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('refund_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('refund_reason', sa.String(length=20), nullable=False),
    sa.Column('refund_status', sa.String(length=10), nullable=False),
    sa.Column('payer', sa.String(length=64), nullable=False),
    sa.Column('booked_on', sa.String(length=10), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refund_note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(
        ['leg_id'], ['payment_legs.id'], name=op.f('fk_payment_credits_leg_id_payment_legs'), ondelete='SET NULL'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_credits')),
    sa.UniqueConstraint('source', 'credit_key', name=op.f('uq_payment_credits_source'))
    )
    with op.batch_alter_table('payment_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_credits_leg_id'), ['leg_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_credits_refund_status'), ['refund_status'], unique=False)

    with op.batch_alter_table('leman_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=8), nullable=False, server_default='webhook'))
        batch_op.add_column(sa.Column('completed_claimed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=200), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_leman_transactions_next_check_at'), ['next_check_at'], unique=False)

    _backfill(credits)


def _backfill(credits: sa.Table) -> None:
    """A leg paid before this revision becomes one credit row holding what it received, keyed by the id it
    remembered (only the first partial payment's: the later ones were never kept), so that a leg's credits
    always add up to what it received and that first credit is still recognised when seen again."""
    conn = op.get_bind()
    legs = sa.table(
        'payment_legs', sa.column('id', sa.Integer()), sa.column('reference', sa.String()),
        sa.column('currency', sa.String()), sa.column('received', sa.Numeric(12, 2)),
        sa.column('external_id', sa.String()), sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('paid_at', sa.DateTime(timezone=True)),
    )  # fmt: skip
    rows = conn.execute(sa.select(legs).where(legs.c.received > 0)).all()
    for leg in rows:
        source, key = _source_and_key(leg.external_id or f'leg:{leg.id}')
        conn.execute(credits.insert().values(
            source=source, credit_key=key[:100], leg_id=leg.id, reference=leg.reference[:60],
            amount=Decimal(leg.received), currency=leg.currency, counted=Decimal(leg.received),
            refund_amount=Decimal('0.00'), refund_reason='', refund_status='', payer='', booked_on='',
            received_at=leg.paid_at or leg.created_at, refund_note='',
        ))  # fmt: skip


def _source_and_key(external_id: str) -> tuple[str, str]:
    """The old `external_id` as a credit's (source, key), in today's key format where it is unambiguous: a
    bank transaction's own reference (`bank:X`) is `ref:X`; an e-Léman hash (`leman:0x…`) is the hash."""
    prefix, _, rest = external_id.partition(':')
    if prefix == 'bank' and rest and '/' not in rest:
        return 'bank', f'ref:{rest}'
    if prefix in KNOWN_SOURCES and rest:
        return prefix, rest
    return 'legacy', external_id


def downgrade() -> None:
    with op.batch_alter_table('leman_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leman_transactions_next_check_at'))
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_check_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('completed_claimed')
        batch_op.drop_column('origin')

    with op.batch_alter_table('payment_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_credits_refund_status'))
        batch_op.drop_index(batch_op.f('ix_payment_credits_leg_id'))

    op.drop_table('payment_credits')
