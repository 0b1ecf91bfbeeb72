"""The demo shows one project of each contract, each in its own words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_demo_shows_a_project_of_each_contract(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split("Each contract speaks its own burn")[1].splitlines()[1:4]
    assert [line.split()[:2] for line in lines] == [
        ["ACME", "time_and_materials"],
        ["BETA", "fixed_price"],
        ["CARE", "retainer"],
    ]
    assert "cap billed" in lines[0] and "Fixed price €40,000" in lines[1]
    # October: 15 h of 20 used, 5 h carried into November, where 13 h of 25 are used. CARE's
    # client reads German (its mapping's `locale`), so its contract speaks German.
    assert (
        "13 h von 25 h verbraucht (davon 5 h aus dem Vormonat übertragen); 12 h übrig."
        in (lines[2])
    )
