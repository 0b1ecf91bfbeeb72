"""docs/openapi.yaml and the routes `create_app()` registers are the same set, method by method."""

from __future__ import annotations

import re

import pytest
import yaml

from service import create_app
from service.store.clock import frozen_clock
from service.web.webhooks import PATH
from tests.support import NOW, ROOT, app_settings

SPEC = ROOT / "docs" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}
# Flask answers these for every route by itself; they are not part of the API.
IMPLICIT = {"HEAD", "OPTIONS"}
CONVERTER = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def documented() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }


@pytest.fixture
def registered(sqlite_url) -> set[tuple[str, str]]:
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    try:
        routed = {
            (method, CONVERTER.sub(r"{\1}", rule.rule))
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"  # Flask's default static route; we serve no files
            for method in (rule.methods or set()) - IMPLICIT
        }
        # Intake answers before Flask's routing (service.web.webhooks): not in the URL map.
        return routed | {("POST", PATH)}
    finally:
        app.extensions["scopewatch"].engine.dispose()


def test_the_spec_is_valid_openapi():
    from openapi_spec_validator import validate

    validate(yaml.safe_load(SPEC.read_text(encoding="utf-8")))


def test_every_registered_route_is_in_the_spec(registered):
    missing = sorted(registered - documented())
    assert not missing, f"routes the app serves but docs/openapi.yaml omits: {missing}"


def test_every_route_in_the_spec_is_registered(registered):
    extra = sorted(documented() - registered)
    assert not extra, f"docs/openapi.yaml documents routes the app does not serve: {extra}"
