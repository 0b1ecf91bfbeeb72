"""`scopewatch demo` (`make demo`): one scripted week, end to end, on the embedded default.

Everything is real and local: the sandbox Jira over HTTP, the service on a SQLite file receiving the
sandbox's signed webhooks, the worker writing impact back into the sandbox through the `jira`
library, and the digest sent to an SMTP sink on loopback. The week is played by the "team" using
Jira's REST API, exactly as people clicking in Jira would cause.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click
import requests

import mappings
from reports import formats
from service.demo.week import WEEK, play_week
from service.settings import Settings

# The mapping ships inside the `mappings` package, so the demo runs from a wheel too.
SANDBOX_MAPPING = Path(mappings.__file__).with_name("sandbox.toml")
SECRET = "demo-webhook-secret"  # noqa: S105 - the demo runs on loopback with throw-away values
ADMIN = "demo-admin-token"
DIGEST_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


# The sandbox's third Jira project, a support retainer, joins the demo only: with ACME (time and
# materials) and BETA (fixed price) the demo shows one project of each contract.
RETAINER_PROJECT = """
# A support retainer: 20 hours a month, unused hours carried over (the demo's own addition).
# Its client reads German: the demo's German digest (out/digest-de.html, out/digest-de.txt).
[[projects]]
key = "CARE"
client = "Beta GmbH"
currency = "EUR"
locale = "de_DE"
budget = 12000
start = 2026-10-01
end = 2027-03-31
baseline = 2026-10-01T08:00:00Z
hours_per_point = 5
weekly_capacity_hours = 10
default_rate = 80
digest = { tz = "Europe/Vienna" }
pm = ["pm@agency.example"]
contract = "retainer"
retainer = { hours_per_month = 20, carry_over = true }
"""


GERMAN_PROJECT = "CARE"


def _demo_mapping(state: Path) -> Path:
    path = state / "mapping.toml"
    path.write_text(SANDBOX_MAPPING.read_text(encoding="utf-8") + RETAINER_PROJECT, "utf-8")
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[tuple[int, list[bytes]]]:
    """A local SMTP server that keeps what it receives (aiosmtpd)."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(envelope.content)
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, received
    finally:
        controller.stop()


@contextmanager
def web_service(settings: Settings) -> Iterator[str]:
    """The real Flask service, served by waitress on a free loopback port in a thread."""
    from service.web.app import create_app
    from service.web.server import background

    with background(create_app(settings)) as url:
        yield url


def say(text: str) -> None:
    click.echo(text)


def run_demo(out: Path) -> None:
    from service.sandbox import SandboxServer

    started = time.monotonic()
    state = out / "state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite:///{state / 'scopewatch.db'}",
        mappings=str(_demo_mapping(state)),
        webhook_secret=SECRET,
        admin_token=ADMIN,
        mail_from="scopewatch@agency.example",
    )
    _migrate(settings)
    with smtp_sink() as (smtp_port, received), web_service(settings) as service_url:
        with SandboxServer(
            webhook_url=f"{service_url}/webhooks/jira", webhook_secret=SECRET
        ) as sandbox:
            settings = Settings(
                **{
                    **settings.__dict__,
                    "jira_url": sandbox.url,
                    "jira_email": "sandbox@example.com",
                    "jira_token": "sandbox-token",
                    "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
                    "public_url": service_url,
                }
            )
            say(
                f"Sandbox Jira at {sandbox.url}; scopewatch at {service_url}; "
                f"SMTP sink on port {smtp_port}."
            )
            _story(settings, sandbox, out, received)
    say(f"\nDone in {time.monotonic() - started:.0f} s.")


def _migrate(settings: Settings) -> None:
    from service.store.engine import make_engine
    from service.store.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()


def _story(settings: Settings, sandbox: Any, out: Path, received: list[bytes]) -> None:
    from service.mirror.reconcile import reconcile
    from service.runtime import Runtime
    from service.scope.capture import capture_baseline

    rt = Runtime.from_settings(settings)
    client = rt.jira
    assert client is not None  # the settings above name the sandbox
    requests.post(f"{sandbox.url}/_sandbox/clock", json={"now": WEEK.start}, timeout=10)

    say("\n1. Monday morning: the agreed scope is captured from Jira as the baseline.")
    summary = capture_baseline(
        rt.engine, client, rt.mapping, "ACME", name="Agreed scope, W47", now=_now(sandbox)
    )
    say(
        f"   baseline v{summary.version}: {summary.issues} issues, {formats.hours(summary.hours)}, "
        f"{summary.unestimated} without an estimate"
    )
    for key in (p.key for p in rt.mapping.projects):
        reconcile(rt.engine, client, rt.mapping, key, since=None, now=_now(sandbox))
    say("   the mirror is filled from Jira (a reconcile sweep, as after any outage)")
    _go_live(rt, _now(sandbox))

    say("\n2. The week happens in Jira; each change reaches scopewatch as a signed webhook.")
    for line in play_week(sandbox.url):
        say(f"   {line}")
    sandbox.wait_for_webhooks(timeout=30)
    _drain(rt)

    say("\n3. scopewatch flagged and priced the new scope, on the tickets themselves:")
    _show_flagged(rt, sandbox.url)

    say("\n4. Monday 08:00 in Berlin: the weekly digest goes to the client.")
    _send_digest(rt, out, received)

    say("\n5. Each contract speaks its own burn (the same week, one project of each kind):")
    _show_contracts(rt)


