"""One webhook delivery: verify, bound, store, answer — nothing else on the request path.

The order of checks is the order of cost: size and type from headers, then the signature over the
raw body, then the envelope. Only a signed (or token-authenticated) body reaches the database, so a
stranger cannot fill the rejected log. The row is committed before any 2xx, and a database that
cannot take it answers 503 so that Jira retries.

Plain data: a `Delivery` (what intake reads of a request) in, an `Answer` out. HTTP is the web
layer's (`service.web.webhooks`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO

from sqlalchemy.exc import SQLAlchemyError

from service.intake import inbox
from service.intake.signature import token_matches, verify
from service.runtime import Runtime
from service.settings import Settings
from service.store.engine import is_unavailable

log = logging.getLogger(__name__)

JSON_TYPES = {"application/json"}


@dataclass(frozen=True)
class Delivery:
    """What intake reads of an HTTP request."""

    content_length: int | None
    content_type: str | None
    stream: IO[bytes]  # the body; the server's stream stops at Content-Length
    signature: str | None  # X-Hub-Signature
    delivery_id: str | None  # X-Atlassian-Webhook-Identifier
    token: str | None  # ?token=, for a Jira that cannot sign (see PRODUCT.md)


@dataclass(frozen=True)
class Answer:
    """The status, and the one-line reason of a refusal (None for 200 and 202)."""

    status: int
    message: str | None = None
    retry_after: str | None = None


STORED = Answer(202)
DUPLICATE = Answer(200)


def receive(runtime: Runtime, delivery: Delivery) -> Answer:
    limit = runtime.settings.max_body
    length = delivery.content_length
    if (length or 0) > limit:
        return Answer(413, f"body larger than {limit} bytes")
    if _mimetype(delivery.content_type) not in JSON_TYPES:
        return Answer(415, "Content-Type must be application/json")
    # Read what the sender announced, not a buffer of the whole limit; one byte past the limit
    # tells a body without Content-Length (chunked) that is too long.
    body = delivery.stream.read(limit + 1 if length is None else length)
    if len(body) > limit:
        return Answer(413, f"body larger than {limit} bytes")
    if not _authentic(runtime.settings, delivery, body):
        return Answer(401, "missing or invalid X-Hub-Signature")
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
    return DUPLICATE if outcome == "duplicate" else STORED


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
    return Answer(400, reason)


def _unavailable(exc: SQLAlchemyError) -> Answer:
    log.warning("database unavailable for intake: %s", type(exc).__name__)
    if not is_unavailable(exc):
        raise exc
    return Answer(503, "database unavailable, retry later", retry_after="5")
