"""The write-back: what Jira should show for a scope change, queued in the outbox and done once.

For each version of a change, one job carries the whole state (`WritebackPayload`), not a delta:
any one job brings the ticket up to date on its own. Jobs of older versions that no worker has
started are cancelled when a newer one is queued.

A worker can die (`kill -9`) between a Jira call and our commit, so every step is safe to repeat
and the job starts by asking Jira how far it got:

(a) the issue property already holds this job's key -> it finished: mark it done;
(b) labels and fields in one edit (adding a label twice, or setting a field again, changes nothing);
(c) the comment is found by its marker: updated when the text differs, posted only when absent;
(d) the property is written last, as the marker that (a) looks for.

Once a write-back is in Jira, the outbox runs `record_written` in the transaction that marks the
job done: the change's version is marked written (`written_back` in the API and the digest). A
404 means the issue is gone, which leaves nothing to do.

A change decided `not-scope` (agreed work after all) is taken off the ticket by the other kind,
`unflag`, with the same rules: one job per version, each step safe to repeat. (a) the scope-change
and decision labels are removed and the impact fields cleared in one edit; (b) our comment, found
by its marker, is edited to say the work was judged agreed (never posted when it is absent:
nothing on the ticket then needs correcting); (c) the property is deleted last (already gone is
fine). Reopening the change (`pending`) queues an ordinary write-back: the flag comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mappings.model import JiraFields, Mapping, Project
from service.jira.client import JiraClient, JiraRejected, JiraUnusable, same_comment_text
from service.outbox.queue import Executed, InvalidJob, Job, JobKind, cancel_pending, enqueue
from service.scope.baseline import Baseline
from service.scope.changes import mark_written
from service.scope.model import ScopeChange
from service.scope.parents import carrying_children
from service.scope.pricing import NOT_SCOPE_TEXT, impact_comment

WRITEBACK = "writeback"
IMPACT_PROPERTY = "scopewatch.impact"
JOB_FIELD = "job"  # in the property value: which job wrote it
CALLS_PER_JOB = 5  # property read, edit, comment list, comment write, property write
UNFLAG = "unflag"
CALLS_PER_UNFLAG = 4  # edit, comment list, comment write, property delete


@dataclass(frozen=True)
class Comment:
    """Our one comment on the ticket; `marker` (also in the text) is how we find it again."""

    marker: str
    text: str


@dataclass(frozen=True)
class ImpactProperty:
    """The issue property `scopewatch.impact`: the change's price as JSON, for people's tools."""

    change_id: int
    version: int
    hours: float | None
    hours_source: str
    cost: float | None
    currency: str
    schedule_days: float | None
    decision: str
    baseline: dict[str, Any]


@dataclass(frozen=True)
class WritebackPayload:
    """Everything Jira should show for one version of a change: the outbox job's payload."""

    issue_key: str
    labels_add: tuple[str, ...]
    labels_remove: tuple[str, ...]
    fields: dict[str, Any] = field(default_factory=dict)
    comment: Comment | None = None
    property: ImpactProperty | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "issue_key": self.issue_key,
            "labels_add": list(self.labels_add),
            "labels_remove": list(self.labels_remove),
            "fields": dict(self.fields),
            "comment": None if self.comment is None else asdict(self.comment),
            "property": None
            if self.property is None
            else {"key": IMPACT_PROPERTY, "value": asdict(self.property)},
        }

    @classmethod
    def from_json(cls, data: Any) -> WritebackPayload:
        """The payload of a stored job; `InvalidJob` says what a hand-made one lacks."""
        if not isinstance(data, dict):
            raise InvalidJob("payload must be an object")
        comment = data.get("comment")
        if comment and (not isinstance(comment, dict) or not isinstance(comment.get("text"), str)):
            raise InvalidJob("comment needs a text")
        prop = data.get("property")
        if prop and (not isinstance(prop, dict) or not isinstance(prop.get("value"), dict)):
            raise InvalidJob("property needs a key and an object value")
        fields = data.get("fields")
        fields = {} if fields is None else fields
        if not isinstance(fields, dict):
            raise InvalidJob("fields must be an object")
        return cls(
            issue_key=str(data.get("issue_key") or ""),
            labels_add=_strings(data, "labels_add"),
            labels_remove=_strings(data, "labels_remove"),
            fields=fields,
            comment=Comment(str(comment.get("marker") or ""), comment["text"]) if comment else None,
            property=_impact_property(prop["value"]) if prop else None,
        )


def _strings(data: dict[str, Any], name: str) -> tuple[str, ...]:
    values = data.get(name) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidJob(f"{name} must be a list of strings")
    return tuple(values)


def _impact_property(value: dict[str, Any]) -> ImpactProperty:
    try:
        return ImpactProperty(**{k: v for k, v in value.items() if k != JOB_FIELD})
    except TypeError as exc:
        raise InvalidJob(f"property value: {exc}") from None


