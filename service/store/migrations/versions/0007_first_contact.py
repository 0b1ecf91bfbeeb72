"""first contact: project modes (observe/live) with their audit, and digest notices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:30:00

Every project starts in observe mode: no row in `projects` means observe, so a database that
already wrote to Jira must run `scopewatch project go-live KEY` once after this upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), server_default="observe", nullable=False),
        sa.Column("caught_up_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_projects")),
    )
    op.create_table(
        "project_mode_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_mode_changes")),
    )
    op.create_table(
        "digest_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=True),
        sa.Column("mailed_to", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("once", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_notices")),
        sa.UniqueConstraint("once", name=op.f("uq_digest_notices_once")),
    )
    with op.batch_alter_table("digest_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_digest_notices_project_week", ["project_key", "week"], unique=False
        )


def downgrade() -> None:
    op.drop_table("digest_notices")
    op.drop_table("project_mode_changes")
    op.drop_table("projects")
