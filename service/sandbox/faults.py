"""Injected failures and the request log, so tests can prove how a client copes with Jira.

A fault hits the next N REST calls whose path contains `paths`: 429 (with `Retry-After`), 503,
500, or a refusal (401, 403, 404) answer before anything happens; `drop` applies the call and then
cuts the TCP connection without an answer, the nastiest case for a client that retries.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from .errors import JiraError

MODES = {"429", "503", "500", "drop", "401", "403", "404"}
# What Jira answers when the login, the account's access or the site itself is wrong.
REFUSALS = {
    "401": "You are not authenticated. Authentication required to perform this operation.",
    "403": "You do not have permission to access this site.",
    "404": "Site temporarily unavailable",
}


@dataclass
class Fault:
    mode: str
    remaining: int
    retry_after: int | None = None
    paths: str | None = None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> None:
        if "latency_ms" in spec:
            self.latency_ms = max(0, int(spec["latency_ms"]))
        if "mode" not in spec:
            return
        mode = str(spec["mode"])
        if mode not in MODES:
            raise JiraError(400, f"mode must be one of {sorted(MODES)}")
        retry_after = int(spec["retry_after"]) if spec.get("retry_after") is not None else None
        fault = Fault(mode, int(spec.get("count", 1)), retry_after, spec.get("paths"))
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency_ms = 0

    def take(self, path: str) -> Fault | None:
        """The fault this call suffers, if any; each call uses up one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and (not fault.paths or fault.paths in path):
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": self.latency_ms,
                "faults": [vars(f).copy() for f in self._faults if f.remaining > 0],
            }


class RequestLog:
    """Every REST call, and how many are still being served (a client may have gone meanwhile)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._entries: list[dict[str, Any]] = []
        self._in_flight = 0

    def arrived(self) -> None:
        with self._lock:
            self._in_flight += 1

    def finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def wait_quiet(self, timeout: float) -> bool:
        """Until no call is being served; False if one still is after `timeout` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout)

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def failure(fault: Fault) -> JiraError:
    if fault.mode == "429":
        return JiraError(
            429,
            "Rate limit exceeded.",
            headers={
                "Retry-After": str(5 if fault.retry_after is None else fault.retry_after),
                "X-RateLimit-Reason": "jira-quota-tenant-based",
            },
        )
    if fault.mode in REFUSALS:
        return JiraError(int(fault.mode), REFUSALS[fault.mode])
    # 5xx carry Retry-After only when the test asked for one.
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.mode == "503":
        return JiraError(503, "Service unavailable. Please try again later.", headers=headers)
    return JiraError(500, "Internal server error", headers=headers)


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection under werkzeug's feet; its response then goes nowhere."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def pause(latency_ms: int) -> None:
    if latency_ms:
        time.sleep(latency_ms / 1000)