def payload_for(
    jira: JiraFields,
    project: Project,
    baseline: Baseline,
    change: ScopeChange,
    carried_by: tuple[str, ...] = (),
) -> WritebackPayload:
    """What Jira should show for this version of the change (`carried_by`: the children that
    carry its price, `service.scope.parents`)."""
    impact = change.impact
    marker = f"[scopewatch change {change.id}]"
    decision_labels = {"approved": jira.approved_label, "rejected": jira.rejected_label}
    labels_add = [jira.scope_change_label]
    labels_remove: list[str] = []
    if change.decision in decision_labels:  # a decided change shows its label, and only that one
        labels_add.append(decision_labels[change.decision])
        labels_remove = [
            label for name, label in decision_labels.items() if name != change.decision
        ]
    targets = ((jira.impact_hours_field, impact.hours), (jira.impact_cost_field, impact.cost))
    label = baseline.label(project.digest.tz)
    text = impact_comment(impact, label, change.decision, carried_by=carried_by)  # type: ignore[arg-type]
    return WritebackPayload(
        issue_key=change.key,
        labels_add=tuple(labels_add),
        labels_remove=tuple(labels_remove),
        fields={field: value for field, value in targets if field},
        # The marker is in the text: it is how the executor finds this comment again to edit it.
        comment=Comment(marker=marker, text=f"{text}\n\n{marker}"),
        property=ImpactProperty(
            change_id=change.id,
            version=change.impact_version,
            hours=impact.hours,
            hours_source=impact.hours_source,
            cost=impact.cost,
            currency=impact.currency,
            schedule_days=impact.schedule_days,
            decision=change.decision,
            baseline=baseline.as_json(),
        ),
    )


@dataclass(frozen=True)
class UnflagPayload:
    """What taking the flag off a ticket does: the `unflag` job's payload."""

    issue_key: str
    change_id: int
    version: int
    labels_remove: tuple[str, ...]
    fields: dict[str, Any]  # each mapped impact field, to be cleared (None)
    comment: Comment  # the text our comment should say now, and its marker

    def to_json(self) -> dict[str, Any]:
        return {
            "issue_key": self.issue_key,
            "change_id": self.change_id,
            "version": self.version,
            "labels_remove": list(self.labels_remove),
            "fields": dict(self.fields),
            "comment": asdict(self.comment),
        }

    @classmethod
    def from_json(cls, data: Any) -> UnflagPayload:
        if not isinstance(data, dict):
            raise InvalidJob("payload must be an object")
        comment = data.get("comment")
        if not isinstance(comment, dict) or not isinstance(comment.get("text"), str):
            raise InvalidJob("comment needs a text")
        if not comment.get("marker"):
            raise InvalidJob("comment needs a marker: it is how our comment is found")
        fields = data.get("fields") or {}
        if not isinstance(fields, dict):
            raise InvalidJob("fields must be an object")
        change_id, version = data.get("change_id"), data.get("version")
        if not isinstance(change_id, int) or not isinstance(version, int):
            raise InvalidJob("change_id and version must be integers")
        return cls(
            issue_key=str(data.get("issue_key") or ""),
            change_id=change_id,
            version=version,
            labels_remove=_strings(data, "labels_remove"),
            fields=fields,
            comment=Comment(str(comment["marker"]), comment["text"]),
        )


def unflag_payload_for(jira: JiraFields, change: ScopeChange) -> UnflagPayload:
    """What Jira should show once a change is judged agreed work: no flag, no price."""
    marker = f"[scopewatch change {change.id}]"
    labels = (jira.scope_change_label, jira.approved_label, jira.rejected_label)
    targets = (jira.impact_hours_field, jira.impact_cost_field)
    return UnflagPayload(
        issue_key=change.key,
        change_id=change.id,
        version=change.impact_version,
        labels_remove=tuple(dict.fromkeys(label for label in labels if label)),
        fields={field: None for field in targets if field},
        comment=Comment(marker=marker, text=f"{NOT_SCOPE_TEXT}\n\n{marker}"),
    )


def enqueue_writeback(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    change: ScopeChange,
    now: datetime,
) -> None:
    """Queues what Jira should show for this version: the flag, or (`not-scope`) its removal."""
    kind = UNFLAG if change.decision == "not-scope" else WRITEBACK
    key = f"{kind}:{change.id}:{change.impact_version}"
    if change.impact_version > 1:
        # An older version not yet started would only be overwritten by this one; worse, its
        # label edit would come back as a webhook and read as a decision, flip-flopping with ours.
        cancel_writebacks(conn, change.id, f"superseded by {key}", now)
    if kind == UNFLAG:
        payload = unflag_payload_for(mapping.jira, change).to_json()
    else:
        # Only a change priced at 0 h can be a parent its children carry: others skip the query.
        carried_by = (
            carrying_children(conn, mapping, project, baseline, change.issue_id)
            if change.hours == 0
            else ()
        )
        payload = payload_for(mapping.jira, project, baseline, change, carried_by).to_json()
    enqueue(
        conn,
        dedupe_key=key,
        kind=kind,
        project_key=project.key,
        issue_id=change.issue_id,
        payload=payload,
        now=now,
    )


