"""`scopewatch project status|go-live|pause`: first contact, observed before it writes.

A project starts in observe mode: scopewatch mirrors, flags and prices, previews the digest to the
PM, and queues its Jira writes. `status` shows what is waiting; `go-live` lets it out (audited);
`pause` goes back to observing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from service.cli.common import UserError, friendly, migrated_runtime, operator, require_project


@click.group("project")
def project() -> None:
    """A project's mode: observe (no Jira write, digest previewed to the PM) or live."""


@project.command("status")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE|DATETIME",
    help="figures as they stood then (ISO 8601; a date is its 00:00 UTC); default now",
)
@click.option(
    "--total-in",
    "total_in",
    default=None,
    metavar="CURRENCY",
    help="also one total of the projects shown in this currency, with [[exchange_rates]]",
)
@friendly
def status(key: str | None, as_json: bool, as_of: str | None, total_in: str | None) -> None:
    """Mode, mirror catch-up, writes waiting, digests sent or skipped and why; the money: contract,
    budget used, alerts sent, forecast overrun, margin (the agency's eyes only)."""
    currency = _currency(total_in)
    rt = migrated_runtime()
    try:
        reports, total = _statuses(rt, key, as_of, currency)
    finally:
        rt.close()  # the connections go now, not whenever the pool is collected
    if as_json:
        shown: Any = reports if key is None else reports[0]
        if total is not None:
            shown = {"projects": reports, "total": asdict(total)}
        click.echo(json.dumps(shown, indent=2, default=str))
        return
    for report in reports:
        _print(report)
    if total is not None:
        _print_total(total, len(reports))


def _statuses(
    rt: Any, key: str | None, as_of: str | None, currency: str | None
) -> tuple[list[dict[str, Any]], Any]:
    """Each project's status with its money, and the total in `currency` if one is asked for."""
    from service.alerts.status import money_total
    from service.digest.status import project_status
    from service.store.engine import reader

    chosen = [require_project(rt, key)] if key else list(rt.mapping.projects)
    now = _moment(as_of) if as_of else rt.clock()
    with reader(rt.engine) as conn:
        reports = [project_status(conn, p, now) for p in chosen]
    for report in reports:
        report["money"] = _money(rt, report["project"], now)
    if currency is None:
        return reports, None
    statuses = [r["money"] for r in reports if "problem" not in r["money"]]
    if len(statuses) < len(reports):
        raise UserError(f"no total in {currency}: the money of some project is unavailable")
    return reports, money_total(rt.mapping, statuses, currency, now.date())


def _print_total(total: Any, projects: int) -> None:
    from service.alerts.status import total_facts

    if total.missing:
        raise UserError(": ".join(total_facts(total)[0]))
    click.echo(f"Total in {total.currency} of {projects} projects, as of {total.on}:")
    for label, text in total_facts(total):
        click.echo(f"  {label.lower()}: {text}")


def _currency(code: str | None) -> str | None:
    from babel.numbers import is_currency

    if code is not None and not is_currency(code.upper()):
        raise UserError(f"--total-in: {code!r} is not an ISO 4217 currency code such as EUR")
    return code.upper() if code else None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of: {text!r} is not an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _money(rt: Any, key: str, now: datetime) -> dict[str, Any]:
    """The project's money status, or the one-line reason it cannot be computed."""
    from service.alerts.status import money_status

    try:
        return money_status(rt.engine, rt.mapping, key, now)
    except ValueError as exc:
        return {"problem": str(exc).splitlines()[0]}


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
    _print_money(r["money"])


def _print_money(money: dict[str, Any]) -> None:
    from service.alerts.status import money_facts

    if "problem" in money:
        click.echo(f"  money: unavailable: {money['problem']}")
        return
    click.echo("  money (the agency's eyes only):")
    for label, text in money_facts(money):
        click.echo(f"    {label.lower()}: {text}")


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
