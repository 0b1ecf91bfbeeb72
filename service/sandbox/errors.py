"""Jira's error body, `{"errorMessages": [...], "errors": {...}}`, for every failing answer."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


class JiraError(Exception):
    """A failure answered the way Jira answers it: a status and its two lists of reasons."""

    def __init__(
        self,
        status: int,
        *messages: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(messages[0] if messages else str(errors))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return error_response(self.status, self.messages, self.errors, self.headers)


def error_response(
    status: int,
    messages: list[str],
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify({"errorMessages": messages, "errors": errors or {}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _http_error(exc: HTTPException) -> Response:
    # Unknown routes and wrong methods still answer in Jira's shape, never Flask's HTML page.
    return error_response(exc.code or 500, [exc.description or exc.name])


def init_app(app: Flask) -> None:
    app.register_error_handler(JiraError, lambda exc: exc.response())
    app.register_error_handler(HTTPException, _http_error)
