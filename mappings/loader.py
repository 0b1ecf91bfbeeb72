"""Reads a mapping file (TOML) into the frozen `mappings.model.Mapping`, checking every key.

A wrong mapping prices scope wrongly without anyone noticing, so the loader is strict: unknown keys,
wrong types and impossible values are errors that name the file, the line and the key. Things that
are legal but probably not what the author meant are warnings from `check_mapping`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mappings.model import WEEKDAYS, DigestSchedule, JiraFields, Mapping, Project, Statuses

T = TypeVar("T")
KeyPath = tuple[str | int, ...]
Convert = Callable[["_Source", KeyPath, Any], T]

PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]+")
CUSTOM_FIELD = re.compile(r"customfield_\d+")
CURRENCY = re.compile(r"[A-Z]{3}")
# Deliberately loose: the SMTP server is the judge of an address; this only catches slips such as
# a missing "@" or a name pasted instead of an address.
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")
# Jira's fixed status category keys; a status *name* here would silently match nothing.
STATUS_CATEGORIES = ("new", "indeterminate", "done")

TOP_KEYS = ("jira", "projects", "rates", "people", "estimates", "statuses")
JIRA_KEYS = tuple(JiraFields.__dataclass_fields__)
PROJECT_KEYS = (
    "key", "client", "currency", "budget", "start", "end", "baseline", "hours_per_point",
    "weekly_capacity_hours", "default_rate", "exclude_types", "digest", "categories",
)  # fmt: skip
DIGEST_KEYS = ("to", "day", "hour", "tz")
STATUS_KEYS = tuple(Statuses.__dataclass_fields__)
_REQUIRED: Any = object()


class ConfigError(Exception):
    """A mapping file that cannot be used, located as precisely as we can."""

    def __init__(
        self, file: str, line: int | None, key: str, problem: str, column: int | None = None
    ) -> None:
        # All fields go to Exception so the error survives pickling (worker processes).
        super().__init__(file, line, key, problem, column)
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.column = column

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read and validate the mapping file at `path`."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, None, "", "no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(name, None, "", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(name, None, "", f"cannot read: {exc.strerror}") from None
    return parse_mapping(text, source=name)


def parse_mapping(text: str, source: str = "<string>") -> Mapping:
    """Validate mapping TOML given as text; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, source) from None
    src = _Source(source, _key_lines(text))
    return _mapping(src, data)


def check_mapping(mapping: Mapping) -> list[str]:
    """Warnings about a valid mapping that will probably not do what its author wants."""
    warnings: list[str] = []
    rates = mapping.rate_by_role
    for person, role in mapping.people:
        if role not in rates:
            warnings.append(
                f'people.{_show_key(person)}: role "{role}" has no rate in [rates]; '
                "their hours are priced at the project's default_rate"
            )
    for i, project in enumerate(mapping.projects):
        where = f"projects[{i}] ({project.key})"
        if project.baseline is None:
            warnings.append(
                f"{where}: no baseline date; flags nothing until a baseline is captured with "
                f"`scopewatch baseline capture --project {project.key}`"
            )
        if project.categories:
            total = sum(budget for _, budget in project.categories)
            if not math.isclose(total, project.budget, abs_tol=0.005):
                warnings.append(
                    f"{where}: category budgets add up to {total:g}, "
                    f"the project budget is {project.budget:g} {project.currency}"
                )
        if not project.digest.to:
            warnings.append(f"{where}: digest has no recipients (`to`); no digest will be sent")
    return [f"{mapping.source}: {w}" for w in warnings]


# --- building the model -------------------------------------------------------------------------


