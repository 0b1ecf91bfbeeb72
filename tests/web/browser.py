"""Headless Chromium from Debian's packages, and fixed pages served on loopback for it to open."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# No network beyond loopback, no GPU, no first-run or update chatter: a quiet, repeatable browser.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
INSTALL_TIMEOUT = 450  # each of apt-get update and apt-get install


def install_chromium() -> str | None:
    """apt-get installs chromium; returns why it could not, or None when it is there."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine to install chromium with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
    ):
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{' '.join(command)}` did not finish: {exc}"
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"`{' '.join(command)}` exited {done.returncode}: {last[0]}"
    return None if CHROMIUM.exists() else "chromium installed but /usr/bin/chromium is missing"


@dataclass(frozen=True)
class Chromium:
    binary: str

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """One headless run with a fresh profile, so no state leaks between runs."""
        with tempfile.TemporaryDirectory(prefix="scopewatch-chromium-") as profile:
            return subprocess.run(
                [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, "HOME": profile},
                stdin=subprocess.DEVNULL,
            )

    def dump_dom(self, url: str, *, budget_ms: int = 5000) -> str:
        """The DOM once the page has loaded, as Chromium serialises it."""
        done = self.run(f"--virtual-time-budget={budget_ms}", "--dump-dom", url)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def screenshot(self, url: str, png: Path, *, width: int = 900, height: int = 2400) -> None:
        done = self.run(
            "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={png}", url
        )
        assert done.returncode == 0 and png.exists(), done.stderr[-2000:]


@contextmanager
def selenium_chromium(width: int, height: int) -> Iterator[Any]:
    """A Selenium driver for Debian's chromium through its chromedriver, at a window size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class _Pages(BaseHTTPRequestHandler):
    pages: Mapping[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        found = self.pages.get(self.path.split("?", 1)[0])
        if found is None:
            self.send_error(404)
            return
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        pass


@contextmanager
def serve_pages(pages: Mapping[str, tuple[str, bytes]]) -> Iterator[str]:
    """Serves fixed pages (path -> (content type, body)) on loopback; yields the base URL."""
    handler = type("Pages", (_Pages,), {"pages": dict(pages)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
