"""A wrong site address is the operator's to fix: write-backs wait for it, none is dropped."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from mappings.model import Mapping
from service.jira.client import JiraClient, JiraRetryLater
from service.outbox import queue as outbox
from service.scope.writeback import KINDS
from service.store.schema import outbox as outbox_table
from tests.jira.jira_site import LOGIN, JiraSite, make_client
from tests.jira.test_jira_outbox import _payload
from tests.support import NOW, go_live


def test_a_404_at_connection_keeps_the_write_back_waiting_instead_of_dropping_it(
    engine: Engine, site: JiraSite, mapping: Mapping
) -> None:
    issue_id = str(site.issue("ACME-12")["id"])
    go_live(engine, "ACME")
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


def test_a_person_waiting_gives_up_on_a_silent_jira_but_waits_out_a_rate_limit(
    site: JiraSite, mapping: Mapping
) -> None:
    # Without the give-up bound, the first client would retry for max_wait: the test's timeout.
    # The port stays bound (never listening, so connections are refused) for the whole attempt:
    # a port given back at once can be taken by another test's server in the meantime.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
        silent = JiraClient(
            f"http://127.0.0.1:{closed}", *LOGIN, mapping, max_wait=1000, backoff=0.05, give_up=0.5
        )
        with pytest.raises(JiraRetryLater) as caught:
            silent.server_info()
    assert "ConnectionError" in caught.value.reason
    assert silent.calls > 1  # it did retry, for a while

    # A 429 is an answer with its own wait: the same bound does not cut it short.
    site.fault(mode="429", count=1, retry_after=1, paths="serverInfo")
    patient = make_client(site, mapping, give_up=0.5, max_wait=30.0)
    assert patient.server_info()["baseUrl"]  # not JiraRetryLater: the 1 s wait outlasts 0.5 s
