"""scope decision audit

Decisions can now be taken back (`not-scope`, `pending`) and come through several channels, so
each one is kept as it was taken (`scope_decisions`), and the change carries who decided it and
through which channel.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scope_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("decision_channel", sa.String(length=10), nullable=True))
    op.create_table(
        "scope_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("issue_key", sa.String(length=60), nullable=False),
        sa.Column("from_decision", sa.String(length=10), nullable=False),
        sa.Column("to_decision", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_decisions")),
    )
    with op.batch_alter_table("scope_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_scope_decisions_change_id", ["change_id"], unique=False)


def downgrade() -> None:
    op.drop_table("scope_decisions")
    with op.batch_alter_table("scope_changes", schema=None) as batch_op:
        batch_op.drop_column("decision_channel")
        batch_op.drop_column("decided_by")
