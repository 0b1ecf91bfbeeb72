from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, insert

from reports.frames import SCHEMAS, empty_frames, frames_from_records, rows_of
from service.digest.load import load_frames
from service.store import schema

BERLIN = ZoneInfo("Europe/Berlin")
UNTIL = datetime(2026, 11, 23, tzinfo=BERLIN)  # the end of 2026-W47 in Berlin


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'mirror.db'}")
    schema.metadata.create_all(engine)
    yield engine
    engine.dispose()


def put(engine, table, *rows):
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert(schema.metadata.tables[table]).values(row))


def load(engine, until=UNTIL, tz="Europe/Berlin"):
    with engine.connect() as conn:
        return load_frames(conn, "ACME", until, tz=tz)


def test_an_empty_database_gives_empty_frames_with_the_declared_columns(engine):
    frames = load(engine)
    for name, columns in SCHEMAS.items():
        frame = getattr(frames, name)
        assert frame.empty and list(frame.columns) == list(columns), name
        assert frame.dtypes.to_dict() == getattr(empty_frames(), name).dtypes.to_dict(), name


def test_a_naive_until_is_refused(engine):
    with pytest.raises(ValueError, match="naive"):
        load(engine, until=datetime(2026, 11, 23))


def test_worklogs_are_summed_by_local_week_author_and_components(engine):
    put(engine, "issues",
        {"id": "1", "key": "A-1", "project_key": "ACME", "components": ["Backend"]},
        {"id": "2", "key": "A-2", "project_key": "ACME", "components": ["Backend"]},
        {"id": "3", "key": "B-1", "project_key": "BETA", "components": ["Backend"]})  # fmt: skip

    def log(id_, issue, started, hours, author="dev-1", deleted=False):
        return {"id": id_, "issue_id": issue, "author": author, "started": started,
                "seconds": hours * 3600, "updated": started, "deleted": deleted}  # fmt: skip

    put(engine, "worklogs",
        log("a", "1", datetime(2026, 11, 16, 9, tzinfo=BERLIN), 2),
        log("b", "2", datetime(2026, 11, 22, 23, 30, tzinfo=BERLIN), 3),  # same week, same key
        log("c", "1", datetime(2026, 11, 15, 23, 30, tzinfo=UTC), 5),  # 00:30 Monday in Berlin
        log("d", "1", datetime(2026, 11, 15, 22, 30, tzinfo=UTC), 7),  # 23:30 Sunday: W46
        log("e", "1", datetime(2026, 11, 17, 9, tzinfo=BERLIN), 1, author="des-1"),
        log("f", "1", datetime(2026, 11, 17, 9, tzinfo=BERLIN), 50, deleted=True),
        log("g", "3", datetime(2026, 11, 17, 9, tzinfo=BERLIN), 50),  # another project
        log("h", "1", UNTIL, 50))  # fmt: skip
    worklogs = load(engine).worklogs.sort_values(["started", "author"])
    worklogs = worklogs[["started", "author", "components", "seconds"]]
    w46 = pd.Timestamp(datetime(2026, 11, 9, tzinfo=BERLIN)).tz_convert(UTC)
    w47 = pd.Timestamp(datetime(2026, 11, 16, tzinfo=BERLIN)).tz_convert(UTC)
    assert worklogs.astype({"author": object}).to_dict("records") == [
        {"started": w46, "author": "dev-1", "components": ("Backend",), "seconds": 7 * 3600},
        {"started": w47, "author": "des-1", "components": ("Backend",), "seconds": 1 * 3600},
        {"started": w47, "author": "dev-1", "components": ("Backend",), "seconds": 10 * 3600},
    ]
    assert str(worklogs["author"].dtype) == "category"
    assert str(worklogs["seconds"].dtype) == "int64"


def test_versions_from_the_table_win_over_those_on_issues(engine):
    put(engine, "issues", {
        "id": "1", "key": "A-1", "project_key": "ACME",
        "fix_versions": [{"id": "10", "name": "old name", "releaseDate": "2026-12-01"},
                         {"id": "11", "name": "2.0", "releaseDate": "2027-01-15"}],
    })  # fmt: skip
    put(engine, "versions",
        {"id": "10", "project_key": "ACME", "name": "1.0", "release_date": date(2026, 12, 6),
         "released": True})  # fmt: skip
    frames = load(engine)
    assert frames.issues["fix_version_ids"].tolist() == [("10", "11")]
    assert frames.versions.sort_values("id").to_dict("records") == [
        {"id": "10", "name": "1.0", "release_date": date(2026, 12, 6), "released": True},
        {"id": "11", "name": "2.0", "release_date": date(2027, 1, 15), "released": False},
    ]


