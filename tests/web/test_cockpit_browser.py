"""The cockpit in a real browser: Selenium drives Debian's chromium through its chromedriver.

Everything is real and local, as in `make demo`: the sandbox Jira over HTTP sending signed
webhooks, the service served by waitress, the worker writing decisions back into the sandbox
through the `jira` library, and an SMTP sink on loopback. A PM logs in with the keyboard,
approves one change and rejects another (the labels then show in the sandbox's Jira), previews
the week's digest and sends it.

With SCOPEWATCH_SCREENSHOTS=DIR set, the main pages are saved there (docs/ holds the README's).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from service.demo.run import DIGEST_AT, _free_port, smtp_sink
from service.demo.week import AUTH, BOB, Team, play_week
from service.runtime import Runtime
from service.settings import Settings
from service.store.clock import frozen_clock
from service.store.engine import make_engine
from service.store.migrate import upgrade
from tests.support import ROOT, SECRET, go_live
from tests.web.browser import CHROMIUM_FLAGS, INSTALL_TIMEOUT
from tests.web.cockpit_support import PASSWORD, PM, SECRET_KEY

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(2 * INSTALL_TIMEOUT + 300)]

CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = os.environ.get("SCOPEWATCH_SCREENSHOTS")


@dataclass
class World:
    url: str
    jira_url: str
    rt: Runtime  # the worker's: Jira and SMTP configured, the clock frozen at the digest's hour
    mail: list[bytes]
    new_change: str  # created after the week was played: pending, for the PM to reject
    client_change: str  # pending too, for the client to approve from the digest e-mail


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from service.accounts.users import add_user
    from service.mirror.reconcile import reconcile
    from service.mirror.worker import run_once
    from service.sandbox import SandboxServer
    from service.scope.capture import capture_baseline
    from service.web.app import create_app
    from service.web.server import background

    db = tmp_path_factory.mktemp("cockpit-browser") / "scopewatch.db"
    base = Settings(
        database_url=f"sqlite:///{db}",
        mappings=str(ROOT / "mappings" / "sandbox.toml"),
        webhook_secret=SECRET,
        secret_key=SECRET_KEY,
        mail_from="pm@agency.example",
    )
    engine = make_engine(base.database_url)
    upgrade(engine)
    engine.dispose()
    clock = frozen_clock(DIGEST_AT)
    port = _free_port()  # known before the app starts: the links in its e-mails point to it
    with smtp_sink() as (smtp_port, received):
        settings = base.model_copy(
            update={
                "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
                "public_url": f"http://127.0.0.1:{port}",
            }
        )
        web_rt = Runtime.from_settings(settings, clock=clock)
        with background(create_app(web_rt), port=port) as url:
            with SandboxServer(
                webhook_url=f"{url}/webhooks/jira", webhook_secret=SECRET
            ) as sandbox:
                rt = Runtime.from_settings(
                    settings.model_copy(
                        update={
                            "jira_url": sandbox.url,
                            "jira_email": AUTH[0],
                            "jira_token": AUTH[1],
                        }
                    ),
                    clock=clock,
                )
                assert rt.jira is not None
                team = Team(sandbox.url)
                team.at("2026-11-16T08:00:00Z")
                capture_baseline(rt.engine, rt.jira, rt.mapping, "ACME", now=DIGEST_AT)
                reconcile(rt.engine, rt.jira, rt.mapping, "ACME", since=None, now=DIGEST_AT)
                go_live(rt.engine, "ACME", now=DIGEST_AT)  # the agency has checked and gone live
                for _ in play_week(sandbox.url):
                    pass
                team.at("2026-11-20T18:00:00Z")
                extra = team.create(
                    "Dark mode for the portal",
                    "Story",
                    assignee=BOB,
                    component="Frontend",
                    estimate="12h",
                )
                by_mail = team.create(
                    "CSV import of old invoices",
                    "Story",
                    assignee=BOB,
                    component="Backend",
                    estimate="6h",
                )
                sandbox.wait_for_webhooks(timeout=30)
                run_once(rt)
                add_user(rt.engine, PM, "pm", PASSWORD, now=DIGEST_AT)
                yield World(url, sandbox.url, rt, received, extra, by_mail)
                rt.close()
        web_rt.close()


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            "chromium and chromium-driver are not installed "
            "(apt-get install -y chromium chromium-driver; .ci/run does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, 600)  # measured from a short window: no empty tail
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(600, min(int(height) + 120, 4000)))
        driver.save_screenshot(str(Path(SHOTS) / f"cockpit-{name}.png"))
        driver.set_window_size(width, 1600)


def labels_in_jira(world: World, key: str) -> list[str]:
    issue = requests.get(f"{world.jira_url}/rest/api/2/issue/{key}", auth=AUTH, timeout=15).json()
    return list(issue["fields"]["labels"])


def read(driver: Any, by: str, selector: str, expected: str) -> str:
    """The element's text once it shows `expected` (or, after 10 s, whatever it shows).

    A click that submits a form returns before the next page replaces this one: reading at once
    reads the old page (its flash, its heading) or an element being taken away. So the read
    waits for the text the next page should bring, and the caller's assertion says what came.
    """
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    seen = [""]

    def shows(d: Any) -> bool:
        seen[0] = str(d.find_element(by, selector).text)
        return expected in seen[0]

    try:
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(shows)
    except TimeoutException:
        pass
    return seen[0]


def decide(driver: Any, key: str, action: str, note: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, f"note-{key}").send_keys(note)
    driver.find_element(By.CSS_SELECTOR, f'button[aria-label="{action} {key}"]').click()


@pytest.fixture
def pm(browser: Any, world: World) -> Any:
    """The browser with the PM's session, whichever test ran before (the order is random)."""
    from selenium.webdriver.common.by import By

    browser.get(f"{world.url}/")
    if browser.current_url.startswith(f"{world.url}/login"):
        browser.find_element(By.NAME, "email").send_keys(PM)
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        assert read(browser, By.TAG_NAME, "h1", "Projects") == "Projects"
    return browser


