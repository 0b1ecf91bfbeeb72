"""The Jira adapter touches no private attribute: not of the `jira` library, not of anything.

Two checks. A reading of the source finds `thing._name`, `getattr(thing, "_name")` and
`from x import _name` on any line of `service/jira/`, error paths and Data Center included. A
watch on the library's objects, while the client runs every method against the sandbox, sees
every attribute our code reads from them, however it was spelled.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from jira import JIRA
from jira.resources import Resource

from mappings.model import Mapping
from tests.jira.jira_site import JiraSite, make_client

SOURCES = sorted((Path(__file__).resolve().parents[2] / "service" / "jira").glob("*.py"))
OWN = {"self", "cls"}  # a class may use its own private attributes


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reads(source: str) -> list[str]:
    """Each place the source reaches for someone else's private name, as `line: code`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in OWN):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            by_name = node.func.id in {"getattr", "hasattr"} and len(node.args) > 1
            named = node.args[1] if by_name else None
            if isinstance(named, ast.Constant) and _private(str(named.value)):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("service"):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _private(a.name)]
    return sorted(found, key=lambda place: int(place.split(":")[0]))


def test_the_reading_finds_what_the_old_client_did() -> None:
    old = """
session = jira._session
answer = self._library()._session.request("GET", url)
options = getattr(jira, "_options")
from jira.client import _field_worker
self._lock.acquire()
"""
    assert private_reads(old) == [
        "2: jira._session",
        "3: self._library()._session",
        "4: getattr(jira, '_options')",
        "5: import _field_worker",
    ]


def test_service_jira_reads_no_private_attribute() -> None:
    assert {path.name for path in SOURCES} >= {"client.py", "policy.py", "adf.py", "payloads.py"}
    found = {path.name: private_reads(path.read_text()) for path in SOURCES}
    assert found == {path.name: [] for path in SOURCES}


@pytest.fixture
def library_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names our code (any `service.jira` module) reads from the library's client and resources.

    The library's objects work as before; only who asked for what is written down.
    """
    seen: list[str] = []
    for cls in (JIRA, Resource):
        original = cls.__getattribute__

        def watched(obj: Any, name: str, original: Any = original) -> Any:
            frame = inspect.currentframe()
            caller = frame.f_back if frame is not None else None
            if caller is not None and str(caller.f_globals.get("__name__")).startswith(
                "service.jira"
            ):
                seen.append(name)
            return original(obj, name)

        monkeypatch.setattr(cls, "__getattribute__", watched)
    return seen


def test_every_method_uses_the_library_by_public_names_only(
    library_reads: list[str], mapping: Mapping, site: JiraSite
) -> None:
    client = make_client(site, mapping)
    assert client.is_cloud and client.server_info() and client.field_ids()
    assert client.count('project = "ACME"') and list(client.search('project = "ACME"', ["summary"]))
    assert client.get_issue("ACME-2")["key"] == "ACME-2"
    client.edit_issue("ACME-2", labels_add=["scope-change"])
    client.worklogs("ACME-2")
    made = client.add_comment("ACME-2", "Impact.\n\n[scopewatch change 2]")
    client.update_comment("ACME-2", made["id"], "Approved.\n\n[scopewatch change 2]")
    assert client.comments("ACME-2")[-1]["body"].startswith("Approved.")
    assert client.get_property("ACME-2", "scopewatch.impact") is None
    client.set_property("ACME-2", "scopewatch.impact", {"job": "w:2:1"})
    assert client.get_property("ACME-2", "scopewatch.impact") == {"job": "w:2:1"}

    # The watch saw our reads (so it would see a private one too) and none was private.
    assert {
        "deploymentType",
        "server_info",
        "fields",
        "approximate_issue_count",
        "enhanced_search_issues",
        "issue",
        "comments",
        "add_comment",
        "issue_property",
        "add_issue_property",
        "raw",
    } <= set(library_reads)
    assert [name for name in library_reads if _private(name)] == []
