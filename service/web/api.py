"""The admin API under `/api`: scope changes and decisions, behind one bearer token.

Thin on purpose: parse and check the request, call the scope engine, answer JSON. Every refusal is
`error_response` with one line that says what to fix.
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, request

from mappings.model import Project
from service.accounts.users import user_by_token
from service.scope.changes import list_changes
from service.scope.decisions import NOTE_MAX_CHARS, decide
from service.scope.model import DECISIONS, Invalid, NotFound
from service.store.engine import reader
from service.web.context import get_runtime
from service.web.errors import error_response

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_BODY = 64 * 1024  # a decision with a 2000-character note is a few kilobytes
API_USER = "admin API"  # who decided, in the audit, when the body does not say ("by")
BY_MAX_CHARS = 200
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadRequest(ValueError):
    """A query or body we cannot use; the message is the 400's one line."""


@bp.before_request
def require_admin() -> tuple[Response, int] | None:
    """`Authorization: Bearer <token>`: SCOPEWATCH_ADMIN_TOKEN, or a person's own API token.

    A viewer's token reads; only a pm's (or the admin token) changes anything.
    """
    expected = get_runtime().settings.admin_token
    disabled = "admin API disabled: set SCOPEWATCH_ADMIN_TOKEN"
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        if not expected:
            return _unauthorized(disabled)
        return _unauthorized("missing bearer token: send Authorization: Bearer <token>")
    try:
        given_bytes = given.strip().encode("ascii")
    except UnicodeEncodeError:
        return _unauthorized("invalid bearer token")
    # Constant time, so the answer's timing does not tell how much of a guess was right.
    if expected and hmac.compare_digest(given_bytes, expected.encode("utf-8")):
        return None
    user = user_by_token(get_runtime().engine, given.strip())
    if user is None:
        return _unauthorized("invalid bearer token" if expected else disabled)
    if request.method not in ("GET", "HEAD") and not user.can_act:
        return error_response(403, f"{user.email} is a viewer: only a pm can change anything")
    return None


@bp.get("/projects/<key>/scope-changes")
def scope_changes(key: str) -> tuple[Response, int]:
    project = get_runtime().mapping.project(key)
    if project is None:
        return error_response(404, f"unknown project {key}")
    try:
        decision = _decision_filter(request.args.get("decision"))
        since, until = _period(project, request.args.get("since"), request.args.get("until"))
    except BadRequest as bad:
        return error_response(400, str(bad))
    with reader(get_runtime().engine) as conn:
        changes = list_changes(conn, project.key, decision=decision, since=since, until=until)
    return jsonify(changes), 200


@bp.post("/projects/<key>/scope-changes/<issue>/decision")
def decision(key: str, issue: str) -> tuple[Response, int]:
    if (request.content_length or 0) > MAX_BODY:
        return error_response(413, f"body larger than {MAX_BODY} bytes")
    if request.mimetype != "application/json":
        return error_response(415, "Content-Type must be application/json")
    raw = request.stream.read(MAX_BODY + 1)  # bounded even when no Content-Length was sent
    if len(raw) > MAX_BODY:
        return error_response(413, f"body larger than {MAX_BODY} bytes")
    try:
        wanted, note, by = _decision_body(raw)
    except BadRequest as bad:
        return error_response(400, str(bad))
    runtime = get_runtime()
    try:
        with runtime.engine.begin() as conn:
            # Jira keys are upper case; people type them any way.
            change = decide(
                conn,
                runtime.mapping,
                key,
                issue.upper(),
                wanted,
                note,
                runtime.clock(),
                channel="api",
                by=by or API_USER,
            )
    except NotFound as missing:
        return error_response(404, str(missing))
    except Invalid as invalid:
        return error_response(400, str(invalid))
    return jsonify(change), 200


def _unauthorized(message: str) -> tuple[Response, int]:
    response, status = error_response(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="scopewatch"'
    return response, status


def _decision_filter(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in DECISIONS:
        raise BadRequest(f"decision must be one of {', '.join(DECISIONS)}, got {raw!r}")
    return raw


def _period(
    project: Project, since_raw: str | None, until_raw: str | None
) -> tuple[datetime | None, datetime | None]:
    """Whole days in the project's time zone, `until` included: since=until=D is that one day."""
    since, until = _date("since", since_raw), _date("until", until_raw)
    if since and until and since > until:
        raise BadRequest(f"since {since} is after until {until}")
    zone = ZoneInfo(project.digest.tz)
    start = datetime.combine(since, time(), zone) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), zone) if until else None
    return start, end


def _date(name: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    # fromisoformat alone would also take 20261116 and 2026-W47-1; the API promises YYYY-MM-DD.
    if not DATE.fullmatch(raw):
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD, got {raw[:40]!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} is not a real date: {raw!r}") from None


def _decision_body(raw: bytes) -> tuple[str, str | None, str | None]:
    try:
        body: Any = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object like {"decision": "approved"}')
    wanted = body.get("decision")
    if wanted not in DECISIONS:
        raise BadRequest(f"decision must be one of {', '.join(DECISIONS)}")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise BadRequest("note must be a string")
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise BadRequest(f"note is longer than {NOTE_MAX_CHARS} characters")
    by = body.get("by")
    if by is not None and (not isinstance(by, str) or not by.strip()):
        raise BadRequest("by must be a non-empty string: who decided")
    if by is not None and len(by) > BY_MAX_CHARS:
        raise BadRequest(f"by is longer than {BY_MAX_CHARS} characters")
    return wanted, note, None if by is None else by.strip()
