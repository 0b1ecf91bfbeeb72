"""Settings from the environment, declared once and checked at start.

`Settings` is the declaration: each field holds its default, its help text and, for a secret, where
the secret sits in the value. `SETTINGS` lists them with their variable names; the README's settings
table is tested against it and the log filters take their secrets from it. `load_settings` reports
every problem at once, one line each, so an operator fixes them in one go.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "SCOPEWATCH_"


class Secret(Enum):
    """Where a setting holds a secret: what error messages hide and log lines mask."""

    VALUE = "the whole value"
    IN_URL = "the password of a URL"  # smtp://user:pass@host, postgresql://user:pass@host


class SettingsError(Exception):
    """One or more settings are wrong; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- value checks: each takes what the environment (a string) or an override gives ---------------


def _positive_int(value: Any) -> int:
    try:
        number = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be 1 or 0")


def _smtp_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtp+starttls", "smtps"} or not parts.hostname:
        raise ValueError("must look like smtp://host:port, smtp+starttls://… or smtps://…")
    return value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
POSTGRES_DRIVER = "postgresql+psycopg"  # the driver installed with scopewatch


def _database_url(value: str) -> str:
    """Checked here, so that a typo is a line naming the setting, not a traceback from the engine.

    The reasons never quote the URL: it may carry a password.
    """
    if not value.strip():
        raise ValueError(
            "is empty: give sqlite:///path/to/file.db or postgresql+psycopg://user@host/db, "
            "or unset it for the default sqlite:///instance/scopewatch.db"
        )
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL") from None
    if url.drivername in SQLITE_DRIVERS:
        if url.host or url.port or url.username:
            raise ValueError(
                "a SQLite URL names a file, not a host: three slashes before a relative path "
                "(sqlite:///instance/scopewatch.db), four before an absolute one (sqlite:////data/x.db)"
            )
        return value
    if url.drivername.split("+")[0] in {"postgresql", "postgres"}:
        if url.drivername != POSTGRES_DRIVER:
            raise ValueError(f"must start {POSTGRES_DRIVER}:// (the PostgreSQL driver installed)")
        return value
    raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
Flag = Annotated[bool, BeforeValidator(_flag)]
HttpUrl = Annotated[str | None, AfterValidator(_http_url)]


