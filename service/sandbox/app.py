"""The sandbox Flask app: a list of registrations around one in-memory Jira."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask

from . import api_activity, api_issues, api_meta, api_search, control, errors, guard
from .clock import Clock
from .context import EXTENSION, Sandbox
from .seeding import load_seed
from .state import JiraState
from .webhooks import WebhookDispatcher

REST_BLUEPRINTS = (api_meta.bp, api_issues.bp, api_activity.bp, api_search.bp)
# v2 and v3 share handlers; "latest" is what the jira library uses for a few calls (assignee).
REST_PREFIXES = {"2": "/rest/api/2", "3": "/rest/api/3", "latest": "/rest/api/latest"}


def create_sandbox_app(
    seed: dict[str, Any] | None = None,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    strict: bool = False,
    webhook_retry_delays: tuple[float, ...] = (1, 5, 30),
) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Jira's field order
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    seed = copy.deepcopy(seed) if seed is not None else load_seed()
    clock = Clock()
    app.extensions[EXTENSION] = Sandbox(
        state=JiraState(seed, clock),
        clock=clock,
        dispatcher=WebhookDispatcher(webhook_url, webhook_secret, webhook_retry_delays),
        seed=seed,
        strict=strict,
    )
    errors.init_app(app)
    guard.init_app(app)
    for version, prefix in REST_PREFIXES.items():
        for bp in REST_BLUEPRINTS:
            app.register_blueprint(bp, url_prefix=prefix, name=f"{bp.name}_v{version}")
    app.register_blueprint(control.bp)
    return app
