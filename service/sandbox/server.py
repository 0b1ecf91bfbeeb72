"""Running the sandbox: in the foreground for the CLI, or in a thread for tests and the demo."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sandbox_app
from .context import EXTENSION, Sandbox
from .seeding import load_seed

log = logging.getLogger(__name__)


def serve(
    port: int,
    host: str = "127.0.0.1",
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    seed_path: str | None = None,
    strict: bool = False,
) -> None:
    """Serve until interrupted, on werkzeug's threaded server."""
    app = create_sandbox_app(
        load_seed(seed_path), webhook_url=webhook_url, webhook_secret=webhook_secret, strict=strict
    )
    server = make_server(host, port, app, threaded=True)
    log.info("sandbox Jira on http://%s:%s", host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.extensions[EXTENSION].dispatcher.close()


class _QuietHandler(WSGIRequestHandler):
    """Tests and the demo make thousands of calls; one access-log line each is only noise."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """The sandbox on a free loopback port in a background thread; a context manager."""

    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        strict: bool = False,
        webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_sandbox_app(
            seed,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            strict=strict,
            webhook_retry_delays=webhook_retry_delays,
        )
        self._host, self._port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def sandbox(self) -> Sandbox:
        """The live state, clock and dispatcher, for tests that need to look inside."""
        return self.app.extensions[EXTENSION]

    def start(self) -> SandboxServer:
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{self._host}:{self._server.server_port}"
        server = self._server
        # A short poll interval keeps stop() quick; tests start and stop many sandboxes.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02),
            name="sandbox-jira",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.sandbox.dispatcher.close()

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery has been delivered or has failed for good."""
        if not self.sandbox.dispatcher.wait_idle(timeout):
            raise TimeoutError(
                f"webhooks still pending after {timeout}s: {self.sandbox.dispatcher.stats()}"
            )

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
