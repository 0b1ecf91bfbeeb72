"""`scopewatch scope reprice --project KEY`: pending scope changes priced at today's rates."""

from __future__ import annotations

import click

from service.cli.commands import friendly, require_migrated, require_project, runtime


@click.command("reprice")
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


def attach(main: click.Group) -> None:
    """`reprice` under `scope`, whichever module made the `scope` group (or a new one)."""
    group = main.commands.get("scope")
    if not isinstance(group, click.Group):
        group = click.Group("scope", help="Scope changes.")
        main.add_command(group)
    group.add_command(reprice)
