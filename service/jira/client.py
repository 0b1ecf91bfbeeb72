"""The only code that talks to Jira: one retry policy, Cloud and Data Center, plain dicts out.

It wraps the `jira` library for what the library does well (authentication, the session, server
info and Cloud/Data Center detection) and sends every REST call itself through that session, one
HTTP call per attempt, so that a single tenacity policy governs all of them:

* 429, 502, 503, 504, dropped connections and timeouts are retried (a 500 at most twice), waiting
  the longer of Jira's `Retry-After` and jittered exponential backoff; past `max_wait` seconds in
  total the call gives up with `JiraRetryLater`, saying when to come back.
* A 429 also pauses every later call of this client until its `Retry-After` has passed, and the
  pause travels in `JiraRetryLater.pause_until` so the outbox can pause other processes too.
* 4xx answers are never retried: `JiraRejected` carries Jira's own error messages.
* A POST is resent only when Jira certainly did not act on it (429/503, or the connection was never
  made). After a dropped answer or a timeout, Jira may have created the comment already; the caller
  (the outbox) looks before it posts again, so the client must not blindly repeat it.

The library's own `ResilientSession` retries are off (`max_retries=0`): they resend POSTs, cut a
long `Retry-After` short and would multiply with ours. A raw `JIRAError` is never logged nor
chained: its text includes request headers, and so the credentials.

API versions: reads and edits use REST v2 everywhere (the mirror reads the v2 issue shape). Search
is Cloud's enhanced `/search/jql` with `nextPageToken`, requested on v2 so issues keep that shape
(it is the same endpoint the library's `enhanced_search_issues` calls); Data Center has only the
classic `/search` with `startAt`. Comments are ADF on Cloud (REST v3) and plain text on Data
Center (v2): Cloud reads a v2 string as wiki markup, where the outbox's `[scopewatch change N]`
marker is link syntax, while an ADF text node is taken literally and reads back unchanged.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import urllib3
from jira import JIRA, JIRAError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_before_delay,
    wait_exponential_jitter,
)

from mappings.model import Mapping
from service.jira.adf import comment_text, text_to_adf
from service.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Jira did not act on the request: even a POST may be sent again.
UNTOUCHED_STATUSES = frozenset({429, 503})
MAX_500_RETRIES = 2
CLOUD = "Cloud"
SEARCH_PAGE = 100  # Cloud's ceiling for a page with fields; Data Center allows up to 1000
LIST_PAGE = 1000  # comments and worklogs; Jira caps it lower where it must


class JiraRetryLater(Exception):
    """Jira is unavailable or rate limiting us: the same call may succeed at `retry_at`.

    `pause_until` is set when Jira answered 429: until then no call to this site should be made.
    """

    def __init__(
        self, retry_at: datetime, reason: str, *, pause_until: datetime | None = None
    ) -> None:
        super().__init__(f"{reason}; retry at {retry_at.isoformat()}")
        self.retry_at = retry_at
        self.reason = reason
        self.pause_until = pause_until
        self.raised_at = datetime.now(UTC)

    @property
    def delay(self) -> timedelta:
        """Wait this long, counted from when this was raised (for callers with their own clock)."""
        return max(self.retry_at - self.raised_at, timedelta(0))

    @property
    def pause(self) -> timedelta | None:
        if self.pause_until is None:
            return None
        return max(self.pause_until - self.raised_at, timedelta(0))


class JiraRejected(Exception):
    """Jira refused the call (4xx): repeating it unchanged will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class _Transient(Exception):
    """One failed attempt that may succeed if repeated; internal to the retry policy."""

    def __init__(
        self, status: int | None, retry_after: float | None, reason: str, *, untouched: bool
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after
        self.reason = reason
        self.untouched = untouched  # Jira certainly did not act on the request


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
        self.max_wait = max_wait
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.calls = 0  # HTTP requests sent, retries included (for benches and tests)
        self._email = email or None
        self._token = token
        self._jira: JIRA | None = None
        # Re-entrant: the first connection runs the retry policy while holding it.
        self._lock = threading.RLock()
        self._paused_until: datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings, mapping: Mapping, **options: Any) -> JiraClient:
        """Cloud: e-mail and API token (basic auth); Data Center: the token alone is a PAT."""
        if not settings.jira_url or not settings.jira_token:
            raise ValueError("Jira is not configured: SCOPEWATCH_JIRA_URL and _TOKEN are needed")
        return cls(settings.jira_url, settings.jira_email, settings.jira_token, mapping, **options)

    def __repr__(self) -> str:
        return f"JiraClient({self.url!r})"

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
        with self._lock:
            paused = self._paused_until
        return paused if paused is not None and paused > datetime.now(UTC) else None

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
        return self._run(f"{method} {_log_url(url)}", send, idempotent=repeatable)

    def _library(self) -> JIRA:
        """The library client, made on first use so that building a JiraClient costs nothing."""
        with self._lock:
            if self._jira is None:
                # The constructor's serverInfo call goes through the same policy as the rest.
                self._jira = self._run(
                    f"GET {_log_url(self.url + '/rest/api/2/serverInfo')}",
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

    def _run(self, label: str, send: Callable[[], T], *, idempotent: bool) -> T:
        started = time.monotonic()
        errors_500 = 0

        def attempt() -> T:
            self._sit_out_pause(label, started)
            with self._lock:
                self.calls += 1
            try:
                return send()
            except JIRAError as exc:
                raise self._classify(exc, label) from None
            except requests.RequestException as exc:
                log.warning("Jira call %s failed: %s", label, type(exc).__name__)
                raise _Transient(
                    None, None, f"{label}: {type(exc).__name__}", untouched=_never_sent(exc)
                ) from None

        def retryable(exc: BaseException) -> bool:
            nonlocal errors_500
            if not isinstance(exc, _Transient) or not (exc.untouched or idempotent):
                return False
            if exc.status == 500:
                errors_500 += 1
                return errors_500 <= MAX_500_RETRIES
            return True

        def give_up(state: RetryCallState) -> T:
            exc = state.outcome.exception() if state.outcome is not None else None
            assert isinstance(exc, _Transient)
            raise self._later(exc, state.upcoming_sleep)

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            wait=self._wait,
            stop=stop_before_delay(self.max_wait),
            retry_error_callback=give_up,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:  # not to be repeated here: a POST Jira may have applied, a 500
            raise self._later(exc, self.backoff) from None

    def _wait(self, state: RetryCallState) -> float:
        """The longer of Jira's Retry-After and our jittered exponential backoff."""
        backoff = wait_exponential_jitter(
            multiplier=self.backoff, max=self.backoff_max, jitter=self.backoff
        )(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        hint = exc.retry_after if isinstance(exc, _Transient) and exc.retry_after else 0.0
        return max(hint, backoff)

    def _classify(self, exc: JIRAError, label: str) -> Exception:
        status = int(exc.status_code or 0)
        response = exc.response if isinstance(exc.response, requests.Response) else None
        if status in RETRY_STATUSES:
            retry_after = _retry_after(
                response.headers.get("Retry-After") if response is not None else None
            )
            if status == 429:
                self._note_pause(retry_after)
            log.warning("Jira answered %s to %s", status, label)
            return _Transient(
                status,
                retry_after,
                f"{label}: HTTP {status}",
                untouched=status in UNTOUCHED_STATUSES,
            )
        # Debug only: a refusal is the caller's to report (a 404 is often an expected answer).
        log.debug("Jira refused %s with %s", label, status)
        return JiraRejected(status, _messages(response) or f"HTTP {status}")

    def _note_pause(self, retry_after: float | None) -> None:
        # Without a Retry-After (Atlassian normally sends one) pause as long as our longest backoff.
        seconds = self.backoff_max if retry_after is None else retry_after
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        with self._lock:
            if self._paused_until is None or until > self._paused_until:
                self._paused_until = until

    def _sit_out_pause(self, label: str, started: float) -> None:
        """Every call waits out a 429 pause, or gives up at once if it would outlast max_wait."""
        until = self.pause_until
        if until is None:
            return
        remaining = (until - datetime.now(UTC)).total_seconds()
        if time.monotonic() - started + remaining > self.max_wait:
            raise JiraRetryLater(until, f"{label}: Jira rate limit (429)", pause_until=until)
        time.sleep(max(remaining, 0.0))

    def _later(self, exc: _Transient, delay: float) -> JiraRetryLater:
        wait = max(delay, exc.retry_after or 0.0)
        retry_at = datetime.now(UTC) + timedelta(seconds=wait)
        return JiraRetryLater(retry_at, exc.reason, pause_until=self.pause_until)


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


def _log_url(url: str) -> str:
    """Scheme, host and path: no user info, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _json(response: requests.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise JiraRejected(response.status_code, "Jira's answer is not JSON") from None


def _messages(response: requests.Response | None) -> str:
    """Jira's `errorMessages` and `errors`, never the raw body (a proxy may answer in HTML)."""
    if response is None:
        return ""
    try:
        data = response.json()
    except ValueError:
        return str(response.reason or "")
    if not isinstance(data, dict):
        return str(response.reason or "")
    messages = [str(m) for m in data.get("errorMessages") or []]
    errors = data.get("errors")
    if isinstance(errors, dict):
        messages += [f"{field}: {reason}" for field, reason in errors.items()]
    if isinstance(data.get("message"), str):
        messages.append(data["message"])
    return "; ".join(messages) or str(response.reason or "")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Jira: the connection itself failed."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