def _mapping(src: _Source, data: dict[str, Any]) -> Mapping:
    _table(src, (), data, TOP_KEYS)
    rates = _pairs(src, ("rates",), data.get("rates", {}), _positive)
    roles = dict(rates)
    return Mapping(
        jira=_jira(src, data.get("jira", {})),
        projects=_projects(src, data.get("projects", _REQUIRED)),
        rates=rates,
        people=_pairs(src, ("people",), data.get("people", {}), _role_of(roles)),
        estimates=_pairs(src, ("estimates",), data.get("estimates", {}), _positive),
        statuses=_statuses(src, data.get("statuses", {})),
        source=src.name,
    )


def _jira(src: _Source, value: Any) -> JiraFields:
    table = _table(src, ("jira",), value, JIRA_KEYS)
    defaults = JiraFields()
    fields: dict[str, Any] = {}
    for key in ("story_points_field", "flagged_field"):
        fields[key] = _get(src, ("jira",), table, key, _custom_field, getattr(defaults, key))
    for key in ("impact_hours_field", "impact_cost_field"):
        fields[key] = _get(src, ("jira",), table, key, _custom_field, None)
    labels: dict[str, str] = {}
    for key in ("scope_change_label", "approved_label", "rejected_label"):
        label = _get(src, ("jira",), table, key, _label, getattr(defaults, key))
        # One label meaning two things would turn a rejection into an approval.
        same = next((k for k, v in labels.items() if v == label), None)
        if same:
            src.fail(("jira", key), f'must differ from {same}, both are "{label}"')
        labels[key] = label
    return JiraFields(**fields, **labels)


def _projects(src: _Source, value: Any) -> tuple[Project, ...]:
    if value is _REQUIRED:
        src.fail(("projects",), "missing: add at least one [[projects]] table")
    if not isinstance(value, list) or not value:
        src.fail(("projects",), f"must be one or more [[projects]] tables, got {_show(value)}")
    projects: list[Project] = []
    for i, item in enumerate(value):
        project = _project(src, ("projects", i), item)
        if any(p.key == project.key for p in projects):
            src.fail(("projects", i, "key"), f'"{project.key}" appears twice')
        projects.append(project)
    return tuple(projects)


def _project(src: _Source, path: KeyPath, value: Any) -> Project:
    table = _table(src, path, value, PROJECT_KEYS)
    project = Project(
        key=_get(src, path, table, "key", _project_key),
        client=_get(src, path, table, "client", _text),
        currency=_get(src, path, table, "currency", _currency),
        budget=_get(src, path, table, "budget", _positive),
        start=_get(src, path, table, "start", _date),
        end=_get(src, path, table, "end", _date),
        baseline=_get(src, path, table, "baseline", _baseline, None),
        hours_per_point=_get(src, path, table, "hours_per_point", _positive),
        weekly_capacity_hours=_get(src, path, table, "weekly_capacity_hours", _positive),
        default_rate=_get(src, path, table, "default_rate", _positive),
        exclude_types=_get(src, path, table, "exclude_types", _texts, ()),
        digest=_get(src, path, table, "digest", _digest, DigestSchedule()),
        categories=_get(src, path, table, "categories", _categories, ()),
    )
    if project.end < project.start:
        src.fail((*path, "end"), f"must not be before start ({project.start}), got {project.end}")
    return project


def _digest(src: _Source, path: KeyPath, value: Any) -> DigestSchedule:
    table = _table(src, path, value, DIGEST_KEYS)
    defaults = DigestSchedule()
    return DigestSchedule(
        to=_get(src, path, table, "to", _emails, defaults.to),
        day=_get(src, path, table, "day", _weekday, defaults.day),
        hour=_get(src, path, table, "hour", _hour, defaults.hour),
        tz=_get(src, path, table, "tz", _zone, defaults.tz),
    )


def _statuses(src: _Source, value: Any) -> Statuses:
    path: KeyPath = ("statuses",)
    table = _table(src, path, value, STATUS_KEYS)
    defaults = Statuses()
    lists = {
        key: _get(src, path, table, key, _texts, getattr(defaults, key)) for key in STATUS_KEYS
    }
    lists["done_categories"] = _get(
        src, path, table, "done_categories", _status_categories, defaults.done_categories
    )
    return Statuses(**lists)