def test_the_newest_baseline_captured_before_the_period_end_is_used(engine):
    put(engine, "baselines",
        {"id": 1, "project_key": "ACME", "version": 1, "name": "kick-off",
         "captured_at": datetime(2026, 11, 1, tzinfo=UTC)},
        {"id": 2, "project_key": "ACME", "version": 2, "name": "re-plan",
         "captured_at": datetime(2026, 11, 10, tzinfo=UTC)},
        {"id": 3, "project_key": "ACME", "version": 3, "name": "later",
         "captured_at": datetime(2026, 12, 1, tzinfo=UTC)})  # fmt: skip
    item = {"issue_type": "Story", "status": "To Do"}
    put(engine, "baseline_items",
        {**item, "baseline_id": 1, "issue_id": "1", "key": "A-1"},
        {**item, "baseline_id": 2, "issue_id": "2", "key": "A-2", "story_points": 3.0},
        {**item, "baseline_id": 3, "issue_id": "3", "key": "A-3"})  # fmt: skip
    assert load(engine).baseline_items["key"].tolist() == ["A-2"]


def test_histories_are_read_for_the_projects_live_issues_only(engine):
    put(engine, "issues",
        {"id": "1", "key": "A-1", "project_key": "ACME", "flagged": True},
        {"id": "2", "key": "A-2", "project_key": "ACME", "deleted": True},
        {"id": "3", "key": "B-1", "project_key": "BETA"})  # fmt: skip
    at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    put(
        engine,
        "transitions",
        *({"issue_id": i, "from_status": "To Do", "to_status": "Done", "at": at} for i in "123"),
    )
    put(
        engine,
        "field_changes",
        *({"issue_id": i, "field": "Flagged", "to_value": "Impediment", "at": at} for i in "123"),
    )
    frames = load(engine)
    assert frames.transitions.astype(object).to_dict("records") == [
        {"issue_id": "1", "from_status": "To Do", "to_status": "Done", "at": pd.Timestamp(at)}
    ]
    assert frames.field_changes["issue_id"].tolist() == ["1"]
    # SQLite stores booleans as 0/1: they come back as booleans all the same
    assert frames.issues["flagged"].tolist() == [True]


def test_logged_seconds_are_summed_for_rejected_changes_only(engine):
    put(engine, "issues",
        {"id": "1", "key": "A-1", "project_key": "ACME"},
        {"id": "2", "key": "A-2", "project_key": "ACME"})  # fmt: skip

    def log(id_, issue, started, deleted=False):
        return {"id": id_, "issue_id": issue, "author": "dev-1", "started": started,
                "seconds": 3600, "updated": started, "deleted": deleted}  # fmt: skip

    put(engine, "worklogs",
        log("a", "1", datetime(2026, 11, 16, 9, tzinfo=UTC)),
        log("b", "1", datetime(2026, 11, 17, 9, tzinfo=UTC), deleted=True),
        log("c", "1", UNTIL),  # after the period
        log("d", "2", datetime(2026, 11, 16, 9, tzinfo=UTC)))  # fmt: skip
    change = {"project_key": "ACME", "summary": "", "hours_source": "default", "currency": "EUR",
              "detected_at": datetime(2026, 11, 2, tzinfo=UTC)}  # fmt: skip
    put(engine, "scope_changes",
        {**change, "issue_id": "1", "key": "A-1", "decision": "rejected"},
        {**change, "issue_id": "2", "key": "A-2", "decision": "approved"})  # fmt: skip
    changes = load(engine).scope_changes.sort_values("key")
    # the digest shows only the work logged on rejected changes
    assert changes["rejected_logged_seconds"].tolist() == [3600, 0]


def test_hand_written_values_get_the_declared_dtypes():
    issues = frames_from_records(
        issues=[
            {"id": 1, "status": "Done", "story_points": "3", "original_estimate_seconds": None},
            {"id": "2", "status": 7, "story_points": "many", "components": "Backend"},
            {"id": "3", "status": None, "story_points": 2, "components": ["A", 1]},
        ]
    ).issues
    assert issues["status"].astype(object).tolist() == ["Done", "7", np.nan]
    assert list(issues["status"].cat.categories) == ["7", "Done"]
    assert str(issues["status"].cat.categories.dtype) == "str"
    assert issues["story_points"].tolist()[0] == 3.0 and issues["story_points"].isna()[1]
    assert issues["original_estimate_seconds"].isna().all()
    assert issues["components"].tolist() == [(), ("Backend",), ("A", "1")]


def test_rows_of_a_frame_are_its_itertuples_without_the_index():
    frame = frames_from_records(
        issues=[
            {"id": "1", "key": "A-1", "owner": "ann", "created": datetime(2026, 11, 2)},
            {"id": "2", "key": "A-2"},
        ]  # fmt: skip
    ).issues[["key", "owner", "created", "story_points", "flagged", "labels"]]
    ours, theirs = list(rows_of(frame)), list(frame.itertuples(index=False))
    assert ours[0]._fields == theirs[0]._fields
    # the same objects (a null stays NaN, a time a Timestamp), so compared by type and repr
    assert [[(type(v), repr(v)) for v in r] for r in ours] == [
        [(type(v), repr(v)) for v in r] for r in theirs
    ]
