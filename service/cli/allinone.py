"""`scopewatch run`: web, worker and scheduler in one process — the embedded default.

Three threads share one engine. SQLite's single writer is enough for a small team; past that, run
gunicorn, `scopewatch worker` processes and PostgreSQL (see the README's production profile).
"""

from __future__ import annotations

import logging
import threading

from service.settings import Settings

log = logging.getLogger(__name__)


def run_all(settings: Settings, host: str, port: int) -> None:
    from service import create_app
    from service.cli.commands import jira_client, runtime
    from service.digest.schedule import Scheduler
    from service.mirror import worker
    from service.store.migrate import upgrade
    from service.web.server import serve_app

    rt = runtime(settings)
    upgrade(rt.engine)  # zero set-up: the embedded default migrates itself
    client = jira_client(rt)
    app = create_app(settings)
    # Sharing the process, the worker reports its per-event time to the web's /metrics.
    observe = app.extensions["scopewatch.metrics"].processing_seconds.observe
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=worker.run_forever,
            name="worker",
            daemon=True,
            args=(rt.engine, rt.mapping, client),
            kwargs={"stop": stop, "observe": observe},
        ),
        threading.Thread(
            target=Scheduler(rt, client).run, name="scheduler", daemon=True, args=(stop,)
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        serve_app(app, host, port)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
