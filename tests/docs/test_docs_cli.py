"""Every `scopewatch …` command line the operator docs show exists, with the options they show."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from service.cli import main
from tests.support import ROOT

DOCS = ("docs/connecting-jira.md", "docs/operating.md", "README.md")
# Code only: inline `…` spans and fenced blocks, where a reader copies commands from.
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
SPAN = re.compile(r"`([^`\n]+)`")
# `scopewatch` in command position (not, say, a database named scopewatch in an argument); the
# invocation ends where a shell would start another command.
INVOCATION = re.compile(
    r"(?:^|[;&|(]|\b(?:do|then|exec|sudo))[ \t]*scopewatch((?:[ \t]+[^\s|;&)`]+)+)"
)
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$|^<.*>$")


def code_lines(text: str) -> list[str]:
    blocks = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    spans = SPAN.findall(FENCE.sub("", text))
    return blocks + spans


def invocations(doc: str) -> list[list[str]]:
    """Each `scopewatch a b --opt V` found in the doc's code, as its words."""
    found = []
    for line in code_lines((ROOT / doc).read_text(encoding="utf-8")):
        line = line.split("#", 1)[0]  # a shell comment is prose
        for match in INVOCATION.finditer(line):
            words = [w.strip("[]") for w in match.group(1).split()]
            if words and not PLACEHOLDER.match(words[0]):
                found.append(words)
    return found


def resolve(words: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The command the words name (walking groups), its path, and the option names given to it."""
    command: click.Command = main
    rest = list(words)
    path: list[str] = []
    while isinstance(command, click.Group):
        assert rest, f"`scopewatch {' '.join(path)}` is a group: name one of its commands"
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"`scopewatch {' '.join([*path, name])}`: no such command"
        command, path = sub, [*path, name]
    options = [w.split("=", 1)[0] for w in rest if w.startswith("-")]
    return command, path, options


ALL = sorted({(doc, tuple(words)) for doc in DOCS for words in invocations(doc)})


def test_the_docs_show_commands_at_all():
    shown = {doc for doc, _ in ALL}
    assert shown == set(DOCS), f"no `scopewatch …` command found in {set(DOCS) - shown}"


@pytest.mark.parametrize(("doc", "words"), ALL, ids=[f"{d}:{' '.join(w)}" for d, w in ALL])
def test_every_command_shown_exists_with_its_options(doc, words):
    command, _, options = resolve(list(words))
    known = {name for param in command.params for name in param.opts + param.secondary_opts}
    known |= {"--help", "-h"}
    unknown = [o for o in options if o not in known]
    assert not unknown, f"{doc}: `scopewatch {' '.join(words)}`: no option {unknown}"


def test_every_command_shown_answers_help():
    runner = CliRunner()
    paths = {tuple(resolve(list(words))[1]) for _, words in ALL}
    for path in sorted(paths):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
