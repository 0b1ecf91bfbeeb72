"""Cockpit sessions: Flask's signed cookie, CSRF on every form, who is logged in and may act.

The cookie holds only the user's id; each request reads the account again, so removing a user
ends their sessions at once. `SCOPEWATCH_SECRET_KEY` signs the cookie; without it the cockpit is
off, except with `SCOPEWATCH_INSECURE_DEV=1`, which uses a fixed key that nobody may rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from service.accounts.users import User, user_by_id
from service.settings import Settings, signing_key
from service.web.context import get_runtime

SESSION_HOURS = 12
F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()


def init_app(app: Flask, settings: Settings) -> None:
    key = signing_key(settings)
    if key:
        app.secret_key = key
    app.config.update(
        SESSION_COOKIE_NAME="scopewatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A session cookie sent over plain HTTP could be read off the wire; development runs
        # on http://127.0.0.1, production behind TLS.
        SESSION_COOKIE_SECURE=not settings.insecure_dev,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # Checked by the cockpit's own before_request (`protect`): the API, intake, feedback and
        # decision links have their own proof and no session.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        WTF_CSRF_SSL_STRICT=not settings.insecure_dev,
    )
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)


def protect() -> None:
    """Refuses (400) a state-changing request without this session's CSRF token."""
    csrf.protect()


def current_user() -> User | None:
    if "user" not in g:
        user_id = session.get("uid")
        user = None
        if isinstance(user_id, int):
            with get_runtime().engine.connect() as conn:
                user = user_by_id(conn, user_id)
        g.user = user
    found: User | None = g.user
    return found


def log_in(user: User) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = user.id


def log_out() -> None:
    session.clear()


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("cockpit.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def pm_required(view: F) -> F:
    """Deciding and sending: a viewer gets a 403 page, not a silent redirect."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("cockpit.login"))
        if not user.can_act:
            return render_template(
                "cockpit/message.html",
                title="Not allowed",
                message=f"{user.email} is a viewer: only a project manager can do this.",
            ), 403
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Only a path on this site: `?next=https://evil.example` must not carry a login away."""
    if not target:
        return url_for("cockpit.home")
    parts = urlsplit(target)
    # Browsers read "/\\evil.example" as "//evil.example": no backslash at all.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("cockpit.home")
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return url_for("cockpit.home")
    return target


def _csrf_refused(exc: CSRFError) -> tuple[str, int]:
    return render_template(
        "cockpit/message.html",
        title="Form expired",
        message=f"{exc.description} Go back, reload the page and try again.",
    ), 400
