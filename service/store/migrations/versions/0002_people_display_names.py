"""people display names

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:22:08.984893
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )


def downgrade() -> None:
    op.drop_table("people")
