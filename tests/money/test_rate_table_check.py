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


EXCHANGE = """
[[exchange_rates]]
from = 2026-01-01
currency = "USD"
to = "EUR"
rate = 0.92
"""


def test_exchange_rates_are_checked_with_where_each_mistake_is(check):
    later = EXCHANGE.replace("2026-01-01", "2027-01-01").replace("0.92", "0.9137")
    fine = check(MAPPING_TOML + EXCHANGE + later)
    assert fine.exit_code == 0, fine.output
    assert [" ".join(line.split()) for line in fine.output.splitlines()[-4:-1]] == [
        "Exchange rates (for a total in one currency):",
        "1 USD = 0.92 EUR from 2026-01-01",
        "1 USD = 0.9137 EUR from 2027-01-01",
    ]
    wrong = EXCHANGE + EXCHANGE.replace("0.92", "0.93")  # the same pair twice on one day
    wrong += EXCHANGE.replace("2026-01-01", "2025-06-01").replace("0.92", "0")  # earlier, zero
    wrong += EXCHANGE.replace('"USD"', '"USX"')
    result = check(MAPPING_TOML + wrong)
    assert result.exit_code != 0
    lines = [line.split("money.toml:", 1)[1] for line in result.output.splitlines()]
    assert lines == [
        "42: exchange_rates[1].from: 2026-01-01 is the date of entry [0] too: "
        "one USD -> EUR rate a date",
        "48: exchange_rates[2].from: 2025-06-01 is before 2026-01-01 of entry [0]: "
        "list them in date order",
        "51: exchange_rates[2].rate: must be a positive number, got 0",
        '55: exchange_rates[3].currency: must be an ISO 4217 currency code such as "EUR", '
        'got "USX"',
    ]
