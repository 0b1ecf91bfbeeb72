"""`scopewatch users …`: the cockpit's accounts and personal API tokens.

A password is never an argument (it would sit in the shell history and in `ps`): it is asked for
at a terminal, or read as the first line of standard input when one is piped in.
"""

from __future__ import annotations

import sys

import click

from service.cli.common import UserError, friendly, migrated_runtime


def _password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UserError("no password on standard input")
    return line


@click.group()
def users() -> None:
    """Cockpit accounts: a pm decides and sends, a viewer only looks."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["pm", "viewer"]), required=True)
@friendly
def add(email: str, role: str) -> None:
    """Add an account; the password is prompted for, or read from standard input."""
    from service.accounts.users import AccountError, add_user

    rt = migrated_runtime()
    try:
        user = add_user(rt.engine, email, role, _password(), now=rt.clock())
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"added {user.email} ({user.role})")


@users.command("list")
@friendly
def list_() -> None:
    """Every account, with its role."""
    from service.accounts.users import list_users

    for user in list_users(migrated_runtime().engine):
        click.echo(f"{user.email}\t{user.role}\t{user.created_at.isoformat()}")


@users.command("remove")
@click.argument("email")
@friendly
def remove(email: str) -> None:
    """Remove an account and its API token."""
    from service.accounts.users import AccountError, remove_user

    try:
        remove_user(migrated_runtime().engine, email)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"removed {email.strip().lower()}")


@users.command("token")
@click.argument("email")
@friendly
def token(email: str) -> None:
    """A new personal API token (replaces the old one); shown once, stored hashed."""
    from service.accounts.users import AccountError, issue_token

    rt = migrated_runtime()
    try:
        click.echo(issue_token(rt.engine, email, now=rt.clock()))
    except AccountError as exc:
        raise UserError(str(exc)) from None
