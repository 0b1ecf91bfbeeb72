"""The demo's scripted week in Jira, played by "the team" through the sandbox's REST API.

This is not scopewatch talking to Jira (that is `service.jira.client`): it stands in for people
working in Jira's UI, whose every change makes Jira send a webhook to scopewatch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

AUTH = ("sandbox@example.com", "sandbox-token")
BOB, ERIN, CAROL, ALICE = (f"5f8a1c2b3d4e5f6a7b8c9d0{n}" for n in (2, 5, 3, 1))


@dataclass(frozen=True)
class Week:
    name: str
    start: str


WEEK = Week(name="2026-W47", start="2026-11-16T08:00:00Z")


class Team:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = AUTH

    def at(self, when: str) -> None:
        self._call("POST", "/_sandbox/clock", {"now": when})

    def create(
        self,
        summary: str,
        issue_type: str,
        *,
        assignee: str,
        component: str,
        estimate: str | None = None,
        points: float | None = None,
    ) -> str:
        fields: dict[str, Any] = {
            "project": {"key": "ACME"},
            "summary": summary,
            "issuetype": {"name": issue_type},
            "assignee": {"accountId": assignee},
            "components": [{"name": component}],
        }
        if estimate:
            fields["timetracking"] = {"originalEstimate": estimate}
        if points is not None:
            fields["customfield_10016"] = points
        return str(self._call("POST", "/rest/api/2/issue", {"fields": fields})["key"])

    def estimate(self, key: str, estimate: str) -> None:
        self._call(
            "PUT",
            f"/rest/api/2/issue/{key}",
            {"fields": {"timetracking": {"originalEstimate": estimate}}},
        )

    def label(self, key: str, label: str) -> None:
        self._call("PUT", f"/rest/api/2/issue/{key}", {"update": {"labels": [{"add": label}]}})

    def move(self, key: str, status: str) -> None:
        transitions = self._call("GET", f"/rest/api/2/issue/{key}/transitions")["transitions"]
        target = next(t for t in transitions if t["to"]["name"] == status)
        self._call(
            "POST", f"/rest/api/2/issue/{key}/transitions", {"transition": {"id": target["id"]}}
        )

    def log(self, key: str, author: str, hours: float, started: str) -> None:
        """Logged as the author: Jira records whoever is signed in as the worklog's author."""
        email = self._call("GET", f"/rest/api/2/user?accountId={author}")["emailAddress"]
        response = requests.post(
            f"{self.url}/rest/api/2/issue/{key}/worklog",
            auth=(email, "token"),
            timeout=15,
            json={"timeSpentSeconds": int(hours * 3600), "started": started},
        )
        response.raise_for_status()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, self.url + path, json=body, timeout=15)
        response.raise_for_status()
        return response.json() if response.content else None


def play_week(url: str) -> Iterator[str]:
    team = Team(url)
    team.at("2026-11-16T09:30:00Z")
    pdf = team.create(
        "Export invoices as PDF", "Story", assignee=BOB, component="Backend", estimate="16h"
    )
    yield f"Mon  {pdf} created: 'Export invoices as PDF' (Story, 16 h estimate) — new scope"
    team.at("2026-11-16T14:00:00Z")
    sso = team.create(
        "Single sign-on with Azure AD", "Story", assignee=ERIN, component="Frontend", points=5
    )
    yield f"Mon  {sso} created: 'Single sign-on with Azure AD' (5 story points) — new scope"
    team.at("2026-11-17T10:00:00Z")
    bug = team.create(
        "Totals rounding error on invoices", "Bug", assignee=BOB, component="Backend", estimate="3h"
    )
    yield f"Tue  {bug} created: a Bug — excluded from scope by the mapping, not flagged"
    team.at("2026-11-17T15:00:00Z")
    team.estimate("ACME-14", "4d")
    yield "Tue  ACME-14 (baseline) estimate raised from 2d to 4d — scope growth, reported"
    team.at("2026-11-18T09:00:00Z")
    team.move("ACME-16", "Blocked")
    yield "Wed  ACME-16 moved to Blocked — a blocker waiting on the team"
    team.at("2026-11-18T11:00:00Z")
    team.move("ACME-13", "Waiting for client")
    yield "Wed  ACME-13 moved to 'Waiting for client' — a blocker waiting on the client"
    team.at("2026-11-19T16:00:00Z")
    team.label(pdf, "scope-approved")
    yield f"Thu  the client approved {pdf} (label scope-approved in Jira)"
    team.at("2026-11-20T17:00:00Z")
    for key, author, hours, day in [
        (pdf, BOB, 6, "2026-11-19"),
        (pdf, BOB, 5, "2026-11-20"),
        ("ACME-16", ALICE, 7, "2026-11-17"),
        ("ACME-6", ERIN, 6, "2026-11-18"),
        ("ACME-12", CAROL, 4, "2026-11-19"),
    ]:
        team.log(key, author, hours, f"{day}T09:00:00.000+0000")
    yield "Fri  the team logged 28 h of work this week"
