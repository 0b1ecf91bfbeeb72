"""The digest preview in a real browser: it renders, its charts load, and ticket text stays text.

Headless Chromium opens the HTML served on loopback: once as `reports.render.render_html` makes it
from the sample digest, once as the admin API's preview route serves it from a mirrored project.
Ticket summaries carry markup a stranger could type into Jira; the browser must show it, not run it.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from markupsafe import escape
from matplotlib import image as mpimg

from reports.render import render_html, subject
from service import create_app
from service.mirror import worker
from service.store.clock import frozen_clock
from tests.support import ADMIN, NOW, ROOT, JiraSender, app_settings, fixture_body
from tests.web.browser import INSTALL_TIMEOUT, Chromium, serve_pages

# The first test may wait for apt-get to install Chromium (see conftest.py).
pytestmark = pytest.mark.timeout(2 * INSTALL_TIMEOUT + 120)

SAMPLE = ROOT / "tests" / "fixtures" / "sample_digest.json"
OWNED = "owned"
# Each would set the page title if the browser ran it.
HOSTILE = (
    f"<script>document.title='{OWNED}'</script>",
    f"<img src=x onerror=\"document.title='{OWNED}'\">",
    f"<svg onload=\"document.title='{OWNED}'\"></svg>",
)

# A page that frames the digest and, once the digest and its images have loaded, writes what it
# finds into its own DOM, which `--dump-dom` then prints.
CHECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>check</title></head><body>
<pre id="result">not loaded</pre>
<iframe id="page" src="{src}" width="900" height="2400"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => {{
  const doc = frame.contentDocument;
  const images = Array.from(doc.images).map((img) => ({{
    src: img.getAttribute("src").slice(0, 22),
    complete: img.complete,
    width: img.naturalWidth,
    height: img.naturalHeight,
  }}));
  document.getElementById("result").textContent = JSON.stringify({{title: doc.title, images}});
}});
</script>
</body></html>
"""
# Proves the check would see a script run: this page's own script does set its title.
CONTROL_PAGE = "<!DOCTYPE html><title>before</title><script>document.title='ran'</script><p>x</p>"


def inspect(chromium: Chromium, pages: dict[str, bytes], src: str) -> dict[str, Any]:
    """Title and images of the page at `src`, as the browser saw them after loading it."""
    served = {path: ("text/html; charset=utf-8", body) for path, body in pages.items()}
    served["/check.html"] = ("text/html; charset=utf-8", CHECK_PAGE.format(src=src).encode())
    with serve_pages(served) as base:
        dom = chromium.dump_dom(f"{base}/check.html")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def hostile_sample() -> dict[str, Any]:
    """The sample digest, with markup in the places a ticket's text reaches."""
    d = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for change, text in zip(d["scope"]["changes_this_week"], HOSTILE, strict=False):
        change["summary"] = text
    d["risks"][0]["title"] = HOSTILE[0]
    d["blockers"][0]["summary"] = HOSTILE[1]
    return d


def preview_from_the_app(sqlite_url: str) -> str:
    """The admin API's HTML preview of a week in which a ticket with a hostile title was created."""
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    try:
        body = fixture_body("cloud_issue_created")
        body["issue"]["fields"]["summary"] = HOSTILE[0]
        assert JiraSender(app.test_client()).post(body).status_code == 202
        runtime = app.extensions["scopewatch"]
        assert worker.drain_inbox(runtime.engine, runtime.mapping, now=runtime.clock).failed == 0
        response = app.test_client().get(
            "/api/projects/ACME/digest?week=2026-W47&format=html",
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response.get_data(as_text=True)
    finally:
        app.extensions["scopewatch"].engine.dispose()


def test_the_check_would_see_a_script_run(chromium):
    seen = inspect(chromium, {"/control.html": CONTROL_PAGE.encode()}, "/control.html")
    assert seen["title"] == "ran"


def test_the_sample_digest_shows_both_charts_and_runs_no_ticket_markup(chromium):
    d = hostile_sample()
    page = render_html(d)
    seen = inspect(chromium, {"/digest.html": page.encode()}, "/digest.html")
    assert seen["title"] == subject(d)
    charts = seen["images"]
    assert len(charts) == 2, charts  # burn and scope, and no image smuggled in by a summary
    assert all(c["src"] == "data:image/png;base64," for c in charts)
    assert all(c["complete"] and c["width"] > 0 and c["height"] > 0 for c in charts), charts


def test_the_admin_preview_route_serves_a_page_that_renders_the_same_way(chromium, sqlite_url):
    page = preview_from_the_app(sqlite_url)
    assert str(escape(HOSTILE[0])) in page  # the ticket is in it, as text
    seen = inspect(chromium, {"/digest.html": page.encode()}, "/digest.html")
    assert seen["title"] != OWNED and seen["title"].startswith("[ACME] Week 47")
    assert len(seen["images"]) == 2
    assert all(c["width"] > 0 and c["height"] > 0 for c in seen["images"]), seen["images"]


def test_a_screenshot_of_the_digest_is_a_picture_not_a_blank_page(chromium, tmp_path):
    png = tmp_path / "digest.png"
    page = render_html(hostile_sample()).encode()
    with serve_pages({"/digest.html": ("text/html; charset=utf-8", page)}) as base:
        chromium.screenshot(f"{base}/digest.html", png, width=900, height=2400)
    pixels = np.asarray(mpimg.imread(png))[..., :3]
    assert pixels.shape[:2] == (2400, 900)
    assert pixels.std() > 0.05  # a blank or single-colour page is ~0
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text anti-aliasing and two charts, not a few flat boxes


def test_the_readme_screenshot_script_makes_a_cropped_picture(chromium_binary, tmp_path):
    out = tmp_path / "digest.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_digest_png.py"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pixels = np.asarray(mpimg.imread(out))[..., :3]
    height, width = pixels.shape[:2]
    assert 850 <= width <= 950 and 1200 < height
    assert pixels.std() > 0.05
    assert "tests/fixtures/sample_digest.json" in done.stdout or "out/digest.html" in done.stdout