def test_a_pm_logs_in_with_the_keyboard_and_sees_every_project(browser: Any, world: World):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.delete_all_cookies()
    browser.get(f"{world.url}/")
    assert browser.current_url.startswith(f"{world.url}/login")
    shot(browser, "login")
    # The e-mail field has focus; Tab reaches the password, Enter submits.
    browser.switch_to.active_element.send_keys(PM, Keys.TAB, PASSWORD, Keys.ENTER)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Projects"
    body = browser.find_element(By.TAG_NAME, "main").text
    assert "ACME · Acme Corp" in body and "BETA" in body
    assert "Pending decisions" in body
    shot(browser, "projects")


def test_the_pm_approves_and_rejects_and_jira_shows_both(pm: Any, browser: Any, world: World):
    from selenium.webdriver.common.by import By

    from service.mirror.worker import run_once

    browser.get(f"{world.url}/projects/ACME")
    pending = [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "tr[id]")]
    assert f"change-{world.new_change}" in pending
    ours = {f"change-{world.new_change}", f"change-{world.client_change}"}
    approve = next(p.removeprefix("change-") for p in pending if p not in ours)
    shot(browser, "project")
    decide(browser, approve, "Approve", "agreed on Tuesday's call")
    assert f"{approve} is now approved." in read(browser, By.CSS_SELECTOR, ".flash", approve)
    decide(browser, world.new_change, "Reject", "not in this phase")
    flash = read(browser, By.CSS_SELECTOR, ".flash", world.new_change)
    assert f"{world.new_change} is now rejected." in flash

    browser.get(f"{world.url}/projects/ACME?show=decided")
    decided = browser.find_element(By.TAG_NAME, "table").text
    assert "agreed on Tuesday's call" in decided and "not in this phase" in decided

    run_once(world.rt)  # the worker takes the queued write-backs to Jira
    assert "scope-approved" in labels_in_jira(world, approve)
    assert "scope-rejected" in labels_in_jira(world, world.new_change)


def test_the_pm_sends_the_digest_and_the_client_approves_from_its_e_mail(
    pm: Any, browser: Any, world: World
):
    """One journey, in the order people take it: the PM previews and sends, the client reads the
    e-mail and approves a change from its link, and Jira shows the decision."""
    from selenium.webdriver.common.by import By

    browser.get(f"{world.url}/projects/ACME/digest?week=2026-W47")
    assert browser.find_element(By.ID, "send-state").text == "Not sent yet."
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.digest")
    browser.switch_to.frame(frame)
    digest_text = browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()
    assert "Acme Corp" in digest_text
    shot(browser, "digest")

    browser.find_element(By.ID, "send-now").click()
    # The browser refuses the form until the confirmation box is ticked: nothing sent.
    assert browser.find_element(By.ID, "send-state").text == "Not sent yet."
    assert world.mail == []
    browser.find_element(By.CSS_SELECTOR, "label[for=confirm]").click()
    browser.find_element(By.ID, "send-now").click()
    assert "The digest was sent." in read(browser, By.CSS_SELECTOR, ".flash", "sent")
    assert browser.find_element(By.ID, "send-state").text.startswith("2026-W47: sent")
    assert len(world.mail) == 1
    message = email.message_from_bytes(world.mail[0], policy=email.policy.default)
    assert str(message["Subject"]).startswith("[ACME] Week 47")

    client_approves_from_the_e_mail(browser, world)


def client_approves_from_the_e_mail(browser: Any, world: World) -> None:
    from selenium.webdriver.common.by import By

    from service.mirror.worker import run_once

    message = email.message_from_bytes(world.mail[-1], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    plain = body.get_content()
    # The change's own entry in "Awaiting your decision": its key starts the line, its links follow.
    link = re.search(rf"^{re.escape(world.client_change)} .*\n\s+Approve: (\S+)", plain, re.M)
    assert link is not None and link.group(1).startswith(f"{world.url}/decisions/")

    browser.delete_all_cookies()  # the client has no cockpit session
    browser.get(link.group(1))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Approve {world.client_change}?"
    assert "€" in browser.find_element(By.ID, "price").text
    shot(browser, "client-decision")
    browser.find_element(By.ID, "confirm-decision").click()
    assert read(browser, By.TAG_NAME, "h1", "Thank you") == "Thank you"
    assert f"{world.client_change} is approved." in browser.find_element(By.TAG_NAME, "p").text

    run_once(world.rt)
    assert "scope-approved" in labels_in_jira(world, world.client_change)


def test_the_pages_fit_a_phone_screen(pm: Any, browser: Any, world: World):
    browser.set_window_size(390, 844)
    try:
        for path in ("/", "/projects/ACME?show=all", "/projects/ACME/feedback"):
            browser.get(world.url + path)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at phone width"
        browser.get(world.url + "/projects/ACME?show=all")
        shot(browser, "phone")
    finally:
        browser.set_window_size(1280, 1600)
