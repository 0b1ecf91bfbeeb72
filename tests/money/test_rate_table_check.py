"""`mappings check` prints the rates it resolved, and refuses rate mistakes with where they are."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.money.money_support import MAPPING_TOML


@pytest.fixture
def check(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("SCOPEWATCH_JIRA_URL", raising=False)

    def run(text: str):
        path = tmp_path / "money.toml"
        path.write_text(text)
        return CliRunner().invoke(main, ["mappings", "check", "--file", str(path)])

    return run


def test_the_resolved_rate_table_is_printed(check):
    result = check(MAPPING_TOML)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("warning:")]
    table = [" ".join(line.split()) for line in lines]
    assert table[:6] == [
        "MONEY (EUR), hourly:",
        "designer from the start billing 70 cost 40 (global)",
        "developer from the start billing 90.5 cost 55 (project)",
        "developer from 2027-01-01 billing 99.99 cost 60 (change)",
        "ann from the start billing 120 no cost rate (person)",
        "(default) from the start billing 85.25 no cost rate (default)",
    ]
    assert table[6].endswith("money.toml: OK (1 projects: MONEY)")


@pytest.mark.parametrize(
    ("mistake", "said"),
    [
        (
            "from = 2027-01-01",
            "from = 2026-11-01\ndeveloper = 91\n\n[[projects.rate_changes]]\nfrom = 2026-10-01",
        ),
        ("developer = { billing = 99.99, cost = 60 }", "tester = 99"),
        ("default_rate = 85.25", "default_rate = -85.25"),
    ],
    ids=["dates out of order", "unknown role", "negative money"],
)
def test_rate_mistakes_are_refused(check, mistake, said):
    result = check(MAPPING_TOML.replace(mistake, said))
    assert result.exit_code != 0
    assert "money.toml" in result.output
    if "tester" in said:
        assert "tester" in result.output
    elif "-85.25" in said:
        assert "default_rate" in result.output
    else:
        assert "list them in date order" in result.output
