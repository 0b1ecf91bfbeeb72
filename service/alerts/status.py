"""A project's money as the agency sees it, for `project status` and the cockpit (never the
client): the burn, the alerts sent, the work not billed, and the cost and margin of the work.

One call for the PM's views to show; `reports` computes every figure, this only reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from mappings.model import Mapping
from reports.budget import calculate_budget, non_billable_summary
from reports.contracts import internal_burn
from reports.period import period_for, week_name
from reports.rates import change_days, local_day
from service.digest.load import load_frames
from service.store import schema
from service.store.engine import reader


def money_status(engine: Engine, mapping: Mapping, project_key: str, now: datetime) -> dict:
    """The PM's money figures of the week holding `now`, plain numbers (money unrounded)."""
    project = mapping.project(project_key)
    if project is None:
        raise ValueError(f"{mapping.source}: no project {project_key!r} in the mapping")
    period = period_for(week_name(local_day(now, project)), project.digest.tz)
    nb = project.non_billable
    a = schema.budget_alerts.c
    with reader(engine) as conn:
        frames = load_frames(
            conn, project.key, period.end_utc, tz=project.digest.tz,
            splits=change_days(project), by_type_and_label=bool(nb.types or nb.labels),
        )  # fmt: skip
        sent = conn.execute(
            select(a.threshold, a.budget, a.burn_pct, a.first_sent_at, a.last_sent_at, a.sends)
            .where(a.project_key == project.key)
            .order_by(a.first_sent_at, a.threshold)
        ).mappings()
        alerts: list[dict[str, Any]] = [dict(row) for row in sent]
    budget = calculate_budget(frames, mapping, project, period)
    return {
        "project": project.key,
        "contract": project.contract,
        "currency": project.currency,
        "total": budget["total"],
        "spent": budget["spent"],
        "burn_pct": budget["burn_pct"],
        "non_billable": non_billable_summary(frames, mapping, project, period),
        "internal": internal_burn(frames, mapping, project, period, budget),
        "alerts_sent": alerts,
    }
