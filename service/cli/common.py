"""What every `scopewatch` command shares: one way to fail (a line on stderr, exit 2), the
runtime of a command run by hand, the checks before work starts, and where output goes.

Only click at import time, like every module of `service.cli`: `scopewatch --help` loads no other
library; each helper imports what it needs when a command runs.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from service.cli.paths import OutPathError, unwritable

if TYPE_CHECKING:
    from mappings.model import Project
    from service.jira.client import JiraClient
    from service.runtime import Runtime
    from service.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """Bad input from the user: one line per problem on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"scopewatch: {line}", err=True)


def friendly(func: F) -> F:
    """Turns the errors operators cause into clear lines (`service.cli.problems` words them):
    settings, the mapping file, a database or Jira that is wrong or away, a file not writable.

    Every problem gets its own line, so a file with three mistakes is fixed in one round. What
    is not an operator's mistake is a bug, and keeps its traceback.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            from service.cli.problems import operator_line

            line = operator_line(exc)
            if line is None:
                raise
            raise UserError(line) from None

    return wrapper  # type: ignore[return-value]


def runtime(settings: Settings | None = None) -> Runtime:
    """The runtime of a command run by hand: it gives up on a Jira that does not answer."""
    from service.runtime import Runtime

    return Runtime.from_settings(settings, interactive=True)


def operator() -> str:
    """Who runs the command, for the audit trail: the login of the shell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return os.environ.get("USER") or "cli"


def require_migrated(rt: Runtime) -> None:
    from service.store.revisions import is_current

    if not is_current(rt.engine):
        raise UserError("the database is not migrated: run `scopewatch db upgrade` first")


def migrated_runtime() -> Runtime:
    """`runtime()` for a command that reads or writes the database: refused when unmigrated."""
    rt = runtime()
    require_migrated(rt)
    return rt


def require_jira(rt: Runtime) -> JiraClient:
    if rt.jira is None:
        raise UserError("Jira is not configured: set SCOPEWATCH_JIRA_URL and SCOPEWATCH_JIRA_TOKEN")
    rt.jira.connect()
    return rt.jira


def require_project(rt: Runtime, key: str) -> Project:
    project = rt.mapping.project(key)
    if project is None:
        known = ", ".join(p.key for p in rt.mapping.projects)
        raise UserError(f"{rt.mapping.source}: no project {key!r} (known: {known})")
    return project


def emit(data: Any, as_json: bool) -> None:
    if is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for key, value in data.items():
            click.echo(f"{key:>16}: {value}")


@contextmanager
def output(path: str | None, binary: bool = False) -> Iterator[Any]:
    """A file to write, or standard output when no --out is given."""
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    # Checked again: the path may have changed while the command worked.
    reason = unwritable(Path(path), folder=False)
    if reason is not None:
        raise OutPathError(f"--out {path}: {reason}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
        yield handle
