"""`/_sandbox/...`: knobs for tests and demos (no auth, not part of Jira's API)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .context import actor, sandbox
from .errors import JiraError
from .formats import jira_time, parse_jira_time

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    sb = sandbox()
    if request.method == "POST":
        sb.faults.configure(_body())
    elif request.method == "DELETE":
        sb.faults.clear()
    return jsonify(sb.faults.describe())


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log():
    sb = sandbox()
    if request.method == "DELETE":
        sb.requests.clear()
        return Response(status=204)
    return jsonify(sb.requests.entries())


@bp.get("/webhooks")
def webhooks():
    return jsonify(sandbox().dispatcher.stats())


@bp.post("/bulk")
def bulk():
    body = _body()
    count = int(body.get("count", 0))
    if not 0 < count <= 100_000:
        raise JiraError(400, "count must be between 1 and 100000")
    sb = sandbox()
    with sb.state.lock:
        made = sb.state.bulk_create(str(body.get("project", "")), count, actor())
    return jsonify({"created": len(made), "first": made[0].key, "last": made[-1].key}), 201


@bp.route("/clock", methods=["GET", "POST"])
def clock():
    sb = sandbox()
    if request.method == "POST":
        body = _body()
        try:
            if body.get("now") is not None:
                sb.clock.set(parse_jira_time(str(body["now"])))
            if body.get("advance_seconds") is not None:
                sb.clock.advance(float(body["advance_seconds"]))
            if body.get("real"):
                sb.clock.release()
        except ValueError as exc:
            raise JiraError(400, f"Bad clock setting: {exc}") from exc
    return jsonify({"now": jira_time(sb.clock.now()), "pinned": sb.clock.pinned})


@bp.post("/reset")
def reset():
    sb = sandbox()
    sb.state.load(sb.seed)
    return jsonify({"issues": len(sb.state.issues)})
