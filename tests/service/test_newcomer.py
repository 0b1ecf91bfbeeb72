"""The newcomer's path: from a fresh clone, the demo writes every file the README promises.

The clone holds only what is committed, so a file that exists in this checkout but was never added
fails here. (`make demo` adds only the .venv set-up, which CI's own fresh-clone run exercises.)
"""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.support import ROOT

EXPECTED = {
    "digest.eml",
    "digest.html",
    "digest.json",
    "digest.txt",
    "digest-de.html",
    "digest-de.txt",
    "burn.png",
    "scope.png",
    "scope-changes.csv",
}


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path_factory.mktemp("fresh") / "scopewatch"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PYTHONPATH": str(clone)}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Written to out/" in result.stdout
    return clone / "out"


def test_the_demo_from_a_fresh_clone_writes_every_file(demo_out):
    assert EXPECTED <= {p.name for p in demo_out.iterdir()}
    assert all((demo_out / name).stat().st_size > 0 for name in EXPECTED)


def test_the_demo_flags_prices_and_mails_the_week(demo_out):
    digest = json.loads((demo_out / "digest.json").read_text())
    assert digest["week"] == "2026-W47"
    keys = {c["key"]: c for c in digest["scope"]["changes_this_week"]}
    assert [c["decision"] for c in keys.values()].count("approved") == 1
    assert all(c["written_back"] for c in keys.values())
    message = email.message_from_bytes(
        (demo_out / "digest.eml").read_bytes(), policy=policy.default
    )
    assert message["Subject"].startswith("[ACME] Week 47:")
    assert {p.get_content_type() for p in message.walk()} >= {
        "text/plain",
        "text/html",
        "image/png",
    }
    csv = (demo_out / "scope-changes.csv").read_text(encoding="utf-8-sig")
    assert all(key in csv for key in keys)


def test_the_demo_writes_a_german_digest_and_links_issue_keys_to_jira(demo_out):
    """CARE's mapping says `locale = "de_DE"`: its digest reads German words, money and dates."""
    text = (demo_out / "digest-de.txt").read_text(encoding="utf-8")
    html = (demo_out / "digest-de.html").read_text(encoding="utf-8")
    assert text.startswith("Beta GmbH · CARE\nFortschrittsbericht Woche 47, 16. Nov. 2026")
    assert "Dieser Monat (Nov. 2026): 13 h von 25 h verbraucht" in text
    assert re.search(r"^Bisherige Kosten +2\.342,50\u00a0€$", text, re.M)
    assert "Voraussichtliches Ende 18. Mai 2027 (85\u00a0% Sicherheit)" in text
    assert "Erwartete Endkosten" in text and "Nicht zugeordnet" in text
    assert '<html lang="de">' in html and "Sind Sie mit dem Fortschritt" in html
    for english in ("Cost so far", "Waiting on you", "progress report"):
        assert english not in text and english not in html
    # The English digest's keys open their Jira page (the demo's Jira is the sandbox).
    english = (demo_out / "digest.html").read_text(encoding="utf-8")
    assert re.search(r'<a href="http://127\.0\.0\.1:\d+/browse/ACME-\d+"', english)


def test_digest_build_writes_each_format(monkeypatch, sqlite_url, tmp_path):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(ROOT / "mappings" / "sandbox.toml"))
    runner = CliRunner()
    for fmt in ("json", "html", "text", "eml"):
        out = tmp_path / f"d.{fmt}"
        result = runner.invoke(
            main,
            [
                "digest",
                "build",
                "--project",
                "ACME",
                "--week",
                "2026-W47",
                "--format",
                fmt,
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    bad = runner.invoke(main, ["digest", "build", "--project", "ACME", "--week", "W47"])
    assert bad.exit_code == 2 and "expected YYYY-Www" in bad.output
