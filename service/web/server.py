"""The production WSGI server of `scopewatch serve` and `run`: waitress (gunicorn in containers).

Waitress runs in-process with a thread pool, which `run` needs (web, worker and scheduler share
one process and one SQLite engine) and gunicorn's forking arbiter does not give. It writes no
access log of its own; `AccessLog` writes one line per request, without the query string: the
`?token=` fallback of old Jira servers carries the webhook secret.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from waitress.server import create_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("scopewatch.access")
THREADS = 8  # a request waits on the database at most; eight keep two cores busy


class AccessLog:
    """WSGI middleware: `METHOD /path STATUS` per request, never the query string."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def logged(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            log.info(
                "%s %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), status[:3]
            )
            return start_response(status, headers, exc_info)

        return self.app(environ, logged)


# Waitress buffers a whole body before the app sees it (up to 1 GiB by default). Intake answers
# 413 above SCOPEWATCH_MAX_BODY itself; past this, waitress refuses without reading on.
BODY_SLACK = 64 * 1024


def make_server(app: WSGIApplication, host: str, port: int, *, max_body: int = 1 << 20) -> Any:
    """A waitress server bound to `host:port` (0: a free port), not yet serving."""
    return create_server(
        AccessLog(app),
        host=host,
        port=port,
        threads=THREADS,
        ident="scopewatch",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=max_body + BODY_SLACK,
    )


def serve_app(app: WSGIApplication, host: str, port: int, *, max_body: int = 1 << 20) -> None:
    """Serve until SIGINT or SIGTERM; then finish the requests in progress and return."""
    server = make_server(app, host, port, max_body=max_body)
    log.info("listening on http://%s:%s", host, server.effective_port)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # waitress's loop ends on it and shuts its threads down

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@contextmanager
def background(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The app served from a thread (the demo's service); yields its base URL."""
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()
