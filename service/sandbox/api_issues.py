"""Issue REST resources: create, get, edit, delete, transitions, assignee, changelog, properties."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from .context import actor, events, int_arg, json_body, list_arg, renderer, sandbox
from .errors import JiraError

bp = Blueprint("jira_issues", __name__)


def _no_content() -> Response:
    return Response(status=204)


@bp.post("/issue")
def create_issue():
    body, who = json_body(), actor()
    sb = sandbox()
    with sb.state.lock:
        issue, change = sb.state.create_issue(
            body.get("fields") or {}, body.get("update") or {}, who
        )
        ev = events()
        ev.issue_created(issue, who)
        for comment in change.comments:
            ev.comment("comment_created", comment, issue)
        for worklog in change.worklogs:
            ev.worklog("worklog_created", worklog)
        r = renderer()
        answer = {"id": str(issue.id), "key": issue.key, "self": f"{r.rest}/issue/{issue.id}"}
    return jsonify(answer), 201


@bp.get("/issue/<ref>")
def get_issue(ref: str):
    fields = list_arg("fields")
    expand = list_arg("expand") or []
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        return jsonify(renderer().issue(issue, set(fields) if fields else None, expand))


@bp.put("/issue/<ref>")
def edit_issue(ref: str):
    body, who = json_body(), actor()  # notifyUsers is accepted and, with no mail, moot
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        change = sb.state.edit_issue(issue, body.get("fields") or {}, body.get("update") or {}, who)
        events().change(issue, who, change)
    return _no_content()


@bp.delete("/issue/<ref>")
def delete_issue(ref: str):
    who = actor()
    delete_subtasks = request.args.get("deleteSubtasks", "false").lower() == "true"
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        ev = events()
        # Render first: the deletion webhooks describe the issues as they were, links and all.
        doomed = [*sb.state.subtasks(issue), issue] if delete_subtasks else [issue]
        bodies = [ev.r.issue(i) for i in doomed]
        sb.state.delete_issue(issue, delete_subtasks)
        for rendered in bodies:
            ev.issue_deleted(rendered, who)
    return _no_content()


@bp.get("/issue/<ref>/editmeta")
def editmeta(ref: str):
    sb = sandbox()
    with sb.state.lock:
        sb.state.get_issue(ref)
        fields = {}
        for row in renderer().field_list():
            if row.get("orderable") and "schema" in row:
                operations = (
                    ["set", "add", "remove"] if row["schema"]["type"] == "array" else ["set"]
                )
                fields[row["id"]] = {
                    "required": row["id"] in ("summary", "issuetype", "project"),
                    "schema": row["schema"],
                    "name": row["name"],
                    "key": row["id"],
                    "operations": operations,
                }
    return jsonify({"fields": fields})


@bp.get("/issue/<ref>/transitions")
def transitions(ref: str):
    sb = sandbox()
    with sb.state.lock:
        issue, r = sb.state.get_issue(ref), renderer()
        return jsonify(
            {
                "expand": "transitions",
                "transitions": [
                    {
                        "id": tid,
                        "name": status["name"],
                        "to": r.status(str(status["id"])),
                        "hasScreen": False,
                        "isGlobal": True,
                        "isInitial": False,
                        "isAvailable": True,
                        "isConditional": False,
                        "isLooped": False,
                    }
                    for tid, status in sb.state.transitions(issue)
                    if request.args.get("transitionId") in (None, tid)
                ],
            }
        )


@bp.post("/issue/<ref>/transitions")
def do_transition(ref: str):
    body, who = json_body(), actor()
    wanted = str((body.get("transition") or {}).get("id", ""))
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        target = dict(sb.state.transitions(issue)).get(wanted)
        if target is None:
            raise JiraError(400, f"Transition id '{wanted}' is not valid for this issue.")
        change = sb.state.edit_issue(
            issue,
            body.get("fields") or {},
            body.get("update") or {},
            who,
            status_id=str(target["id"]),
        )
        events().change(issue, who, change)
    return _no_content()


@bp.put("/issue/<ref>/assignee")
def assign(ref: str):
    body, who = json_body(), actor()
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        change = sb.state.edit_issue(
            issue, {"assignee": body if body.get("accountId") else None}, {}, who
        )
        events().change(issue, who, change)
    return _no_content()


@bp.get("/issue/<ref>/changelog")
def changelog(ref: str):
    start, size = int_arg("startAt", 0), min(int_arg("maxResults", 100), 100)
    sb = sandbox()
    with sb.state.lock:
        histories = renderer().histories(sb.state.get_issue(ref))
    page = histories[start : start + size]
    answer = {
        "self": request.url,
        "maxResults": size,
        "startAt": start,
        "total": len(histories),
        "isLast": start + len(page) >= len(histories),
        "values": page,
    }
    if not answer["isLast"]:
        answer["nextPage"] = f"{request.base_url}?startAt={start + size}&maxResults={size}"
    return jsonify(answer)


# -- issue properties ---------------------------------------------------------------------------


@bp.get("/issue/<ref>/properties")
def property_keys(ref: str):
    sb = sandbox()
    with sb.state.lock:
        issue, r = sb.state.get_issue(ref), renderer()
        keys = [
            {"self": f"{r.rest}/issue/{issue.key}/properties/{k}", "key": k}
            for k in issue.properties
        ]
    return jsonify({"keys": keys})


@bp.get("/issue/<ref>/properties/<key>")
def get_property(ref: str, key: str):
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        if key not in issue.properties:
            raise JiraError(404, f"The property with key '{key}' does not exist.")
        return jsonify({"key": key, "value": issue.properties[key]})


@bp.put("/issue/<ref>/properties/<key>")
def set_property(ref: str, key: str):
    raw = request.get_data(as_text=True)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise JiraError(400, "The property value is not valid JSON.") from exc
    if len(raw.encode()) > 32768:
        raise JiraError(400, "The property value exceeds the maximum size of 32768 bytes.")
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        created = key not in issue.properties
        issue.properties[key] = value
    return Response(status=201 if created else 200)


@bp.delete("/issue/<ref>/properties/<key>")
def delete_property(ref: str, key: str):
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        if issue.properties.pop(key, None) is None:
            raise JiraError(404, f"The property with key '{key}' does not exist.")
    return _no_content()
