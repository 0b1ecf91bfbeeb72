"""`scopewatch scope …`: deciding on a scope change from the command line (audited)."""

from __future__ import annotations

import click

from service.cli.common import (
    UserError,
    friendly,
    migrated_runtime,
    operator,
    require_migrated,
    require_project,
    runtime,
)


@click.group("scope")
def scope() -> None:
    """Scope changes: decide, reopen, take a flag back."""


@scope.command("decide")
@click.argument("issue_key")
@click.argument("decision", type=click.Choice(["approved", "rejected", "not-scope", "pending"]))
@click.option("--note", default=None, help="why, in a sentence (kept in the audit trail)")
@friendly
def scope_decide(issue_key: str, decision: str, note: str | None) -> None:
    """Decide a scope change: approved, rejected, not-scope (agreed work: the flag comes off
    the ticket) or pending (reopen: the flag comes back)."""
    from service.scope.decisions import decide
    from service.scope.model import Invalid, NotFound

    rt = migrated_runtime()
    key = issue_key.strip().upper()  # Jira keys are upper case; people type them any way
    project_key = key.rpartition("-")[0]
    if not project_key:
        raise UserError(f"{issue_key!r} is not an issue key like ACME-12")
    if rt.mapping.project(project_key) is None:
        known = ", ".join(p.key for p in rt.mapping.projects)
        raise UserError(f"{rt.mapping.source}: no project {project_key!r} (known: {known})")
    try:
        with rt.engine.begin() as conn:
            change = decide(
                conn,
                rt.mapping,
                project_key,
                key,
                decision,
                note,
                rt.clock(),
                channel="cli",
                by=operator(),
            )
    except (NotFound, Invalid) as exc:
        raise UserError(str(exc)) from None
    jira = "queued for Jira" if not change["written_back"] else "Jira already shows it"
    click.echo(f"{change['key']}: {change['decision']} (by {change['decided_by']}; {jira})")


@scope.command("reprice")
@click.option("--project", "project_key", required=True, help="the Jira project key")
@friendly
def reprice(project_key: str) -> None:
    """Re-prices pending changes at today's rates (a new impact version, the Jira comment edited
    once); approved changes keep the price the client agreed."""
    from service.scope.reprice import reprice_pending

    rt = runtime()
    try:
        require_migrated(rt)
        project = require_project(rt, project_key)
        with rt.engine.begin() as conn:
            done = reprice_pending(conn, rt.mapping, project, rt.clock())
    finally:
        rt.close()  # the connections go now, not whenever the pool is collected
    for change in done:
        click.echo(
            f"{change.key}: {_cost(change.old_cost)} -> {_cost(change.new_cost)} "
            f"{project.currency} at {change.rate}/h (impact version {change.version})"
        )
    click.echo(f"{project_key}: {len(done)} pending changes re-priced")


def _cost(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:.2f}"
