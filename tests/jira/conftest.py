"""Our Jira client against the sandbox over real loopback HTTP, with the real `jira` library.

The sandbox stands in for a Jira site: people act on it through its REST API (`JiraSite`), and
tests break it on purpose through its control endpoints (faults, the request log, bulk issues).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mappings import load_mapping
from mappings.model import Mapping
from service.jira.client import JiraClient
from service.sandbox import SandboxServer
from service.store.engine import make_engine
from service.store.migrate import upgrade
from tests.jira.jira_site import JiraSite, make_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def site(shared_sandbox: SandboxServer) -> Iterator[JiraSite]:
    """The session's sandbox, put back to its seed, real time and no faults for each test."""
    helper = JiraSite(shared_sandbox.url)
    for path in ("reset", "clock"):
        body = {"real": True} if path == "clock" else None
        helper.http.post(f"{shared_sandbox.url}/_sandbox/{path}", json=body).raise_for_status()
    helper.http.delete(f"{shared_sandbox.url}/_sandbox/faults").raise_for_status()
    helper.clear_log()
    yield helper
    helper.http.close()


@pytest.fixture(scope="session")
def mapping() -> Mapping:
    return load_mapping(ROOT / "mappings" / "sandbox.toml")


@pytest.fixture
def jira_client(site: JiraSite, mapping: Mapping) -> JiraClient:
    client = make_client(site, mapping)
    client.server_info()  # connect now, so request logs below hold only what a test does
    site.clear_log()
    return client


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scopewatch.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()
