"""`POST /webhooks/jira`: verify, bound, store, answer — nothing else on the request path.

The order of checks is the order of cost: size and type from headers, then the signature over the
raw body, then the envelope. Only a signed (or token-authenticated) body reaches the database, so a
stranger cannot fill the rejected log. The row is committed before any 2xx, and a database that
cannot take it answers 503 so that Jira retries.

`handle` works on plain data: a `Delivery` (what intake reads of a request) in, an `Answer` out.
The route is the blueprint's, but under `create_app` requests to it take `FastPath`, a WSGI
middleware that builds the `Delivery` from the WSGI environ and writes the `Answer` itself,
without Flask's dispatch or werkzeug's request and response objects: intake must keep up with a
bare WSGI receiver (issue #7), and those were then most of its cost outside the INSERT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Request, Response, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from service.intake import inbox
from service.intake.signature import token_matches, verify
from service.runtime import Runtime
from service.settings import Settings
from service.store.engine import is_unavailable
from service.web import errors
from service.web.context import METRICS, RUNTIME, get_metrics, get_runtime
from service.web.metrics import Metrics
from service.web.unread_body import drain

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)

PATH = "/webhooks/jira"
JSON_TYPES = {"application/json"}
# The two answers to a stored delivery never change: made once, not per request.
STORED = b'{"status":"stored"}\n'
DUPLICATE = b'{"status":"duplicate"}\n'


@dataclass(frozen=True)
class Delivery:
    """What intake reads of an HTTP request."""

    content_length: int | None
    content_type: str | None
    stream: IO[bytes]  # the body; werkzeug's stream stops at Content-Length
    signature: str | None  # X-Hub-Signature
    delivery_id: str | None  # X-Atlassian-Webhook-Identifier
    token: str | None  # ?token=, for a Jira that cannot sign (see PRODUCT.md)

    @classmethod
    def of_request(cls, req: Request) -> Delivery:
        return cls(
            content_length=req.content_length,
            content_type=req.content_type,
            stream=req.stream,
            signature=req.headers.get("X-Hub-Signature"),
            delivery_id=req.headers.get("X-Atlassian-Webhook-Identifier"),
            token=req.args.get("token"),
        )

    @classmethod
    def of_environ(cls, environ: WSGIEnvironment) -> Delivery:
        """As `of_request` reads it, straight from the environ."""
        query = environ.get("QUERY_STRING")
        return cls(
            content_length=get_content_length(environ),
            content_type=environ.get("CONTENT_TYPE"),
            stream=get_input_stream(environ),
            signature=environ.get("HTTP_X_HUB_SIGNATURE"),
            delivery_id=environ.get("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"),
            token=parse_qs(query).get("token", [None])[0] if query else None,
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # JSON
    retry_after: str | None = None


def error_answer(status: int, message: str) -> Answer:
    return Answer(status, errors.error_body(status, message))


@bp.post(PATH)
def receive() -> Response:
    metrics = get_metrics()
    return _response(handle(get_runtime(), metrics, Delivery.of_request(request)))


def handle(runtime: Runtime, metrics: Metrics, delivery: Delivery) -> Answer:
    started = time.perf_counter()
    answer = _receive(runtime, delivery)
    metrics.count_delivery(answer.status, time.perf_counter() - started)
    return answer


def _receive(runtime: Runtime, delivery: Delivery) -> Answer:
    limit = runtime.settings.max_body
    length = delivery.content_length
    if (length or 0) > limit:
        return error_answer(413, f"body larger than {limit} bytes")
    if _mimetype(delivery.content_type) not in JSON_TYPES:
        return error_answer(415, "Content-Type must be application/json")
    # Read what the sender announced, not a buffer of the whole limit; one byte past the limit
    # tells a body without Content-Length (chunked) that is too long.
    body = delivery.stream.read(limit + 1 if length is None else length)
    if len(body) > limit:
        return error_answer(413, f"body larger than {limit} bytes")
    if not _authentic(runtime.settings, delivery, body):
        return error_answer(401, "missing or invalid X-Hub-Signature")
    try:
        event = inbox.event_name(body)
    except inbox.BadDelivery as bad:
        return _keep_rejected(runtime, body, delivery.delivery_id, str(bad))
    return _store(runtime, body, event, delivery.delivery_id)


def _mimetype(content_type: str | None) -> str:
    """`Request.mimetype`, without parsing the parameters (`; charset=…`) that it then drops."""
    return (content_type or "").partition(";")[0].strip(" \t").lower()


def _authentic(settings: Settings, delivery: Delivery, body: bytes) -> bool:
    if not settings.webhook_secret:
        return settings.insecure_dev
    if delivery.signature is not None:
        return verify(settings.webhook_secret, body, delivery.signature)
    return token_matches(settings.webhook_secret, delivery.token)


def _store(runtime: Runtime, body: bytes, event: str, delivery_id: str | None) -> Answer:
    try:
        outcome = inbox.store_committed(
            runtime.engine, body=body, event=event, delivery_id=delivery_id, now=runtime.clock()
        )
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    if outcome == "duplicate":
        return Answer(200, DUPLICATE)
    return Answer(202, STORED)


def _response(answer: Answer) -> Response:
    response = Response(answer.body, answer.status, mimetype="application/json")
    if answer.retry_after:
        response.headers["Retry-After"] = answer.retry_after
    return response


class FastPath:
    """WSGI middleware: `POST /webhooks/jira` skips Flask, everything else goes on.

    Why: in process, Flask's dispatch and werkzeug's request and response objects cost intake
    about a third of its CPU per delivery outside the INSERT, and intake is held to 0.8x a bare
    WSGI receiver. What it skips, intake does not use: no hooks, cookies or session. The request
    goes to the route's own `handle`; an exception gets the answer of the app's error handlers,
    in the app context they need. `create_app` installs it; the route stays registered, so the
    URL map still shows it and a bare Flask app (tests) serves it the ordinary way.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.runtime: Runtime = app.extensions[RUNTIME]
        self.metrics: Metrics = app.extensions[METRICS]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        delivery = Delivery.of_environ(environ)
        unread = self.runtime.settings.max_body + 1
        try:
            answer = handle(self.runtime, self.metrics, delivery)
        except Exception as exc:  # noqa: BLE001 - answered as the app's handlers would
            drain(delivery.stream, unread)
            return self._failed(exc, environ, start_response)
        drain(delivery.stream, unread)  # see service.web.unread_body
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer.body)))]
        if answer.retry_after:
            headers.append(("Retry-After", answer.retry_after))
        start_response(f"{answer.status} {HTTP_STATUS_CODES[answer.status]}", headers)
        return [answer.body]

    def _failed(
        self, exc: Exception, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        with self.app.app_context():
            response, status = errors.error_for(exc)
            response.status_code = status
            return response(environ, start_response)


def _keep_rejected(runtime: Runtime, body: bytes, delivery_id: str | None, reason: str) -> Answer:
    log.warning("delivery refused: %s", reason, extra={"delivery_id": delivery_id})
    try:
        with runtime.engine.begin() as conn:
            inbox.reject(
                conn, body=body, delivery_id=delivery_id, reason=reason, now=runtime.clock()
            )
    except SQLAlchemyError as exc:
        # Jira would not retry a 400 anyway; keeping the reason matters more than keeping the body.
        log.warning("could not keep a rejected delivery: %s", type(exc).__name__)
    return error_answer(400, reason)


def _unavailable(exc: SQLAlchemyError) -> Answer:
    log.warning("database unavailable for intake: %s", type(exc).__name__)
    if not is_unavailable(exc):
        raise exc
    return replace(error_answer(503, "database unavailable, retry later"), retry_after="5")
