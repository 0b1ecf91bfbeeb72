"""The client against a Data Center face of the sandbox: classic search, v2 comments, a PAT.

The sandbox speaks as Jira Cloud. In front of it, a small WSGI layer answers the way a Data Center
site does where the two differ for us: serverInfo says "Server", and neither REST v3 nor Cloud's
enhanced search exists. Everything else is the sandbox, over real HTTP.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Response

from mappings.model import Mapping
from service.jira.client import JiraClient
from service.sandbox import SandboxServer

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CLOUD_ONLY = ("/search/jql", "/search/approximate-count")


def data_center(app: Wsgi) -> Wsgi:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/rest/api/3/") or path.endswith(CLOUD_ONLY):
            missing = {"errorMessages": ["null for uri: " + path], "errors": {}}
            return _json(missing, 404)(environ, start_response)
        if path == "/rest/api/2/serverInfo":
            info = json.loads(Response.from_app(app, environ).get_data())
            info.update(deploymentType="Server", version="9.12.0", versionNumbers=[9, 12, 0])
            return _json(info, 200)(environ, start_response)
        return app(environ, start_response)

    return wsgi


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def dc_site() -> Iterator[SandboxServer]:
    server = SandboxServer()
    server.app.wsgi_app = data_center(server.app.wsgi_app)  # type: ignore[method-assign]
    with server:
        yield server


@pytest.fixture
def dc_client(dc_site: SandboxServer, mapping: Mapping) -> JiraClient:
    # No e-mail: the token is a personal access token, sent as a bearer token.
    return JiraClient(dc_site.url, None, "personal-access-token", mapping, max_wait=1.0)


def _log(site: SandboxServer) -> list[dict[str, Any]]:
    return site.sandbox.requests.entries()


def test_a_data_center_site_is_recognised(dc_client: JiraClient) -> None:
    assert dc_client.deployment_type == "Server"
    assert not dc_client.is_cloud


def test_search_pages_with_start_at(dc_client: JiraClient, dc_site: SandboxServer) -> None:
    total = dc_client.count('project = "ACME"')
    dc_site.sandbox.requests.clear()

    keys = [i["key"] for i in dc_client.search('project = "ACME" ORDER BY key', ["summary"], 7)]

    assert len(keys) == len(set(keys)) == total > 7
    searches = _log(dc_site)
    assert {r["path"] for r in searches} == {"/rest/api/2/search"}
    assert len(searches) == math.ceil(total / 7)


def test_search_embeds_the_changelog_when_asked(dc_client: JiraClient) -> None:
    # The classic search takes `expand` as a list in its POST body (Cloud's enhanced: a string).
    jql = 'project = "ACME" ORDER BY key'

    plain = next(dc_client.search_pages(jql, ["summary"], 5))
    with_history = next(dc_client.search_pages(jql, ["summary"], 5, changelog=True))

    assert [i["key"] for i in plain] == [i["key"] for i in with_history]
    assert all("changelog" not in issue for issue in plain)
    assert all(isinstance(i["changelog"]["histories"], list) for i in with_history)


def test_comments_are_plain_text_on_v2(dc_client: JiraClient, dc_site: SandboxServer) -> None:
    made = dc_client.add_comment("ACME-3", "Outside the baseline.\n\n[scopewatch change 3]")
    changed = dc_client.update_comment("ACME-3", made["id"], "Approved.\n\n[scopewatch change 3]")

    assert dc_client.comments("ACME-3")[-1]["body"] == changed["body"]
    assert changed["body"] == "Approved.\n\n[scopewatch change 3]"
    assert all(r["path"].startswith("/rest/api/2/") for r in _log(dc_site))
