"""Prometheus metrics, in a registry of our own so that several apps in one process do not clash."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "scopewatch_deliveries",
            "Webhook deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.intake_seconds = Histogram(
            "scopewatch_intake_seconds",
            "Time to verify and store one delivery",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.inbox_lag = Gauge(
            "scopewatch_inbox_lag_seconds",
            "Age of the oldest pending delivery",
            registry=self.registry,
        )
        self.inbox_rows = Gauge(
            "scopewatch_inbox_rows", "Inbox rows by status", ["status"], registry=self.registry
        )
        self.processing_seconds = Histogram(
            "scopewatch_processing_seconds",
            "Worker time per event",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
        )
        self._deliveries_by_status: dict[int, Counter] = {}

    def count_delivery(self, status: int, seconds: float) -> None:
        """One delivery answered `status` after `seconds`, on intake's path: each status's
        labelled child is looked up once, not on every request."""
        counter = self._deliveries_by_status.get(status)
        if counter is None:
            counter = self.deliveries.labels(outcome=str(status))
            self._deliveries_by_status[status] = counter
        counter.inc()
        self.intake_seconds.observe(seconds)
