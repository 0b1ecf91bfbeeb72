"""A wrong site address is the operator's to fix: write-backs wait for it, none is dropped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from mappings.model import Mapping
from service.outbox import queue as outbox
from service.scope.writeback import KINDS
from service.store.schema import outbox as outbox_table
from tests.jira.jira_site import JiraSite, make_client
from tests.jira.test_jira_outbox import _payload
from tests.support import NOW


def test_a_404_at_connection_keeps_the_write_back_waiting_instead_of_dropping_it(
    engine: Engine, site: JiraSite, mapping: Mapping
) -> None:
    issue_id = str(site.issue("ACME-12")["id"])
    with engine.begin() as conn:
        outbox.enqueue(
            conn,
            dedupe_key="writeback:12:1",
            kind="writeback",
            project_key="ACME",
            issue_id=issue_id,
            payload=_payload("ACME-12").to_json(),
            now=NOW,
        )
    # Jira Cloud answers 404 for a site that is gone or misspelt: no issue was deleted.
    site.fault(mode="404", count=100, paths="serverInfo")

    assert outbox.run_due(engine, make_client(site, mapping), KINDS, now=NOW) == 0

    with engine.connect() as conn:
        (job,) = conn.execute(select(outbox_table)).mappings().all()
    assert job["status"] == "pending"
    assert "HTTP 404" in job["last_error"]
    assert not any("[scopewatch change 12]" in c for c in site.comments("ACME-12"))

    site.http.delete(f"{site.url}/_sandbox/faults").raise_for_status()
    later = NOW + timedelta(days=1)
    assert outbox.run_due(engine, make_client(site, mapping), KINDS, now=later) == 1
    assert any("[scopewatch change 12]" in c for c in site.comments("ACME-12"))
