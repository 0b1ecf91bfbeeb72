"""The app factory: defaults, then `SCOPEWATCH_*` from the environment, then test overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service.runtime import Runtime
from service.settings import Settings, check_intake, load_settings
from service.store.clock import Clock
from service.web import (
    api,
    cockpit,
    decision_links,
    errors,
    feedback,
    health,
    previews,
    sessions,
    webhooks,
)
from service.web.context import METRICS, RUNTIME
from service.web.metrics import Metrics
from service.web.unread_body import drain_after_request


def create_app(
    overrides: Mapping[str, Any] | Settings | Runtime | None = None,
    *,
    clock: Clock | None = None,
) -> Flask:
    """Defaults, then `SCOPEWATCH_*` from the environment, then `overrides` (tests).

    A `Runtime` is used as it is: `scopewatch run` shares its own with the worker and the
    scheduler. `clock` replaces the wall clock for every view (tests freeze it).
    """
    if isinstance(overrides, Runtime):
        runtime = overrides
    else:
        settings = (
            overrides if isinstance(overrides, Settings) else load_settings(overrides=overrides)
        )
        runtime = Runtime.from_settings(settings, clock=clock)
    check_intake(runtime.settings)
    app = Flask("service.web")
    app.config["MAX_CONTENT_LENGTH"] = None  # intake bounds the body itself, with a clear 413
    app.extensions[RUNTIME] = runtime
    app.extensions[METRICS] = Metrics()
    errors.init_app(app)
    sessions.init_app(app, runtime.settings)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(previews.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(cockpit.bp)
    app.register_blueprint(decision_links.bp)
    app.after_request(drain_after_request)
    # Intake's route, without Flask's dispatch: see `service.web.webhooks`.
    app.wsgi_app = webhooks.Intake(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
