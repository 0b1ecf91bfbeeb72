"""`GET /api/projects/<KEY>/digest`: the digest as the client will get it, before it is sent.

Behind the same bearer token as the rest of the admin API.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.digest.build import build_digest
from service.web.api import require_admin
from service.web.context import get_runtime
from service.web.errors import error_response

bp = Blueprint("previews", __name__, url_prefix="/api")
bp.before_request(require_admin)

FORMATS = {"json", "html", "text"}


@bp.get("/projects/<key>/digest")
def digest(key: str) -> Response | tuple[Response, int]:
    from reports.render import render_html, render_text

    rt = get_runtime()
    if rt.mapping.project(key) is None:
        return error_response(404, f"unknown project {key}")
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        return error_response(400, f"format must be one of json, html, text; got {fmt[:20]!r}")
    try:
        data = build_digest(rt, key, request.args.get("week"))
    except ValueError as exc:
        return error_response(400, str(exc).splitlines()[0][:200])
    if fmt == "html":
        return Response(render_html(data), content_type="text/html; charset=utf-8")
    if fmt == "text":
        return Response(render_text(data), content_type="text/plain; charset=utf-8")
    return jsonify(data)
