"""The mapping file: which Jira fields, projects, budgets, rates and people scopewatch works with.

`load_mapping` reads and validates a TOML file into frozen dataclasses; `check_mapping` lists what
is valid but probably unintended. See `mappings/example.toml` for every key, annotated.
"""

from mappings.check import check_mapping
from mappings.errors import ConfigError
from mappings.loader import load_mapping, parse_mapping
from mappings.model import (
    DigestSchedule,
    JiraFields,
    Mapping,
    NonBillable,
    Project,
    Rate,
    RateChange,
    Retainer,
    Statuses,
)

__all__ = [
    "ConfigError",
    "DigestSchedule",
    "JiraFields",
    "Mapping",
    "NonBillable",
    "Project",
    "Rate",
    "RateChange",
    "Retainer",
    "Statuses",
    "check_mapping",
    "load_mapping",
    "parse_mapping",
]
