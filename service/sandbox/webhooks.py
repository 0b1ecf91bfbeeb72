"""Delivering webhooks the way Jira Cloud does: one at a time, in order, signed, retried.

Each delivery keeps its `X-Atlassian-Webhook-Identifier` and body across retries; a retry says so
in `X-Atlassian-Webhook-Retry`. 5xx, 408, 409, 425, 429 and network failures are retried after
the configured delays; any other answer is final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)
RETRYABLE = {408, 409, 425, 429}
TIMEOUT_SECONDS = 10.0


@dataclass
class Delivery:
    identifier: str
    event: str
    body: bytes


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        url: str | None,
        secret: str | None = None,
        retry_delays: tuple[float, ...] = (1, 5, 30),
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._queue: deque[Delivery] = deque()
        self._busy = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.delivered = 0
        self.failed = 0
        self._thread: threading.Thread | None = None
        # Loopback receivers must not be routed through a proxy from the environment.
        self._session = requests.Session()
        self._session.trust_env = False

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def publish(self, body: dict[str, Any]) -> None:
        if not self.enabled:
            return
        encoded = json.dumps(body, separators=(",", ":")).encode()
        with self._cond:
            self._queue.append(Delivery(str(uuid.uuid4()), str(body.get("webhookEvent")), encoded))
            self._ensure_thread()
            self._cond.notify_all()

    def stats(self) -> dict[str, int]:
        with self._cond:
            pending = len(self._queue) + (1 if self._busy else 0)
            return {"pending": pending, "delivered": self.delivered, "failed": self.failed}

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._session.close()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stop.is_set())
                if self._stop.is_set():
                    return
                delivery = self._queue.popleft()
                self._busy = True
            ok = self._deliver(delivery)
            with self._cond:
                self._busy = False
                if ok:
                    self.delivered += 1
                else:
                    self.failed += 1
                self._cond.notify_all()

    def _deliver(self, delivery: Delivery) -> bool:
        for attempt in range(len(self.retry_delays) + 1):
            if attempt and self._stop.wait(self.retry_delays[attempt - 1]):
                return False
            outcome = self._attempt(delivery, attempt)
            if outcome is not None:
                return outcome
        log.warning("webhook %s (%s) failed after retries", delivery.identifier, delivery.event)
        return False

    def _attempt(self, delivery: Delivery, attempt: int) -> bool | None:
        """True delivered, False refused for good, None worth retrying."""
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
            "User-Agent": "Atlassian Webhook HTTP Client",
        }
        if attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(attempt)
        if self.secret:
            headers["X-Hub-Signature"] = signature(self.secret, delivery.body)
        try:
            response = self._session.post(
                str(self.url), data=delivery.body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            log.info("webhook %s attempt %d: %s", delivery.identifier, attempt, type(exc).__name__)
            return None
        if response.status_code < 300:
            return True
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            return None
        return False
