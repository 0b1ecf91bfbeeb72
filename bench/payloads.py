"""Realistic Jira Cloud webhook bodies, generated deterministically and fast.

The shapes follow `tests/fixtures/webhooks/*.json` (captured Cloud deliveries): full user blocks
with avatars, issue fields with status categories, components, fix versions and custom fields, a
changelog on updates. Size matters for intake (bytes hashed, parsed and written), so the bodies
carry the same blocks real ones do: 1.3 kB for a worklog event, about 3 kB for an issue event.

Issue `n` has id `10000 + n` and key `ACME-n`; worklog `w` has id `500000 + w`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SITE = "https://acme.atlassian.net"
PROJECT = {
    "self": f"{SITE}/rest/api/2/project/10000",
    "id": "10000",
    "key": "ACME",
    "name": "Acme Portal",
    "projectTypeKey": "software",
}
# The sandbox mapping's people (four roles) and the client, who has no role.
PEOPLE = [
    ("5f8a1c2b3d4e5f6a7b8c9d01", "Alice Dev"),
    ("5f8a1c2b3d4e5f6a7b8c9d02", "Bob Dev"),
    ("5f8a1c2b3d4e5f6a7b8c9d03", "Carol Design"),
    ("5f8a1c2b3d4e5f6a7b8c9d04", "Dave PM"),
    ("5f8a1c2b3d4e5f6a7b8c9d05", "Erin Dev"),
    ("5f8a1c2b3d4e5f6a7b8c9d06", "Client Person"),
]
COMPONENTS = ["Backend", "Frontend", "Design", "Infrastructure"]
TYPES = [
    ("Story", "10001", False),
    ("Task", "10002", False),
    ("Bug", "10004", False),
    ("Sub-task", "10003", True),
]
# name, id, status category key; the workflow walks them in this order.
STATUSES = [
    ("To Do", "1", "new"),
    ("In Progress", "3", "indeterminate"),
    ("In Review", "10001", "indeterminate"),
    ("Blocked", "10002", "indeterminate"),
    ("Waiting for client", "10003", "indeterminate"),
    ("Done", "10004", "done"),
]
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
WORKLOG_BASE = 500_000
ISSUE_BASE = 10_000


def jira_time(at: datetime) -> str:
    """Jira's own format: milliseconds and a numeric offset without a colon."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def _user(index: int) -> dict[str, Any]:
    account, name = PEOPLE[index]
    return {
        "self": f"{SITE}/rest/api/2/user?accountId={account}",
        "accountId": account,
        "displayName": name,
        "active": True,
        "timeZone": "Europe/Berlin",
        "accountType": "atlassian",
        "avatarUrls": {"48x48": f"https://avatar.example/{account}/48.png"},
    }


USERS = [_user(i) for i in range(len(PEOPLE))]


def _status(index: int) -> dict[str, Any]:
    name, sid, category = STATUSES[index]
    return {
        "self": f"{SITE}/rest/api/2/status/{sid}",
        "name": name,
        "id": sid,
        "statusCategory": {
            "id": 2,
            "key": category,
            "colorName": "blue-gray",
            "name": CATEGORY_NAMES[category],
        },
    }


@dataclass(frozen=True)
class IssueSpec:
    """What the generator decided about one issue; the body and the mirror row come from it."""

    n: int
    type_index: int
    component: str
    assignee: int
    reporter: int
    estimate_seconds: int | None
    story_points: float | None
    created: datetime

    @property
    def id(self) -> str:
        return str(ISSUE_BASE + self.n)

    @property
    def key(self) -> str:
        return f"ACME-{self.n}"


def issue_spec(n: int, created: datetime, rng: random.Random) -> IssueSpec:
    estimate = rng.choice([None, 4, 8, 16, 24, 40])
    return IssueSpec(
        n=n,
        type_index=rng.choices(range(len(TYPES)), weights=[5, 3, 2, 1])[0],
        component=rng.choice(COMPONENTS),
        assignee=rng.randrange(len(PEOPLE) - 1),
        reporter=3,
        estimate_seconds=estimate * 3600 if estimate else None,
        story_points=rng.choice([None, 1.0, 2.0, 3.0, 5.0, 8.0]),
        created=created,
    )


def issue_fields(spec: IssueSpec, status: int, updated: datetime) -> dict[str, Any]:
    type_name, type_id, subtask = TYPES[spec.type_index]
    estimate = spec.estimate_seconds
    return {
        "summary": f"{type_name} {spec.n}: export invoices as PDF for the billing team",
        "issuetype": {
            "self": f"{SITE}/rest/api/2/issuetype/{type_id}",
            "id": type_id,
            "name": type_name,
            "subtask": subtask,
            "hierarchyLevel": -1 if subtask else 0,
        },
        "project": PROJECT,
        "status": _status(status),
        "assignee": USERS[spec.assignee],
        "reporter": USERS[spec.reporter],
        "components": [
            {
                "self": f"{SITE}/rest/api/2/component/1001{COMPONENTS.index(spec.component)}",
                "id": f"1001{COMPONENTS.index(spec.component)}",
                "name": spec.component,
            }
        ],
        "labels": [],
        "fixVersions": [
            {
                "self": f"{SITE}/rest/api/2/version/10020",
                "id": "10020",
                "name": "MVP",
                "archived": False,
                "released": False,
                "releaseDate": "2026-12-18",
            }
        ],
        "timeoriginalestimate": estimate,
        "timetracking": {
            "originalEstimate": f"{estimate // 3600}h",
            "originalEstimateSeconds": estimate,
        }
        if estimate
        else {},
        "customfield_10016": spec.story_points,
        "customfield_10021": None,
        "customfield_10020": None,
        "created": jira_time(spec.created),
        "updated": jira_time(updated),
        "resolutiondate": jira_time(updated) if STATUSES[status][2] == "done" else None,
        "priority": {"name": "Medium", "id": "3"},
    }


