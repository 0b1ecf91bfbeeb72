"""Settings from the environment: defaults, checks, and one clear line per problem."""

from __future__ import annotations

import re

import pytest

from service import create_app
from service.settings import SETTINGS, SettingsError, load_settings
from tests.support import ROOT


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


def test_intake_refuses_to_start_without_a_secret_unless_insecure_dev(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SettingsError, match="SCOPEWATCH_WEBHOOK_SECRET is not set"):
        create_app({"database_url": url, "mappings": str(ROOT / "mappings/sandbox.toml")})
    app = create_app(
        {"database_url": url, "mappings": str(ROOT / "mappings/sandbox.toml"), "insecure_dev": True}
    )
    assert app is not None


def test_the_readme_documents_every_setting_and_no_other():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(SCOPEWATCH_[A-Z_]+)`", readme, flags=re.M))
    assert documented == {s.env for s in SETTINGS}
