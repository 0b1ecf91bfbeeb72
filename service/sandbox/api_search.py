"""JQL search: Cloud's `/search/jql` (nextPageToken) and the classic `/search` (startAt/total)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from flask import Blueprint, jsonify, request

from . import search
from .context import int_arg, list_arg, renderer, sandbox
from .errors import JiraError

bp = Blueprint("jira_search", __name__)

ID_ONLY = {"id", "key"}
MAX_ID_PAGE = 5000  # Cloud's ceiling when only ids/keys are asked for
MAX_PAGE = 100  # ...and when fields are


def _params() -> dict[str, Any]:
    if request.method == "POST":
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise JiraError(400, "No content to map to Object due to end of input")
        return body
    return {}


def _run(jql_text: str) -> list[Any]:
    sb = sandbox()
    return search.run(sb.state, jql_text, sb.clock.now())


def _token(jql_text: str, offset: int) -> str:
    digest = hashlib.sha256(jql_text.encode()).hexdigest()[:12]
    raw = json.dumps({"o": offset, "q": digest}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str | None, jql_text: str) -> int:
    if not token:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        digest = hashlib.sha256(jql_text.encode()).hexdigest()[:12]
        if raw["q"] != digest:
            raise ValueError("token from another query")
        return int(raw["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JiraError(400, "The provided next page token is invalid or expired.") from exc


@bp.route("/search/jql", methods=["GET", "POST"])
def search_jql():
    body = _params()
    jql_text = str(body.get("jql", request.args.get("jql", "")))
    # Cloud's enhanced search returns only ids unless fields are asked for.
    fields = set(list_arg("fields", body if request.method == "POST" else None) or ["id"])
    expand = list_arg("expand", body if request.method == "POST" else None) or []
    cap = MAX_ID_PAGE if fields <= ID_ONLY else MAX_PAGE
    size = max(0, min(int_arg("maxResults", 50, body), cap))
    sb = sandbox()
    with sb.state.lock:
        found = _run(jql_text)
        start = _offset(body.get("nextPageToken", request.args.get("nextPageToken")), jql_text)
        page = found[start : start + size]
        r = renderer()
        issues = [r.issue(i, fields - ID_ONLY, expand) for i in page]
    for issue in issues:  # an id-only page carries no fields object at all
        if not issue.get("fields"):
            issue.pop("fields", None)
    answer: dict[str, Any] = {"issues": issues, "isLast": start + len(page) >= len(found)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _token(jql_text, start + len(page))
    return jsonify(answer)


@bp.route("/search", methods=["GET", "POST"])
def search_classic():
    body = _params()
    jql_text = str(body.get("jql", request.args.get("jql", "")))
    fields = set(list_arg("fields", body if request.method == "POST" else None) or ["*navigable"])
    expand = list_arg("expand", body if request.method == "POST" else None) or []
    start = max(0, int_arg("startAt", 0, body))
    size = max(0, min(int_arg("maxResults", 50, body), MAX_PAGE))
    sb = sandbox()
    with sb.state.lock:
        found = _run(jql_text)
        r = renderer()
        issues = [r.issue(i, fields, expand) for i in found[start : start + size]]
    return jsonify(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(found),
            "issues": issues,
        }
    )


@bp.post("/search/approximate-count")
def approximate_count():
    body = _params()
    sb = sandbox()
    with sb.state.lock:
        return jsonify({"count": len(_run(str(body.get("jql", ""))))})
