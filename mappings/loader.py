"""Reads a mapping file (TOML) into the frozen `mappings.model.Mapping`, checking every key.

A wrong mapping prices scope wrongly without anyone noticing, so the loader is strict: unknown keys,
wrong types and impossible values are errors that name the file, the line and the key, all of them
in one go. Things that are legal but probably not what the author meant are warnings from
`check_mapping` (mappings.check).
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from mappings.errors import ConfigError, KeyPath, format_path
from mappings.lines import key_lines, line_of, path_at
from mappings.model import Mapping
from mappings.schema import MappingTable
from mappings.values import problem_of

# A TOML date or date-time literal, to say which one tomllib could not read.
_DATE_LITERAL = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
)


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
        # Every float as the Decimal written: budget = 120000.50 stays exact, to the cent.
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, source) from None
    try:
        table = MappingTable.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        problems = [_located(source, lines, tuple(e["loc"]), problem_of(e)) for e in exc.errors()]
        # In file order, so the first one (the error's own fields) is the first a reader meets.
        problems.sort(key=lambda p: p.line or 0)
        raise ConfigError.of(problems) from None
    return table.build(source)


def _located(source: str, lines: dict[KeyPath, int], path: KeyPath, problem: str) -> ConfigError:
    return ConfigError(source, line_of(lines, path), format_path(path), problem)


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigError:
    # tomllib (3.11) only puts the position in the message: "Invalid value (at line 3, column 9)".
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        problem = message[: found.start()]
        line, column = int(found[1]), int(found[2])
        return _impossible_date(text, source, line) or ConfigError(
            source, line, "", f"invalid TOML: {problem}", column
        )
    problem = re.sub(r"\s*\(at end of document\)$", "", message)
    last_line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
    return ConfigError(source, last_line, "", f"invalid TOML at end of file: {problem}")


def _impossible_date(text: str, source: str, line: int) -> ConfigError | None:
    """`start = 2026-02-30` is a syntax error to tomllib; to the author, a wrong date at a key."""
    lines = text.splitlines()
    source_line = lines[line - 1] if line <= len(lines) else ""
    value = source_line.split("=", 1)[1] if "=" in source_line else ""
    for literal in _DATE_LITERAL.findall(value):
        reason = _why_not_a_date(literal)
        if reason:
            path = path_at(key_lines(text), line)
            key = format_path(path) if path else ""
            what = "date" if len(literal) == 10 else "date-time"
            return ConfigError(source, line, key, f"not a real {what}: {literal} ({reason})")
    return None


def _why_not_a_date(literal: str) -> str | None:
    try:
        if len(literal) == 10:
            date.fromisoformat(literal)
        else:
            datetime.fromisoformat(literal.replace("z", "Z").replace("t", "T"))
    except ValueError as exc:
        return str(exc)
    return None
