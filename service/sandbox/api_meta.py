"""Site-level REST resources: server info, users, fields, projects, types, statuses, link types."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .context import actor, base_url, renderer, sandbox
from .errors import JiraError
from .formats import jira_time

bp = Blueprint("jira_meta", __name__)

NO_USER = "Specified user does not exist or you do not have required permissions"


@bp.get("/serverInfo")
def server_info():
    # deploymentType "Cloud" matters: the jira library picks the Cloud search API from it.
    sb = sandbox()
    return jsonify(
        {
            "baseUrl": base_url(),
            "displayUrl": base_url(),
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100300,
            "buildDate": "2026-01-01T00:00:00.000+0000",
            "serverTime": jira_time(sb.clock.now()),
            "scmInfo": "scopewatch-sandbox",
            "serverTitle": sb.state.catalog.title,
            "serverTimeZone": "Etc/UTC",
        }
    )


@bp.get("/myself")
def myself():
    return jsonify(renderer().full_user(actor()))


@bp.get("/user")
def user():
    account_id = request.args.get("accountId", "")
    if account_id not in sandbox().state.catalog.users:
        raise JiraError(404, NO_USER)
    return jsonify(renderer().full_user(account_id))


@bp.get("/user/search")
def user_search():
    query = request.args.get("query", "").lower()
    users = sandbox().state.catalog.users.values()
    found = [
        u["accountId"]
        for u in users
        if query in u["displayName"].lower() or query in u["emailAddress"].lower()
    ]
    r = renderer()
    return jsonify([r.user(a) for a in found])


@bp.get("/field")
def fields():
    return jsonify(renderer().field_list())


@bp.get("/project")
def projects():
    r = renderer()
    return jsonify([r.project_ref(p) for p in sandbox().state.catalog.projects.values()])


@bp.get("/project/<ref>")
def project(ref: str):
    return jsonify(renderer().project(sandbox().state.catalog.project(ref)))


@bp.get("/project/<ref>/components")
def project_components(ref: str):
    found, r = sandbox().state.catalog.project(ref), renderer()
    return jsonify([r.component(found, c) for c in found.components.values()])


@bp.get("/project/<ref>/versions")
def project_versions(ref: str):
    found, r = sandbox().state.catalog.project(ref), renderer()
    return jsonify([r.version(found, v) for v in found.versions.values()])


@bp.get("/project/<ref>/statuses")
def project_statuses(ref: str):
    catalog, r = sandbox().state.catalog, renderer()
    catalog.project(ref)
    return jsonify(
        [
            {
                "self": f"{r.rest}/issuetype/{type_id}",
                "id": type_id,
                "name": row["name"],
                "subtask": bool(row["subtask"]),
                "statuses": [r.status(s) for s in catalog.statuses],
            }
            for type_id, row in catalog.issue_types.items()
        ]
    )


@bp.get("/issuetype")
def issue_types():
    r = renderer()
    return jsonify([r.issue_type(t) for t in sandbox().state.catalog.issue_types])


@bp.get("/status")
def statuses():
    r = renderer()
    return jsonify([r.status(s) for s in sandbox().state.catalog.statuses])


@bp.get("/statuscategory")
def status_categories():
    r = renderer()
    return jsonify([r.status_category(k) for k in sandbox().state.catalog.categories])


@bp.get("/priority")
def priorities():
    r = renderer()
    return jsonify([r.priority(p) for p in sandbox().state.catalog.priorities])


@bp.get("/issueLinkType")
def link_types():
    r = renderer()
    rows = sandbox().state.catalog.link_types.values()
    return jsonify({"issueLinkTypes": [r.link_type(t) for t in rows]})


@bp.get("/issueLinkType/<type_id>")
def link_type(type_id: str):
    row = sandbox().state.catalog.link_types.get(type_id)
    if row is None:
        raise JiraError(404, f"No issue link type with id '{type_id}' found.")
    return jsonify(renderer().link_type(row))
