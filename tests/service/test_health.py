"""Liveness, readiness and metrics, as a load balancer and Prometheus see them."""

from __future__ import annotations

from service import create_app
from service.store.clock import frozen_clock
from tests.support import NOW, app_settings, fixture_body


def test_healthz_answers_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_is_503_with_the_fix_when_the_database_is_not_migrated(tmp_path):
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'fresh.db'}"), clock=frozen_clock(NOW))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "scopewatch db upgrade" in response.get_json()["reason"]


def test_metrics_count_deliveries_by_outcome_and_report_the_inbox(client, jira):
    jira.post(fixture_body("cloud_issue_created"), delivery_id="a")
    jira.post(fixture_body("cloud_issue_created"), delivery_id="a")
    jira.post(b"{}", signature="sha256=00")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'scopewatch_deliveries_total{outcome="202"} 1.0' in text
    assert 'scopewatch_deliveries_total{outcome="200"} 1.0' in text
    assert 'scopewatch_deliveries_total{outcome="401"} 1.0' in text
    assert 'scopewatch_inbox_rows{status="pending"} 1.0' in text
    assert "scopewatch_inbox_lag_seconds" in text
