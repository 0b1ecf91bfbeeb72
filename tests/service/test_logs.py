"""Structured logs: JSON lines with the delivery id and issue key, and no secret in them."""

from __future__ import annotations

import json
import logging
import runpy

import pytest
from click.testing import CliRunner

from service.cli import main
from service.logs import JsonFormatter, RedactSecrets, secrets_from_env
from tests.support import ROOT


def test_a_log_line_is_json_with_its_context_and_masks_known_secrets():
    record = logging.LogRecord(
        "service.outbox.queue",
        logging.WARNING,
        __file__,
        1,
        "token %s refused",
        ("s3cret-token",),
        None,
    )
    record.delivery_id, record.issue_key = "d-42", "ACME-7"
    assert RedactSecrets(["s3cret-token"]).filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "token *** refused"
    assert (line["delivery_id"], line["issue_key"], line["level"]) == ("d-42", "ACME-7", "warning")


def test_a_refused_delivery_is_logged_with_its_delivery_id(jira, caplog):
    caplog.set_level(logging.WARNING, logger="service.intake.delivery")
    jira.post(b'{"no": "event"}', delivery_id="delivery-77")
    [record] = [r for r in caplog.records if r.name == "service.intake.delivery"]
    assert record.delivery_id == "delivery-77"
    assert "no webhookEvent" in record.getMessage()


SECRET_ENV = {
    "SCOPEWATCH_WEBHOOK_SECRET": "hook-s3cret",
    "SCOPEWATCH_JIRA_TOKEN": "jira-s3cret",
    "SCOPEWATCH_ADMIN_TOKEN": "admin-s3cret",
    "SCOPEWATCH_SMTP_URL": "smtp+starttls://mailer:smtp%40s3cret@127.0.0.1:9",
    "SCOPEWATCH_DATABASE_URL": "sqlite:///ignored.db",
    "SCOPEWATCH_JIRA_EMAIL": "ops@agency.example",
}


def test_secrets_from_env_lists_tokens_and_url_passwords_raw_and_unquoted():
    environ = {
        **SECRET_ENV,
        "SCOPEWATCH_DATABASE_URL": "postgresql+psycopg://app:db%2Fs3cret@db.internal/sw",
    }
    assert sorted(secrets_from_env(environ)) == sorted(
        [
            "hook-s3cret",
            "jira-s3cret",
            "admin-s3cret",
            "smtp%40s3cret",
            "smtp@s3cret",
            "db%2Fs3cret",
            "db/s3cret",
        ]
    )


@pytest.fixture
def root_logging():
    """configure_logging replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def masked_by_root(root: logging.Logger) -> set[str]:
    [handler] = root.handlers
    [redact] = [f for f in handler.filters if isinstance(f, RedactSecrets)]
    return set(redact.secrets)


def test_gunicorn_masks_the_same_secrets_as_the_command_line(root_logging, monkeypatch):
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SCOPEWATCH_JIRA_URL", raising=False)

    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["on_starting"](None)
    by_gunicorn = masked_by_root(root_logging)
    sandbox = str(ROOT / "mappings" / "sandbox.toml")
    result = CliRunner().invoke(main, ["mappings", "check", "--file", sandbox])
    assert result.exit_code == 0, result.output
    by_cli = masked_by_root(root_logging)

    assert by_gunicorn == by_cli
    assert {"smtp%40s3cret", "smtp@s3cret", "hook-s3cret"} <= by_cli
