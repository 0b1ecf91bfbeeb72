"""The only code that talks to Jira: one retry policy, Cloud and Data Center, plain dicts out.

It wraps the `jira` library for what the library does well (authentication, the session, server
info and Cloud/Data Center detection) and sends every REST call itself through that session, one
HTTP call per attempt, so that the one retry policy of `service.jira.policy` governs all of them.

API versions: reads and edits use REST v2 everywhere (the mirror reads the v2 issue shape). Search
is Cloud's enhanced `/search/jql` with `nextPageToken`, requested on v2 so issues keep that shape
(it is the same endpoint the library's `enhanced_search_issues` calls); Data Center has only the
classic `/search` with `startAt`. Comments are ADF on Cloud (REST v3) and plain text on Data
Center (v2): Cloud reads a v2 string as wiki markup, where the outbox's `[scopewatch change N]`
marker is link syntax, while an ADF text node is taken literally and reads back unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from jira import JIRA

from mappings.model import Mapping
from service.jira.adf import comment_text, text_to_adf
from service.jira.policy import JiraRejected, JiraRetryLater, RetryPolicy, log_url
from service.settings import Settings

__all__ = [
    "LIST_PAGE",
    "SEARCH_PAGE",
    "JiraClient",
    "JiraRejected",
    "JiraRetryLater",
    "missing_custom_fields",
    "same_comment_text",
]

CLOUD = "Cloud"
SEARCH_PAGE = 100  # Cloud's ceiling for a page with fields; Data Center allows up to 1000
LIST_PAGE = 1000  # comments and worklogs; Jira caps it lower where it must


class JiraClient:
    """Jira's REST API as plain dicts, behind one retry policy. Connects on first use."""

    def __init__(
        self,
        url: str,
        email: str | None,
        token: str,
        mapping: Mapping,
        *,
        timeout: tuple[float, float] = (5, 30),
        max_wait: float = 120,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.mapping = mapping
        self.timeout = timeout
        self._policy = RetryPolicy(max_wait=max_wait, backoff=backoff, backoff_max=backoff_max)
        self._email = email or None
        self._token = token
        self._jira: JIRA | None = None
        # Re-entrant: the first connection runs the retry policy while holding it.
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, mapping: Mapping, **options: Any) -> JiraClient:
        """Cloud: e-mail and API token (basic auth); Data Center: the token alone is a PAT."""
        if not settings.jira_url or not settings.jira_token:
            raise ValueError("Jira is not configured: SCOPEWATCH_JIRA_URL and _TOKEN are needed")
        return cls(settings.jira_url, settings.jira_email, settings.jira_token, mapping, **options)

    def __repr__(self) -> str:
        return f"JiraClient({self.url!r})"

    @property
    def calls(self) -> int:
        """HTTP requests sent, retries included (for benches and tests)."""
        return self._policy.calls

    @property
    def max_wait(self) -> float:
        """Seconds one call may spend retrying before it gives up with `JiraRetryLater`."""
        return self._policy.max_wait

    # --- the site ------------------------------------------------------------------------------

    @property
    def deployment_type(self) -> str:
        """The site's serverInfo `deploymentType`: "Cloud", "Server" or "DataCenter"."""
        return str(self._library().deploymentType or "Server")

    @property
    def is_cloud(self) -> bool:
        return self.deployment_type == CLOUD

    @property
    def pause_until(self) -> datetime | None:
        """The end of the pause Jira's last 429 asked for, while it lasts."""
        return self._policy.pause_until

    def server_info(self) -> dict[str, Any]:
        return dict(self._get("serverInfo"))

    def field_ids(self) -> set[str]:
        return {str(f["id"]) for f in self._get("field") if isinstance(f, dict) and "id" in f}

    # --- search --------------------------------------------------------------------------------

    def search(
        self, jql: str, fields: list[str], page_size: int = SEARCH_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every issue the JQL finds, in REST v2 shape, one page request at a time."""
        for page in self.search_pages(jql, fields, page_size):
            yield from page

    def search_pages(
        self,
        jql: str,
        fields: list[str],
        page_size: int = SEARCH_PAGE,
        *,
        changelog: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """The same, a page at a time: callers commit per page. Jira caps `page_size` itself.

        `changelog=True` asks Jira to embed each issue's history (`expand=changelog`).
        """
        if self.is_cloud:
            return self._search_cloud(jql, fields, page_size, changelog)
        return self._search_classic(jql, fields, page_size, changelog)

    def count(self, jql: str) -> int:
        """How many issues the JQL finds (on Cloud an estimate, good enough for a progress bar)."""
        if self.is_cloud:
            return int(self._post("search/approximate-count", {"jql": jql}).get("count", 0))
        page = self._post("search", {"jql": jql, "maxResults": 0, "fields": ["id"]})
        return int(page.get("total", 0))

    def _search_cloud(
        self, jql: str, fields: list[str], page_size: int, changelog: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
            if changelog:
                body["expand"] = "changelog"  # a string on the enhanced search
            if token:
                body["nextPageToken"] = token
            page = self._post("search/jql", body)
            issues = list(page.get("issues") or [])
            if issues:
                yield issues
            # The last page carries no token (JRACLOUD-92184); an empty page also ends the loop.
            token = page.get("nextPageToken")
            if not token or not issues or page.get("isLast"):
                return

    def _search_classic(
        self, jql: str, fields: list[str], page_size: int, changelog: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            body: dict[str, Any] = {
                "jql": jql,
                "fields": list(fields),
                "startAt": start,
                "maxResults": page_size,
            }
            if changelog:
                body["expand"] = ["changelog"]  # a list on the classic search
            page = self._post("search", body)
            issues = list(page.get("issues") or [])
            if issues:
                yield issues
            # Advance by what came back: the server may cap maxResults below what we asked.
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    # --- issues --------------------------------------------------------------------------------

    def get_issue(self, key_or_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        return dict(self._get(f"issue/{_part(key_or_id)}", params=params))

    def edit_issue(
        self,
        key: str,
        *,
        labels_add: Iterable[str] = (),
        labels_remove: Iterable[str] = (),
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Labels and fields in one PUT (no GET after it, unlike the library's `update()`).

        Labels go through `update` add/remove so that labels set by people stay untouched; adding a
        label twice is a no-op in Jira, which keeps the call safe to repeat.
        """
        operations = [{"add": label} for label in labels_add]
        operations += [{"remove": label} for label in labels_remove]
        body: dict[str, Any] = {}
        if operations:
            body["update"] = {"labels": operations}
        if fields:
            body["fields"] = dict(fields)
        if body:
            self._request("PUT", f"issue/{_part(key)}", body=body)

    def worklogs(self, key: str) -> list[dict[str, Any]]:
        """All worklogs of an issue (an issue or a search embeds at most 20 of them)."""
        found: list[dict[str, Any]] = []
        while True:
            params = {"startAt": len(found), "maxResults": LIST_PAGE}
            page = self._get(f"issue/{_part(key)}/worklog", params=params)
            batch = list(page.get("worklogs") or [])
            found += batch
            if not batch or len(found) >= int(page.get("total", 0)):
                return found

    # --- comments ------------------------------------------------------------------------------

    def comments(self, key: str) -> list[dict[str, Any]]:
        """All comments of an issue, oldest first, each with `body` as plain text."""
        found: list[dict[str, Any]] = []
        while True:
            params = {"startAt": len(found), "maxResults": LIST_PAGE}
            page = self._get(f"issue/{_part(key)}/comment", params=params, api=self._comment_api)
            batch = [self._plain_comment(c) for c in page.get("comments") or []]
            found += batch
            if not batch or len(found) >= int(page.get("total", 0)):
                return found

    def add_comment(self, key: str, text: str) -> dict[str, Any]:
        answer = self._request(
            "POST",
            f"issue/{_part(key)}/comment",
            body=self._comment_body(text),
            api=self._comment_api,
        )
        return self._plain_comment(_json(answer))

    def update_comment(self, key: str, comment_id: str, text: str) -> dict[str, Any]:
        answer = self._request(
            "PUT",
            f"issue/{_part(key)}/comment/{_part(comment_id)}",
            body=self._comment_body(text),
            api=self._comment_api,
        )
        return self._plain_comment(_json(answer))

    @property
    def _comment_api(self) -> int:
        return 3 if self.is_cloud else 2

    def _comment_body(self, text: str) -> dict[str, Any]:
        return {"body": text_to_adf(text) if self.is_cloud else text}

    @staticmethod
    def _plain_comment(comment: dict[str, Any]) -> dict[str, Any]:
        return {**comment, "body": comment_text(comment.get("body"))}

    # --- issue properties ----------------------------------------------------------------------

    def get_property(self, key: str, prop: str) -> Any | None:
        """The property's value, or None when the issue has no such property."""
        try:
            answer = self._get(f"issue/{_part(key)}/properties/{_part(prop)}")
        except JiraRejected as exc:
            if exc.status == 404:
                return None
            raise
        return answer.get("value")

    def set_property(self, key: str, prop: str, value: dict[str, Any]) -> None:
        self._request("PUT", f"issue/{_part(key)}/properties/{_part(prop)}", body=value)

    # --- HTTP through the one retry policy -----------------------------------------------------

    def _get(self, path: str, *, params: dict[str, Any] | None = None, api: int = 2) -> Any:
        return _json(self._request("GET", path, params=params, api=api))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # Search and count are reads sent as POST (long JQL and field lists): safe to repeat.
        return dict(_json(self._request("POST", path, body=body, idempotent=True)))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        api: int = 2,
        idempotent: bool | None = None,
    ) -> requests.Response:
        jira = self._library()
        url = f"{jira.server_url}/rest/api/{api}/{path}"
        data = None if body is None else json.dumps(body)
        session = jira._session  # the library's session: its auth, headers and timeout

        def send() -> requests.Response:
            return session.request(method, url, params=params, data=data)

        repeatable = method != "POST" if idempotent is None else idempotent
        return self._policy.run(f"{method} {log_url(url)}", send, idempotent=repeatable)

    def _library(self) -> JIRA:
        """The library client, made on first use so that building a JiraClient costs nothing."""
        with self._lock:
            if self._jira is None:
                # The constructor's serverInfo call goes through the same policy as the rest.
                self._jira = self._policy.run(
                    f"GET {log_url(self.url + '/rest/api/2/serverInfo')}",
                    self._open_library,
                    idempotent=True,
                )
            return self._jira

    def _open_library(self) -> JIRA:
        auth: dict[str, Any] = (
            {"basic_auth": (self._email, self._token)}
            if self._email
            else {"token_auth": self._token}
        )
        return JIRA(
            server=self.url,
            max_retries=0,
            timeout=self.timeout,
            get_server_info=True,
            **auth,
        )


def missing_custom_fields(client: JiraClient, mapping: Mapping) -> list[str]:
    """Custom field ids the mapping names that Jira's field list does not have."""
    wanted = [
        mapping.jira.story_points_field,
        mapping.jira.flagged_field,
        mapping.jira.impact_hours_field,
        mapping.jira.impact_cost_field,
    ]
    custom = [f for f in dict.fromkeys(wanted) if f and f.startswith("customfield_")]
    known = client.field_ids()
    return [f for f in custom if f not in known]


def same_comment_text(a: str, b: str) -> bool:
    """Equal as read back from Jira: servers re-flow line and paragraph breaks differently."""
    return _lines(a) == _lines(b)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


# --- small helpers -----------------------------------------------------------------------------


def _part(value: str) -> str:
    return quote(str(value), safe="")


def _json(response: requests.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise JiraRejected(response.status_code, "Jira's answer is not JSON") from None
