"""issues by parent

The scope engine prices a parent by its children (`service.scope.parents`): each event of a
flagged issue asks for its children, which without this index was a scan of the project's issues.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        # Partial: most issues have no parent, and SQLite's planner, counting the NULLs, would
        # otherwise judge the index useless and scan the table for every parent it looks up.
        batch_op.create_index(
            "ix_issues_parent_id",
            ["parent_id"],
            unique=False,
            sqlite_where=sa.text("parent_id IS NOT NULL"),
            postgresql_where=sa.text("parent_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_parent_id")
