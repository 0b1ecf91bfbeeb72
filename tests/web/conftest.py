"""Fixtures for the web suite: headless Chromium, installed from Debian's packages when missing.

CI machines start fresh, so the browser is installed here on first use, with apt-get only (never a
browser download of its own); when that fails, the browser tests skip and say why.
"""

from __future__ import annotations

import pytest

from tests.web.browser import CHROMIUM, Chromium, install_chromium


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """/usr/bin/chromium, installed with apt-get on first use if this machine lacks it."""
    if not CHROMIUM.exists():
        problem = install_chromium()
        if problem is not None:
            pytest.skip(f"headless Chromium unavailable: {problem}")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def chromium(chromium_binary: str) -> Chromium:
    return Chromium(chromium_binary)
