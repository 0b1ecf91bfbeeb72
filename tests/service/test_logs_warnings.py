"""A library's warning is one JSON log line, like every other line a service writes."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

# What matplotlib does when a glyph is missing: warnings.warn from deep inside a library.
SCRIPT = """
import warnings
from service.logs import configure_logging
configure_logging()
warnings.warn("Glyph 8364 missing from font(s) DejaVu Sans.\\nsecond line", UserWarning)
warnings.warn_explicit("deprecated", DeprecationWarning, "lib.py", 7)
"""


def test_library_warnings_become_json_log_lines():
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["level"], e["logger"]) for e in entries] == [("warning", "py.warnings")] * 2
    assert entries[0]["message"].startswith("UserWarning: Glyph 8364 missing from font(s)")
    assert entries[1]["message"] == "DeprecationWarning: deprecated (lib.py:7)"
