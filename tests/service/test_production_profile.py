"""The production profile without Docker: the image's entry point, gunicorn, workers, PostgreSQL."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from service.intake.signature import sign
from service.store import schema
from service.store.engine import make_engine
from tests import processes
from tests.service.test_serve_process import free_port, wait_until_up
from tests.support import ROOT, SECRET, fixture_body

BIN = Path(sys.executable).parent


def profile_env(db_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SCOPEWATCH_DATABASE_URL": db_url,
        "SCOPEWATCH_WEBHOOK_SECRET": SECRET,
        "SCOPEWATCH_MAPPINGS": str(ROOT / "mappings" / "sandbox.toml"),
        "SCOPEWATCH_BIND": f"127.0.0.1:{port}",
        "SCOPEWATCH_WEB_WORKERS": "2",
        "SCOPEWATCH_GUNICORN_CONF": str(ROOT / "gunicorn.conf.py"),
    }


def test_the_image_entry_point_migrates_then_serves_under_gunicorn(tmp_path):
    port = free_port()
    env = profile_env(f"sqlite:///{tmp_path / 'fresh.db'}", port)
    proc = processes.start(
        ["sh", str(ROOT / "docker" / "entrypoint.sh")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, timeout=30)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        # The access log must not carry query strings (the ?token= fallback).
        requests.post(
            f"http://127.0.0.1:{port}/webhooks/jira?token=not-the-secret",
            data=b"{}",
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
    finally:
        logs, _ = processes.stop(proc, grace=20)
    assert "not-the-secret" not in logs.decode()
    assert '"POST /webhooks/jira" 401' in logs.decode()


def _bodies(n: int) -> list[bytes]:
    template = fixture_body("cloud_issue_created")
    out = []
    for i in range(n):
        body = copy.deepcopy(template)
        body["timestamp"] += i
        body["issue"]["id"] = str(500000 + i)
        body["issue"]["key"] = f"ACME-{5000 + i}"
        out.append(json.dumps(body).encode())
    return out


@pytest.mark.postgres
def test_two_gunicorn_workers_and_two_queue_workers_on_postgres_lose_and_double_nothing(
    pg_database,
):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    port = free_port()
    env = profile_env(pg_database, port)
    web = processes.start(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = [
        processes.start(
            [str(BIN / "scopewatch"), "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    base = f"http://127.0.0.1:{port}"
    bodies = _bodies(400)
    try:
        wait_until_up(base, web, timeout=30)

        def post(body: bytes) -> int:
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature": sign(SECRET, body),
                "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
            }
            return requests.post(
                base + "/webhooks/jira", data=body, headers=headers, timeout=10
            ).status_code

        # Every body twice, as Jira does when it retries: the second copy is a duplicate.
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(post, bodies + bodies))
        assert codes.count(202) == len(bodies)
        assert codes.count(200) == len(bodies)
        engine = make_engine(pg_database)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = conn.execute(
                    select(func.count())
                    .select_from(schema.inbox)
                    .where(schema.inbox.c.status != "done")
                ).scalar()
            if pending == 0:
                break
            time.sleep(0.2)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.inbox)).scalar() == 400
            assert conn.execute(select(func.count()).select_from(schema.issues)).scalar() == 400
            attempts = conn.execute(select(func.max(schema.inbox.c.attempts))).scalar()
        assert pending == 0
        assert attempts == 1  # two workers never processed the same row
        engine.dispose()
    finally:
        for proc in [web, *workers]:
            processes.signal_group(proc, signal.SIGTERM)
        for proc in [web, *workers]:
            processes.stop(proc, grace=20)
