"""Helpers for the Jira tests: the sandbox as a Jira site, and a client with small waits."""

from __future__ import annotations

from typing import Any

import requests

from mappings.model import Mapping
from service.jira.client import JiraClient

LOGIN = ("sandbox@example.com", "sandbox-token")


class JiraSite:
    """The sandbox as people and tests see it: its REST API and its control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.auth = LOGIN

    def fault(self, **spec: Any) -> None:
        self.http.post(f"{self.url}/_sandbox/faults", json=spec).raise_for_status()

    def log(self) -> list[dict[str, Any]]:
        """REST calls the sandbox received, oldest first (ours and this helper's alike)."""
        answer = self.http.get(f"{self.url}/_sandbox/requests")
        answer.raise_for_status()
        return list(answer.json())

    def clear_log(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/requests").raise_for_status()

    def bulk(self, project: str, count: int) -> None:
        body = {"project": project, "count": count}
        self.http.post(f"{self.url}/_sandbox/bulk", json=body).raise_for_status()

    def create_issue(self, project: str, summary: str, issue_type: str, **fields: Any) -> str:
        """Someone creates an issue in Jira; returns its key. No webhook goes anywhere."""
        body = {
            "fields": {
                "project": {"key": project},
                "summary": summary,
                "issuetype": {"name": issue_type},
                **fields,
            }
        }
        answer = self.http.post(f"{self.url}/rest/api/2/issue", json=body)
        answer.raise_for_status()
        return str(answer.json()["key"])

    def issue(self, key: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/rest/api/2/issue/{key}")
        answer.raise_for_status()
        return dict(answer.json())

    def comments(self, key: str) -> list[str]:
        answer = self.http.get(f"{self.url}/rest/api/2/issue/{key}/comment")
        answer.raise_for_status()
        return [str(c["body"]) for c in answer.json()["comments"]]

    def prop(self, key: str, name: str) -> Any:
        answer = self.http.get(f"{self.url}/rest/api/2/issue/{key}/properties/{name}")
        return answer.json()["value"] if answer.status_code == 200 else None


def make_client(site: JiraSite, mapping: Mapping, **options: Any) -> JiraClient:
    """Small waits so that retry tests take a second or two, not minutes."""
    settings: dict[str, Any] = {
        "timeout": (2.0, 5.0),
        "max_wait": 3.0,
        "backoff": 0.05,
        "backoff_max": 0.3,
    }
    return JiraClient(site.url, LOGIN[0], LOGIN[1], mapping, **{**settings, **options})
