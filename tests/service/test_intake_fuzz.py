"""10,000 generated bodies and header combinations at the webhook: only 2xx/4xx, never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import create_app
from service.intake.signature import sign
from service.store.clock import frozen_clock
from tests.support import NOW, SECRET, app_settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
events = st.sampled_from(
    [
        "jira:issue_created",
        "jira:issue_updated",
        "worklog_created",
        "",
        7,
        None,
        "comment_created",
        "issuelink_deleted",
        "x" * 300,
    ]
)
jira_like = st.fixed_dictionaries(
    {"webhookEvent": events},
    optional={
        "timestamp": st.integers() | st.text(max_size=5),
        "issue": json_values,
        "worklog": json_values,
        "changelog": json_values,
        "user": json_values,
    },
)
bodies = st.one_of(
    jira_like.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)
signatures = st.sampled_from(["good", "missing", "garbage", "non-ascii", "wrong-secret"])
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=UTF-8",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
    ]
)
# Real clients cannot send control characters in headers; everything else is fair game.
header_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)


def signature_for(kind: str, body: bytes) -> str | None:
    return {
        "good": sign(SECRET, body),
        "missing": None,
        "garbage": "sha256=" + "0" * 64,
        "non-ascii": "sha256=\u00fc\u00df\u4e2d",
        "wrong-secret": sign("nope", body),
    }[kind]


@pytest.mark.dateless  # the webhook's bytes, no date: not worth a second and third run
def test_no_generated_delivery_gets_a_5xx(sqlite_url):
    app = create_app(app_settings(sqlite_url, max_body=4096), clock=frozen_clock(NOW))
    client = app.test_client()
    seen: set[int] = set()

    @settings(
        max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(body=bodies, sig=signatures, ctype=content_types, delivery=header_text)
    def deliver(body: bytes, sig: str, ctype: str, delivery: str) -> None:
        headers = {"X-Atlassian-Webhook-Identifier": delivery.encode("utf-8").decode("latin-1")}
        signature = signature_for(sig, body)
        if signature is not None:
            headers["X-Hub-Signature"] = signature.encode("utf-8").decode("latin-1")
        response = client.post("/webhooks/jira", data=body, headers=headers, content_type=ctype)
        seen.add(response.status_code)
        assert response.status_code in {200, 202, 400, 401, 413, 415}, response.get_data()

    deliver()
    # The generator must reach every answer, or the test proves less than it claims.
    assert {200, 202, 400, 401, 415} <= seen
