"""`scopewatch run`: web, worker and scheduler in one process — the embedded default.

Three threads share one runtime (one engine). SQLite's single writer is enough for a small team;
past that, run gunicorn, `scopewatch worker` processes and PostgreSQL (the production profile in
docs/operating.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from service.runtime import Runtime
from service.settings import Settings

log = logging.getLogger(__name__)


def run_all(settings: Settings, host: str, port: int) -> None:
    from service.digest.schedule import Scheduler
    from service.mirror import worker
    from service.store.migrate import upgrade
    from service.web.app import create_app
    from service.web.context import METRICS
    from service.web.server import serve_app

    rt = Runtime.from_settings(settings)
    upgrade(rt.engine)  # zero set-up: the embedded default migrates itself
    app = create_app(rt)
    # Sharing the process, the worker reports its per-event time to the web's /metrics.
    observe = app.extensions[METRICS].processing_seconds.observe
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=worker.run_forever,
            name="worker",
            daemon=True,
            args=(rt,),
            kwargs={"stop": stop, "observe": observe, "also": _idle_round(rt)},
        ),
        threading.Thread(target=Scheduler(rt).run, name="scheduler", daemon=True, args=(stop,)),
    ]
    for thread in threads:
        thread.start()
    try:
        serve_app(app, host, port, max_body=settings.max_body)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def _idle_round(rt: Runtime) -> Callable[[], int]:
    """What the worker does when its queues are empty, each at its own pace: the PM's budget
    alerts and the clients' daily notes of newly flagged scope changes."""
    from service.alerts.budget import PacedAlerts
    from service.digest.flag_notices import PacedFlagNotices

    alerts, notes = PacedAlerts(rt), PacedFlagNotices(rt)
    return lambda: alerts() + notes()
