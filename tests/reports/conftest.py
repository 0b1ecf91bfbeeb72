"""The reports' shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SAMPLE_DIGEST = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"


@pytest.fixture
def sample_digest() -> dict[str, Any]:
    """A fresh copy of the sample digest JSON, free to edit."""
    data: dict[str, Any] = json.loads(SAMPLE_DIGEST.read_text(encoding="utf-8"))
    return data