def _go_live(rt: Any, now: datetime) -> None:
    """A new project starts in observe mode; the demo has nothing to check first, so it goes live
    at once, as `scopewatch project go-live KEY` does after a look at `project status`."""
    from service.projects.modes import LIVE, set_mode

    with rt.engine.begin() as conn:
        for key in ("ACME", "BETA"):
            set_mode(conn, key, LIVE, by="demo", now=now)
    say("   ACME and BETA go live: scopewatch may now write to their Jira and mail the client")


def _now(sandbox: Any) -> datetime:
    clock = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()
    return datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))


def _drain(rt: Any) -> None:
    from service.mirror.worker import run_once

    stats = run_once(rt)
    say(f"   worker: {stats.handled} events into the mirror, {stats.failed} failed")


def _show_flagged(rt: Any, jira_url: str) -> None:
    from service.scope.changes import list_changes
    from service.store.engine import reader

    with reader(rt.engine) as conn:
        changes = list_changes(conn, "ACME")
    for change in changes:
        hours = "needs estimate" if change["hours"] is None else formats.hours(change["hours"])
        priced = change["cost"] is not None
        cost = f", {formats.money(change['cost'], change['currency'])}" if priced else ""
        say(
            f"   {change['key']:<8} {change['summary'][:44]:<44} {hours}{cost} "
            f"[{change['decision']}] {'written to Jira' if change['written_back'] else 'queued'}"
        )
        comments = requests.get(
            f"{jira_url}/rest/api/2/issue/{change['key']}/comment",
            auth=("sandbox@example.com", "sandbox-token"),
            timeout=10,
        ).json()
        ours = [c["body"] for c in comments.get("comments", []) if "scopewatch" in c["body"]]
        if ours:
            say(f"            comment: {ours[-1].splitlines()[0][:96]}")


def _show_contracts(rt: Any) -> None:
    from service.digest.build import build_digest

    for project in rt.mapping.projects:
        contract = build_digest(rt, project.key, WEEK.name, DIGEST_AT)["budget"]["contract"]
        say(f"   {project.key:<5} {contract['type']:<19} {contract['summary']}")


def _german_digest(rt: Any) -> dict[str, bytes]:
    from reports.render import render_html, render_text
    from service.digest.build import build_digest

    digest = build_digest(rt, GERMAN_PROJECT, WEEK.name, DIGEST_AT)
    return {
        "digest-de.html": render_html(digest).encode(),
        "digest-de.txt": render_text(digest).encode(),
    }


def _send_digest(rt: Any, out: Path, received: list[bytes]) -> None:
    from reports.charts import burn_chart, scope_chart
    from reports.render import render_html, render_text
    from service.digest.build import build_digest
    from service.digest.send import send_digests
    from service.scope.export import export_scope_changes
    from service.store.engine import reader

    outcome = send_digests(rt, ["ACME"], week=WEEK.name, now=DIGEST_AT)
    again = send_digests(rt, ["ACME"], week=WEEK.name, now=DIGEST_AT)
    say(f"   send: {outcome['ACME']}; a second send for the same week: {again['ACME']}")
    digest = build_digest(rt, "ACME", WEEK.name, DIGEST_AT)
    files = {
        "digest.json": json.dumps(digest, indent=2, ensure_ascii=False).encode(),
        "digest.html": render_html(digest).encode(),
        # the PM's version: earned value, internal figures, every section
        "digest-pm.html": render_html(digest, audience="pm").encode(),
        "digest.txt": render_text(digest).encode(),
        # CARE's client reads German (the mapping's `locale`): the same renderers, in de_DE
        **_german_digest(rt),
        "burn.png": burn_chart(digest),
        "scope.png": scope_chart(digest),
    }
    if received:
        files["digest.eml"] = received[-1]
        message = message_from_bytes(received[-1], policy=policy.default)
        assert isinstance(message, EmailMessage)
        say(f"   subject: {message['Subject']}")
    with reader(rt.engine) as conn:
        project = rt.mapping.project("ACME")
        files["scope-changes.csv"] = export_scope_changes(
            conn, "ACME", "csv", tz=project.digest.tz, jira_url=rt.settings.jira_url
        )
    for name, data in files.items():
        (out / name).write_bytes(data)
    say(f"   emails received by the SMTP sink: {len(received)}")
    say(f"\nWritten to {out}/: " + ", ".join(sorted(files)))
