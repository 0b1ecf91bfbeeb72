"""Where each key of a mapping file sits: `tomllib` forgets positions, so we re-scan the text.

This is a line-based approximation of TOML (no keys inside multi-line strings, inline tables on one
line), which is what mapping files look like; it only ever affects the line number of a message.
"""

from __future__ import annotations

import json
import re

from mappings.errors import KeyPath

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"\s*({_DOTTED})\s*=")


def key_lines(text: str) -> dict[KeyPath, int]:
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
            if header[1] == "[[":  # the array itself starts at its first entry
                lines.setdefault(table[:-1], number)
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


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, else of its nearest enclosing key (a missing key: its table's header)."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def path_at(lines: dict[KeyPath, int], line: int) -> KeyPath | None:
    """The most precise key defined on `line`, if any (a dotted key defines its parents too)."""
    here = [path for path, number in lines.items() if number == line]
    return max(here, key=len, default=None)
