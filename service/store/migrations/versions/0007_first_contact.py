"""first contact: project modes (observe/live) with their audit, and digest notices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:30:00

A project scopewatch has never run live for starts in observe mode (no row in `projects` means
observe). One that already wrote to Jira or mailed its client before this upgrade HAS run live:
it stays live, recorded as changed by "upgrade 0007", so an upgrade never silently stops the
write-backs and digests an agency relies on.
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
    _keep_live_projects_live()


def _keep_live_projects_live() -> None:
    """A project that already wrote to Jira or mailed its client stays live. Its mode is dated
    by the last live work the data shows (a migration has no runtime clock, and the wall clock
    would make the upgrade's result depend on the day it ran)."""
    conn = op.get_bind()
    last_live = conn.execute(
        sa.text(
            "SELECT project_key, MAX(at) FROM ("
            " SELECT project_key, COALESCE(done_at, created_at) AS at FROM outbox"
            " WHERE status = 'done'"
            " UNION ALL SELECT project_key, COALESCE(sent_at, claimed_at) AS at FROM digest_sends"
            " WHERE status = 'sent'"
            ") AS live GROUP BY project_key ORDER BY project_key"
        )
    ).all()
    for key, at in last_live:
        conn.execute(
            sa.text(
                "INSERT INTO projects (key, mode, caught_up_at, changed_at, changed_by) "
                "VALUES (:key, 'live', :at, :at, 'upgrade 0007')"
            ),
            {"key": key, "at": at},
        )
        conn.execute(
            sa.text(
                "INSERT INTO project_mode_changes (project_key, mode, changed_by, changed_at) "
                "VALUES (:key, 'live', 'upgrade 0007', :at)"
            ),
            {"key": key, "at": at},
        )


def downgrade() -> None:
    op.drop_table("digest_notices")
    op.drop_table("project_mode_changes")
    op.drop_table("projects")
