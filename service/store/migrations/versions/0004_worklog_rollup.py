"""worklog roll-up by project, local day, author and components

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:20:00.000000

Created empty: the worker fills a project's roll-up when it starts (it needs the mapping's zone),
and until then the digest sums the worklogs themselves.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("worklogs", schema=None) as batch_op:
        batch_op.drop_index("ix_worklogs_started")
        batch_op.create_index(
            "ix_worklogs_started_sums",
            ["started", "issue_id", "author", "seconds", "deleted"],
            unique=False,
        )
    op.create_table(
        "worklog_days",
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("day", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_key", "day", "author", "components", name=op.f("pk_worklog_days")
        ),
    )
    op.create_table(
        "worklog_rollups",
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_key", name=op.f("pk_worklog_rollups")),
    )


def downgrade() -> None:
    with op.batch_alter_table("worklogs", schema=None) as batch_op:
        batch_op.drop_index("ix_worklogs_started_sums")
        batch_op.create_index("ix_worklogs_started", ["started"], unique=False)
    op.drop_table("worklog_rollups")
    op.drop_table("worklog_days")
