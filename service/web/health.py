"""Liveness, readiness and metrics: what a load balancer and Prometheus ask for."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from service.intake import inbox
from service.store.engine import reader
from service.store.revisions import is_current
from service.web.context import get_metrics, get_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    try:
        migrated = is_current(get_runtime().engine)
    except SQLAlchemyError:
        return jsonify(status="unavailable", reason="database unreachable"), 503
    if not migrated:
        return jsonify(
            status="unavailable", reason="database not migrated: run `scopewatch db upgrade`"
        ), 503
    return jsonify(status="ready"), 200


@bp.get("/metrics")
def metrics() -> Response:
    registry = get_metrics()
    try:
        with reader(get_runtime().engine) as conn:
            counts = inbox.stats(conn)
    except SQLAlchemyError:
        counts = None
    if counts is not None:
        for status in ("pending", "done", "failed"):
            registry.inbox_rows.labels(status=status).set(counts[status])
        oldest = counts["oldest_pending"]
        lag = 0.0
        if oldest:
            from datetime import datetime

            lag = (get_runtime().clock() - datetime.fromisoformat(oldest)).total_seconds()
        registry.inbox_lag.set(lag)
    return Response(generate_latest(registry.registry), content_type=CONTENT_TYPE_LATEST)
