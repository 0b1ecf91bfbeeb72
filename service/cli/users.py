"""`scopewatch users …`: the cockpit's accounts and personal API tokens.

A password is never an argument (it would sit in the shell history and in `ps`): it is asked for
at a terminal, or read as the first line of standard input when one is piped in.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # imported when a command runs: `scopewatch --help` loads click alone
    from service.runtime import Runtime


class AccountsError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"scopewatch: {self.message}", err=True)


def _runtime() -> Runtime:
    from service.runtime import Runtime
    from service.settings import SettingsError
    from service.store.revisions import is_current

    try:
        rt = Runtime.from_settings()
    except SettingsError as exc:
        raise AccountsError("; ".join(exc.problems)) from None
    if not is_current(rt.engine):
        raise AccountsError("the database is not migrated: run `scopewatch db upgrade` first")
    return rt


def _password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise AccountsError("no password on standard input")
    return line


@click.group()
def users() -> None:
    """Cockpit accounts: a pm decides and sends, a viewer only looks."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["pm", "viewer"]), required=True)
def add(email: str, role: str) -> None:
    """Add an account; the password is prompted for, or read from standard input."""
    from service.accounts.users import AccountError, add_user

    rt = _runtime()
    try:
        user = add_user(rt.engine, email, role, _password(), now=rt.clock())
    except AccountError as exc:
        raise AccountsError(str(exc)) from None
    click.echo(f"added {user.email} ({user.role})")


@users.command("list")
def list_() -> None:
    """Every account, with its role."""
    from service.accounts.users import list_users

    for user in list_users(_runtime().engine):
        click.echo(f"{user.email}\t{user.role}\t{user.created_at.isoformat()}")


@users.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Remove an account and its API token."""
    from service.accounts.users import AccountError, remove_user

    try:
        remove_user(_runtime().engine, email)
    except AccountError as exc:
        raise AccountsError(str(exc)) from None
    click.echo(f"removed {email.strip().lower()}")


@users.command("token")
@click.argument("email")
def token(email: str) -> None:
    """A new personal API token (replaces the old one); shown once, stored hashed."""
    from service.accounts.users import AccountError, issue_token

    rt = _runtime()
    try:
        click.echo(issue_token(rt.engine, email, now=rt.clock()))
    except AccountError as exc:
        raise AccountsError(str(exc)) from None
