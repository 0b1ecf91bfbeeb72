"""issues by parent

The scope engine prices a parent by its children (`service.scope.parents`): each event of a
flagged issue asks for its children, which without this index was a scan of the project's issues.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:20:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index("ix_issues_parent_id", ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_parent_id")
