"""money: the rates each scope price used, and the budget alerts sent

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scope_prices",
        sa.Column("scope_change_id", sa.Integer(), nullable=False),
        sa.Column("impact_version", sa.Integer(), nullable=False),
        sa.Column("priced_at", sa.DateTime(), nullable=False),
        sa.Column("priced_on", sa.Date(), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("cost_rate", sa.String(length=40), nullable=True),
        sa.Column("rate_source", sa.String(length=20), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("cost", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("scope_change_id", "impact_version", name="pk_scope_prices"),
    )
    op.create_table(
        "budget_alerts",
        sa.Column("project_key", sa.String(length=40), nullable=False),
        sa.Column("threshold", sa.String(length=20), nullable=False),
        sa.Column("budget", sa.String(length=40), nullable=False),
        sa.Column("burn_pct", sa.Float(), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=False),
        sa.Column("sends", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("project_key", "threshold", "budget", name="pk_budget_alerts"),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_table("scope_prices")
