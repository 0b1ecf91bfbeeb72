"""Around every REST call: latency, strict basic auth, injected faults, and the request log."""

from __future__ import annotations

import base64
import time

from flask import Flask, Response, g, request

from .context import sandbox
from .errors import JiraError
from .faults import drop_connection, failure, pause

STRICT_LOGIN = ("sandbox@example.com", "sandbox-token")
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


def _is_rest() -> bool:
    return request.path.startswith("/rest/")


def _authorised() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        login, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return (login, secret) == STRICT_LOGIN


def before() -> Response | None:
    if not _is_rest():
        return None
    sb = sandbox()
    g.sandbox_arrived = time.time()
    g.sandbox_drop = False
    sb.requests.arrived()  # finished in `teardown`, whatever happens to the client
    pause(sb.faults.latency_ms)
    if sb.strict and not _authorised():
        return JiraError(401, NOT_AUTHENTICATED).response()
    fault = sb.faults.take(request.path)
    if fault is None:
        return None
    if fault.mode == "drop":
        g.sandbox_drop = True  # answer normally, then lose the answer on the wire
        return None
    return failure(fault).response()


def after(response: Response) -> Response:
    if not _is_rest() or not hasattr(g, "sandbox_arrived"):
        return response
    dropped = bool(g.get("sandbox_drop"))
    sandbox().requests.add(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode(),
            "time": g.sandbox_arrived,
            "status": response.status_code,
            "dropped": dropped,
        }
    )
    if dropped:
        drop_connection(request.environ)
    return response


def teardown(_exc: BaseException | None) -> None:
    if _is_rest() and hasattr(g, "sandbox_arrived"):
        sandbox().requests.finished()


def init_app(app: Flask) -> None:
    app.before_request(before)
    app.after_request(after)
    app.teardown_request(teardown)
