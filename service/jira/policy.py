"""One retry policy for every Jira call: tenacity, Jira's `Retry-After`, and a shared 429 pause.

A call is a function that sends one HTTP request (through the `jira` library or our own session)
and returns its result; the policy counts, repeats and classifies it:

* 429, 502, 503, 504, dropped connections and timeouts are retried (a 500 at most twice), waiting
  the longer of Jira's `Retry-After` and jittered exponential backoff; past `max_wait` seconds in
  total the call gives up with `JiraRetryLater`, saying when to come back.
* A 429 also pauses every later call made through this policy until its `Retry-After` has passed,
  and the pause travels in `JiraRetryLater.pause_until` so the outbox can pause other processes.
* 4xx answers are never retried: `JiraRejected` carries Jira's own error messages.
* A POST is resent only when Jira certainly did not act on it (429/503, or the connection was never
  made). After a dropped answer or a timeout, Jira may have created the comment already; the caller
  (the outbox) looks before it posts again, so the policy must not blindly repeat it.

The library's own retries must be off (`max_retries=0`): they resend POSTs, cut a long
`Retry-After` short and would multiply with ours. A raw `JIRAError` is never logged nor chained:
its text includes request headers, and so the credentials. `Retry-After` (seconds or an HTTP date)
is read by urllib3, which already parses it for its own retries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from jira import JIRAError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_before_delay,
    wait_exponential_jitter,
)
from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

from service.store.clock import Clock, system_clock

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Jira did not act on the request: even a POST may be sent again.
UNTOUCHED_STATUSES = frozenset({429, 503})
MAX_500_RETRIES = 2
_RETRY_AFTER = Retry(total=0)  # used only to read the header, never to retry


class JiraRetryLater(Exception):
    """Jira is unavailable or rate limiting us: the same call may succeed at `retry_at`.

    `pause_until` is set when Jira answered 429: until then no call to this site should be made.
    """

    def __init__(
        self,
        retry_at: datetime,
        reason: str,
        *,
        raised_at: datetime,
        pause_until: datetime | None = None,
    ) -> None:
        super().__init__(f"{reason}; retry at {retry_at.isoformat()}")
        self.retry_at = retry_at
        self.reason = reason
        self.pause_until = pause_until
        self.raised_at = raised_at

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
    """Jira refused the call (4xx): repeating it unchanged will not help.

    `request` names the call ("METHOD url", no credentials) when the policy made it.
    """

    def __init__(self, status: int, message: str, *, request: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.request = request


class _Transient(Exception):
    """One failed attempt that may succeed if repeated; internal to the policy."""

    def __init__(
        self, status: int | None, retry_after: float | None, reason: str, *, untouched: bool
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after
        self.reason = reason
        self.untouched = untouched  # Jira certainly did not act on the request


class RetryPolicy:
    """Runs calls to one Jira site: counts requests, repeats what may be repeated, pauses on 429."""

    def __init__(
        self,
        *,
        max_wait: float,
        backoff: float,
        backoff_max: float,
        give_up: float | None = None,
        clock: Clock = system_clock,
    ) -> None:
        # `clock` names the moments callers see (retry_at, pause_until); the waits themselves are
        # real seconds on the monotonic clock, whatever the clock says.
        self.clock = clock
        self.max_wait = max_wait
        # For a person waiting: stop retrying a Jira that fails without asking us to wait (no
        # answer, 5xx) after this many seconds. A 429 names its own wait, up to `max_wait`. The
        # person reads the outcome in one line, so each retry is logged for debugging only.
        self.give_up = give_up
        self._retry_level = logging.WARNING if give_up is None else logging.DEBUG
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.calls = 0  # HTTP requests sent, retries included
        self._lock = threading.Lock()
        # The pause a 429 asked for: when it ends (monotonic) and that moment as callers see it.
        self._paused_until: tuple[float, datetime] | None = None

    @property
    def pause_until(self) -> datetime | None:
        """The end of the pause Jira's last 429 asked for, while it lasts."""
        with self._lock:
            paused = self._paused_until
        if paused is None or paused[0] <= time.monotonic():
            return None
        return paused[1]

    def count(self) -> None:
        """One more HTTP request, sent inside a call on top of the one each attempt counts."""
        with self._lock:
            self.calls += 1

    def run(self, label: str, send: Callable[[], T], *, idempotent: bool) -> T:
        """`send()` under the policy; `label` ("METHOD url") names it in logs and reasons.

        `send` sends one request and raises `JIRAError` or `requests.RequestException` (an
        `HTTPError` carrying the answer) when it fails.
        """
        started = time.monotonic()
        errors_500 = 0

        def attempt() -> T:
            self._sit_out_pause(label, started)
            self.count()
            try:
                return send()
            except JIRAError as exc:
                status = exc.status_code if isinstance(exc.status_code, int) else 0
                raise self._classify(status, _response(exc), label) from None
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                raise self._classify(status, exc.response, label) from None
            except requests.exceptions.InvalidJSONError:
                raise JiraRejected(
                    0, f"{label}: Jira's answer is not JSON", request=label
                ) from None
            except requests.RequestException as exc:
                log.log(self._retry_level, "Jira call %s failed: %s", label, type(exc).__name__)
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

        out_of_time = stop_before_delay(self.max_wait)

        def stop(state: RetryCallState) -> bool:
            return out_of_time(state) or self._given_up(state)

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            wait=self._wait,
            stop=stop,
            retry_error_callback=give_up,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:  # not to be repeated here: a POST Jira may have applied, a 500
            raise self._later(exc, self.backoff) from None

    def _given_up(self, state: RetryCallState) -> bool:
        if self.give_up is None or state.outcome is None:
            return False
        exc = state.outcome.exception()
        if isinstance(exc, _Transient) and exc.status == 429:
            return False
        return (state.seconds_since_start or 0.0) + state.upcoming_sleep >= self.give_up

    def _wait(self, state: RetryCallState) -> float:
        """The longer of Jira's Retry-After and our jittered exponential backoff."""
        backoff = wait_exponential_jitter(
            multiplier=self.backoff, max=self.backoff_max, jitter=self.backoff
        )(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        hint = exc.retry_after if isinstance(exc, _Transient) and exc.retry_after else 0.0
        return max(hint, backoff)

    def _classify(self, status: int, response: requests.Response | None, label: str) -> Exception:
        if status in RETRY_STATUSES:
            retry_after = (
                retry_after_seconds(response.headers.get("Retry-After"))
                if response is not None
                else None
            )
            if status == 429:
                self._note_pause(retry_after)
            log.log(self._retry_level, "Jira answered %s to %s", status, label)
            return _Transient(
                status,
                retry_after,
                f"{label}: HTTP {status}",
                untouched=status in UNTOUCHED_STATUSES,
            )
        # Debug only: a refusal is the caller's to report (a 404 is often an expected answer).
        log.debug("Jira refused %s with %s", label, status)
        return JiraRejected(status, jira_messages(response) or f"HTTP {status}", request=label)

    def _note_pause(self, retry_after: float | None) -> None:
        # Without a Retry-After (Atlassian normally sends one) pause as long as our longest backoff.
        seconds = self.backoff_max if retry_after is None else retry_after
        until = (time.monotonic() + seconds, self.clock() + timedelta(seconds=seconds))
        with self._lock:
            if self._paused_until is None or until[0] > self._paused_until[0]:
                self._paused_until = until

    def _sit_out_pause(self, label: str, started: float) -> None:
        """Every call waits out a 429 pause, or gives up at once if it would outlast max_wait."""
        with self._lock:
            paused = self._paused_until
        remaining = 0.0 if paused is None else paused[0] - time.monotonic()
        if paused is None or remaining <= 0:
            return
        if time.monotonic() - started + remaining > self.max_wait:
            until = paused[1]
            raise JiraRetryLater(
                until,
                f"{label}: Jira rate limit (429)",
                raised_at=self.clock(),
                pause_until=until,
            )
        time.sleep(remaining)

    def _later(self, exc: _Transient, delay: float) -> JiraRetryLater:
        wait = max(delay, exc.retry_after or 0.0)
        now = self.clock()
        return JiraRetryLater(
            now + timedelta(seconds=wait), exc.reason, raised_at=now, pause_until=self.pause_until
        )


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(value))
    except InvalidHeader:
        return None


def log_url(url: str) -> str:
    """Scheme, host and path: no user info, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def jira_messages(response: requests.Response | None) -> str:
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


def _response(exc: JIRAError) -> requests.Response | None:
    return exc.response if isinstance(exc.response, requests.Response) else None


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Jira: the connection itself failed."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: Any = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
