"""Injected failures and strict auth: how a client meets a Jira that says no."""

from __future__ import annotations

import jira
import pytest
import requests

from service.sandbox import SandboxServer


def _fault(sandbox: SandboxServer, http: requests.Session, **spec: object) -> None:
    assert http.post(f"{sandbox.url}/_sandbox/faults", json=spec).status_code == 200


def _log(sandbox: SandboxServer, http: requests.Session) -> list[dict]:
    return http.get(f"{sandbox.url}/_sandbox/requests").json()


def test_429_carries_retry_after_and_jira_error_body(
    sandbox: SandboxServer, http: requests.Session
) -> None:
    _fault(sandbox, http, mode="429", count=1, retry_after=7)

    limited = http.get(f"{sandbox.url}/rest/api/2/issue/ACME-1")
    after = http.get(f"{sandbox.url}/rest/api/2/issue/ACME-1")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert after.status_code == 200  # count=1: only the next call suffers


def test_a_client_honouring_retry_after_waits_before_asking_again(
    sandbox: SandboxServer, http: requests.Session, login: tuple[str, str]
) -> None:
    patient = jira.JIRA(server=sandbox.url, basic_auth=login, max_retries=1)
    http.delete(f"{sandbox.url}/_sandbox/requests")
    _fault(sandbox, http, mode="429", count=1, retry_after=1, paths="/issue/ACME-2")

    assert patient.issue("ACME-2").key == "ACME-2"

    calls = [e for e in _log(sandbox, http) if e["path"].endswith("/issue/ACME-2")]
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 1.0


def test_503_reaches_a_client_without_retries(
    sandbox: SandboxServer, client: jira.JIRA, http: requests.Session
) -> None:
    _fault(sandbox, http, mode="503", count=1, paths="/comment")

    with pytest.raises(jira.JIRAError) as caught:
        client.add_comment("ACME-3", "will not land")

    assert caught.value.status_code == 503
    assert client.comments("ACME-3") == []  # a 503 is answered before anything happens


def test_drop_applies_the_call_then_loses_the_answer(
    sandbox: SandboxServer, client: jira.JIRA, http: requests.Session
) -> None:
    _fault(sandbox, http, mode="drop", count=1, paths="/comment")

    with pytest.raises(requests.ConnectionError):
        client.add_comment("ACME-3", "landed, but nobody heard")

    assert [c.body for c in client.comments("ACME-3")] == ["landed, but nobody heard"]
    dropped = [e for e in _log(sandbox, http) if e["dropped"]]
    assert [(e["method"], e["status"]) for e in dropped] == [("POST", 201)]


def test_paths_filter_spares_other_calls(sandbox: SandboxServer, http: requests.Session) -> None:
    _fault(sandbox, http, mode="500", count=5, paths="/worklog")

    assert http.get(f"{sandbox.url}/rest/api/2/issue/ACME-3").status_code == 200
    assert http.get(f"{sandbox.url}/rest/api/2/issue/ACME-3/worklog").status_code == 500

    http.delete(f"{sandbox.url}/_sandbox/faults")
    assert http.get(f"{sandbox.url}/rest/api/2/issue/ACME-3/worklog").status_code == 200


def test_latency_slows_every_call(sandbox: SandboxServer, http: requests.Session) -> None:
    _fault(sandbox, http, latency_ms=60)

    answer = http.get(f"{sandbox.url}/rest/api/2/myself")

    assert answer.elapsed.total_seconds() >= 0.06


def test_request_log_records_method_path_and_status(
    sandbox: SandboxServer, http: requests.Session
) -> None:
    http.get(f"{sandbox.url}/rest/api/2/issue/NOPE-1")

    entry = _log(sandbox, http)[-1]
    assert (entry["method"], entry["path"], entry["status"]) == (
        "GET",
        "/rest/api/2/issue/NOPE-1",
        404,
    )
    assert isinstance(entry["time"], float)


def test_strict_sandbox_refuses_wrong_credentials(
    default_seed: dict, login: tuple[str, str]
) -> None:
    with SandboxServer(default_seed, strict=True) as strict:
        with pytest.raises(jira.JIRAError) as caught:
            jira.JIRA(server=strict.url, basic_auth=("someone@example.com", "guess"), max_retries=0)
        assert caught.value.status_code == 401

        anonymous = requests.get(f"{strict.url}/rest/api/3/myself")
        assert anonymous.status_code == 401
        assert anonymous.json()["errorMessages"]

        trusted = jira.JIRA(server=strict.url, basic_auth=login, max_retries=0)
        assert trusted.issue("ACME-1").key == "ACME-1"
        # The control surface stays open so tests can always steer the sandbox.
        assert requests.get(f"{strict.url}/_sandbox/webhooks").status_code == 200


def test_lenient_sandbox_accepts_any_credentials(sandbox: SandboxServer) -> None:
    anyone = jira.JIRA(
        server=sandbox.url, basic_auth=("alice.dev@acme-agency.example", "x"), max_retries=0
    )
    # The caller acts as the user whose e-mail is the login.
    assert anyone.myself()["displayName"] == "Alice Dev"
