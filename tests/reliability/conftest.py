"""Fixtures of the reliability suite: log capture for every test, figures, a private PostgreSQL.

Set `SCOPEWATCH_RELIABILITY_FIGURES=path.json` to get each test's outcome, duration and recorded
figures as JSON; docs/reliability.md is written from it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import CORPUS, PG_BIN, JiraWorld, PrivatePostgres

_OUR_LOGGERS = ("service", "reports", "mappings", "scopewatch")


class _CorpusHandler(logging.Handler):
    """Keeps the formatted line, the raw arguments and any traceback: a leak hides in any."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [record.name, record.getMessage(), repr(record.args)]
            if record.exc_info:
                parts.append(logging.Formatter().formatException(record.exc_info))
            CORPUS.add(" | ".join(parts))
        except Exception:  # a log line we cannot format must not fail the test that logged it
            CORPUS.add(f"{record.name} | unformattable: {record.msg!r}")


@pytest.fixture(scope="session", autouse=True)
def _log_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Subprocess logs under pytest's temp root, which keeps only the last few runs."""
    CORPUS.directory = tmp_path_factory.mktemp("subprocess-logs")


@pytest.fixture(autouse=True)
def _capture_logs() -> Iterator[None]:
    """Our own loggers at DEBUG, everyone else at INFO, for the length of each test."""
    handler = _CorpusHandler(level=logging.DEBUG)
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in _OUR_LOGGERS}
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(min(saved_root or logging.INFO, logging.INFO))
    for name in _OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


# --- figures for docs/reliability.md ----------------------------------------------------------


_FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict a test fills with what it measured; written out with its outcome and duration."""
    return _FIGURES.setdefault(request.node.nodeid, {}).setdefault("figures", {})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid:
        return
    entry = _FIGURES.setdefault(report.nodeid, {})
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        entry["seconds"] = round(report.duration, 2)
        if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
            entry["reason"] = str(report.longrepr[2])


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("SCOPEWATCH_RELIABILITY_FIGURES")
    if target and _FIGURES:
        Path(target).write_text(json.dumps(_FIGURES, indent=2, default=str) + "\n")


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL 15 binaries in {PG_BIN}: cannot run a private cluster")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a `postgres` user to own a private cluster")
    cluster = PrivatePostgres()
    try:
        cluster.create()
    except RuntimeError as exc:
        shutil.rmtree(cluster.dir, ignore_errors=True)
        pytest.skip(f"cannot start a private PostgreSQL: {exc}")
    yield cluster
    cluster.destroy()


@pytest.fixture
def world(sqlite_url: str) -> Iterator[JiraWorld]:
    """The sandbox Jira sending webhooks to a live scopewatch intake on a SQLite file."""
    jira_world = JiraWorld(sqlite_url)
    yield jira_world
    jira_world.close()