def _categories(src: _Source, path: KeyPath, value: Any) -> tuple[tuple[str, float], ...]:
    return _pairs(src, path, value, _positive)


def _role_of(roles: dict[str, float]) -> Convert[str]:
    def convert(src: _Source, path: KeyPath, value: Any) -> str:
        role = _text(src, path, value)
        if role not in roles:
            known = ", ".join(roles) or "none, [rates] is empty"
            src.fail(path, f'role "{role}" is not in [rates] (roles there: {known})')
        return role

    return convert


# --- tables and lookups -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """The file being read: its name for messages and where each key sits in it."""

    name: str
    lines: dict[KeyPath, int]

    def fail(self, path: KeyPath, problem: str) -> NoReturn:
        raise ConfigError(self.name, _line_of(self.lines, path), _format_path(path), problem)


def _table(src: _Source, path: KeyPath, value: Any, allowed: Sequence[str]) -> dict[str, Any]:
    """`value` as a table, refusing keys outside `allowed`: a typo must not pass silently."""
    if not isinstance(value, dict):
        src.fail(path, f"must be a table, got {_show(value)}")
    for key in value:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            guess = f"did you mean {hint[0]}? " if hint else ""
            src.fail((*path, key), f"unknown key; {guess}valid keys: {', '.join(allowed)}")
    return value


def _get(
    src: _Source,
    path: KeyPath,
    table: dict[str, Any],
    key: str,
    convert: Convert[T],
    default: T = _REQUIRED,
) -> T:
    if key not in table:
        if default is _REQUIRED:
            src.fail((*path, key), "missing (required)")
        return default
    return convert(src, (*path, key), table[key])


def _pairs(
    src: _Source, path: KeyPath, value: Any, convert: Convert[T]
) -> tuple[tuple[str, T], ...]:
    """A table of free-form names (roles, people, issue types) to checked values, in file order."""
    if not isinstance(value, dict):
        src.fail(path, f"must be a table, got {_show(value)}")
    return tuple((name, convert(src, (*path, name), item)) for name, item in value.items())


# --- single values --------------------------------------------------------------------------------


def _positive(src: _Source, path: KeyPath, value: Any) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        src.fail(path, f"must be a positive number, got {_show(value)}")
    return float(value)


