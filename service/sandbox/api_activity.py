"""Comments, worklogs and issue links: the activity around an issue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .adf import to_text
from .context import actor, events, int_arg, json_body, renderer, sandbox
from .errors import JiraError

bp = Blueprint("jira_activity", __name__)


def _body_text(body: dict[str, Any]) -> str:
    """v2 sends the comment as text, v3 as an ADF document; both are stored as text."""
    value = body.get("body")
    if isinstance(value, dict):
        return to_text(value)
    if not isinstance(value, str) or not value.strip():
        raise JiraError(400, errors={"comment": "Comment body can not be empty!"})
    return value


def _body_document(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("body")
    return value if isinstance(value, dict) else None


def _page(items: list[dict[str, Any]], key: str, default_size: int, cap: int) -> dict[str, Any]:
    start, size = int_arg("startAt", 0), min(int_arg("maxResults", default_size), cap)
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(items),
        key: items[start : start + size],
    }


# -- comments -----------------------------------------------------------------------------------


@bp.get("/issue/<ref>/comment")
def list_comments(ref: str):
    sb = sandbox()
    with sb.state.lock:
        issue, r = sb.state.get_issue(ref), renderer()
        comments = [r.comment(c) for c in issue.comments]
    if request.args.get("orderBy", "").startswith("-"):
        comments.reverse()
    return jsonify(_page(comments, "comments", 5000, 5000))


@bp.post("/issue/<ref>/comment")
def add_comment(ref: str):
    body, who = json_body(), actor()
    text = _body_text(body)
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        comment = sb.state.add_comment(issue, text, who, document=_body_document(body))
        ev = events()
        ev.issue_updated(issue, who, "issue_commented", comment=comment)
        ev.comment("comment_created", comment, issue)
        return jsonify(renderer().comment(comment)), 201


@bp.get("/issue/<ref>/comment/<comment_id>")
def get_comment(ref: str, comment_id: str):
    sb = sandbox()
    with sb.state.lock:
        comment = sb.state.get_comment(sb.state.get_issue(ref), comment_id)
        return jsonify(renderer().comment(comment))


@bp.put("/issue/<ref>/comment/<comment_id>")
def edit_comment(ref: str, comment_id: str):
    body, who = json_body(), actor()
    text = _body_text(body)
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        comment = sb.state.get_comment(issue, comment_id)
        sb.state.edit_comment(comment, text, who, document=_body_document(body))
        ev = events()
        ev.issue_updated(issue, who, "issue_comment_edited", comment=comment)
        ev.comment("comment_updated", comment, issue)
        return jsonify(renderer().comment(comment))


@bp.delete("/issue/<ref>/comment/<comment_id>")
def delete_comment(ref: str, comment_id: str):
    who = actor()
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        comment = sb.state.get_comment(issue, comment_id)
        sb.state.delete_comment(issue, comment)
        ev = events()
        ev.issue_updated(issue, who, "issue_comment_deleted", comment=comment)
        ev.comment("comment_deleted", comment, issue)
    return Response(status=204)


# -- worklogs -----------------------------------------------------------------------------------


@bp.get("/issue/<ref>/worklog")
def list_worklogs(ref: str):
    sb = sandbox()
    with sb.state.lock:
        issue, r = sb.state.get_issue(ref), renderer()
        worklogs = [r.worklog(w) for w in issue.worklogs]
    return jsonify(_page(worklogs, "worklogs", 5000, 5000))


@bp.post("/issue/<ref>/worklog")
def add_worklog(ref: str):
    body, who = json_body(), actor()
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        worklog, history = sb.state.add_worklog(issue, body, who)
        ev = events()
        ev.worklog("worklog_created", worklog)
        ev.issue_updated(issue, who, "issue_work_logged", history)
        return jsonify(renderer().worklog(worklog)), 201


@bp.get("/issue/<ref>/worklog/<worklog_id>")
def get_worklog(ref: str, worklog_id: str):
    sb = sandbox()
    with sb.state.lock:
        worklog = sb.state.get_worklog(sb.state.get_issue(ref), worklog_id)
        return jsonify(renderer().worklog(worklog))


@bp.put("/issue/<ref>/worklog/<worklog_id>")
def edit_worklog(ref: str, worklog_id: str):
    body, who = json_body(), actor()
    sb = sandbox()
    with sb.state.lock:
        worklog = sb.state.get_worklog(sb.state.get_issue(ref), worklog_id)
        sb.state.edit_worklog(worklog, body, who)
        events().worklog("worklog_updated", worklog)
        return jsonify(renderer().worklog(worklog))


@bp.delete("/issue/<ref>/worklog/<worklog_id>")
def delete_worklog(ref: str, worklog_id: str):
    sb = sandbox()
    with sb.state.lock:
        issue = sb.state.get_issue(ref)
        worklog = sb.state.get_worklog(issue, worklog_id)
        sb.state.delete_worklog(issue, worklog)
        events().worklog("worklog_deleted", worklog)
    return Response(status=204)


# -- issue links --------------------------------------------------------------------------------


@bp.post("/issueLink")
def create_link():
    body = json_body()
    sb = sandbox()
    with sb.state.lock:
        outward = sb.state.get_issue(_issue_ref(body.get("outwardIssue")))
        inward = sb.state.get_issue(_issue_ref(body.get("inwardIssue")))
        before = set(sb.state.links)
        link = sb.state.create_link(body.get("type"), outward, inward)
        if link.id not in before:
            events().issuelink("issuelink_created", link)
        comment = body.get("comment")
        if isinstance(comment, dict) and comment.get("body"):
            made = sb.state.add_comment(outward, _body_text(comment), actor())
            events().comment("comment_created", made, outward)
        location = f"{renderer().rest}/issueLink/{link.id}"
    # Jira answers 201 with an empty body; the link id is only in Location.
    return Response(status=201, headers={"Location": location})


def _issue_ref(value: Any) -> str:
    if isinstance(value, dict) and (value.get("key") or value.get("id")):
        return str(value.get("key") or value.get("id"))
    raise JiraError(400, errors={"issueLinks": "Both inward and outward issues must be given."})


@bp.get("/issueLink/<link_id>")
def get_link(link_id: str):
    sb = sandbox()
    with sb.state.lock:
        return jsonify(renderer().issue_link(sb.state.get_link(link_id)))


@bp.delete("/issueLink/<link_id>")
def delete_link(link_id: str):
    sb = sandbox()
    with sb.state.lock:
        link = sb.state.get_link(link_id)
        events().issuelink("issuelink_deleted", link)
        sb.state.links.pop(link.id, None)
    return Response(status=204)
