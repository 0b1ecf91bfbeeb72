"""Structured logs: one JSON object per line on stderr, with the delivery id and issue key if known.

Secrets never reach a log line: query strings are cut by the access loggers, and as a last guard
every known secret value is masked by a filter on the handler.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from service.settings import SETTINGS, Secret

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


def secrets_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value the environment gives scopewatch, as it may appear in a log line.

    Which settings are secret is declared once, in `service.settings`; a password inside a URL is
    listed both as written and URL-unquoted, since either form can end up in a message.
    """
    environ = os.environ if environ is None else environ
    secrets: list[str] = []
    for setting in SETTINGS:
        value = environ.get(setting.env, "")
        if setting.secret is Secret.VALUE and value:
            secrets.append(value)
        elif setting.secret is Secret.IN_URL:
            password = _url_password(value)
            if password:
                secrets += [password, unquote(password)]
    return secrets


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:  # a malformed URL: the settings check reports it, with its value hidden
        return None


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
    # A library's warning (matplotlib's, pandas') would print two raw lines, file and source, in
    # the middle of the JSON ones: it becomes one log record like everything else.
    warnings.showwarning = _log_warning


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    logging.getLogger("py.warnings").warning(
        "%s: %s (%s:%s)", category.__name__, message, filename, lineno
    )