def _hour(src: _Source, path: KeyPath, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
        src.fail(path, f"must be a whole hour from 0 to 23, got {_show(value)}")
    return value


def _text(src: _Source, path: KeyPath, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        src.fail(path, f"must be a non-empty string, got {_show(value)}")
    return value


def _texts(src: _Source, path: KeyPath, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        src.fail(path, f"must be an array of strings, got {_show(value)}")
    return tuple(_text(src, (*path, i), item) for i, item in enumerate(value))


def _matching(pattern: re.Pattern[str], what: str) -> Convert[str]:
    def convert(src: _Source, path: KeyPath, value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            src.fail(path, f"must be {what}, got {_show(value)}")
        return value

    return convert


_project_key = _matching(PROJECT_KEY, 'a Jira project key such as "ACME" ([A-Z][A-Z0-9_]+)')
_currency = _matching(CURRENCY, 'a three-letter upper-case currency code such as "EUR"')
_custom_field = _matching(CUSTOM_FIELD, 'a custom field id such as "customfield_10016"')
_label = _matching(re.compile(r"\S+"), "a Jira label (no spaces)")
_email = _matching(EMAIL, 'an e-mail address such as "pm@example.com"')
_weekday = _matching(re.compile("|".join(WEEKDAYS)), f"one of {', '.join(WEEKDAYS)}")


def _emails(src: _Source, path: KeyPath, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        src.fail(path, f"must be an array of e-mail addresses, got {_show(value)}")
    return tuple(_email(src, (*path, i), item) for i, item in enumerate(value))


def _status_categories(src: _Source, path: KeyPath, value: Any) -> tuple[str, ...]:
    keys = _texts(src, path, value)
    for i, key in enumerate(keys):
        if key not in STATUS_CATEGORIES:
            allowed = ", ".join(STATUS_CATEGORIES)
            src.fail((*path, i), f'must be a Jira status category key ({allowed}), got "{key}"')
    return keys


def _zone(src: _Source, path: KeyPath, value: Any) -> str:
    name = _text(src, path, value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        src.fail(path, f'must be an IANA time zone such as "Europe/Berlin", got "{name}"')
    return name


def _date(src: _Source, path: KeyPath, value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        src.fail(path, f"must be a date such as 2026-09-01 (no quotes), got {_show(value)}")
    return value


def _baseline(src: _Source, path: KeyPath, value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # A local time would be read in whatever zone the server runs in: refuse to guess.
            src.fail(
                path,
                f"{value.isoformat()} has no UTC offset; write it with Z or an offset, "
                f"such as {value.isoformat()}Z",
            )
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    src.fail(
        path, f"must be a date-time with offset such as 2026-09-01T09:00:00Z, got {_show(value)}"
    )


# --- messages -------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as the author wrote it, more or less, for "got ..." in messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _show_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{_show_key(part)}" if text else _show_key(part)
    return text


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigError:
    # tomllib (3.11) only puts the position in the message: "Invalid value (at line 3, column 9)".
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        problem = message[: found.start()]
        line, column = int(found[1]), int(found[2])
        return ConfigError(source, line, "", f"invalid TOML: {problem}", column)
    problem = re.sub(r"\s*\(at end of document\)$", "", message)
    last_line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
    return ConfigError(source, last_line, "", f"invalid TOML at end of file: {problem}")


# --- line numbers ---------------------------------------------------------------------------------
# tomllib forgets positions, so we re-scan the text for table headers and `key =` lines. This is a
# line-based approximation of TOML (no keys inside multi-line strings, inline tables on one line),
# which is what mapping files look like; it only ever affects the line number of a message.

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"\s*({_DOTTED})\s*=")


def _key_lines(text: str) -> dict[KeyPath, int]:
    """Where each table and key is defined: key path -> 1-based line number."""
    lines: dict[KeyPath, int] = {}
    arrays: dict[KeyPath, int] = {}  # array-of-tables path -> entries seen so far
    table: KeyPath = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            in_multiline = _toggles_multiline(line, in_multiline)
            continue
        header = _HEADER.match(line)
        if header:
            table = _header_path(_split_key(header[2]), header[1] == "[[", arrays)
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            parts = _split_key(assign[1])
            for n in range(1, len(parts) + 1):
                lines.setdefault((*table, *parts[:n]), number)
        in_multiline = _toggles_multiline(line, in_multiline)
    return lines


def _header_path(parts: list[str], is_array: bool, arrays: dict[KeyPath, int]) -> KeyPath:
    """The path of a `[a.b]` or `[[a.b]]` header; an array-of-tables parent means its last entry."""
    path: KeyPath = ()
    for i, part in enumerate(parts):
        path = (*path, part)
        last = i == len(parts) - 1
        if last and is_array:
            count = arrays.get(path, 0)
            arrays[path] = count + 1
            path = (*path, count)
        elif path in arrays:
            path = (*path, arrays[path] - 1)
    return path


def _split_key(dotted: str) -> list[str]:
    parts = []
    for found in re.finditer(_KEY_PART, dotted):
        part = found[0]
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return parts


def _toggles_multiline(line: str, inside: bool) -> bool:
    """Whether we are inside a multi-line string after this line (an odd count of delimiters)."""
    count = line.count('"""') + line.count("'''")
    return inside != (count % 2 == 1)


def _line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, else of its nearest enclosing key (a missing key: its table's header)."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None
