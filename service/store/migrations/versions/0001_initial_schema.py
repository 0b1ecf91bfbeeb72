"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:17:16.616335
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("captured_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baselines")),
        sa.UniqueConstraint(
            "project_key", "version", name=op.f("uq_baselines_project_key_version")
        ),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("refused", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sends")),
        sa.UniqueConstraint("project_key", "week", name=op.f("uq_digest_sends_project_key_week")),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("happy", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("nonce", name=op.f("uq_feedback_nonce")),
    )
    op.create_table(
        "field_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_changes")),
        sa.UniqueConstraint(
            "issue_id", "field", "at", name=op.f("uq_field_changes_issue_id_field_at")
        ),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=True),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), server_default="webhook", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("body_sha256", name=op.f("uq_inbox_body_sha256")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_inbox_delivery_id")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_status_id", ["status", "id"], unique=False)

    op.create_table(
        "issues",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("issue_type", sa.String(length=100), server_default="", nullable=False),
        sa.Column("is_subtask", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=100), server_default="", nullable=False),
        sa.Column("status_category", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("reporter", sa.String(length=200), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("fix_versions", sa.JSON(), nullable=False),
        sa.Column("original_estimate_seconds", sa.BigInteger(), nullable=True),
        sa.Column("story_points", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("flagged_since", sa.DateTime(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=True),
        sa.Column("resolved", sa.DateTime(), nullable=True),
        sa.Column("status_since", sa.DateTime(), nullable=True),
        sa.Column("moved_in_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("event_ts", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index("ix_issues_key", ["key"], unique=False)
        batch_op.create_index("ix_issues_project_key", ["project_key"], unique=False)

    op.create_table(
        "kv",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kv")),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_issue_id", sa.String(length=40), nullable=False),
        sa.Column("destination_issue_id", sa.String(length=40), nullable=False),
        sa.Column("link_type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "rejected",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected")),
    )
    op.create_table(
        "scope_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("issue_type", sa.String(length=100), server_default="", nullable=False),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("hours_source", sa.String(length=20), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("schedule_days", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("impact_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("written_version", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_changes")),
        sa.UniqueConstraint(
            "project_key", "issue_id", name=op.f("uq_scope_changes_project_key_issue_id")
        ),
    )
    op.create_table(
        "scope_growth",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("from_hours", sa.Float(), nullable=True),
        sa.Column("to_hours", sa.Float(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_growth")),
        sa.UniqueConstraint("issue_id", "at", name=op.f("uq_scope_growth_issue_id_at")),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=100), nullable=True),
        sa.Column("to_status", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
        sa.UniqueConstraint(
            "issue_id", "at", "to_status", name=op.f("uq_transitions_issue_id_at_to_status")
        ),
    )
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.create_index("ix_transitions_at", ["at"], unique=False)

    op.create_table(
        "versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("released", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
    )
    op.create_table(
        "worklogs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklogs")),
    )
    with op.batch_alter_table("worklogs", schema=None) as batch_op:
        batch_op.create_index("ix_worklogs_issue_id", ["issue_id"], unique=False)
        batch_op.create_index("ix_worklogs_started", ["started"], unique=False)

    op.create_table(
        "baseline_items",
        sa.Column("baseline_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("issue_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("original_estimate_seconds", sa.BigInteger(), nullable=True),
        sa.Column("story_points", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["baseline_id"], ["baselines.id"], name=op.f("fk_baseline_items_baseline_id_baselines")
        ),
        sa.PrimaryKeyConstraint("baseline_id", "issue_id", name=op.f("pk_baseline_items")),
    )


def downgrade() -> None:
    op.drop_table("baseline_items")
    with op.batch_alter_table("worklogs", schema=None) as batch_op:
        batch_op.drop_index("ix_worklogs_started")
        batch_op.drop_index("ix_worklogs_issue_id")

    op.drop_table("worklogs")
    op.drop_table("versions")
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_at")

    op.drop_table("transitions")
    op.drop_table("scope_growth")
    op.drop_table("scope_changes")
    op.drop_table("rejected")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next")

    op.drop_table("outbox")
    op.drop_table("links")
    op.drop_table("kv")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_project_key")
        batch_op.drop_index("ix_issues_key")

    op.drop_table("issues")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_status_id")

    op.drop_table("inbox")
    op.drop_table("field_changes")
    op.drop_table("feedback")
    op.drop_table("digest_sends")
    op.drop_table("comments")
    op.drop_table("baselines")
