"""People who use the cockpit: add, list, remove; passwords hashed with argon2id.

A "pm" looks, decides and sends; a "viewer" only looks. E-mails are compared in lower case.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service.accounts import throttle
from service.store.schema import api_tokens, users

Role = Literal["pm", "viewer"]
ROLES: tuple[Role, ...] = ("pm", "viewer")
MIN_PASSWORD = 10
TOKEN_PREFIX = "swp_"  # noqa: S105 - a prefix that marks personal tokens in a leaked log

_HASHER = PasswordHasher()
# Checked when the e-mail is unknown, so the answer takes as long as for a known one.
_DUMMY_HASH = _HASHER.hash("not-a-password-anyone-has")


class AccountError(ValueError):
    """A request about accounts we cannot do; the message is one line for the user."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    created_at: datetime

    @property
    def can_act(self) -> bool:
        """Decide changes and send digests: PMs only."""
        return self.role == "pm"


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    refused: Literal["bad-credentials", "throttled"] | None = None


def normalise(email: str) -> str:
    return email.strip().lower()


def add_user(engine: Engine, email: str, role: str, password: str, *, now: datetime) -> User:
    email = normalise(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be pm or viewer, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    email=email, role=role, password_hash=_HASHER.hash(password), created_at=now
                )
            )
    except IntegrityError:
        raise AccountError(f"{email} already has an account") from None
    found = get_user(engine, email)
    assert found is not None
    return found


def get_user(engine: Engine, email: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == normalise(email))).first()
    return _user(row) if row else None


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.email))]


def remove_user(engine: Engine, email: str) -> None:
    email = normalise(email)
    with engine.begin() as conn:
        row = conn.execute(select(users.c.id).where(users.c.email == email)).first()
        if row is None:
            raise AccountError(f"no account for {email}")
        conn.execute(delete(api_tokens).where(api_tokens.c.user_id == row.id))
        conn.execute(delete(users).where(users.c.id == row.id))


def authenticate(engine: Engine, email: str, password: str, *, now: datetime) -> LoginResult:
    """The user if the password is right and the login is not throttled; else why not."""
    email = normalise(email)
    with engine.begin() as conn:
        if throttle.is_locked(conn, email, now):
            return LoginResult(None, "throttled")
        row = conn.execute(select(users).where(users.c.email == email)).first()
        stored = row.password_hash if row else _DUMMY_HASH
        try:
            ok: bool = _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            throttle.record_failure(conn, email, now)
            return LoginResult(None, "bad-credentials")
        throttle.clear(conn, email)
        if _HASHER.check_needs_rehash(stored):
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=_HASHER.hash(password))
            )
        return LoginResult(_user(row))


def issue_token(engine: Engine, email: str, *, now: datetime) -> str:
    """A new personal API token for `email`, replacing any earlier one; shown once, kept hashed.

    `swp_<selector>_<verifier>`: the selector finds the row, the verifier's SHA-256 is compared
    in constant time, so neither the lookup nor the comparison tells a guesser anything.
    """
    selector, verifier = secrets.token_hex(8), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        row = conn.execute(select(users.c.id).where(users.c.email == normalise(email))).first()
        if row is None:
            raise AccountError(f"no account for {normalise(email)}")
        conn.execute(delete(api_tokens).where(api_tokens.c.user_id == row.id))
        conn.execute(
            insert(api_tokens).values(
                user_id=row.id, selector=selector, token_hash=_digest(verifier), created_at=now
            )
        )
    return f"{TOKEN_PREFIX}{selector}_{verifier}"


def user_by_token(engine: Engine, token: str) -> User | None:
    """The owner of a personal API token, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    selector, _, verifier = token.removeprefix(TOKEN_PREFIX).partition("_")
    if not selector or not verifier:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(users, api_tokens.c.token_hash)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.selector == selector)
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, _digest(verifier)):
        return None
    return _user(row)


def _digest(verifier: str) -> str:
    # 256 random bits: a plain SHA-256 is enough (no stretching needed, unlike a password).
    return hashlib.sha256(verifier.encode()).hexdigest()


def _user(row: object) -> User:
    return User(
        id=row.id,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )
