"""`scopewatch`: every command a user or operator runs. Thin: parse, call, print, exit.

Errors end as one line on stderr naming what is wrong (file, line, key where it applies) and a
non-zero exit; tracebacks are for bugs, not for bad input.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

# Only click at import time: `scopewatch --help` and every command pay for what they use, not for
# pydantic, SQLAlchemy, pandas or matplotlib (issue 15, item 6). Each command imports its own.
from service.cli.common import (
    UserError,
    emit,
    friendly,
    migrated_runtime,
    operator,
    output,
    require_jira,
    require_migrated,
    require_project,
    runtime,
)
from service.cli.paths import OUT_FILE, OUT_FOLDER
from service.cli.project import project as project_group
from service.cli.scope import scope as scope_group
from service.cli.users import users as users_group

if TYPE_CHECKING:
    pass


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    from service.jira.payloads import parse_time

    parsed = parse_time(value)
    if parsed is None:
        raise UserError(f"--since {value!r}: not an ISO date or time (e.g. 2026-11-16T08:00:00Z)")
    return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """scopewatch: flags new scope in Jira, prices it, and tells the client every week."""
    from service.logs import configure_logging, secrets_from_env

    configure_logging(secrets_from_env())


# --- web, worker, all-in-one ----------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@friendly
def serve(host: str, port: int) -> None:
    """Web only (production: gunicorn "service:create_app()")."""
    from service import create_app
    from service.settings import load_settings
    from service.web.server import serve_app

    settings = load_settings()
    require_migrated(runtime(settings))
    serve_app(create_app(settings), host, port, max_body=settings.max_body)


@main.command()
@click.option("--once", is_flag=True, help="drain the inbox and due Jira effects, then exit 0")
@friendly
def worker(once: bool) -> None:
    """Processes the inbox and the Jira outbox."""
    from service.alerts.budget import PacedAlerts
    from service.digest.flag_notices import PacedFlagNotices
    from service.mirror import worker as worker_mod
    from service.runtime import Runtime

    rt = Runtime.from_settings()  # a service: it keeps retrying a Jira that does not answer
    require_migrated(rt)
    # Mailed within the worker's next idle round: budget alerts due, the clients' daily notes.
    alerts, notes = PacedAlerts(rt), PacedFlagNotices(rt)
    if once:
        stats = worker_mod.run_once(rt)
        mailed, noted = alerts(), notes()
        click.echo(f"processed {stats.handled} events, {stats.failed} failed")
        if mailed:
            click.echo(f"budget alerts mailed: {mailed}")
        if noted:
            click.echo(f"flag notes mailed: {noted}")
        return
    stop = threading.Event()
    try:
        worker_mod.run_forever(rt, stop=stop, also=lambda: alerts() + notes())
    except KeyboardInterrupt:
        stop.set()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@friendly
def run(host: str, port: int) -> None:
    """All in one process: web, worker and digest scheduler (the embedded default)."""
    from service.cli.allinone import run_all
    from service.settings import load_settings

    run_all(load_settings(), host, port)


# --- database ----------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Applies migrations (Alembic)."""
    from service.settings import load_settings
    from service.store.engine import make_engine
    from service.store.migrate import upgrade
    from service.store.revisions import head_revision

    settings = load_settings()
    upgrade(make_engine(settings.database_url))
    click.echo(f"database at revision {head_revision()}")


# --- the Jira side -----------------------------------------------------------------------------