def _issue(spec: IssueSpec, status: int, updated: datetime) -> dict[str, Any]:
    return {
        "id": spec.id,
        "self": f"{SITE}/rest/api/2/{spec.id}",
        "key": spec.key,
        "fields": issue_fields(spec, status, updated),
    }


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def issue_created(spec: IssueSpec) -> dict[str, Any]:
    return {
        "timestamp": _ms(spec.created),
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": USERS[spec.reporter],
        "issue": _issue(spec, 0, spec.created),
    }


def issue_transitioned(spec: IssueSpec, old: int, new: int, at: datetime) -> dict[str, Any]:
    """A status change, as Cloud sends it: the whole issue after the change plus the changelog."""
    return {
        "timestamp": _ms(at),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": USERS[spec.assignee],
        "issue": _issue(spec, new, at),
        "changelog": {
            "id": str(20000 + _ms(at) % 10_000_000),
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": STATUSES[old][1],
                    "fromString": STATUSES[old][0],
                    "to": STATUSES[new][1],
                    "toString": STATUSES[new][0],
                }
            ],
        },
    }


def worklog_created(w: int, spec: IssueSpec, author: int, started: datetime, seconds: int) -> dict:
    logged = started + timedelta(seconds=seconds)
    wid = str(WORKLOG_BASE + w)
    return {
        "timestamp": _ms(logged),
        "webhookEvent": "worklog_created",
        "worklog": {
            "self": f"{SITE}/rest/api/2/issue/{spec.id}/worklog/{wid}",
            "author": USERS[author],
            "updateAuthor": USERS[author],
            "comment": f"worked on {spec.key}",
            "created": jira_time(logged),
            "updated": jira_time(logged),
            "started": jira_time(started),
            "timeSpent": f"{seconds // 60}m",
            "timeSpentSeconds": seconds,
            "id": wid,
            "issueId": spec.id,
        },
    }


def encode(body: dict[str, Any]) -> bytes:
    """Compact JSON, as Jira sends it: no newline or tab can appear in it (the Lua reads lines)."""
    return json.dumps(body, separators=(",", ":")).encode()


# --- a stream of deliveries ----------------------------------------------------------------------

START = datetime(2025, 11, 24, 8, 0, tzinfo=UTC)  # a Monday, 52 weeks before the digest's week


def delivery_stream(
    count: int, seed: int = 1, *, first_issue: int = 1, issues_known: int = 0
) -> Iterator[tuple[str, dict[str, Any]]]:
    """`count` deliveries in a realistic mix: 87% worklogs, 9% status changes, 4% new issues.

    That is the proportion of a project with 50,000 issues, two transitions each and 1,000,000
    worklogs. Events about existing issues pick among the `issues_known` issues (numbered from 1)
    and the ones this stream created. Yields (event name, body).
    """
    rng = random.Random(seed)
    specs: list[IssueSpec] = []
    known = issues_known
    next_issue, w = first_issue, seed * 10_000_000
    at = START + timedelta(days=364)
    for _ in range(count):
        at += timedelta(milliseconds=rng.randint(50, 400))
        roll = rng.random()
        if roll < 0.04 or (known == 0 and not specs):
            spec = issue_spec(next_issue, at, rng)
            next_issue += 1
            specs.append(spec)
            yield "jira:issue_created", issue_created(spec)
            continue
        spec = _pick_issue(rng, known, specs)
        if roll < 0.13:
            old = rng.randrange(len(STATUSES) - 1)
            yield "jira:issue_updated", issue_transitioned(spec, old, old + 1, at)
        else:
            w += 1
            seconds = rng.choice([900, 1800, 3600, 7200, 10800])
            started = at - timedelta(seconds=seconds)
            yield (
                "worklog_created",
                worklog_created(w, spec, rng.randrange(len(PEOPLE)), started, seconds),
            )


def _pick_issue(rng: random.Random, known: int, specs: list[IssueSpec]) -> IssueSpec:
    index = rng.randrange(known + len(specs))
    if index < known:
        return known_issue(index + 1)
    return specs[index - known]


def created_at(n: int) -> datetime:
    """When history issue `n` was created: one every 7 minutes from START (50k in 243 days)."""
    return START + timedelta(minutes=7 * n)


def known_issue(n: int) -> IssueSpec:
    """History issue `n`, the same whether the history loader or an event generator asks."""
    return issue_spec(n, created_at(n), random.Random(n))
