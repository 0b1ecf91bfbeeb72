"""The only code that talks to Jira: the `jira` library's public API behind one retry policy.

Every call goes through `service.jira.policy` (tenacity; the library's own retries are off), which
counts it in `calls`, repeats it when that is safe and turns failures into `JiraRetryLater` or
`JiraRejected`. Answers come back as plain dicts in Jira's REST shapes.

Through the library, one HTTP request per call (per page for comments and search):

    connecting      JIRA(...)                         GET serverInfo: Cloud or Data Center
    server_info     JIRA.server_info
    field_ids       JIRA.fields
    search_pages    JIRA.enhanced_search_issues       Cloud: /search/jql, nextPageToken
                    JIRA.search_issues                Data Center: /search, startAt
    count           JIRA.approximate_issue_count      Cloud; Data Center reads search's `total`
    get_issue       JIRA.issue(...).raw
    comments        JIRA.comments                     a page at a time
    add_comment     JIRA.add_comment
    get_property    JIRA.issue_property(...).raw
    set_property    JIRA.add_issue_property
    delete_property (our own session: the library has no call for it)

Searches ask for `json_result=True` (the REST answer as it came) and are sent as POST (long JQL
and field lists). Before its first search the library reads Jira's field list, to translate JQL
clause names into field ids (we send ids, so the translation changes nothing): one more request
per client, which `calls` counts too.

Through plain `requests`, with a session of our own (same login, same timeout), three calls for
which the library's public API would cost extra requests or lose data (its session, which could
send them, is private):

    edit_issue      The library's only issue edit is `Issue.update`. It needs an `Issue` first (a
    update_comment  GET) and reloads it after its PUT (a GET of every field); `Comment.update`
                    does the same. Three requests for one would break the outbox's budget of five
                    requests per write-back (its lease is reckoned on it) and spend Cloud's rate
                    limit on answers nobody reads.
    worklogs        `JIRA.worklogs` reads one page, without `startAt`, and drops `total`: Cloud's
                    page holds at most 5000 worklogs, and a long-lived support issue gets there.

API versions: reads and edits use REST v2 everywhere (the mirror reads the v2 issue shape), search
included. Comments are ADF on Cloud (REST v3) and plain text on Data Center (v2): Cloud reads a v2
string as wiki markup, where the outbox's `[scopewatch change N]` marker is link syntax, while an
ADF text node is taken literally and reads back unchanged. The library takes its REST version
from the options of its instance, so Cloud's comments go through a second instance on v3; it
makes no request of its own (no serverInfo: the first instance has told us what the site is).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from jira import JIRA, JIRAError
from requests.auth import AuthBase

from mappings.model import Mapping
from service.jira.adf import comment_text, text_to_adf
from service.jira.policy import JiraRejected, JiraRetryLater, RetryPolicy, log_url
from service.settings import Settings
from service.store.clock import Clock, system_clock

__all__ = [
    "LIST_PAGE",
    "SEARCH_PAGE",
    "JiraClient",
    "JiraRejected",
    "JiraRetryLater",
    "JiraUnusable",
    "missing_custom_fields",
    "same_comment_text",
]

T = TypeVar("T")

CLOUD = "Cloud"
SEARCH_PAGE = 100  # Cloud's ceiling for a page with fields; Data Center allows up to 1000
LIST_PAGE = 1000  # worklogs; Jira caps it lower where it must, and `total` says what is left
# The library's comment list drops `total`, so a short page is what ends the list. Ask for no
# more than Cloud's documented default, or a page Jira cut short would look like the last one.
COMMENT_PAGE = 100


class _Bearer(AuthBase):
    """A Data Center personal access token, as the library sends it for `token_auth`."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class JiraUnusable(JiraRejected):
    """Jira's first answer shows the site or the login is wrong: nothing will work until the
    settings change. Its text is one line for an operator, in the settings' own words."""

    def __init__(self, refused: JiraRejected, advice: str) -> None:
        super().__init__(refused.status, refused.message, request=refused.request)
        self.advice = advice

    def __str__(self) -> str:
        return self.advice


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
        give_up: float | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.url = url.rstrip("/")
        self.mapping = mapping
        self.timeout = timeout
        self._policy = RetryPolicy(
            max_wait=max_wait,
            backoff=backoff,
            backoff_max=backoff_max,
            give_up=give_up,
            clock=clock,
        )
        self._email = email or None
        self._token = token
        self._jira: JIRA | None = None
        self._jira_v3: JIRA | None = None
        self._http: requests.Session | None = None
        self._field_list_read = False
        # Re-entrant: the first connection runs the retry policy while holding it.
        self._lock = threading.RLock()

    @classmethod
    def from_settings(
        cls, settings: Settings, mapping: Mapping, *, interactive: bool = False, **options: Any
    ) -> JiraClient:
        """Cloud: e-mail and API token (basic auth); Data Center: the token alone is a PAT.

        `interactive`: for a command run by hand, which gives up on a Jira that does not answer
        after `settings.jira_give_up` seconds instead of retrying for minutes as the worker does.
        Retries stop a third before the bound, so that the last try's connect timeout fits in it.
        A 429 is an answer: its `Retry-After` is still waited out, as far as `max_wait`.
        """
        if not settings.jira_url or not settings.jira_token:
            raise ValueError("Jira is not configured: SCOPEWATCH_JIRA_URL and _TOKEN are needed")
        if interactive:
            bound = float(settings.jira_give_up)
            options = {
                "timeout": (min(5.0, bound / 3), min(30.0, bound)),
                "give_up": bound * 2 / 3,
                **options,
            }
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

    @property
    def pause_until(self) -> datetime | None:
        """The end of the pause Jira's last 429 asked for, while it lasts."""
        return self._policy.pause_until

    # --- the site ------------------------------------------------------------------------------

    def connect(self) -> None:
        """Connects now (one serverInfo request, once), so that a wrong site or login is reported
        before a command starts its work rather than in the middle of it."""
        self._library()

    @property
    def deployment_type(self) -> str:
        """The site's serverInfo `deploymentType`: "Cloud", "Server" or "DataCenter"."""
        return str(self._library().deploymentType or "Server")

    @property
    def is_cloud(self) -> bool:
        return self.deployment_type == CLOUD

    def server_info(self) -> dict[str, Any]:
        jira = self._library()
        return dict(self._call("GET", "serverInfo", jira.server_info))

    def field_ids(self) -> set[str]:
        jira = self._library()
        fields = self._call("GET", "field", jira.fields)
        return {str(f["id"]) for f in fields if isinstance(f, dict) and "id" in f}

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
        jira = self._library()
        if self.is_cloud:
            send = partial(jira.approximate_issue_count, jql)
            return int(self._call("POST", "search/approximate-count", send, idempotent=True))
        # One issue rather than none: the library warns that maxResults=0 cannot fetch them all.
        return int(self._search_page(jira.search_issues, "search", jql, ["id"], 1).get("total", 0))

    def _search_cloud(
        self, jql: str, fields: list[str], page_size: int, changelog: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        jira = self._library()
        token: str | None = None
        while True:
            page = self._search_page(
                jira.enhanced_search_issues,
                "search/jql",
                jql,
                fields,
                page_size,
                nextPageToken=token,
                expand="changelog" if changelog else None,  # a string on the enhanced search
            )
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
        jira = self._library()
        # A list on the classic search's POST body; the library's hint says str, it sends either.
        expand = ["changelog"] if changelog else None
        start = 0
        while True:
            page = self._search_page(
                jira.search_issues, "search", jql, fields, page_size, startAt=start, expand=expand
            )
            issues = list(page.get("issues") or [])
            if issues:
                yield issues
            # Advance by what came back: the server may cap maxResults below what we asked.
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    def _search_page(
        self,
        search: Callable[..., Any],
        path: str,
        jql: str,
        fields: list[str],
        page_size: int,
        **paging: Any,
    ) -> dict[str, Any]:
        """One page of a library search, as Jira's JSON, counting the field list read before it.

        The library reads the list inside its first search call and keeps it only once the read
        succeeded; when the read itself fails the search was never sent, and the next try reads
        the list again.
        """

        def send() -> Any:
            first = not self._field_list_read
            try:
                page = search(
                    jql,
                    maxResults=page_size,
                    fields=list(fields),
                    json_result=True,
                    use_post=True,
                    **paging,
                )
            except (JIRAError, requests.RequestException) as exc:
                if first and not _failed_at(exc, "/field"):
                    self._note_field_list_read()
                raise
            if first:
                self._note_field_list_read()
            return page

        page = self._call("POST", path, send, idempotent=True)  # a read: safe to repeat
        if not isinstance(page, dict):
            raise JiraRejected(0, f"POST {path}: Jira's answer is not a search result")
        return page

    def _note_field_list_read(self) -> None:
        with self._lock:
            if not self._field_list_read:
                self._field_list_read = True
                self._policy.count()

    # --- issues --------------------------------------------------------------------------------

    def get_issue(self, key_or_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        jira = self._library()
        wanted = ",".join(fields) if fields else None
        issue = self._call("GET", f"issue/{key_or_id}", partial(jira.issue, key_or_id, wanted))
        return dict(issue.raw)

    def edit_issue(
        self,
        key: str,
        *,
        labels_add: Iterable[str] = (),
        labels_remove: Iterable[str] = (),
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Labels and fields in one PUT (not `Issue.update`: see the module docstring).

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
            self._plain("PUT", f"issue/{_part(key)}", body=body)

    def worklogs(self, key: str) -> list[dict[str, Any]]:
        """All worklogs of an issue (an issue or a search embeds at most 20 of them)."""
        found: list[dict[str, Any]] = []
        while True:
            params = {"startAt": len(found), "maxResults": LIST_PAGE}
            page = self._plain("GET", f"issue/{_part(key)}/worklog", params=params)
            batch = list(page.get("worklogs") or [])
            found += batch
            if not batch or len(found) >= int(page.get("total", 0)):
                return found

    # --- comments ------------------------------------------------------------------------------

    def comments(self, key: str) -> list[dict[str, Any]]:
        """All comments of an issue, oldest first, each with `body` as plain text."""
        jira, api = self._comment_library()
        found: dict[str, dict[str, Any]] = {}
        while True:
            send = partial(jira.comments, key, start_at=len(found), max_results=COMMENT_PAGE)
            batch = [c.raw for c in self._call("GET", f"issue/{key}/comment", send, api=api)]
            fresh = {str(c.get("id")): c for c in batch if str(c.get("id")) not in found}
            found.update(fresh)
            # A server that ignores startAt sends the same comments again: that ends it too.
            if len(batch) < COMMENT_PAGE or not fresh:
                return [_plain_comment(c) for c in found.values()]

    def add_comment(self, key: str, text: str) -> dict[str, Any]:
        jira, api = self._comment_library()
        send = partial(jira.add_comment, key, self._comment_body(text, api))
        made = self._call("POST", f"issue/{key}/comment", send, api=api)
        return _plain_comment(made.raw)

    def update_comment(self, key: str, comment_id: str, text: str) -> dict[str, Any]:
        """One PUT (not `Comment.update`: see the module docstring)."""
        _, api = self._comment_library()
        path = f"issue/{_part(key)}/comment/{_part(comment_id)}"
        body = {"body": self._comment_body(text, api)}
        return _plain_comment(self._plain("PUT", path, body=body, api=api))

    @staticmethod
    def _comment_body(text: str, api: int) -> Any:
        return text_to_adf(text) if api == 3 else text

    def _comment_library(self) -> tuple[JIRA, int]:
        """The library instance for comments, and its REST version: v3 on Cloud, else v2."""
        jira = self._library()
        if not self.is_cloud:
            return jira, 2
        with self._lock:
            if self._jira_v3 is None:
                self._jira_v3 = self._open_library(api=3, get_server_info=False)
            return self._jira_v3, 3

    # --- issue properties ----------------------------------------------------------------------

    def get_property(self, key: str, prop: str) -> Any | None:
        """The property's value, or None when the issue has no such property."""
        jira = self._library()
        send = partial(jira.issue_property, key, prop)
        try:
            found = self._call("GET", f"issue/{key}/properties/{prop}", send)
        except JiraRejected as exc:
            if exc.status == 404:
                return None
            raise
        return found.raw.get("value")

    def set_property(self, key: str, prop: str, value: dict[str, Any]) -> None:
        jira = self._library()
        send = partial(jira.add_issue_property, key, prop, value)
        self._call("PUT", f"issue/{key}/properties/{prop}", send)

    def delete_property(self, key: str, prop: str) -> bool:
        """Removes the property; False when the issue had no such property (nothing to do).

        Through our own session: the library has no call for it.
        """
        try:
            self._plain("DELETE", f"issue/{_part(key)}/properties/{_part(prop)}")
        except JiraRejected as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # --- the two ways to Jira, both through the one policy -------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        send: Callable[[], T],
        *,
        api: int = 2,
        idempotent: bool | None = None,
    ) -> T:
        """`send` (one library call) under the policy; method and path name it in the logs."""
        repeatable = method != "POST" if idempotent is None else idempotent
        label = f"{method} {log_url(self._rest_url(api, path))}"
        return self._policy.run(label, send, idempotent=repeatable)

    def _plain(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        api: int = 2,
    ) -> Any:
        """One request through our own session, for what the library cannot do in one."""
        self._library()  # connect first, as every call does: the site must be known
        http = self._own_session()
        url = self._rest_url(api, path)

        def send() -> Any:
            answer = http.request(method, url, params=params, json=body, timeout=self.timeout)
            answer.raise_for_status()
            return answer.json() if answer.content else {}

        return self._call(method, path, send, api=api)

    def _rest_url(self, api: int, path: str) -> str:
        return f"{self.url}/rest/api/{api}/{path}"

    def _library(self) -> JIRA:
        """The library client, made on first use so that building a JiraClient costs nothing."""
        with self._lock:
            if self._jira is None:
                self._jira = self._connect()
            return self._jira

    def _connect(self) -> JIRA:
        """The constructor's serverInfo call, through the same policy as the rest.

        A refusal here is about the site or the login, not about any one call: it is said so.
        """
        try:
            return self._call("GET", "serverInfo", self._open_library, idempotent=True)
        except JiraRejected as exc:
            raise JiraUnusable(exc, self._why_unusable(exc)) from None

    def _why_unusable(self, exc: JiraRejected) -> str:
        site = log_url(self.url)
        login = (
            "SCOPEWATCH_JIRA_EMAIL and SCOPEWATCH_JIRA_TOKEN"
            if self._email
            else "SCOPEWATCH_JIRA_TOKEN (a personal access token)"
        )
        if exc.status == 401:
            return f"Jira at {site} refused the login (HTTP 401): check {login}"
        if exc.status == 403:
            return (
                f"Jira at {site} refused access (HTTP 403: {exc.message}): check {login}, and "
                "log in once in a browser if Jira asks for a CAPTCHA"
            )
        if exc.status == 404:
            return (
                f"no Jira at {site} (HTTP 404 for /rest/api/2/serverInfo): SCOPEWATCH_JIRA_URL "
                "must be the site's base address, e.g. https://acme.atlassian.net"
            )
        if exc.status == 0:
            return (
                f"{site} is not a Jira site (its serverInfo answer is not Jira's): "
                "check SCOPEWATCH_JIRA_URL"
            )
        return (
            f"Jira at {site} refused its first request (HTTP {exc.status}: {exc.message}): "
            "check SCOPEWATCH_JIRA_URL"
        )

    def _open_library(self, *, api: int = 2, get_server_info: bool = True) -> JIRA:
        auth: dict[str, Any] = (
            {"basic_auth": (self._email, self._token)}
            if self._email
            else {"token_auth": self._token}
        )
        try:
            return JIRA(
                server=self.url,
                options={"rest_api_version": str(api)},
                max_retries=0,
                timeout=self.timeout,
                get_server_info=get_server_info,
                # Its log echoes each failed answer's body as an error; the policy reports the
                # failure itself, by status and URL.
                logging=False,
                **auth,
            )
        except (KeyError, TypeError) as exc:
            # JSON, but not serverInfo's: the library looks up `versionNumbers` and fails.
            raise JiraRejected(0, f"serverInfo lacks {exc}", request="GET serverInfo") from None

    def _own_session(self) -> requests.Session:
        with self._lock:
            if self._http is None:
                http = requests.Session()
                http.auth = (self._email, self._token) if self._email else _Bearer(self._token)
                http.headers["Accept"] = "application/json"
                self._http = http
            return self._http


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


def _plain_comment(comment: dict[str, Any]) -> dict[str, Any]:
    return {**comment, "body": comment_text(comment.get("body"))}


def _part(value: str) -> str:
    return quote(str(value), safe="")


def _failed_at(exc: JIRAError | requests.RequestException, path_end: str) -> bool:
    """Whether the request that failed was one whose URL path ends so."""
    if isinstance(exc, JIRAError):
        url = exc.url
    else:
        url = exc.request.url if exc.request is not None else None
    return urlsplit(str(url or "")).path.endswith(path_end)
