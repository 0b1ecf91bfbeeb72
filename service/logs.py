"""Structured logs: one JSON object per line on stderr, with the delivery id and issue key if known.

Secrets never reach a log line: query strings are cut by the access loggers, and as a last guard
every known secret value is masked by a filter on the handler.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("delivery_id", "issue_key", "project", "job")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


SECRET_SETTINGS = ("SCOPEWATCH_WEBHOOK_SECRET", "SCOPEWATCH_JIRA_TOKEN", "SCOPEWATCH_ADMIN_TOKEN")


def secrets_from_env() -> list[str]:
    from urllib.parse import unquote, urlsplit

    secrets = [os.environ.get(name, "") for name in SECRET_SETTINGS]
    for url_setting in ("SCOPEWATCH_SMTP_URL", "SCOPEWATCH_DATABASE_URL"):
        password = urlsplit(os.environ.get(url_setting, "")).password
        if password:
            secrets += [password, unquote(password)]
    return secrets


def configure_logging(secrets: list[str] | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their INFO lines echo request URLs and bodies; warnings are enough.
    for noisy in ("urllib3", "werkzeug", "jira", "matplotlib", "mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
