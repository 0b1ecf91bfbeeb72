"""A decision taken by a label in Jira reaches the audit trail with the person who added it."""

from __future__ import annotations

import copy
import json

from sqlalchemy import select

from mappings import load_mapping
from service.intake import inbox
from service.mirror.worker import drain_inbox
from service.store import schema
from tests.support import NOW, ROOT, fixture_body

MAPPING = load_mapping(ROOT / "mappings" / "sandbox.toml")


def deliver(engine, *bodies):
    with engine.begin() as conn:
        for body in bodies:
            raw = json.dumps(body).encode()
            inbox.store(conn, body=raw, event=body["webhookEvent"], delivery_id=None, now=NOW)


def test_an_approved_label_added_in_jira_is_audited_with_who_added_it(engine):
    created = fixture_body("cloud_issue_created")
    labelled = copy.deepcopy(fixture_body("cloud_issue_updated_status"))
    labelled["issue"]["fields"]["labels"] = ["scope-change", "scope-approved"]
    labelled["user"] = {"accountId": "acct-carla", "displayName": "Carla Client"}
    deliver(engine, created)
    drain_inbox(engine, MAPPING, now=lambda: NOW)
    deliver(engine, labelled)
    drain_inbox(engine, MAPPING, now=lambda: NOW)

    d, s = schema.scope_decisions.c, schema.scope_changes.c
    with engine.connect() as conn:
        trail = conn.execute(select(d.issue_key, d.from_decision, d.to_decision, d.channel,
                                    d.decided_by)).all()  # fmt: skip
        change = conn.execute(select(s.decision, s.decided_by, s.decision_channel)).one()
    assert [tuple(t) for t in trail] == [
        ("ACME-101", "pending", "approved", "jira", "Carla Client")
    ]
    assert tuple(change) == ("approved", "Carla Client", "jira")
