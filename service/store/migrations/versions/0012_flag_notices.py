"""flag notices: the daily mail to a client listing newly flagged scope changes

One row per project, day and recipient, claimed before the mail is sent (`notify_client_on_flag`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("change_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_notices")),
        sa.UniqueConstraint(
            "project_key",
            "day",
            "recipient",
            name=op.f("uq_flag_notices_project_key_day_recipient"),
        ),
    )


def downgrade() -> None:
    op.drop_table("flag_notices")
