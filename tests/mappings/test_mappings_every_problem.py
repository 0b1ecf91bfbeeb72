"""One run names every problem of a mapping file, each on its own line, first one first."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mappings.texts import PROJECT, edit, load

SCOPEWATCH = Path(sys.executable).parent / "scopewatch"

# A wrong value, a misspelt key and a role nobody priced: three kinds of mistake, three lines.
THREE_MISTAKES = (
    edit("budget = 1000", 'budget = "lots"').replace("hours_per_point", "hours_per_pont")
    + '\n[rates]\ndeveloper = 85\n\n[people]\nann = "tester"\n'
)
EXPECTED = [
    (5, "projects[0].budget", 'must be a positive number, got "lots"'),
    (8, "projects[0].hours_per_pont", "unknown key; did you mean hours_per_point? valid keys: "),
    (16, "people.ann", 'role "tester" is not in [rates] (roles there: developer)'),
]


def test_every_problem_is_listed_in_file_order_and_the_error_describes_the_first(tmp_path):
    error = load(tmp_path, THREE_MISTAKES)

    # Three, not four: the misspelt key is not reported again as a missing hours_per_point.
    assert [(p.line, p.key) for p in error.problems] == [(n, key) for n, key, _ in EXPECTED]
    for problem, (_, _, says) in zip(error.problems, EXPECTED, strict=True):
        assert problem.problem.startswith(says)
    assert (error.line, error.key, error.problem) == (5, "projects[0].budget", EXPECTED[0][2])
    assert str(error).splitlines() == [p.location_and_problem() for p in error.problems]


def test_an_error_with_several_problems_survives_pickling(tmp_path):
    error = load(tmp_path, THREE_MISTAKES)
    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == str(error)
    assert len(copy.problems) == 3


def test_mappings_check_prints_one_line_per_problem_and_fails(tmp_path):
    path = tmp_path / "three.toml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    # Only our own settings are dropped: Jira stays unconfigured, so the check is offline.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}

    done = subprocess.run(
        [str(SCOPEWATCH), "mappings", "check", "--file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 3, done.stderr
    for line, (number, key, says) in zip(lines, EXPECTED, strict=True):
        assert line.startswith(f"scopewatch: {path}:{number}: {key}: {says}")
    assert "OK" not in done.stdout


@pytest.mark.parametrize(
    ("text", "line", "key", "problem"),
    [
        (
            edit("start = 2026-09-01", "start = 2026-02-30"),
            6,
            "projects[0].start",
            "not a real date: 2026-02-30 (day is out of range for month)",
        ),
        (
            edit("end = 2026-12-31", "end = 2026-12-32"),
            7,
            "projects[0].end",
            "not a real date: 2026-12-32 (day is out of range for month)",
        ),
        (
            PROJECT + "baseline = 2026-09-01T24:00:00Z\n",
            11,
            "projects[0].baseline",
            "not a real date-time: 2026-09-01T24:00:00Z (hour must be in 0..23)",
        ),
        (
            PROJECT + "\n[[projects.rate_changes]]\nfrom = 2027-02-29\ndeveloper = 90\n",
            13,
            "projects[0].rate_changes[0].from",
            "not a real date: 2027-02-29 (day is out of range for month)",
        ),
    ],
)
def test_an_impossible_date_names_its_key(tmp_path, text, line, key, problem):
    error = load(tmp_path, text)

    assert str(error) == f"{tmp_path / 'bad.toml'}:{line}: {key}: {problem}"


def test_a_misspelt_array_of_tables_is_one_message_at_its_header(tmp_path):
    error = load(tmp_path, PROJECT.replace("[[projects]]", "[[project]]"))

    # Not also "projects: missing": the near miss already says what to write.
    assert [(p.line, p.key) for p in error.problems] == [(1, "project")]
    assert "did you mean projects?" in error.problem
