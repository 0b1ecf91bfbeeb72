"""The clock-driven jobs of `scopewatch run`: each project's weekly digest and the hourly reconcile.

Firing twice is harmless by construction: a digest is claimed in the database before it is sent,
and a reconcile only refreshes the mirror.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from service.runtime import Runtime

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        rt: Runtime,
        *,
        tick_seconds: float = 60.0,
        reconcile_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.rt = rt
        self.tick_seconds = tick_seconds
        self.reconcile_every = reconcile_every
        self.last_reconcile: datetime | None = None

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.rt.clock()
        self.send_due_digests(now)
        if self.rt.jira is not None and (
            self.last_reconcile is None or now - self.last_reconcile >= self.reconcile_every
        ):
            self.reconcile_all(now)
            self.last_reconcile = now

    def send_due_digests(self, now: datetime) -> None:
        from service.digest.send import send_digests

        if self.rt.mailer is None:
            return
        try:
            for key, outcome in send_digests(self.rt, None, due_only=True, now=now).items():
                if outcome not in {"not-due", "already-sent"}:
                    log.info("digest %s: %s", key, outcome, extra={"project": key})
        except Exception:  # a broken digest must not stop the scheduler
            log.exception("digest scheduling failed")

    def reconcile_all(self, now: datetime) -> None:
        from service.mirror.reconcile import reconcile

        if self.rt.jira is None:
            return
        for project in self.rt.mapping.projects:
            try:
                reconcile(
                    self.rt.engine, self.rt.jira, self.rt.mapping, project.key, since=None, now=now
                )
            except Exception:
                log.exception("reconcile of %s failed", project.key, extra={"project": project.key})

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(self.tick_seconds)
