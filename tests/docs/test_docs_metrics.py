"""docs/operating.md names exactly the metrics `/metrics` exposes, as Prometheus spells them."""

from __future__ import annotations

import re

from service.web.metrics import Metrics
from tests.support import ROOT

OPERATING = ROOT / "docs" / "operating.md"
# What the Prometheus text format adds to a family's name, by the family's type.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": (),
}


def exposed() -> dict[str, set[str]]:
    """Family name -> every sample name Prometheus may scrape for it."""
    names = {}
    for family in Metrics().registry.collect():
        names[family.name] = {family.name} | {
            family.name + suffix for suffix in SUFFIXES.get(family.type, ())
        }
    return names


def documented() -> set[str]:
    return set(re.findall(r"\bscopewatch_[a-z_]+[a-z]", OPERATING.read_text(encoding="utf-8")))


def test_every_metric_the_doc_names_is_exposed():
    known = set().union(*exposed().values())
    unknown = documented() - known
    assert not unknown, (
        f"docs/operating.md names metrics that service/web/metrics.py lacks: {unknown}"
    )


def test_every_exposed_metric_is_documented():
    missing = {family for family, samples in exposed().items() if not samples & documented()}
    assert not missing, f"docs/operating.md does not describe {sorted(missing)}"
