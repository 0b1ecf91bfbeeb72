"""Checks between keys, made on the file as `tomllib` read it, before and beside pydantic's.

They look at names (always strings in TOML) and at values only where those are of the right type,
so a wrong value elsewhere never hides them: a file with an unknown role and a wrong budget gets
both messages in one run. Each problem is `(key path, message, the value)`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mappings.errors import KeyPath
from mappings.values import unknown_key

Problem = tuple[KeyPath, str, Any]


def of_mapping(raw: dict[str, Any]) -> list[Problem]:
    """Every problem between the keys of a whole file.

    Also a file without projects: the schema could only say "missing (required)" there.
    """
    problems: list[Problem] = []
    if "projects" not in raw:
        problems.append((("projects",), "missing: add at least one [[projects]] table", None))
    projects = _tables(raw.get("projects"))
    roles = _names(raw.get("rates"))
    problems += _duplicate_keys(projects)
    problems += _people_roles(raw.get("people"), roles, projects)
    for i, project in projects:
        changes = _tables(project.get("rate_changes"))
        path: KeyPath = ("projects", i, "rate_changes")
        card = [r for r in _names(project.get("rates")) if r not in roles]
        problems += _rate_change_roles(path, changes, roles + card)
        problems += _rate_change_order(path, changes)
    problems += _exchange_rate_order(_tables(raw.get("exchange_rates")))
    return problems


def _duplicate_keys(projects: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    seen: set[str] = set()
    problems: list[Problem] = []
    for i, project in projects:
        key = project.get("key")
        if isinstance(key, str) and key in seen:
            problems.append((("projects", i, "key"), f'"{key}" appears twice', key))
        if isinstance(key, str):
            seen.add(key)
    return problems


def _people_roles(
    people: Any, roles: list[str], projects: list[tuple[int, dict[str, Any]]]
) -> list[Problem]:
    """Everyone's role has a rate somewhere: in [rates], or in a client's card (project rates)."""
    if not isinstance(people, dict):
        return []
    on_cards = [r for _, p in projects for r in _names(p.get("rates")) if r not in roles]
    where = "[rates]" if not on_cards else "[rates] or any project's rates"
    known = ", ".join(dict.fromkeys(roles + on_cards)) or "none, [rates] is empty"
    return [
        (("people", person), f'role "{role}" is not in {where} (roles there: {known})', role)
        for person, role in people.items()
        if isinstance(role, str) and role.strip() and role not in roles + on_cards
    ]


def _rate_change_roles(
    path: KeyPath, changes: list[tuple[int, dict[str, Any]]], roles: list[str]
) -> list[Problem]:
    """A rate change names roles that exist: a misspelt one would change nobody's rate."""
    listed = f"from, and roles of [rates] or this project's rates ({', '.join(roles) or 'none'})"
    problems: list[Problem] = []
    for j, change in changes:
        named = [k for k in change if k != "from"]
        if not named:
            problems.append(((*path, j), "names no role: add one, such as developer = 100", None))
        problems += [
            ((*path, j, k), unknown_key(k, ["from", *roles], listed), change[k])
            for k in named
            if k not in roles
        ]
    return problems


def _rate_change_order(
    path: KeyPath, changes: list[tuple[int, dict[str, Any]]], what: str = "rate change"
) -> list[Problem]:
    """Rate changes in date order, one per date: which one is in force must never be a guess."""
    problems: list[Problem] = []
    latest: tuple[int, date] | None = None  # the entry with the latest date so far
    for j, change in changes:
        start = change.get("from")
        if isinstance(start, datetime) or not isinstance(start, date):
            continue  # pydantic says what is wrong with it
        if latest and start == latest[1]:
            problem = f"{start} is the date of entry [{latest[0]}] too: one {what} a date"
            problems.append(((*path, j, "from"), problem, start))
        elif latest and start < latest[1]:
            problem = (
                f"{start} is before {latest[1]} of entry [{latest[0]}]: list them in date order"
            )
            problems.append(((*path, j, "from"), problem, start))
        else:
            latest = (j, start)
    return problems


def _exchange_rate_order(rates: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """Each pair of currencies in date order, one rate a date, as rate changes are."""
    pairs: dict[tuple[Any, Any], list[tuple[int, dict[str, Any]]]] = {}
    for j, rate in rates:
        pair = (rate.get("currency"), rate.get("to"))
        if all(isinstance(code, str) for code in pair):
            pairs.setdefault(pair, []).append((j, rate))
    problems: list[Problem] = []
    for (source, target), entries in pairs.items():
        problems += _rate_change_order(("exchange_rates",), entries, f"{source} -> {target} rate")
    return problems


def _tables(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The tables of an array of tables, with their index; anything else is pydantic's to report."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _names(table: Any) -> list[str]:
    return list(table) if isinstance(table, dict) else []
