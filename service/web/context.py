"""What a view reaches through the app: the runtime `create_app` built, and the app's metrics."""

from __future__ import annotations

from flask import current_app

from service.runtime import Runtime
from service.web.metrics import Metrics

RUNTIME = "scopewatch"
METRICS = "scopewatch.metrics"


def get_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME]
    return runtime


def get_metrics() -> Metrics:
    metrics: Metrics = current_app.extensions[METRICS]
    return metrics
