"""Loading a seed: the JSON file that describes the site and its history."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

REQUIRED = (
    "site",
    "users",
    "statusCategories",
    "statuses",
    "issueTypes",
    "priorities",
    "linkTypes",
    "customFields",
    "projects",
)


class SeedError(ValueError):
    """The seed file cannot describe a site; the message names the file and what is missing."""


def load_seed(path: str | None = None) -> dict[str, Any]:
    """The seed at `path`, or the default one shipped in this package."""
    if path is None:
        text = resources.files(__package__).joinpath("seed.json").read_text(encoding="utf-8")
        origin = "the default seed"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SeedError(f"{path}: cannot read the seed: {exc.strerror}") from exc
        origin = path
    try:
        seed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(f"{origin}, line {exc.lineno}: not JSON: {exc.msg}") from exc
    missing = [key for key in REQUIRED if key not in seed]
    if missing:
        raise SeedError(f"{origin}: missing key(s) {', '.join(missing)}")
    return seed
