"""The digest e-mail on a phone and on a desktop: Selenium drives Debian's chromium at 360 and
1000 px and checks what a reader would notice: nothing scrolls sideways, and neither the headline
nor a money cell is cut off.

With SCOPEWATCH_SCREENSHOTS=DIR set, the two widths are saved there as digest-360.png and
digest-1000.png (docs/ holds the README's: `SCOPEWATCH_SCREENSHOTS=docs pytest
tests/web/test_digest_reflow.py`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.render import render_html
from tests.support import ROOT
from tests.web.browser import (
    CHROMEDRIVER,
    INSTALL_TIMEOUT,
    selenium_chromium,
    serve_pages,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(INSTALL_TIMEOUT + 120)]

SAMPLE = ROOT / "tests" / "fixtures" / "sample_digest.json"
SHOTS = os.environ.get("SCOPEWATCH_SCREENSHOTS")
WIDTHS = (360, 1000)

# What overflows its box or the window, for the elements a reader must see whole. Each entry:
# the element's tag, its text and by how many px it sticks out (past the window's right edge or
# beyond its own box, as a clipped cell does).
CUT_OFF = """
const width = window.innerWidth;
return Array.from(document.querySelectorAll(arguments[0])).map((el) => {
  const box = el.getBoundingClientRect();
  return [el.tagName, el.textContent.trim().slice(0, 60),
          Math.max(box.right - width, -box.left, el.scrollWidth - el.clientWidth)];
}).filter((row) => row[2] > 0.5);
"""
HEADLINE = "h1, h1 ~ table p"
MONEY = "td[style*='text-align:right']"


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The sample digest (the demo's figures, charts embedded) with its keys linked to Jira, in
    English (/digest.html) and in German (/digest-de.html), whose words run longer."""
    digest = json.loads(SAMPLE.read_text(encoding="utf-8"))
    digest["jira_url"] = "https://acme.atlassian.net"
    pages = {
        "/digest.html": render_html(digest).encode(),
        "/digest-de.html": render_html(digest, locale="de_DE").encode(),
    }
    html = "text/html; charset=utf-8"
    with serve_pages({path: (html, page) for path, page in pages.items()}) as base:
        yield base


@pytest.fixture(scope="module")
def digest_url(served: str) -> str:
    return f"{served}/digest.html"


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page(
    request: pytest.FixtureRequest, digest_url: str, chromium_binary: str
) -> Iterator[tuple[Any, int]]:
    # `chromium_binary` installs chromium and chromium-driver with apt-get, or skips saying why.
    if not CHROMEDRIVER.exists():
        pytest.skip(f"chromium is at {chromium_binary} but {CHROMEDRIVER} is missing")
    width: int = request.param
    with selenium_chromium(1000, 900) as driver:
        show_at(driver, width, 900)
        driver.get(digest_url)
        yield driver, width


def show_at(driver: Any, width: int, height: int) -> None:
    """The page as a device this wide shows it: Chromium will not make a window narrower than
    500 px, so a phone's viewport is emulated (a mobile one, honouring the viewport meta tag)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def save_full_page(driver: Any, width: int, png: Path) -> None:
    """The whole page at this width, measured from a short viewport: no empty tail."""
    show_at(driver, width, 600)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    show_at(driver, width, min(height, 8000))
    png.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(png))


def test_the_digest_never_scrolls_sideways(page: tuple[Any, int]) -> None:
    driver, width = page
    assert driver.execute_script("return window.innerWidth") == width
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, f"the digest scrolls sideways by {scroll - width}px at {width}px"
    if SHOTS:
        save_full_page(driver, width, Path(SHOTS) / f"digest-{width}.png")


def test_the_headline_and_every_amount_are_shown_whole(page: tuple[Any, int]) -> None:
    driver, width = page
    headline = driver.execute_script(CUT_OFF.replace("arguments[0]", repr(HEADLINE)))
    money = driver.execute_script(CUT_OFF.replace("arguments[0]", repr(MONEY)))
    assert headline == [], f"headline cut off at {width}px"
    assert money == [], f"amounts cut off at {width}px"
    # The selectors found what they mean: the headline's sentences and the money columns.
    counted = "return document.querySelectorAll(arguments[0]).length"
    assert driver.execute_script(counted, HEADLINE) >= 4
    amounts = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map((e) => e.textContent)",
        MONEY,
    )
    assert "€74,400" in amounts


def test_the_german_digest_fits_a_phone_too(page: tuple[Any, int], served: str) -> None:
    driver, width = page
    driver.get(f"{served}/digest-de.html")
    assert "Bisherige Kosten" in driver.page_source
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, f"the German digest scrolls sideways by {scroll - width}px"
    assert driver.execute_script(CUT_OFF.replace("arguments[0]", repr(MONEY))) == []
