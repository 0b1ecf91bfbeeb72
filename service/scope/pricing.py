"""Pricing new scope: an issue's hours, what they cost, how long they delay delivery.

Pure functions of plain data: no database, no clock. An issue's hours follow the one rule in
`reports.hours`, which the digest uses too, so the two never disagree about one issue. An
unpriced issue has hours None and is shown as "needs estimate", never as a zero cost.

Every figure is derived from the hours *as shown* (rounded to 0.1 h), so that a client checking
"+10.3 h at EUR 85" against the cost on the ticket gets the same number we printed.
"""

from __future__ import annotations

from collections.abc import Mapping as RowMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from mappings.model import Mapping, Project
from reports import formats
from reports.hours import HoursSource, hours_of
from reports.rates import HourRate, minor_units, rate_on

Decision = Literal["pending", "approved", "rejected", "not-scope"]
DECISIONS: tuple[Decision, ...] = ("pending", "approved", "rejected", "not-scope")


@dataclass(frozen=True)
class IssueFacts:
    """What the scope rules need to know about one mirrored issue."""

    id: str
    key: str
    project_key: str
    summary: str = ""
    issue_type: str = ""
    is_subtask: bool = False
    parent_id: str | None = None
    assignee: str | None = None
    labels: tuple[str, ...] = ()
    original_estimate_seconds: int | None = None
    story_points: float | None = None
    created: datetime | None = None
    updated: datetime | None = None
    moved_in_at: datetime | None = None
    deleted: bool = False

    @classmethod
    def from_row(cls, row: RowMapping[Any, Any]) -> IssueFacts:
        """From a row of the `issues` table (or a dict shaped like one)."""
        labels = row.get("labels") or ()
        return cls(
            id=str(row["id"]),
            key=str(row["key"]),
            project_key=str(row["project_key"]),
            summary=row.get("summary") or "",
            issue_type=row.get("issue_type") or "",
            is_subtask=bool(row.get("is_subtask")),
            parent_id=_str_or_none(row.get("parent_id")),
            assignee=row.get("assignee"),
            labels=tuple(str(label) for label in labels),
            original_estimate_seconds=row.get("original_estimate_seconds"),
            story_points=row.get("story_points"),
            created=row.get("created"),
            updated=row.get("updated"),
            moved_in_at=row.get("moved_in_at"),
            deleted=bool(row.get("deleted")),
        )


@dataclass(frozen=True)
class Hours:
    value: float | None  # None: unpriced ("needs estimate")
    source: HoursSource


@dataclass(frozen=True)
class Impact:
    """A priced change, rounded as shown: hours to 0.1, money to cents, days to 0.1."""

    hours: float | None
    hours_source: HoursSource
    rate: float
    cost: float | None
    schedule_days: float | None
    currency: str
    # The rates used, when priced here (not read back); what is shown is the rest.
    hour_rate: HourRate | None = field(default=None, compare=False)

    @property
    def priced(self) -> bool:
        return self.hours is not None


def hours_for(issue: IssueFacts, project: Project, mapping: Mapping) -> Hours:
    """The issue's hours and where they came from, unrounded (`reports.hours`' rule)."""
    value, source = hours_of(
        issue.original_estimate_seconds, issue.story_points, issue.issue_type, project, mapping
    )
    return Hours(value, source)


def price(
    hours: Hours,
    assignee: str | None,
    project: Project,
    mapping: Mapping,
    on: date | None = None,
    rate: HourRate | None = None,
) -> Impact:
    """Cost at the assignee's billing rate in force `on` the local day it is priced (else the
    project's default rate), delay in working days. `rate` given: priced at that one instead (the
    rate a change was first priced at, which a later event must not silently replace).

    The cost is exact decimal arithmetic on the hours as shown, rounded half-up once to the
    currency's minor units (JPY has none).
    """
    hour_rate = rate or rate_on(mapping, project, assignee, on)
    billing = float(hour_rate.billing)
    if hours.value is None:
        return Impact(None, "none", billing, None, None, project.currency, hour_rate)
    shown = round_half_up(hours.value, 1)
    cost = formats.half_up(Decimal(repr(shown)) * hour_rate.billing, minor_units(project.currency))
    return Impact(
        hours=shown,
        hours_source=hours.source,
        rate=billing,
        cost=float(cost),
        schedule_days=round_half_up(shown / project.hours_per_day, 1),
        currency=project.currency,
        hour_rate=hour_rate,
    )


def round_half_up(value: float, places: int) -> float:
    """Rounding as people do it on paper: 2.675 -> 2.68, where `round()` gives 2.67 for floats.

    The same rule the texts are formatted with, so a stored figure and its printed form agree.
    """
    return float(formats.half_up(value, places))


# --- the comment on the Jira issue -------------------------------------------------------------

_DECISION_SENTENCES: dict[str, str] = {
    "pending": "Pending your approval.",
    "approved": "Approved: added to the agreed scope and the budget.",
    "rejected": "Rejected: not part of the agreed scope.",
    # Not used on a flagged ticket (the `unflag` job replaces the whole comment with
    # NOT_SCOPE_TEXT), but every decision has its sentence.
    "not-scope": "Judged to be agreed work: not a scope change.",
}
NOT_SCOPE_TEXT = (
    "Not a scope change: judged to be agreed work, so it is part of the baseline and adds "
    "nothing to the budget."
)


def impact_comment(
    impact: Impact,
    baseline_label: str,
    decision: Decision,
    locale: str = formats.DEFAULT_LOCALE,
    carried_by: tuple[str, ...] = (),
) -> str:
    """What the client reads on the ticket: "Outside the baseline of 1 Sep 2026: +10 h, €850, …".

    `carried_by`: the keys of the children that carry this parent's work (`service.scope.parents`);
    the parent then adds nothing itself, and says where its price is instead.
    """
    opening = f"Outside the baseline of {baseline_label}:"
    if carried_by:
        # No "pending your approval": each child is approved or rejected with its own price.
        text = (
            f"{opening} priced through {', '.join(carried_by)}, each with its own price and "
            "decision; nothing is added for this issue on top of them."
        )
        return text if decision == "pending" else f"{text} {_DECISION_SENTENCES[decision]}"
    if impact.hours is None or impact.cost is None or impact.schedule_days is None:
        # No "pending your approval" here: there is nothing to approve until it has a price.
        text = f"{opening} needs an estimate before it can be priced."
        return text if decision == "pending" else f"{text} {_DECISION_SENTENCES[decision]}"
    days = impact.schedule_days
    return (
        f"{opening} +{formats.hours(impact.hours, locale)}, "
        f"{formats.money(impact.cost, impact.currency, locale)}, "
        f"+{formats.tenths(days, locale)} working {'day' if days == 1 else 'days'} to delivery. "
        f"{_DECISION_SENTENCES[decision]}"
    )


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
