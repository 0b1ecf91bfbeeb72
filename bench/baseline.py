"""Baseline capture of 5,000 sandbox issues: time and number of Jira calls.

The sandbox (`service.sandbox.SandboxServer`) runs in a process of its own, filled by
`POST /_sandbox/bulk`; `service.scope.capture.capture_baseline` reads it through
`service.jira.client.JiraClient`, as `scopewatch baseline capture` does (with its progress
callback, hence the count request). Calls are counted twice: by the client (`calls`) and by the
sandbox's request log. The reference pages through the same search with a bare `requests`
session, the fewest calls the API allows (Cloud's `/search/jql` serves at most 100 issues a page
when fields are asked for), and stores nothing.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import requests

from bench.core import (
    BenchResult,
    Child,
    Context,
    Figure,
    free_port,
    log,
    migrate,
    sqlite_url,
    wait_http,
)

PROJECT = "ACME"
PAGE = 100  # the sandbox's (and Jira Cloud's) ceiling for a search page with fields


def modules_present() -> bool:
    names = ("service.sandbox", "service.scope.capture", "service.jira.client")
    return all(importlib.util.find_spec(name) is not None for name in names)


def requests_logged(url: str) -> int:
    answer = requests.get(f"{url}/_sandbox/requests", timeout=30)
    answer.raise_for_status()
    return len(answer.json())


def reference_capture(url: str, fields: list[str]) -> tuple[float, int, int]:
    """Pages through the project's issues as fast as the API allows: (seconds, calls, issues)."""
    session = requests.Session()
    session.auth = ("bench@example.com", "token")
    body: dict[str, Any] = {
        "jql": f'project = "{PROJECT}" ORDER BY key ASC',
        "fields": fields,
        "maxResults": PAGE,
    }
    started, calls, issues = time.perf_counter(), 0, 0
    while True:
        answer = session.post(f"{url}/rest/api/2/search/jql", json=body, timeout=60)
        calls += 1
        answer.raise_for_status()
        page = answer.json()
        issues += len(page.get("issues") or [])
        token = page.get("nextPageToken")
        if not token or page.get("isLast") or not page.get("issues"):
            return time.perf_counter() - started, calls, issues
        body["nextPageToken"] = token


def capture(ctx: Context, url: str) -> dict[str, Any]:
    from mappings import load_mapping
    from service.jira.client import JiraClient
    from service.scope.capture import capture_baseline, capture_fields
    from service.store.clock import system_clock
    from service.store.engine import make_engine

    mapping = load_mapping("mappings/sandbox.toml")
    db = sqlite_url(ctx.path("baseline.db"))
    for stale in ctx.workdir.glob("baseline.db*"):
        stale.unlink()
    migrate(db)
    engine = make_engine(db)
    fields = capture_fields(mapping)
    ref_seconds, ref_calls, ref_issues = reference_capture(url, fields)
    requests.delete(f"{url}/_sandbox/requests", timeout=30).raise_for_status()
    client = JiraClient(url, "bench@example.com", "token", mapping)
    started = time.perf_counter()
    summary = capture_baseline(
        engine,
        client,
        mapping,
        PROJECT,
        name="bench",
        now=system_clock(),
        progress=lambda done, total: None,
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "seconds": seconds,
        "calls": client.calls,
        "logged": requests_logged(url),
        "issues": summary.issues,
        "ref_seconds": ref_seconds,
        "ref_calls": ref_calls,
        "ref_issues": ref_issues,
    }


def run(ctx: Context) -> BenchResult:
    result = BenchResult(
        "baseline",
        "Baseline capture: `service.scope.capture.capture_baseline` via `JiraClient`",
        "a bare requests session paging the same search (same fields, 100 a page), storing "
        "nothing: the fewest calls and the least time the sandbox allows",
    )
    if not modules_present():
        result.skipped = "service.sandbox, service.scope.capture or service.jira.client missing"
        return result
    count = ctx.scale(5_000, 300)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Child("sandbox", {"port": port})
    try:
        server.wait_ready()
        server.go()
        wait_http(f"{url}/rest/api/2/serverInfo")
        made = requests.post(
            f"{url}/_sandbox/bulk", json={"project": PROJECT, "count": count}, timeout=120
        )
        made.raise_for_status()
        m = capture(ctx, url)
    finally:
        server.send("stop")
        server.result(timeout=30)
    log(f"baseline: {m}")
    result.add(
        Figure(
            "capture time",
            m["seconds"],
            "s",
            m["ref_seconds"],
            note=f"{m['issues']} issues ({count} bulk + the seed's)",
        )
    )
    result.add(
        Figure(
            "Jira calls",
            m["calls"],
            "calls",
            m["ref_calls"],
            note=f"{m['logged']} in the sandbox's request log",
        )
    )
    result.add(
        Figure(
            "issues captured",
            m["issues"],
            "issues",
            m["ref_issues"],
            "= every issue of the project",
            m["issues"] == m["ref_issues"],
        )
    )
    result.notes.append("no target was set for this bench: the figures are for tracking")
    return result
