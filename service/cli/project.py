"""`scopewatch project status|go-live|pause`: first contact, observed before it writes.

A project starts in observe mode: scopewatch mirrors, flags and prices, previews the digest to the
PM, and queues its Jira writes. `status` shows what is waiting; `go-live` lets it out (audited);
`pause` goes back to observing.
"""

from __future__ import annotations

import json
from typing import Any

import click

from service.cli.common import friendly, migrated_runtime, operator, require_project


@click.group("project")
def project() -> None:
    """A project's mode: observe (no Jira write, digest previewed to the PM) or live."""


@project.command("status")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True)
@friendly
def status(key: str | None, as_json: bool) -> None:
    """Mode, mirror catch-up, writes waiting, digests sent or skipped and why."""
    from service.digest.status import project_status
    from service.store.engine import reader

    rt = migrated_runtime()
    chosen = [require_project(rt, key)] if key else list(rt.mapping.projects)
    now = rt.clock()
    with reader(rt.engine) as conn:
        reports = [project_status(conn, p, now) for p in chosen]
    if as_json:
        click.echo(json.dumps(reports if key is None else reports[0], indent=2, default=str))
        return
    for report in reports:
        _print(report)


def _print(r: dict[str, Any]) -> None:
    mirror = r["mirror"]
    click.echo(f"{r['project']} ({r['client']}): {r['mode'].upper()}")
    for change in r["mode_changes"]:
        click.echo(
            f"  mode {change['mode']} since {change['at']:%Y-%m-%d %H:%M} UTC by {change['by']}"
        )
    if r["mode"] != "live":
        click.echo("  observe mode: nothing is written to Jira, the client gets no digest")
    caught = "caught up" if mirror["caught_up"] else f"NOT caught up: {mirror['why_not']}"
    swept = mirror["last_reconcile_at"]
    when = f"{swept:%Y-%m-%d %H:%M} UTC" if swept else "never"
    click.echo(f"  mirror: {caught}; last reconcile {when}")
    writes = r["writes_waiting"]
    click.echo(f"  writes waiting for Jira: {len(writes)}")
    for w in writes:
        labels = " ".join(
            [f"+{x}" for x in w["labels_add"]] + [f"-{x}" for x in w["labels_remove"]]
        )
        fields = ", ".join(f"{k}={v}" for k, v in w["fields"].items()) or "no fields"
        click.echo(f"    {w['issue']}: labels {labels or 'none'}; {fields}")
        if w["comment"]:
            for line in str(w["comment"]).splitlines():
                click.echo(f"      | {line}")
        if w["last_error"]:
            click.echo(f"      last error: {w['last_error']}")
    due = r["digest_due"]
    click.echo(
        f"  digest due: {due['week']} (send time {due['send_at']:%Y-%m-%d %H:%M} UTC, "
        f"grace until {due['grace_until']:%Y-%m-%d %H:%M} UTC)"
    )
    click.echo(f"  digests: {len(r['digests'])}")
    for d in r["digests"]:
        extra = f" to {', '.join(d['to'])}" if d["to"] else ""
        extra += f" by {d['by']}" if d["by"] else ""
        why = f": {d['why']}" if d["why"] else ""
        click.echo(f"    {d['week']} {d['what']} {d['at']:%Y-%m-%d %H:%M}{extra}{why}")


def _switch(key: str, mode: str, by: str | None) -> None:
    from service.projects.modes import set_mode

    rt = migrated_runtime()
    require_project(rt, key)
    who = by or operator()
    with rt.engine.begin() as conn:
        changed = set_mode(conn, key, mode, by=who, now=rt.clock())
    if not changed:
        click.echo(f"{key} is already {mode}")
    elif mode == "live":
        click.echo(f"{key} is live (by {who}): waiting writes go to Jira, the digest to the client")
    else:
        click.echo(f"{key} is paused (by {who}): writes wait, the digest goes to the PM only")


@project.command("go-live")
@click.argument("key")
@click.option("--by", default=None, help="who decided (default: the OS user)")
@friendly
def go_live(key: str, by: str | None) -> None:
    """Start writing to Jira and mailing the client (audited)."""
    _switch(key, "live", by)


@project.command("pause")
@click.argument("key")
@click.option("--by", default=None, help="who decided (default: the OS user)")
@friendly
def pause(key: str, by: str | None) -> None:
    """Back to observe mode: writes wait, the digest goes to the PM only (audited)."""
    _switch(key, "observe", by)