@main.command()
@click.option("--port", "-p", default=8081, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--webhook-url", default=None, help="where to POST Jira-style webhooks")
@click.option("--webhook-secret", default=None, help="HMAC secret for X-Hub-Signature")
@click.option(
    "--seed",
    "seed_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="a seed JSON file instead of the default ACME/BETA projects",
)
@click.option("--strict", is_flag=True, help="only accept the sandbox's own credentials")
def sandbox(
    port: int,
    host: str,
    webhook_url: str | None,
    webhook_secret: str | None,
    seed_path: str | None,
    strict: bool,
) -> None:
    """The local Jira stand-in."""
    from service.sandbox import serve as serve_sandbox

    click.echo(f"sandbox Jira on http://{host}:{port}", err=True)
    serve_sandbox(
        port,
        host,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        seed_path=seed_path,
        strict=strict,
    )


@main.group()
def baseline() -> None:
    """The agreed scope, captured from Jira."""


@baseline.command("capture")
@click.option("--project", "project_key", required=True)
@click.option("--name", default=None)
@friendly
def baseline_capture(project_key: str, name: str | None) -> None:
    """Snapshots every issue of the project as the agreed scope (a new version)."""
    from service.scope.capture import capture_baseline

    rt = migrated_runtime()
    require_project(rt, project_key)
    client = require_jira(rt)
    with click.progressbar(length=0, label=f"capturing {project_key}", file=sys.stderr) as bar:

        def progress(done: int, total: int | None) -> None:
            if total:
                bar.length = total
            bar.update(done - bar.pos)

        summary = capture_baseline(
            rt.engine,
            client,
            rt.mapping,
            project_key,
            name=name,
            now=rt.clock(),
            progress=progress,
            by=operator(),
            channel="cli",
        )
    emit(summary, as_json=False)


@baseline.command("list")
@click.option("--project", "project_key", required=True)
@click.option("--json", "as_json", is_flag=True)
@friendly
def baseline_list(project_key: str, as_json: bool) -> None:
    """Lists the captured baselines of a project."""
    from service.scope.capture import list_baselines
    from service.store.engine import reader

    rt = runtime()
    require_project(rt, project_key)
    with reader(rt.engine) as conn:
        rows = list_baselines(conn, project_key)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo(f"no captured baseline for {project_key}")
    for row in rows:
        click.echo(
            f"v{row['version']}  {row['name']}  {row['captured_at']}  "
            f"{row.get('issues', '')} issues"
        )


@main.command()
@click.option("--project", "project_key", required=True)
@click.option("--since", default=None, help="ISO time; default: the last successful sweep")
@friendly
def reconcile(project_key: str, since: str | None) -> None:
    """Sweeps Jira by JQL for changes whose webhooks were missed."""
    from service.mirror.reconcile import reconcile as sweep

    rt = migrated_runtime()
    require_project(rt, project_key)
    summary = sweep(
        rt.engine,
        require_jira(rt),
        rt.mapping,
        project_key,
        since=parse_since(since),
        now=rt.clock(),
    )
    emit(summary, as_json=False)


# --- mappings ----------------------------------------------------------------------------------


@main.group()
def mappings() -> None:
    """The mapping file."""


@mappings.command("check")
@click.option("--file", "path", default=None, help="default: SCOPEWATCH_MAPPINGS")
@friendly
def mappings_check(path: str | None) -> None:
    """Validates the mapping file, and against Jira's field list when Jira is configured."""
    from mappings import check_mapping, load_mapping
    from service.settings import load_settings

    settings = load_settings()
    mapping = load_mapping(path or settings.mappings)
    for warning in check_mapping(mapping):
        click.echo(f"warning: {warning}", err=True)
    if settings.jira_configured:
        from service.jira.client import JiraClient, missing_custom_fields
        from service.scope.first_contact import baseline_date_warning
        from service.store.clock import system_clock

        client = JiraClient.from_settings(settings, mapping, interactive=True)
        missing = missing_custom_fields(client, mapping)
        if missing:
            raise UserError(f"{mapping.source}: custom fields not in Jira: {', '.join(missing)}")
        click.echo("custom fields: all found in Jira")
        for i, project in enumerate(mapping.projects):
            flags = baseline_date_warning(client, project, system_clock())
            if flags:
                where = f"{mapping.source}: projects[{i}] ({project.key})"
                click.echo(f"warning: {where}: {flags}", err=True)
    from reports.exchange import show_exchange_rates
    from reports.rates import show_rate_table

    for line in show_rate_table(mapping):  # the rates as resolved, for the PM to check
        click.echo(line)
    for line in show_exchange_rates(mapping.exchange_rates):
        click.echo(line)
    projects = ", ".join(p.key for p in mapping.projects)
    click.echo(f"{mapping.source}: OK ({len(mapping.projects)} projects: {projects})")


# --- the inbox ---------------------------------------------------------------------------------


@main.group("inbox")
def inbox_group() -> None:
    """Webhook deliveries."""


@inbox_group.command("stats")
@click.option("--json", "as_json", is_flag=True)
@friendly
def inbox_stats(as_json: bool) -> None:
    """Counts of deliveries: pending, done, failed, rejected, duplicates."""
    from service.intake import inbox
    from service.store.engine import reader

    rt = migrated_runtime()
    with reader(rt.engine) as conn:
        emit(inbox.stats(conn), as_json)


@inbox_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--batch", default=1000, show_default=True, type=int)
@friendly
def inbox_import(path: str, batch: int) -> None:
    """Bulk-loads webhook bodies, one JSON document a line (same checks and dedupe as intake)."""
    from service.intake.bulk_import import import_jsonl

    rt = migrated_runtime()
    summary = import_jsonl(rt.engine, path, batch_size=batch, now=rt.clock)
    emit(summary, as_json=False)
    if summary.rejected:
        raise UserError(f"{path}: {summary.rejected} lines rejected (first: {summary.first_error})")


# --- the digest ----------------------------------------------------------------------------------


@main.group()
def digest() -> None:
    """The weekly client digest."""


@digest.command("build")
@click.option("--project", "project_key", required=True)
@click.option("--week", default=None, help="YYYY-Www; default: the last full week")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "html", "text", "eml"]),
    default="json",
    show_default=True,
)
@click.option("--out", default=None, type=OUT_FILE)
@friendly
def digest_build(project_key: str, week: str | None, fmt: str, out: str | None) -> None:
    """Builds a digest without sending it."""
    from service.digest.build import build_output

    rt = migrated_runtime()
    require_project(rt, project_key)
    try:
        data = build_output(rt, project_key, week, fmt)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with output(out, binary=isinstance(data, bytes)) as handle:
        handle.write(data)


