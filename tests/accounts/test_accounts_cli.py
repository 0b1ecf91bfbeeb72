"""`scopewatch users …`: accounts from the command line, and their API tokens on the admin API."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service import create_app
from service.cli import main
from service.store import schema
from service.store.engine import make_engine
from tests.support import ADMIN, ROOT, app_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Any:
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(ROOT / "mappings" / "sandbox.toml"))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_an_account_added_with_a_piped_password_is_listed_and_the_password_is_not_stored(
    run: Any, sqlite_url: str
) -> None:
    added = run("users", "add", "Paula@Agency.example", "--role", "pm", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "added paula@agency.example (pm)" in added.output
    run("users", "add", "vic@agency.example", "--role", "viewer", input=PASSWORD + "\n")

    listed = run("users", "list")
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [
        ["paula@agency.example", "pm"],
        ["vic@agency.example", "viewer"],
    ]
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        hashes = list(conn.execute(select(schema.users.c.password_hash)).scalars())
    engine.dispose()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_the_password_is_never_an_argument(run: Any) -> None:
    result = CliRunner().invoke(main, ["users", "add", "a@b.example", "--role", "pm", "--password"])
    assert result.exit_code == 2
    assert "No such option" in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("a@b.example", "--role", "pm"), "short\n", "at least 10 characters"),
        (("not-an-email", "--role", "pm"), PASSWORD + "\n", "is not an e-mail address"),
        (("a@b.example", "--role", "pm"), "\n", "no password on standard input"),
    ],
)
def test_a_bad_account_is_refused_with_one_line(
    run: Any, args: tuple[str, ...], stdin: str, message: str
) -> None:
    result = run("users", "add", *args, input=stdin)
    assert result.exit_code == 2
    assert message in result.output
    assert run("users", "list").output == ""


def test_the_same_email_twice_and_removing_an_unknown_account_are_refused(run: Any) -> None:
    run("users", "add", "p@agency.example", "--role", "pm", input=PASSWORD + "\n")
    again = run("users", "add", "P@agency.example", "--role", "viewer", input=PASSWORD + "\n")
    assert again.exit_code == 2 and "already has an account" in again.output
    missing = run("users", "remove", "nobody@agency.example")
    assert missing.exit_code == 2 and "no account for nobody@agency.example" in missing.output


def test_personal_tokens_open_the_admin_api_by_role_until_the_account_goes(
    run: Any, sqlite_url: str
) -> None:
    run("users", "add", "pm@agency.example", "--role", "pm", input=PASSWORD + "\n")
    run("users", "add", "viewer@agency.example", "--role", "viewer", input=PASSWORD + "\n")
    pm_token = run("users", "token", "pm@agency.example").output.strip()
    viewer_token = run("users", "token", "viewer@agency.example").output.strip()
    app = create_app(app_settings(sqlite_url))
    client = app.test_client()

    def call(token: str, method: str = "get") -> int:
        headers = {"Authorization": f"Bearer {token}"}
        if method == "get":
            return int(client.get("/api/projects/ACME/scope-changes", headers=headers).status_code)
        return int(
            client.post(
                "/api/projects/ACME/scope-changes/ACME-999/decision",
                json={"decision": "approved"},
                headers=headers,
            ).status_code
        )

    try:
        assert call(pm_token) == 200
        assert call(viewer_token) == 200
        assert call(ADMIN) == 200  # the old shared token keeps working
        assert call(pm_token, "post") == 404  # allowed through: there is no such change
        assert call(viewer_token, "post") == 403
        # A new token replaces the old one; a removed account's token stops working.
        newer = run("users", "token", "pm@agency.example").output.strip()
        assert call(pm_token) == 401 and call(newer) == 200
        run("users", "remove", "pm@agency.example")
        assert call(newer) == 401
    finally:
        app.extensions["scopewatch"].engine.dispose()
