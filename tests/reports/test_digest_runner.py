import json
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from mappings.model import DigestSchedule, JiraFields, Mapping, Project
from reports.digest import build_digest, finalize
from reports.frames import empty_frames, frames_from_records

PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=datetime(2026, 11, 2, tzinfo=UTC), hours_per_point=6,
    weekly_capacity_hours=40, default_rate=50, digest=DigestSchedule(tz="Europe/Berlin"),
)  # fmt: skip
MAPPING = Mapping(jira=JiraFields(), projects=(PROJECT,))
CONTRACT = {  # PRODUCT.md "Digest JSON", plus the agreed additions
    "project", "client", "week", "period", "currency", "budget", "scope", "timeline", "blockers",
    "transitions", "risks", "questions", "feedback", "headline", "series",
    "locale",  # issue #14: the locale its sentences are written in, for the renderers
    "client_sections",  # issue #15: the sections the mapping sends the client
}  # fmt: skip


def test_an_empty_project_gives_a_complete_plain_digest():
    digest = build_digest(empty_frames(), MAPPING, "ACME", "2026-W47")
    assert set(digest) == CONTRACT
    assert json.loads(json.dumps(digest, allow_nan=False)) == digest
    assert set(digest["budget"]) == {
        "total", "spent", "spent_this_week", "remaining", "burn_pct", "runway_date",
        "by_category", "evm", "contract",
    }  # fmt: skip
    assert set(digest["budget"]["evm"]) == {
        "bac", "pv", "ev", "ac", "cpi", "spi", "eac", "etc", "vac", "explain",
    }  # fmt: skip
    assert set(digest["timeline"]) == {"start", "end", "forecast", "milestones"}
    assert digest["timeline"]["forecast"]["p85"] is None
    assert digest["feedback"] == {"link": None, "last": None, "trend": []}
    # Nothing to do, nothing spent, nothing waiting: on track, with no forecast to show.
    assert digest["headline"] == {
        "contract": "time_and_materials", "status": "on track", "status_reasons": [],
        "spent_pct": 0, "spent": 0.0,
        "budget": 10_000.0, "forecast_cost": None, "planned_end": "2026-12-27",
        "forecast_finish": None, "finish_late_days": None, "decisions_waiting": 0,
        "decisions_cost": 0.0, "changes_count": 0, "changes_cost": 0.0, "blockers_on_client": 0,
    }  # fmt: skip
    assert digest["series"]["weeks"] == ["2026-W45", "2026-W46", "2026-W47"]


def test_a_week_before_the_project_starts_still_builds():
    digest = build_digest(empty_frames(), MAPPING, "ACME", "2026-W40")
    assert digest["series"]["weeks"] == ["2026-W40"]
    assert digest["budget"]["evm"]["pv"] == 0.0


def test_an_unknown_project_or_a_bad_week_is_a_clear_error():
    with pytest.raises(ValueError, match="no project 'NOPE'"):
        build_digest(empty_frames(), MAPPING, "NOPE", "2026-W47")
    with pytest.raises(ValueError, match="bad week '2026-47'"):
        build_digest(empty_frames(), MAPPING, "ACME", "2026-47")


def test_money_is_rounded_to_cents_hours_to_tenths_and_nan_is_null():
    assert finalize(
        {"cost": 1.005 + 1e-9, "hours": 2.26, "cpi": float("nan"), "n": 3, "vac": -0.001},
        "UTC",
    ) == {"cost": 1.01, "hours": 2.3, "cpi": None, "n": 3, "vac": 0.0}
    with pytest.raises(TypeError, match="no number format for 'mystery'"):
        finalize({"mystery": 1.5}, "UTC")


def test_numpy_and_pandas_values_become_builtins():
    value = OrderedDict(
        cost=np.float64(2.005), hours=np.int64(3), n=np.int64(4), ok=np.bool_(True),
        cpi=np.float32("inf"), at=pd.Timestamp("2026-11-20 10:00", tz="UTC"), none=pd.NaT,
        due=date(2026, 12, 1), keys=("A-1", np.str_("A-2")), items=[{"budget": 1}],
    )  # fmt: skip
    done = finalize(value, "Europe/Berlin")
    assert done == {
        "cost": 2.01, "hours": 3.0, "n": 4, "ok": True, "cpi": None,  # half-up, as shown
        "at": "2026-11-20T11:00:00+01:00", "none": None, "due": "2026-12-01",
        "keys": ["A-1", "A-2"], "items": [{"budget": 1.0}],
    }  # fmt: skip
    assert [type(done[k]) for k in ("hours", "n", "ok")] == [float, int, bool]
    assert type(done["keys"][1]) is str
    with pytest.raises(TypeError, match="'x': Decimal does not belong in a digest"):
        finalize({"x": Decimal(1)}, "UTC")


def test_times_are_iso_in_the_digest_zone_and_text_is_left_alone():
    frames = frames_from_records(
        issues=[{"id": "1", "key": "A-1", "summary": "<script>x</script>", "status": "Blocked",
                 "status_category": "indeterminate", "created": datetime(2026, 11, 3, tzinfo=UTC),
                 "status_since": datetime(2026, 11, 18, 12, tzinfo=UTC)}]
    )  # fmt: skip
    blocker = build_digest(frames, MAPPING, "ACME", "2026-W47")["blockers"][0]
    assert blocker["since"] == "2026-11-18T13:00:00+01:00"
    assert blocker["summary"] == "<script>x</script>"
