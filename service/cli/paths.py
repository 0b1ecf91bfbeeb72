"""`--out` paths, checked before a command does its work, each mistake one line.

Click's own `Path` check reports a folder given for a file as a usage error: three lines of usage
and hint before the reason. These types say only the reason, and also catch what click does not
look at: a parent that is a file, or a folder nobody may write in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click


class OutPathError(click.ClickException):
    """A path a command cannot write: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"scopewatch: {self.message}", err=True)


def unwritable(path: Path, *, folder: bool) -> str | None:
    """Why `path` cannot be written (as a file, or as a folder to write into), or None."""
    if path.exists():
        if folder and not path.is_dir():
            return "is a file: give a folder to write into"
        if not folder and path.is_dir():
            return "is a folder: give a file name"
        if not os.access(path, os.W_OK | (os.X_OK if folder else 0)):
            return "cannot be written: permission denied"
        return None
    # The nearest part that exists is where the missing folders would be made.
    ancestor = next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not ancestor.is_dir():
        return f"cannot be made: {ancestor} is a file, not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot be made: no permission to write in {ancestor}"
    return None


class _Out(click.ParamType):
    folder = False

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = os.fspath(value)
        reason = unwritable(Path(text), folder=self.folder)
        if reason is not None:
            name = param.opts[0] if param is not None and param.opts else "path"
            raise OutPathError(f"{name} {text}: {reason}")
        return text


class OutFile(_Out):
    """A file to write; missing parent folders are made."""

    name = "file"


class OutFolder(_Out):
    """A folder to write files into; made when missing."""

    name = "folder"
    folder = True


OUT_FILE = OutFile()
OUT_FOLDER = OutFolder()
