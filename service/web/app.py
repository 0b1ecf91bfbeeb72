"""The app factory: defaults, then `SCOPEWATCH_*` from the environment, then test overrides."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask

from mappings import load_mapping
from service.runtime import Runtime
from service.settings import Settings, check_intake, load_settings
from service.store.engine import make_engine
from service.web import api, errors, feedback, health, previews, webhooks
from service.web.metrics import Metrics
from service.web.unread_body import drain_after_request


def create_app(
    overrides: Mapping[str, Any] | Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """Defaults, then `SCOPEWATCH_*` from the environment, then `overrides` (tests).

    `clock` replaces the wall clock for every view (tests freeze it).
    """
    settings = overrides if isinstance(overrides, Settings) else load_settings(overrides=overrides)
    check_intake(settings)
    app = Flask("service.web")
    app.config["MAX_CONTENT_LENGTH"] = None  # intake bounds the body itself, with a clear 413
    app.extensions["scopewatch"] = Runtime(
        settings=settings,
        engine=make_engine(settings.database_url),
        mapping=load_mapping(settings.mappings),
        **({"clock": clock} if clock is not None else {}),
    )
    app.extensions["scopewatch.metrics"] = Metrics()
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(previews.bp)
    app.register_blueprint(feedback.bp)
    app.after_request(drain_after_request)
    # Intake's route, without Flask's dispatch: see `service.web.webhooks.FastPath`.
    app.wsgi_app = webhooks.FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
