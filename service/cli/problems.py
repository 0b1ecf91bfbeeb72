"""The one translation of an operator's mistake into the line `scopewatch` prints for it.

Errors are described where they are born (settings, the database, the Jira client); this module
only picks the description for an exception that reached a command, or None when the exception
is a bug, which keeps its traceback.
"""

from __future__ import annotations

import sys

from service.settings import SettingsError, load_settings

RETRYING = "the worker keeps retrying in the background"


def operator_line(exc: BaseException) -> str | None:
    """One line (several for a settings or mapping file) naming what is wrong and what to do."""
    from mappings import ConfigError

    if isinstance(exc, SettingsError):
        return "\n".join(exc.problems)
    if isinstance(exc, ConfigError):
        return str(exc)
    return _database_line(exc) or _jira_line(exc) or _file_line(exc)


def _database_line(exc: BaseException) -> str | None:
    from sqlalchemy.exc import DBAPIError

    from service.store.engine import DatabaseUnusable
    from service.store.problems import database_problem

    if isinstance(exc, DatabaseUnusable):
        return str(exc)
    if not isinstance(exc, DBAPIError):
        return None
    return database_problem(exc, load_settings().database_url)


def _jira_line(exc: BaseException) -> str | None:
    # Not imported unless Jira was reached: the `jira` library takes a quarter of a second.
    if "service.jira.policy" not in sys.modules:
        return None
    from service.jira.client import JiraRejected, JiraRetryLater, JiraUnusable

    if isinstance(exc, JiraUnusable):
        return str(exc)
    if isinstance(exc, JiraRejected):
        return f"Jira refused {exc.request or 'a request'} (HTTP {exc.status}): {exc.message}"
    if isinstance(exc, JiraRetryLater) and exc.pause_until is not None:
        return (
            f"Jira is rate limiting us ({exc.reason}): try again after "
            f"{exc.pause_until:%H:%M:%S} UTC; {RETRYING}"
        )
    if isinstance(exc, JiraRetryLater):
        seconds = load_settings().jira_give_up
        return (
            f"gave up on Jira after {seconds} s ({exc.reason}): check that it is up and that "
            f"SCOPEWATCH_JIRA_URL is right, or try again later; {RETRYING}"
        )
    return None


def _file_line(exc: BaseException) -> str | None:
    """A file or folder the command could not use, by its name and the system's reason."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return None
