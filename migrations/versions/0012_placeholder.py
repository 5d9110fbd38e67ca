"""catalog sources and their syncs (Step 10)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00

Placeholder: filled in by the work on this step.
"""

from collections.abc import Sequence

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
