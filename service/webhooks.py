"""`POST /webhooks/jira`: verify, bound, store, answer — nothing else on the request path.

The order of checks is the order of cost: size and type from headers, then the signature over the
raw body, then the envelope. Only a signed (or token-authenticated) body reaches the database, so a
stranger cannot fill the rejected log. The row is committed before any 2xx, and a database that
cannot take it answers 503 so that Jira retries.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from service import inbox
from service.db import autocommit, is_unavailable
from service.errors import error_response
from service.runtime import get_runtime
from service.schema import utcnow
from service.signature import token_matches, verify

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)

JSON_TYPES = {"application/json"}


@bp.post("/webhooks/jira")
def receive() -> tuple[Response, int]:
    started = time.perf_counter()
    response = _receive()
    metrics = current_app.extensions["scopewatch.metrics"]
    metrics.deliveries.labels(outcome=str(response[1])).inc()
    metrics.intake_seconds.observe(time.perf_counter() - started)
    return response


def _receive() -> tuple[Response, int]:
    settings = get_runtime().settings
    if (request.content_length or 0) > settings.max_body:
        return error_response(413, f"body larger than {settings.max_body} bytes")
    if request.mimetype not in JSON_TYPES:
        return error_response(415, "Content-Type must be application/json")
    body = request.stream.read(settings.max_body + 1)
    if len(body) > settings.max_body:
        return error_response(413, f"body larger than {settings.max_body} bytes")
    if not _authentic(body):
        return error_response(401, "missing or invalid X-Hub-Signature")
    delivery_id = request.headers.get("X-Atlassian-Webhook-Identifier")
    try:
        event = inbox.event_name(body)
    except inbox.BadDelivery as bad:
        return _keep_rejected(body, delivery_id, str(bad))
    return _store(body, event, delivery_id)


def _authentic(body: bytes) -> bool:
    settings = get_runtime().settings
    if not settings.webhook_secret:
        return settings.insecure_dev
    header = request.headers.get("X-Hub-Signature")
    if header is not None:
        return verify(settings.webhook_secret, body, header)
    return token_matches(settings.webhook_secret, request.args.get("token"))


def _store(body: bytes, event: str, delivery_id: str | None) -> tuple[Response, int]:
    try:
        with autocommit(get_runtime().engine) as conn:
            outcome = inbox.store(
                conn, body=body, event=event, delivery_id=delivery_id, now=utcnow()
            )
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    if outcome == "duplicate":
        return jsonify(status="duplicate"), 200
    return jsonify(status="stored"), 202


def _keep_rejected(body: bytes, delivery_id: str | None, reason: str) -> tuple[Response, int]:
    log.warning("delivery refused: %s", reason, extra={"delivery_id": delivery_id})
    try:
        with get_runtime().engine.begin() as conn:
            inbox.reject(conn, body=body, delivery_id=delivery_id, reason=reason, now=utcnow())
    except SQLAlchemyError as exc:
        # Jira would not retry a 400 anyway; keeping the reason matters more than keeping the body.
        log.warning("could not keep a rejected delivery: %s", type(exc).__name__)
    return error_response(400, reason)


def _unavailable(exc: SQLAlchemyError) -> tuple[Response, int]:
    log.warning("database unavailable for intake: %s", type(exc).__name__)
    if not is_unavailable(exc):
        raise exc
    response, status = error_response(503, "database unavailable, retry later")
    response.headers["Retry-After"] = "5"
    return response, status