@digest.command("send")
@click.option("--project", "project_key", default=None)
@click.option("--week", default=None, help="YYYY-Www; default: the last full week")
@click.option("--all", "all_projects", is_flag=True, help="every project of the mapping")
@click.option("--due", is_flag=True, help="only the week due now, within its grace window")
@click.option("--resend", is_flag=True, help="send --week again on purpose (audited)")
@click.option("--by", default=None, help="who resends (default: the OS user)")
@friendly
def digest_send(
    project_key: str | None,
    week: str | None,
    all_projects: bool,
    due: bool,
    resend: bool,
    by: str | None,
) -> None:
    """Sends once per project and week; every project is tried, failures exit 1 at the end."""
    from reports.period import parse_week
    from service.digest.send import Resend, failed, send_digests

    if not project_key and not all_projects:
        raise UserError("give --project KEY or --all")
    if resend and (not project_key or not week or due):
        raise UserError("--resend needs --project KEY and --week YYYY-Www (and no --due)")
    if week is not None:
        try:
            parse_week(week)
        except ValueError as exc:
            raise UserError(f"--week: {exc}") from None
    rt = migrated_runtime()
    if project_key:
        require_project(rt, project_key)
    if not rt.settings.smtp_url or not rt.settings.mail_from:
        raise UserError("mail is not configured: set SCOPEWATCH_SMTP_URL and SCOPEWATCH_MAIL_FROM")
    if resend:
        import getpass

        again = Resend(by=by or getpass.getuser())
    results = send_digests(
        rt,
        [project_key] if project_key else None,
        week=week,
        due_only=due,
        resend=again if resend else None,
    )
    for key, outcome in results.items():
        click.echo(f"{key}: {outcome}")
    if any(failed(outcome) for outcome in results.values()):
        sys.exit(1)


# --- export and demo ---------------------------------------------------------------------------


@main.group()
def export() -> None:
    """Exports for spreadsheets."""


@export.command("scope-changes")
@click.option("--project", "project_key", required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option("--out", default=None, type=OUT_FILE)
@friendly
def export_scope_changes(project_key: str, fmt: str, out: str | None) -> None:
    """The change log of a project."""
    from service.scope.export import export_scope_changes as export_changes
    from service.store.engine import reader

    rt = migrated_runtime()
    project = require_project(rt, project_key)
    with reader(rt.engine) as conn:
        data = export_changes(
            conn, project.key, fmt, tz=project.digest.tz, jira_url=rt.settings.jira_url
        )
    with output(out, binary=True) as handle:
        handle.write(data)


@main.command()
@click.option("--out", default="out", show_default=True, type=OUT_FOLDER)
@friendly
def demo(out: str) -> None:
    """What `make demo` runs: a scripted week through the sandbox, end to end."""
    from service.demo.run import run_demo

    run_demo(Path(out))


main.add_command(scope_group)
main.add_command(users_group)
main.add_command(project_group)

if __name__ == "__main__":  # pragma: no cover
    main()
