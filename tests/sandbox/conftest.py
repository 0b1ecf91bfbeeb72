"""Fixtures for driving the sandbox over real loopback HTTP, as scopewatch will."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jira
import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from service.sandbox import SandboxServer, load_seed

LOGIN = ("sandbox@example.com", "sandbox-token")


@pytest.fixture
def login() -> tuple[str, str]:
    """The one basic-auth pair a strict sandbox accepts."""
    return LOGIN


@pytest.fixture(scope="session")
def default_seed() -> dict[str, Any]:
    return load_seed()


@pytest.fixture(scope="session")
def shared_sandbox(default_seed: dict[str, Any]) -> Iterator[SandboxServer]:
    with SandboxServer(default_seed) as server:
        yield server


@pytest.fixture
def sandbox(shared_sandbox: SandboxServer) -> SandboxServer:
    """One server for the session, put back to the seed, real time and no faults for each test."""
    session = requests.Session()
    session.trust_env = False
    base = f"{shared_sandbox.url}/_sandbox"
    session.post(f"{base}/reset").raise_for_status()
    session.post(f"{base}/clock", json={"real": True}).raise_for_status()
    session.delete(f"{base}/faults").raise_for_status()
    session.delete(f"{base}/requests").raise_for_status()
    session.close()
    return shared_sandbox


@pytest.fixture
def client(sandbox: SandboxServer) -> jira.JIRA:
    """The real jira library, with its own retries off so every failure shows."""
    return jira.JIRA(server=sandbox.url, basic_auth=LOGIN, max_retries=0)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.auth = LOGIN
    yield session
    session.close()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return str(self.json["webhookEvent"])


@dataclass
class WebhookReceiver:
    """A tiny webhook endpoint; `fail_next` answers that many deliveries with `fail_status`."""

    fail_next: int = 0
    fail_status: int = 503
    received: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/jira"
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), daemon=True
        )
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.received.append(Received(dict(request.headers), request.get_data()))
            status = self.fail_status if self.fail_next > 0 else 202
            self.fail_next = max(0, self.fail_next - 1)
            self.answered.append(status)
        return Response(status=status)(environ, start_response)

    def events(self) -> list[str]:
        return [r.event for r in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()
