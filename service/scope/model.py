"""A scope change as the rest of scopewatch sees it: a typed row of `scope_changes`, and its JSON.

The engine, the decisions, the write-back and the API pass this value around instead of rows as
dicts; PRODUCT.md fixes its JSON (`to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from service.scope.pricing import DECISIONS, Decision, Impact

__all__ = ["DECISIONS", "Decision", "Invalid", "NotFound", "ScopeChange"]


class NotFound(LookupError):
    """No such project or scope change; the API answers 404 with this message."""


class Invalid(ValueError):
    """A request the engine cannot carry out as asked; the API answers 400 with this message."""


@dataclass(frozen=True)
class ScopeChange:
    """One row of `scope_changes`: an issue flagged as new scope, its price and its decision."""

    id: int
    project_key: str
    issue_id: str
    key: str
    summary: str
    issue_type: str
    created: datetime | None  # when the issue entered the project (created here, or moved in)
    detected_at: datetime
    hours: float | None  # None: unpriced ("needs estimate")
    hours_source: str
    cost: float | None
    currency: str
    schedule_days: float | None
    decision: str
    decision_note: str | None
    decided_at: datetime | None
    withdrawn: bool  # the issue was deleted or left the project
    impact_version: int  # bumped whenever what the client sees on the ticket changes
    written_version: int  # the newest version Jira shows
    decided_by: str | None = None  # who took the decision in force (None: nobody yet)
    decision_channel: str | None = None  # jira|api|cli|web|email

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ScopeChange:
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})

    @property
    def written_back(self) -> bool:
        return self.written_version >= self.impact_version

    @property
    def impact(self) -> Impact:
        """The price as stored, in the shape the pricing rules produce it."""
        hours, cost = self.hours, self.cost
        return Impact(
            hours=hours,
            hours_source=self.hours_source,  # type: ignore[arg-type]
            rate=cost / hours if hours and cost is not None else 0.0,
            cost=cost,
            schedule_days=self.schedule_days,
            currency=self.currency,
        )

    def to_json(self) -> dict[str, Any]:
        """PRODUCT.md's scope-change JSON, plus when and why it was decided."""
        return {
            "key": self.key,
            "summary": self.summary,
            "issue_type": self.issue_type,
            "created": _iso(self.created),
            "detected_at": _iso(self.detected_at),
            "hours": self.hours,
            "hours_source": self.hours_source,
            "cost": self.cost,
            "currency": self.currency,
            "schedule_days": self.schedule_days,
            "decision": self.decision,
            "written_back": self.written_back,
            "decided_at": _iso(self.decided_at),
            "decided_by": self.decided_by,
            "decision_channel": self.decision_channel,
            "decision_note": self.decision_note,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
