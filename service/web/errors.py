"""One JSON error shape for every 4xx/5xx the HTTP API gives, made in one place."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def error_response(status: int, message: str) -> tuple[Response, int]:
    """`{"error": {"status": 400, "message": "…"}}`: one line a person can act on."""
    return Response(error_body(status, message), status, mimetype="application/json"), status


def error_body(status: int, message: str) -> bytes:
    """The JSON of `error_response`; it needs no app context (intake's fast path has none)."""
    document = {"error": {"status": status, "message": message}}
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    return error_response(status, exc.description or exc.name)


def unexpected_error(exc: Exception) -> tuple[Response, int]:
    # Log the type only: exception texts from drivers can carry URLs with passwords.
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return error_response(500, InternalServerError.description)


def error_for(exc: Exception) -> tuple[Response, int]:
    """The answer the handlers above give to `exc`, for code that runs outside Flask's dispatch
    (intake's fast path, `service.web.webhooks.Intake`)."""
    return http_error(exc) if isinstance(exc, HTTPException) else unexpected_error(exc)
