"""Settings from the environment: defaults, checks, and one clear line per problem."""

from __future__ import annotations

import re

import pytest

from service import create_app
from service.settings import SETTINGS, SettingsError, load_settings
from service.store.clock import frozen_clock
from tests.support import NOW, ROOT, fixture_body


def test_defaults_match_the_product_contract():
    settings = load_settings({})
    assert settings.database_url == "sqlite:///instance/scopewatch.db"
    assert settings.mappings == "mappings/sandbox.toml"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.max_body == 1_048_576
    assert settings.webhook_secret is None and settings.admin_token is None


def test_every_problem_is_reported_at_once_one_line_each_without_secrets():
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "SCOPEWATCH_MAX_BODY": "-5",
                "SCOPEWATCH_SMTP_URL": "mail.example:25",
                "SCOPEWATCH_PUBLIC_URL": "ftp://x",
                "SCOPEWATCH_DATABASE_URL": "mysql://user:hunter2@db/x",
            }
        )
    problems = caught.value.problems
    assert len(problems) == 4
    assert any(p.startswith("SCOPEWATCH_MAX_BODY='-5': must be a positive") for p in problems)
    assert "hunter2" not in str(caught.value)


def test_intake_refuses_to_start_without_a_secret_unless_insecure_dev(sqlite_url):
    settings = {"database_url": sqlite_url, "mappings": str(ROOT / "mappings/sandbox.toml")}
    with pytest.raises(SettingsError, match="SCOPEWATCH_WEBHOOK_SECRET is not set"):
        create_app(settings)
    app = create_app({**settings, "insecure_dev": True}, clock=frozen_clock(NOW))
    try:
        answer = app.test_client().post(
            "/webhooks/jira",
            json=fixture_body("cloud_issue_created"),
            headers={"X-Atlassian-Webhook-Identifier": "insecure-dev-1"},
        )
    finally:
        app.extensions["scopewatch"].engine.dispose()
    assert answer.status_code == 202  # unsigned, and still taken: development only


def test_the_readme_documents_every_setting_and_no_other():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(SCOPEWATCH_[A-Z_]+)`", readme, flags=re.M))
    assert documented == {s.env for s in SETTINGS}


def test_the_environment_overrides_defaults_and_overrides_win_over_the_environment():
    environ = {"SCOPEWATCH_MAX_BODY": " 2048 ", "SCOPEWATCH_PUBLIC_URL": "https://sw.example/"}
    settings = load_settings(environ, overrides={"max_body": 99})
    assert settings.max_body == 99
    assert settings.public_url == "https://sw.example"  # the trailing slash would double in links
    assert settings.database_url == "sqlite:///instance/scopewatch.db"


def test_a_bad_override_is_named_by_its_field_not_by_a_variable_nobody_set():
    with pytest.raises(SettingsError) as caught:
        load_settings({}, overrides={"max_body": 0, "max_bdy": 1})
    assert caught.value.problems == [
        "max_body=0: must be a positive whole number",
        "max_bdy: not a setting",
    ]


def test_settings_are_frozen():
    settings = load_settings({})
    with pytest.raises(ValueError, match="frozen"):
        settings.max_body = 1  # type: ignore[misc]


def test_the_repr_of_settings_hides_every_secret():
    secrets = {
        "SCOPEWATCH_WEBHOOK_SECRET": "hook-s3cret",
        "SCOPEWATCH_JIRA_TOKEN": "jira-s3cret",
        "SCOPEWATCH_ADMIN_TOKEN": "admin-s3cret",
        "SCOPEWATCH_SMTP_URL": "smtps://mailer:smtp-s3cret@mail.example:465",
        "SCOPEWATCH_DATABASE_URL": "postgresql+psycopg://app:db-s3cret@db/scopewatch",
    }
    shown = repr(load_settings(secrets))
    assert "mappings='mappings/sandbox.toml'" in shown
    assert "s3cret" not in shown


def test_secrecy_is_declared_for_the_tokens_and_the_urls_that_carry_passwords():
    secret = {s.env for s in SETTINGS if s.secret}
    assert secret == {
        "SCOPEWATCH_WEBHOOK_SECRET",
        "SCOPEWATCH_JIRA_TOKEN",
        "SCOPEWATCH_ADMIN_TOKEN",
        "SCOPEWATCH_SECRET_KEY",
        "SCOPEWATCH_SMTP_URL",
        "SCOPEWATCH_DATABASE_URL",
    }
