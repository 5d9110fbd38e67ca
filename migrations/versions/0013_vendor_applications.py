"""business applications (Step 11): vendor_applications, the owner of an organisation, buttons on outbox messages

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:00:00

The sealed columns (address, IBAN) are plain text here; the model's EncryptedText seals and opens them.
Existing memberships get no owner: organisations added by the admin CLI before this had none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vendor_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('trade_name', sa.String(length=120), nullable=False),
    sa.Column('uid', sa.String(length=16), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('iban', sa.Text(), nullable=False),
    sa.Column('leman_share_pct', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('terms_version', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refusal_reason', sa.Text(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['person_id'], ['people.id'], name=op.f('fk_vendor_applications_person_id_people'), ondelete='SET NULL'
    ),
    sa.ForeignKeyConstraint(
        ['organisation_id'], ['organisations.id'],
        name=op.f('fk_vendor_applications_organisation_id_organisations'), ondelete='SET NULL',
    ),
    sa.ForeignKeyConstraint(
        ['decided_by'], ['people.id'], name=op.f('fk_vendor_applications_decided_by_people'), ondelete='SET NULL'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_applications'))
    )
    with op.batch_alter_table('vendor_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_applications_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_applications_status'), ['status'], unique=False)

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_owner', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buttons', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('buttons')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('is_owner')
    with op.batch_alter_table('vendor_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_applications_status'))
        batch_op.drop_index(batch_op.f('ix_vendor_applications_person_id'))
    op.drop_table('vendor_applications')
