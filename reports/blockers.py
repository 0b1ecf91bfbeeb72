"""What is stuck at the period's end, who it is waiting on, and for how long.

An issue not done is blocked when its status is a "blocked" one (waiting on the team), a
"waiting on client" one (the client), it is flagged (the team), or an issue that blocks it is not
done (the team). An issue is listed once, for the first of those reasons in that order: waiting
on the client comes first because it is the one the reader can act on.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mappings.model import Statuses
from reports.frames import Frames, map_distinct, rows_of, utc
from reports.period import Period


def _names(statuses: tuple[str, ...]) -> set[str]:
    # Jira matches status names without regard to case; so do we.
    return {s.casefold() for s in statuses}


def open_blocking_links(frames: Frames, state: pd.DataFrame, statuses: Statuses) -> pd.Series:
    """Per blocked issue id: when the oldest link from a not-done blocker was created."""
    links = frames.links
    done = state["done"]
    if not done.index.is_unique:  # a hand-written frame may repeat an issue: the last row wins
        done = done[~done.index.duplicated(keep="last")]
    done_here = pd.Series(done.reindex(links["source_issue_id"]).to_numpy(), index=links.index)
    # A blocker outside the project: only its current status category is known.
    done_elsewhere = links["source_status_category"].astype(object).isin(statuses.done_categories)
    source_done = done_here.astype(object).where(done_here.notna(), done_elsewhere).astype(bool)
    open_links = links[~source_done]
    return open_links.groupby("destination_issue_id")["created"].min()


def age_days(since: pd.Timestamp, end: pd.Timestamp) -> int | None:
    """Whole days from `since` to `end` (a blocker of 5 days and 23 hours is 5 days old)."""
    if pd.isna(since):
        return None
    return max(math.floor((end - since).total_seconds() / 86400), 0)


def ages_in_days(since: pd.Series, end: pd.Timestamp) -> pd.Series:
    """`age_days` for a whole column at once (since is never null for a blocker)."""
    return ((end - since).dt.total_seconds() // 86400).clip(lower=0).astype("int64")


def calculate_blockers(
    frames: Frames, state: pd.DataFrame, statuses: Statuses, period: Period
) -> list[dict[str, Any]]:
    end = utc(period.as_of_utc)  # ages to the digest's as-of moment
    pending = state[~state["done"]]
    status = map_distinct(pending["status"], lambda s: s.casefold() if isinstance(s, str) else "")
    link_since = open_blocking_links(frames, state, statuses).reindex(pending.index)
    reasons = [  # (applies, waiting on, since), in priority order
        (status.isin(_names(statuses.waiting_on_client)), "client", pending["status_since"]),
        (status.isin(_names(statuses.blocked)), "team", pending["status_since"]),
        (pending["flagged"], "team", pending["flagged_since"]),
        (link_since.notna(), "team", link_since),
    ]
    waiting_on = pd.Series(None, index=pending.index, dtype=object)
    since = pd.Series(pd.NaT, index=pending.index, dtype=pending["status_since"].dtype)
    for hit, who, when in reversed(reasons):  # applied last to first, so the first reason wins
        hit = hit.astype(bool)
        waiting_on = waiting_on.mask(hit, who)
        since = since.mask(hit, when)
    hit = waiting_on.notna()
    blocked = pending[hit].assign(
        since=since[hit], waiting_on=waiting_on[hit], age_days=ages_in_days(since[hit], end)
    )
    owner = blocked["owner"].astype(object)
    listed = blocked[["key", "summary", "since", "age_days", "waiting_on"]].assign(
        owner=owner.where(owner.notna(), None)
    )
    blockers = [
        {
            "key": b.key,
            "summary": b.summary,
            "since": b.since,
            "age_days": int(b.age_days),
            "waiting_on": b.waiting_on,
            "owner": b.owner,
        }
        for b in rows_of(listed)
    ]
    return sorted(blockers, key=lambda b: (-b["age_days"], b["key"]))
