"""The write-back's payload: one typed value between the engine and the outbox, stored as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from service.outbox.queue import InvalidJob
from service.scope.writeback import Comment, ImpactProperty, WritebackPayload

PAYLOAD = WritebackPayload(
    issue_key="ACME-7",
    labels_add=("scope-change", "scope-approved"),
    labels_remove=("scope-rejected",),
    fields={"customfield_10150": 6.0},
    comment=Comment(marker="[scopewatch change 7]", text="+6 h.\n\n[scopewatch change 7]"),
    property=ImpactProperty(
        change_id=7,
        version=2,
        hours=6.0,
        hours_source="estimate",
        cost=510.0,
        currency="EUR",
        schedule_days=0.3,
        decision="approved",
        baseline={"at": "2026-09-01T09:00:00+00:00", "version": None, "name": None},
    ),
)


def test_a_payload_reads_back_from_its_json_as_it_was() -> None:
    assert WritebackPayload.from_json(PAYLOAD.to_json()) == PAYLOAD


def test_the_property_jira_holds_names_the_job_yet_reads_back_as_the_impact() -> None:
    stored = PAYLOAD.to_json()
    stored["property"]["value"]["job"] = "writeback:7:2"
    assert WritebackPayload.from_json(stored).property == PAYLOAD.property


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"labels_add": "scope-change"}, "labels_add must be a list of strings"),
        ({"labels_remove": [1]}, "labels_remove must be a list of strings"),
        ({"comment": {"marker": "x"}}, "comment needs a text"),
        ({"property": {"key": "scopewatch.impact", "value": 3}}, "property needs"),
        ({"property": {"key": "scopewatch.impact", "value": {"hours": 1}}}, "property value"),
        ({"fields": []}, "fields must be an object"),
    ],
)
def test_a_hand_made_payload_that_lacks_something_is_refused_with_what(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidJob, match=problem):
        WritebackPayload.from_json({**PAYLOAD.to_json(), **change})
