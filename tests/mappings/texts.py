"""A minimal valid project table, and the way tests break a copy of it and catch the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import ConfigError, load_mapping

# Line numbers in the tests count from the first line of this text.
PROJECT = """\
[[projects]]
key = "ACME"
client = "Acme Corp"
currency = "EUR"
budget = 1000
start = 2026-09-01
end = 2026-12-31
hours_per_point = 6
weekly_capacity_hours = 40
default_rate = 80
"""


def load(tmp_path: Path, text: str) -> ConfigError:
    """Load `text` from a file and return the error it must raise."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    assert caught.value.file == str(path)
    return caught.value


def edit(old: str, new: str) -> str:
    assert old in PROJECT
    return PROJECT.replace(old, new)
