"""The one schema: every table scopewatch keeps, as SQLAlchemy Core.

Alembic migrations under `service/store/migrations` create exactly this; a test compares the two.
Times are stored as naive UTC and read back as aware UTC (`UTCDateTime`), so SQLite and PostgreSQL
give the same values to the code above.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# --- intake ---------------------------------------------------------------------------------

# One row per accepted delivery. Duplicates are not stored again; they bump `duplicates`.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(200), unique=True),  # X-Atlassian-Webhook-Identifier, if sent
    Column("body_sha256", String(64), nullable=False, unique=True),
    Column("event", String(200), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", String(20), nullable=False, server_default="webhook"),  # webhook|import
    Column("status", String(10), nullable=False, server_default="pending"),  # pending|done|failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("processed_at", UTCDateTime),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Index("ix_inbox_status_id", "status", "id"),
)

# Bodies refused with 400, kept with the reason so an operator can see what Jira sent.
rejected = Table(
    "rejected",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("delivery_id", String(200)),
    Column("reason", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# --- the mirror of Jira, keyed by issue id (keys change when an issue moves) -------------------

issues = Table(
    "issues",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(60), nullable=False),
    Column("project_key", String(40), nullable=False),
    Column("summary", Text, nullable=False, server_default=""),
    Column("issue_type", String(100), nullable=False, server_default=""),
    Column("is_subtask", Boolean, nullable=False, server_default="0"),
    Column("parent_id", String(40)),
    Column("status", String(100), nullable=False, server_default=""),
    Column("status_category", String(20), nullable=False, server_default="new"),  # Jira's key
    Column("assignee", String(200)),  # accountId on Cloud, name on Data Center
    Column("reporter", String(200)),
    Column("components", JSON, nullable=False, default=list),
    Column("labels", JSON, nullable=False, default=list),
    Column("fix_versions", JSON, nullable=False, default=list),  # [{id, name, releaseDate}]
    Column("original_estimate_seconds", BigInteger),
    Column("story_points", Float),
    Column("flagged", Boolean, nullable=False, server_default="0"),
    Column("flagged_since", UTCDateTime),
    Column("created", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("resolved", UTCDateTime),
    Column("status_since", UTCDateTime),
    Column("moved_in_at", UTCDateTime),  # when it was moved into project_key from another one
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("event_ts", BigInteger, nullable=False, server_default="0"),  # newest event applied, ms
    Index("ix_issues_project_key", "project_key"),
    Index("ix_issues_key", "key"),
    # A parent's children (`service.scope.parents`); partial, as in migration 0011.
    Index(
        "ix_issues_parent_id",
        "parent_id",
        sqlite_where=text("parent_id IS NOT NULL"),
        postgresql_where=text("parent_id IS NOT NULL"),
    ),
)

# Every status change with its time, from changelogs (creating an issue is not a transition).
transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", String(40), nullable=False),
    Column("from_status", String(100)),
    Column("to_status", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("issue_id", "at", "to_status"),
    Index("ix_transitions_at", "at"),
)

# Other field changes we report on (estimate, story points, flag, project, assignee).
field_changes = Table(
    "field_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", String(40), nullable=False),
    Column("field", String(100), nullable=False),
    Column("from_value", Text),
    Column("to_value", Text),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("issue_id", "field", "at"),
)

worklogs = Table(
    "worklogs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("issue_id", String(40), nullable=False),  # may arrive before its issue: no FK
    Column("author", String(200)),
    Column("started", UTCDateTime, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Index("ix_worklogs_issue_id", "issue_id"),
    # Covering: summing a range of days (the roll-up's rebuild, a digest without one) reads the
    # index alone, not a million table rows in no particular order.
    Index("ix_worklogs_started_sums", "started", "issue_id", "author", "seconds", "deleted"),
)

# Worklog seconds summed per project, local day (in the project's digest zone), author and the
# issue's components: the digest's one big sum, kept up to date with the mirror (see
# service/mirror/rollup.py), so that a digest reads thousands of rows, not a million worklogs.
worklog_days = Table(
    "worklog_days",
    metadata,
    Column("project_key", String(40), primary_key=True),
    Column("day", UTCDateTime, primary_key=True),  # the local midnight that starts the day
    Column("author", String(200), primary_key=True),  # "" when Jira names no author
    Column("components", Text, primary_key=True),  # the issue's components, as JSON
    Column("seconds", BigInteger, nullable=False),
)

# Which projects' roll-ups are complete, and in which zone their days are cut.
worklog_rollups = Table(
    "worklog_rollups",
    metadata,
    Column("project_key", String(40), primary_key=True),
    Column("tz", String(64), nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("issue_id", String(40), nullable=False),
    Column("author", String(200)),
    Column("body", Text, nullable=False, server_default=""),
    Column("created", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("deleted", Boolean, nullable=False, server_default="0"),
)

# Issue links; only "Blocks" matters to us: source blocks destination.
links = Table(
    "links",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source_issue_id", String(40), nullable=False),
    Column("destination_issue_id", String(40), nullable=False),
    Column("link_type", String(100), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
)

# --- scope --------------------------------------------------------------------------------------

# Captured baselines, versioned per project; the newest one wins over the mapping's date.
baselines = Table(
    "baselines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("captured_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_key", "version"),
)

baseline_items = Table(
    "baseline_items",
    metadata,
    Column("baseline_id", Integer, ForeignKey("baselines.id"), primary_key=True),
    Column("issue_id", String(40), primary_key=True),
    Column("key", String(60), nullable=False),
    Column("issue_type", String(100), nullable=False),
    Column("status", String(100), nullable=False),
    Column("original_estimate_seconds", BigInteger),
    Column("story_points", Float),
)

scope_changes = Table(
    "scope_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("issue_id", String(40), nullable=False),
    Column("key", String(60), nullable=False),
    Column("summary", Text, nullable=False, server_default=""),
    Column("issue_type", String(100), nullable=False, server_default=""),
    Column("created", UTCDateTime),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("hours", Float),
    Column("hours_source", String(20), nullable=False),  # estimate|story_points|default|none
    Column("cost", Float),
    Column("currency", String(3), nullable=False),
    Column("schedule_days", Float),
    Column("decision", String(10), nullable=False, server_default="pending"),
    Column("decision_note", Text),
    Column("decided_at", UTCDateTime),
    Column("withdrawn", Boolean, nullable=False, server_default="0"),  # the issue was deleted
    Column("impact_version", Integer, nullable=False, server_default="1"),  # bumped on re-pricing
    Column("written_version", Integer, nullable=False, server_default="0"),  # last one in Jira
    Column("decided_by", String(200)),  # who took the decision in force (see scope_decisions)
    Column("decision_channel", String(10)),  # jira|api|cli|web|email
    UniqueConstraint("project_key", "issue_id"),
    # Every issue event asks for the changes of its issue, in any project.
    Index("ix_scope_changes_issue_id", "issue_id"),
)

# Estimate raised on a baseline issue: reported as growth, not flagged.
scope_growth = Table(
    "scope_growth",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("issue_id", String(40), nullable=False),
    Column("key", String(60), nullable=False),
    Column("from_hours", Float),
    Column("to_hours", Float),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("issue_id", "at"),
)

# --- effects on the outside world, each done once ----------------------------------------------

# Jobs for Jira. `dedupe_key` makes enqueueing idempotent: replaying an event enqueues nothing new.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("project_key", String(40), nullable=False),
    Column("issue_id", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),  # pending|done|failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("lease_owner", String(200)),  # host:pid, so a restarted worker can take back its own
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

# One row per project and ISO week, claimed before sending: a second send finds it and stops.
digest_sends = Table(
    "digest_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("week", String(8), nullable=False),  # 2026-W47
    Column("status", String(10), nullable=False),  # sending|sent|failed
    Column("message_id", String(300), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),
    Column("refused", JSON),  # recipients the server refused
    UniqueConstraint("project_key", "week"),
)

# Each recipient's own copy of a week's digest (its own links, its own Message-ID), claimed
# before SMTP is touched: a crash after recipient 1 of 3 leaves 2 and 3 unclaimed, to be sent by
# the next attempt, and recipient 1 is never mailed twice. `digest_sends` above stays the week's
# summary (sent once every recipient has it); a week sent before 0011 has no rows here.
digest_recipients = Table(
    "digest_recipients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("week", String(8), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("status", String(10), nullable=False),  # sending|sent|failed
    Column("message_id", String(300), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),  # the server's answer when it did not take the mail
    UniqueConstraint("project_key", "week", "recipient"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("week", String(8), nullable=False),
    Column("nonce", String(64), nullable=False, unique=True),  # one answer per link
    Column("happy", Boolean, nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("at", UTCDateTime, nullable=False),
    # Who answered: the digest recipient the link was made for; NULL for a link made before
    # 0011 (one per project and week) or for a preview's link, which names no one.
    Column("recipient", String(320)),
    UniqueConstraint("project_key", "week", "recipient"),  # NULLs never collide
)

# Small operational state: the outbox pause after a 429, reconcile cursors.
kv = Table(
    "kv",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

# Fix versions as Jira reports them on issues: milestones for the digest.
versions = Table(
    "versions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project_key", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("release_date", Date),
    Column("released", Boolean, nullable=False, server_default="0"),
)


# Display names of the people Jira mentions, so the client reads "Bob Backend", not an accountId.
people = Table(
    "people",
    metadata,
    Column("id", String(200), primary_key=True),  # accountId on Cloud, name on Data Center
    Column("display_name", String(300), nullable=False),
)


# Every decision on a scope change, as it was taken: who, when, through which channel, from what
# to what, and the note. Written only by `scope.audit`; `scope_changes` holds the one in force.
scope_decisions = Table(
    "scope_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("change_id", Integer, nullable=False),
    Column("project_key", String(40), nullable=False),
    Column("issue_key", String(60), nullable=False),
    Column("from_decision", String(10), nullable=False),
    Column("to_decision", String(10), nullable=False),
    Column("channel", String(10), nullable=False),  # jira|api|cli|web|email
    Column("decided_by", String(200)),
    Column("note", Text),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_scope_decisions_change_id", "change_id"),
)


# --- cockpit accounts (service.accounts) --------------------------------------------------------

# The agency's people who use the cockpit. `role` is "pm" (looks, decides, sends) or "viewer".
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower case
    Column("role", String(10), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id, with its own salt
    Column("created_at", UTCDateTime, nullable=False),
)

# Personal API tokens: a public selector finds the row, only a SHA-256 of the secret part is kept;
# one per user, a new one replaces it.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("selector", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id"),
)

# Failed logins by e-mail: after a few in a row, that login is refused for a while.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
)


# --- first contact (service.projects; service.digest.notices) -----------------------------------

# A project's mode: "observe" (mirror, flag, price, preview; no Jira write, no client mail) until
# someone runs `project go-live`. No row means observe: a project scopewatch has never run live for.
projects = Table(
    "projects",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("mode", String(10), nullable=False, server_default="observe"),  # observe|live
    Column("caught_up_at", UTCDateTime),  # the first full reconcile finished
    Column("changed_at", UTCDateTime),
    Column("changed_by", String(200)),
)

# Every change of mode: who (the OS user or `--by`), when.
project_mode_changes = Table(
    "project_mode_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

# What happened to a week's digest other than a client send: the PM's preview (observe mode), a
# skipped week with why, an on-purpose resend. A preview and a skip once per week; resends any time.
digest_notices = Table(
    "digest_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("week", String(8), nullable=False),
    Column("kind", String(10), nullable=False),  # preview|skip|resend
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200)),  # a resend's operator
    Column("mailed_to", JSON),  # whom the preview, the PM's note or the resend went to
    Column("error", Text),  # why that mail did not go
    # "preview:ACME:2026-W47": a preview or skip claimed once, by one process; NULL for resends.
    Column("once", String(80), unique=True),
    Index("ix_digest_notices_project_week", "project_key", "week"),
)

# The daily mail to a client listing the scope changes flagged since the last one (the mapping's
# `notify_client_on_flag`): one row per project, day (in the project's digest zone) and recipient,
# claimed before SMTP is touched, so two workers or a crash between sending and recording never
# mail it twice; the changes it lists are never listed to that recipient again.
flag_notices = Table(
    "flag_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_key", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("change_ids", JSON, nullable=False),  # the scope_changes ids the mail lists
    Column("status", String(10), nullable=False),  # sending|sent|failed
    Column("message_id", String(300), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),
    UniqueConstraint("project_key", "day", "recipient"),
)


# --- money ------------------------------------------------------------------------------------
# Amounts are kept as the exact decimal text ("95", "85.5"): both engines store and compare it
# the same, and no float ever stands between a rate and the price a client was shown.

# The rates each impact version of a scope change was priced at: a re-pricing (the assignee
# changed, `scope reprice`) adds a version; the rate in force when a change was priced stays
# its rate until then, whatever the mapping says later. Written by `scope.changes`.
scope_prices = Table(
    "scope_prices",
    metadata,
    Column("scope_change_id", Integer, primary_key=True),
    Column("impact_version", Integer, primary_key=True),
    Column("priced_at", UTCDateTime, nullable=False),
    Column("priced_on", Date, nullable=False),  # the local day whose rates were used
    Column("assignee", String(200)),
    Column("rate", String(40), nullable=False),  # the billing rate: what the client is quoted
    Column("cost_rate", String(40)),  # internal; never shown to the client
    Column("rate_source", String(20), nullable=False),  # person|change|project|global|default
    Column("hours", Float),
    Column("cost", String(40)),
)

# Budget alerts sent to the PM (and, where the mapping says so, the client): one row per project,
# threshold ("50" … "100", or "forecast") and budget total, so a crossing is mailed once, repeats
# weekly above 90 %, and starts afresh when the budget is raised. Written by `alerts`.
budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("project_key", String(40), primary_key=True),
    Column("threshold", String(20), primary_key=True),
    Column("budget", String(40), primary_key=True),  # the budget total the crossing was of
    Column("burn_pct", Float, nullable=False),
    Column("first_sent_at", UTCDateTime, nullable=False),
    Column("last_sent_at", UTCDateTime, nullable=False),
    Column("sends", Integer, nullable=False, server_default="1"),
)
