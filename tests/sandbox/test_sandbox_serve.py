"""`serve()`, what `scopewatch sandbox` runs: a real process answering on the asked port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests

from tests import processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_until_stopped() -> None:
    port = _free_port()
    code = f"from service.sandbox import serve; serve({port}, strict=True)"
    process = processes.start([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        deadline, answer = time.monotonic() + 15, None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(
                    f"http://127.0.0.1:{port}/rest/api/2/serverInfo",
                    auth=("sandbox@example.com", "sandbox-token"),
                    timeout=1,
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["deploymentType"] == "Cloud"
        refused = requests.get(f"http://127.0.0.1:{port}/rest/api/2/myself", timeout=1)
        assert refused.status_code == 401  # strict was passed through
    finally:
        processes.stop(process)