class Settings(BaseModel):
    """Every setting; the variable of each is SCOPEWATCH_ and its name in capitals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: Annotated[str, AfterValidator(_database_url), Secret.IN_URL] = Field(
        default="sqlite:///instance/scopewatch.db",
        description="SQLAlchemy URL: SQLite for one machine, postgresql+psycopg://… for several",
    )
    mappings: str = Field(default="mappings/sandbox.toml", description="the mapping file")
    webhook_secret: Annotated[str | None, Secret.VALUE] = Field(
        default=None, description="HMAC secret shared with Jira; intake refuses to start without it"
    )
    insecure_dev: Flag = Field(
        default=False, description="1 lets intake run without a webhook secret (development only)"
    )
    jira_url: HttpUrl = Field(
        default=None, description="Jira site, e.g. https://acme.atlassian.net"
    )
    jira_email: str | None = Field(default=None, description="Jira Cloud account e-mail")
    jira_token: Annotated[str | None, Secret.VALUE] = Field(
        default=None,
        description="Jira API token (Cloud) or personal access token (Data Center, without e-mail)",
    )
    smtp_url: Annotated[str | None, AfterValidator(_smtp_url), Secret.IN_URL] = Field(
        default=None,
        description="smtp://host:port, smtp+starttls://user:pass@host:587 or "
        "smtps://user:pass@host:465",
    )
    mail_from: str | None = Field(default=None, description="sender address of the digest")
    admin_token: Annotated[str | None, Secret.VALUE] = Field(
        default=None, description="bearer token for /api/*; without it the admin API answers 401"
    )
    public_url: HttpUrl = Field(
        default="http://127.0.0.1:8080", description="base of links in e-mails (the feedback form)"
    )
    max_body: PositiveInt = Field(
        default=1_048_576, description="largest webhook body accepted, bytes"
    )
    secret_key: Annotated[str | None, Secret.VALUE] = Field(
        default=None,
        description="signs cockpit sessions and the client's decision links; without it the "
        "cockpit is off (SCOPEWATCH_INSECURE_DEV=1 uses a fixed development key)",
    )
    decision_link_days: PositiveInt = Field(
        default=14, description="days a decision link in an e-mail stays valid"
    )
    jira_give_up: PositiveInt = Field(
        default=15,
        description="seconds a command run by hand waits for a Jira that does not answer before "
        "it gives up (the worker keeps retrying in the background)",
    )
    total_in: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="currency of the cockpit's total of all projects (such as EUR), converted "
        "with the mapping's [[exchange_rates]]; none by default; ?total_in= on / overrides it",
    )

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and self.jira_token)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A Settings object in a traceback or a debug line must not carry the secrets with it.
        secret = {s.field for s in SETTINGS if s.secret}
        for name, value in super().__repr_args__():
            yield name, "(hidden)" if name in secret and value else value


@dataclass(frozen=True)
class Setting:
    """One setting as operators see it: its variable, default, help, and whether it is secret."""

    env: str
    field: str
    default: Any
    help: str
    secret: Secret | None


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        env=ENV_PREFIX + name.upper(),
        field=name,
        default=info.default,
        help=info.description or "",
        secret=next((m for m in info.metadata if isinstance(m, Secret)), None),
    )
    for name, info in Settings.model_fields.items()
)


# An empty variable otherwise means "the default". Not for the database: an empty URL is most
# often a `${DATABASE_URL}` that did not expand, and a SQLite file in its place would quietly take
# the data.
NEVER_EMPTY = frozenset({"database_url"})


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Defaults, then `SCOPEWATCH_*` from the environment, then overrides (tests), all checked."""
    environ = os.environ if environ is None else environ
    from_env = {
        s.field: raw.strip()
        for s in SETTINGS
        if (raw := environ.get(s.env)) or (raw is not None and s.field in NEVER_EMPTY)
    }
    values = {**from_env, **(overrides or {})}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        by_field = {s.field: s for s in SETTINGS}
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0])
            setting = by_field.get(name)
            if setting is None:
                problems.append(f"{name}: not a setting")
                continue
            # An override is named by its field, so nobody hunts for a variable that is not set.
            label = name if name in (overrides or {}) else setting.env
            shown = "(hidden)" if setting.secret and values[name] else repr(values[name])
            problems.append(f"{label}={shown}: {_reason(error)}")
        raise SettingsError(problems) from None


def _reason(error: Any) -> str:
    """Our own words for the checks above; pydantic's for a plain type mismatch in an override."""
    cause = error.get("ctx", {}).get("error")
    return str(cause) if isinstance(cause, ValueError) else str(error["msg"])


# Signs sessions and decision links under SCOPEWATCH_INSECURE_DEV=1 when no key is set: public, so
# nothing signed with it can be trusted outside one developer's machine.
DEV_SECRET_KEY = "scopewatch-insecure-development-key"  # noqa: S105


def signing_key(settings: Settings) -> str | None:
    """SCOPEWATCH_SECRET_KEY; in development only, a fixed stand-in; else None (feature off)."""
    if settings.secret_key:
        return settings.secret_key
    return DEV_SECRET_KEY if settings.insecure_dev else None


def check_intake(settings: Settings) -> None:
    """Intake must not run unauthenticated by accident."""
    if not settings.webhook_secret and not settings.insecure_dev:
        raise SettingsError(
            [
                "SCOPEWATCH_WEBHOOK_SECRET is not set: intake refuses to start without it "
                "(set SCOPEWATCH_INSECURE_DEV=1 for local development only)"
            ]
        )
