"""`POST /webhooks/jira` over WSGI, without Flask's dispatch: intake's answer, written directly.

Why: in process, Flask's dispatch and werkzeug's request and response objects cost intake about a
third of its CPU per delivery outside the INSERT, and intake is held to 0.8x a bare WSGI receiver
(issue #7). What it skips, intake does not use: no hooks, cookies or session. The delivery goes to
`service.intake.delivery.receive`; an exception gets the answer of the app's error handlers, in
the app context they need. Every other path goes on to Flask.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from service.intake.delivery import Answer, Delivery, receive
from service.runtime import Runtime
from service.web import errors
from service.web.context import METRICS, RUNTIME
from service.web.metrics import Metrics
from service.web.unread_body import drain

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PATH = "/webhooks/jira"
# The two answers to a stored delivery never change: made once, not per request.
BODIES = {202: b'{"status":"stored"}\n', 200: b'{"status":"duplicate"}\n'}


def delivery_of(environ: WSGIEnvironment) -> Delivery:
    """What intake reads of the request, straight from the WSGI environ."""
    query = environ.get("QUERY_STRING")
    return Delivery(
        content_length=get_content_length(environ),
        content_type=environ.get("CONTENT_TYPE"),
        stream=get_input_stream(environ),
        signature=environ.get("HTTP_X_HUB_SIGNATURE"),
        delivery_id=environ.get("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"),
        token=parse_qs(query).get("token", [None])[0] if query else None,
    )


def body_of(answer: Answer) -> bytes:
    if answer.message is None:
        return BODIES[answer.status]
    return errors.error_body(answer.status, answer.message)


class Intake:
    """WSGI middleware: requests to `/webhooks/jira` are intake's, everything else goes on."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.runtime: Runtime = app.extensions[RUNTIME]
        self.metrics: Metrics = app.extensions[METRICS]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            message = "only POST: Jira delivers webhooks by POST"
            return self._answer(Answer(405, message), start_response, [("Allow", "POST")])
        delivery = delivery_of(environ)
        unread = self.runtime.settings.max_body + 1
        started = time.perf_counter()
        try:
            answer = receive(self.runtime, delivery)
        except Exception as exc:  # noqa: BLE001 - answered as the app's handlers would
            drain(delivery.stream, unread)
            return self._failed(exc, environ, start_response)
        self.metrics.count_delivery(answer.status, time.perf_counter() - started)
        drain(delivery.stream, unread)  # see service.web.unread_body
        return self._answer(answer, start_response)

    @staticmethod
    def _answer(
        answer: Answer, start_response: StartResponse, extra: list[tuple[str, str]] | None = None
    ) -> Iterable[bytes]:
        body = body_of(answer)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if answer.retry_after:
            headers.append(("Retry-After", answer.retry_after))
        start_response(
            f"{answer.status} {HTTP_STATUS_CODES[answer.status]}", headers + (extra or [])
        )
        return [body]

    def _failed(
        self, exc: Exception, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        with self.app.app_context():
            response, status = errors.error_for(exc)
            response.status_code = status
            return response(environ, start_response)
