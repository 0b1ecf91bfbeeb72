"""per recipient

Each recipient of a digest now gets a message of their own (their own feedback and decision
links, their own Message-ID), claimed once per recipient in `digest_recipients`; the feedback
form takes one answer per recipient and week, so an answer records who gave it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_recipients")),
        sa.UniqueConstraint(
            "project_key",
            "week",
            "recipient",
            name=op.f("uq_digest_recipients_project_key_week_recipient"),
        ),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_feedback_project_key_week_recipient"),
            ["project_key", "week", "recipient"],
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_feedback_project_key_week_recipient"), type_="unique"
        )
        batch_op.drop_column("recipient")
    op.drop_table("digest_recipients")
