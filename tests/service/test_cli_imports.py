"""A command loads what it uses (issue 15, item 6): `--help` is click alone, and a JSON digest
needs neither matplotlib (charts are for HTML and e-mail) nor Alembic (the migration check reads
the revision without it). Run in a fresh interpreter, as a shell would start the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import ROOT

PROBE = """
import json, sys
from service.cli import main
try:
    main(sys.argv[1:], prog_name="scopewatch")
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded(args: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], {name.split(".")[0] for name in report["modules"]}


WEEK = ["--week", "2026-W47"]  # a week of the sandbox project's life, whatever today is


@pytest.fixture
def migrated(sqlite_url: str) -> dict[str, str]:
    return {"SCOPEWATCH_DATABASE_URL": sqlite_url, "SCOPEWATCH_INSECURE_DEV": "1"}


def test_help_loads_no_library_beyond_click() -> None:
    code, modules = loaded(["--help"], {})
    assert code == 0
    assert not modules & {"pydantic", "sqlalchemy", "pandas", "matplotlib", "alembic", "flask"}


def test_a_json_digest_loads_neither_matplotlib_nor_alembic(migrated: dict[str, str]) -> None:
    code, modules = loaded(
        ["digest", "build", "--project", "ACME", "--format", "json", *WEEK], migrated
    )
    assert code in (0, None)
    assert "pandas" in modules  # it did build the digest
    assert not modules & {"matplotlib", "alembic", "flask", "jinja2"}


def test_an_html_digest_does_draw_its_charts(migrated: dict[str, str]) -> None:
    code, modules = loaded(
        ["digest", "build", "--project", "ACME", "--format", "html", *WEEK], migrated
    )
    assert code in (0, None) and "matplotlib" in modules
