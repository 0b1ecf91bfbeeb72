"""A database failure as one line an operator can act on: what is wrong, and what to do.

The line is built from the URL (its password masked) and from the driver's reason, sorted into the
mistakes operators make: a server that does not answer, a role or database that does not exist, a
refused password, a file that cannot be opened, a schema that was never migrated. Anything else is
not ours to explain and stays a traceback.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

SETTING = "SCOPEWATCH_DATABASE_URL"
NOT_MIGRATED = "the database is not migrated: run `scopewatch db upgrade` first"

# PostgreSQL's SQLSTATEs for a table or column the code expects and the schema lacks.
_UNDEFINED = {"42P01", "42703"}
_NO_ANSWER = (
    "connection refused",
    "failed to resolve host",
    "could not translate host name",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "no such file or directory",  # a Unix socket nobody listens on
)


def database_problem(exc: BaseException, url: str) -> str | None:
    """One line for `exc`, raised using the database at `url`; None if it is not one we know."""
    if not isinstance(exc, DBAPIError):
        return None
    parsed = make_url(url)
    reason = _first_line(str(exc.orig), parsed)
    lowered = reason.lower()
    if _undefined(exc, lowered):
        return NOT_MIGRATED if not _migrated(url) else None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_problem(lowered, parsed)
    connecting = str(exc.orig).lower().startswith(("connection failed", "connection to server"))
    return _postgres_problem(reason, lowered, parsed, connecting)


def _postgres_problem(reason: str, lowered: str, url: URL, connecting: bool) -> str | None:
    where = f"PostgreSQL at {url.render_as_string(hide_password=True)}"
    user, database = url.username or "(the current user)", url.database or url.username
    if re.search(r'role ".*" does not exist', lowered):
        return f"{where}: no role {user!r}: create it or fix the user in {SETTING}"
    if re.search(r'database ".*" does not exist', lowered):
        return (
            f"{where}: no database {database!r}: create it (createdb) or fix the name in "
            f"{SETTING}, then run `scopewatch db upgrade`"
        )
    if "password authentication failed" in lowered:
        return f"{where}: the password of role {user!r} was refused: fix it in {SETTING}"
    if "no password supplied" in lowered:
        return f"{where}: role {user!r} needs a password and {SETTING} gives none"
    if "pg_hba.conf" in lowered:
        return f"{where}: the server does not let role {user!r} in from here (pg_hba.conf)"
    if any(words in lowered for words in _NO_ANSWER):
        return (
            f"{where} does not answer ({reason}): start it, or fix the host and port in {SETTING}"
        )
    if connecting:
        return f"{where}: cannot connect ({reason})"
    return None


def _sqlite_problem(lowered: str, url: URL) -> str | None:
    path = url.database or ":memory:"
    if "unable to open database file" in lowered:
        return (
            f"cannot open the SQLite file {path}: its folder must exist and be writable "
            f"(fix {SETTING})"
        )
    if "file is not a database" in lowered:
        return f"{path} is not a SQLite database: point {SETTING} at another file"
    return None


def _undefined(exc: DBAPIError, lowered: str) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _UNDEFINED:
        return True
    return lowered.startswith(("no such table", "no such column"))


def _migrated(url: str) -> bool:
    """Whether the schema is at the code's head: if so, a missing table is a bug, not a mistake."""
    from service.store.engine import make_engine
    from service.store.revisions import is_current

    engine = make_engine(url)
    try:
        return is_current(engine)
    except DBAPIError:
        return False
    finally:
        engine.dispose()


def _first_line(text: str, url: URL) -> str:
    """The driver's reason without its hints, and never the password (libpq does not print it,
    but a URL echoed by some layer might)."""
    line = " ".join(text.strip().splitlines()[:1]).strip()
    line = re.sub(r"^connection failed: ", "", line)
    line = re.sub(r'^connection to server at "[^"]*"(, port \d+)? failed: ', "", line)
    line = re.sub(r"^FATAL:\s+", "", line)
    if url.password:
        line = line.replace(str(url.password), "***")
    return line
