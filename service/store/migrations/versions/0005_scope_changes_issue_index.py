"""scope changes by issue

Every issue event looks up the scope changes of its issue in any project; without this index
that was a scan of the whole table per event.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:10:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scope_changes", schema=None) as batch_op:
        batch_op.create_index("ix_scope_changes_issue_id", ["issue_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scope_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_scope_changes_issue_id")