def cancel_writebacks(conn: Connection, change_id: int, reason: str, now: datetime) -> None:
    """This change's jobs (either kind) that no worker has started are dropped, with the reason."""
    for kind in (WRITEBACK, UNFLAG):
        cancel_pending(conn, kind=kind, key_prefix=f"{kind}:{change_id}:", reason=reason, now=now)


# --- running a job --------------------------------------------------------------------------------


def execute(client: JiraClient, job: Job) -> Executed:
    """Steps (a) to (d), safe to run any number of times."""
    payload = WritebackPayload.from_json(job.payload)
    ref = str(job.issue_id or payload.issue_key or "")
    if not ref:
        raise InvalidJob("no issue to write to")
    try:
        if payload.property is not None and _already_done(client, ref, job.dedupe_key):
            return Executed(written=True, note="already in Jira")
        client.edit_issue(
            ref,
            labels_add=payload.labels_add,
            labels_remove=payload.labels_remove,
            fields=dict(payload.fields),
        )
        if payload.comment is not None:
            _comment(client, ref, payload.comment)
        if payload.property is not None:
            value = {**asdict(payload.property), JOB_FIELD: job.dedupe_key}
            client.set_property(ref, IMPACT_PROPERTY, value)
    except JiraRejected as exc:
        # A 404 at connection means a wrong site address, not a deleted issue.
        if exc.status == 404 and not isinstance(exc, JiraUnusable):
            key = payload.issue_key or ref
            return Executed(written=False, note=f"{key} no longer exists in Jira: nothing written")
        raise
    return Executed(written=True)


def _already_done(client: JiraClient, ref: str, dedupe_key: str) -> bool:
    held = client.get_property(ref, IMPACT_PROPERTY)
    return isinstance(held, dict) and held.get(JOB_FIELD) == dedupe_key


def _comment(client: JiraClient, ref: str, comment: Comment) -> None:
    marker, text = comment.marker, comment.text
    body = text if not marker or marker in text else f"{text}\n\n{marker}"
    existing = next(
        (
            c
            for c in client.comments(ref)
            if (marker in c["body"] if marker else same_comment_text(c["body"], body))
        ),
        None,
    )
    if existing is None:
        client.add_comment(ref, body)
    elif not same_comment_text(existing["body"], body):
        client.update_comment(ref, str(existing["id"]), body)


def execute_unflag(client: JiraClient, job: Job) -> Executed:
    """Takes the flag off the ticket, each step safe to run any number of times."""
    payload = UnflagPayload.from_json(job.payload)
    ref = str(job.issue_id or payload.issue_key or "")
    if not ref:
        raise InvalidJob("no issue to write to")
    try:
        # Removing a label the ticket lacks, or clearing an empty field, changes nothing.
        client.edit_issue(ref, labels_remove=payload.labels_remove, fields=dict(payload.fields))
        marker, text = payload.comment.marker, payload.comment.text
        ours = next((c for c in client.comments(ref) if marker in c["body"]), None)
        if ours is not None and not same_comment_text(ours["body"], text):
            client.update_comment(ref, str(ours["id"]), text)
        client.delete_property(ref, IMPACT_PROPERTY)  # False when already gone: also fine
    except JiraRejected as exc:
        if exc.status == 404:
            key = payload.issue_key or ref
            return Executed(written=False, note=f"{key} no longer exists in Jira: nothing written")
        raise
    return Executed(written=True)


def record_unflagged(conn: Connection, job: Job) -> None:
    """The flag is off the ticket: this version of the change is what Jira shows."""
    change_id, version = job.payload.get("change_id"), job.payload.get("version")
    if isinstance(change_id, int) and isinstance(version, int):
        mark_written(conn, change_id, version)


def record_written(conn: Connection, job: Job) -> None:
    """A write-back now in Jira marks its version of the scope change as written back."""
    value = (job.payload.get("property") or {}).get("value") or {}
    change_id, version = value.get("change_id"), value.get("version")
    if isinstance(change_id, int) and isinstance(version, int):
        mark_written(conn, change_id, version)


KINDS: dict[str, JobKind] = {
    WRITEBACK: JobKind(execute=execute, on_done=record_written, calls=CALLS_PER_JOB),
    UNFLAG: JobKind(execute=execute_unflag, on_done=record_unflagged, calls=CALLS_PER_UNFLAG),
}
