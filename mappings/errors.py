"""`ConfigError`: what is wrong with a mapping file, located by file, line and key."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

KeyPath = tuple[str | int, ...]


class ConfigError(Exception):
    """A mapping file that cannot be used, located as precisely as we can.

    The fields describe the first problem in the file; `problems` holds every problem found, so
    that one run of `mappings check` lists them all. `str()` is one line per problem.
    """

    def __init__(
        self,
        file: str,
        line: int | None,
        key: str,
        problem: str,
        column: int | None = None,
        problems: Sequence[ConfigError] = (),
    ) -> None:
        # All fields go to Exception so the error survives pickling (worker processes).
        super().__init__(file, line, key, problem, column, tuple(problems))
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.column = column
        self.problems: list[ConfigError] = list(problems) or [self]

    @classmethod
    def of(cls, problems: Sequence[ConfigError]) -> ConfigError:
        """One error for several problems, described by the first of them."""
        first = problems[0]
        return cls(first.file, first.line, first.key, first.problem, first.column, problems)

    def __str__(self) -> str:
        return "\n".join(p.location_and_problem() for p in self.problems)

    def location_and_problem(self) -> str:
        """This problem alone as one line: `file:line: key: problem`."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"


def show_key(key: str) -> str:
    """A key as TOML would need it written: quoted when it is not a bare key."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def format_path(path: KeyPath) -> str:
    """`("projects", 0, "digest", "hour")` as `projects[0].digest.hour`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{show_key(part)}" if text else show_key(part)
    return text
