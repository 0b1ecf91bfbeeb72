"""A mapping whose money has every twist: a client's card over [rates], a person's own rate, a
dated rate change on a Friday (2027-01-01, Berlin), cost rates, a non-billable component, and
amounts that do not round nicely, so only exact arithmetic rounded once gets every cent right.
"""

from __future__ import annotations

from pathlib import Path

from mappings import load_mapping
from mappings.model import Mapping

MAPPING_TOML = """
[[projects]]
key = "MONEY"
client = "Money Ltd"
currency = "EUR"
budget = 1000
start = 2026-12-01
end = 2027-02-26
baseline = 2026-12-01T00:00:00Z
hours_per_point = 6
weekly_capacity_hours = 40
default_rate = 85.25
digest = { tz = "Europe/Berlin" }
pm = ["pm@agency.example"]
non_billable = { components = ["Warranty"] }
rates = { developer = { billing = 90.5, cost = 55 } }
person_rates = { ann = 120 }

[[projects.rate_changes]]
from = 2027-01-01
developer = { billing = 99.99, cost = 60 }

[rates]
developer = 80.10
designer = { billing = 70, cost = 40 }

[people]
ann = "developer"
bob = "developer"
cid = "designer"

[estimates]
Story = 8
"""


def money_mapping(tmp_path: Path, text: str = MAPPING_TOML) -> Mapping:
    path = tmp_path / "money.toml"
    path.write_text(text)
    return load_mapping(str(path))
