"""Settings from the environment, declared once (name, type, default, help) and checked at start.

The registry below is the single source: the README's settings table is tested against it, and
`load_settings` reports every problem at once, one line each, so an operator fixes them in one go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit


class SettingsError(Exception):
    """One or more settings are wrong; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _flag(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be 1 or 0")


def _smtp_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"smtp", "smtp+starttls", "smtps"} or not parts.hostname:
        raise ValueError("must look like smtp://host:port, smtp+starttls://… or smtps://…")
    return raw


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:", "postgresql")):
        raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
    return raw


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SCOPEWATCH_DATABASE_URL",
        "database_url",
        "sqlite:///instance/scopewatch.db",
        "SQLAlchemy URL: SQLite for one machine, postgresql+psycopg://… for several",
        _database_url,
    ),
    Setting("SCOPEWATCH_MAPPINGS", "mappings", "mappings/sandbox.toml", "the mapping file"),
    Setting(
        "SCOPEWATCH_WEBHOOK_SECRET",
        "webhook_secret",
        None,
        "HMAC secret shared with Jira; intake refuses to start without it",
    ),
    Setting(
        "SCOPEWATCH_INSECURE_DEV",
        "insecure_dev",
        False,
        "1 lets intake run without a webhook secret (development only)",
        _flag,
    ),
    Setting(
        "SCOPEWATCH_JIRA_URL",
        "jira_url",
        None,
        "Jira site, e.g. https://acme.atlassian.net",
        _http_url,
    ),
    Setting("SCOPEWATCH_JIRA_EMAIL", "jira_email", None, "Jira Cloud account e-mail"),
    Setting(
        "SCOPEWATCH_JIRA_TOKEN",
        "jira_token",
        None,
        "Jira API token (Cloud) or personal access token (Data Center, without e-mail)",
    ),
    Setting(
        "SCOPEWATCH_SMTP_URL",
        "smtp_url",
        None,
        "smtp://host:port, smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465",
        _smtp_url,
    ),
    Setting("SCOPEWATCH_MAIL_FROM", "mail_from", None, "sender address of the digest"),
    Setting(
        "SCOPEWATCH_ADMIN_TOKEN",
        "admin_token",
        None,
        "bearer token for /api/*; without it the admin API answers 401",
    ),
    Setting(
        "SCOPEWATCH_PUBLIC_URL",
        "public_url",
        "http://127.0.0.1:8080",
        "base of links in e-mails (the feedback form)",
        _http_url,
    ),
    Setting(
        "SCOPEWATCH_MAX_BODY",
        "max_body",
        1_048_576,
        "largest webhook body accepted, bytes",
        _positive_int,
    ),
)

_SECRET_FIELDS = {"webhook_secret", "jira_token", "admin_token", "smtp_url", "database_url"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///instance/scopewatch.db"
    mappings: str = "mappings/sandbox.toml"
    webhook_secret: str | None = None
    insecure_dev: bool = False
    jira_url: str | None = None
    jira_email: str | None = None
    jira_token: str | None = None
    smtp_url: str | None = None
    mail_from: str | None = None
    admin_token: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    max_body: int = 1_048_576

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and self.jira_token)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def redacted(self) -> dict[str, Any]:
        """For logs and `/readyz`: which settings are set, never their secret values."""
        return {
            f.name: (
                "***"
                if f.name in _SECRET_FIELDS and getattr(self, f.name)
                else getattr(self, f.name)
            )
            for f in fields(self)
        }


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Defaults, then `SCOPEWATCH_*` from the environment, then overrides (tests), all checked."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or raw == "":
            continue
        try:
            values[setting.field] = setting.parse(raw.strip())
        except ValueError as exc:
            shown = "(hidden)" if setting.field in _SECRET_FIELDS else repr(raw)
            problems.append(f"{setting.env}={shown}: {exc}")
    if problems:
        raise SettingsError(problems)
    settings = replace(Settings(), **values)
    if overrides:
        settings = replace(settings, **dict(overrides))
    return settings


def check_intake(settings: Settings) -> None:
    """Intake must not run unauthenticated by accident."""
    if not settings.webhook_secret and not settings.insecure_dev:
        raise SettingsError(
            [
                "SCOPEWATCH_WEBHOOK_SECRET is not set: intake refuses to start without it "
                "(set SCOPEWATCH_INSECURE_DEV=1 for local development only)"
            ]
        )
