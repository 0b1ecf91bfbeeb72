"""The digest as a MIME message, and sending it over SMTP with retries for temporary failures.

Message layout, the one every mainstream client shows with inline images:

    multipart/alternative
      text/plain
      multipart/related
        text/html            (refers to the charts as cid:…)
        image/png  burn      (Content-ID)
        image/png  scope     (Content-ID)
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from reports import charts
from reports.render import render_html, render_text, subject

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SendResult:
    """What the server did with the message; `refused` maps address → "code reason"."""

    ok: bool
    refused: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class _Temporary(Exception):
    """A failure worth another attempt: a 4xx reply, or the connection failing or dropping."""


class _Permanent(Exception):
    """A failure another attempt will not fix: a 5xx reply, TLS or configuration problems."""


# --- building --------------------------------------------------------------------------------


def build_message(
    d: Mapping[str, Any],
    *,
    mail_from: str,
    to: list[str],
    message_id: str,
    date: datetime | None = None,
) -> EmailMessage:
    """The digest e-mail. `message_id` is fixed by the caller so a resend is recognisably the same.

    `date` is the Date header (aware; defaults to now).
    """
    if not to:
        raise ValueError("a digest needs at least one recipient")
    when = date or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("date must be timezone-aware")

    msg = EmailMessage()
    # The policy refuses CR/LF in these values, so a bad address cannot add a header either.
    msg["Subject"] = subject(d)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away

    cids = {name: _content_id(name, message_id) for name in ("burn", "scope")}
    # Quoted-printable keeps every line under SMTP's 998-octet limit and the body 7-bit clean.
    msg.set_content(render_text(d), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(
        render_html(d, image_cids=cids), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    html_part = next(part for part in msg.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    images = {"burn": charts.burn_chart(d), "scope": charts.scope_chart(d)}
    for name, png in images.items():
        html_part.add_related(
            png, "image", "png", cid=f"<{cids[name]}>", filename=f"{name}.png", disposition="inline"
        )
    return msg


def _content_id(name: str, message_id: str) -> str:
    """`burn.digest.ACME.2026-W47@host`: derived from the Message-ID, so stable across attempts."""
    return f"{name}.{message_id.strip().strip('<>')}"


# --- sending ---------------------------------------------------------------------------------


def send_message(
    msg: EmailMessage,
    smtp_url: str,
    *,
    timeout: float = 30,
    retries: int = 3,
    retry_wait: float = 2.0,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """Send once, retrying temporary failures up to `retries` more times with doubling waits.

    A 5xx reply, or an unusable URL, fails at once with the reason. Recipients refused while
    others were accepted do not fail the send (the message went out); they are in `refused`.
    `ssl_context` defaults to the system's trusted CAs with hostname checking.
    """
    try:
        target = _Target.parse(smtp_url)
    except ValueError as exc:
        return SendResult(ok=False, error=str(exc))
    context = ssl_context or ssl.create_default_context()
    error = "not attempted"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(retry_wait * 2 ** (attempt - 1))
        try:
            refused = _send_once(msg, target, context, timeout)
        except _Temporary as exc:
            error = str(exc)
            log.warning("smtp %s attempt %d failed, temporary: %s", target, attempt + 1, error)
            continue
        except _Permanent as exc:
            log.error("smtp %s refused the digest: %s", target, exc)
            return SendResult(ok=False, error=str(exc))
        if refused:
            log.warning("smtp %s refused some recipients: %s", target, sorted(refused))
        return SendResult(ok=True, refused=refused)
    return SendResult(ok=False, error=f"{error} (gave up after {retries + 1} attempts)")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # never in a log line or a traceback's repr

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            # The URL may hold a password: name the scheme only.
            raise ValueError(
                f"SMTP URL must be smtp://, smtp+starttls:// or smtps://, "
                f"not {scheme or 'no scheme'}://"
            )
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=parts.port or _DEFAULT_PORTS[scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _send_once(
    msg: EmailMessage, target: _Target, context: ssl.SSLContext, timeout: float
) -> dict[str, str]:
    """One connection, one transaction; SMTP and socket errors sorted into temporary/permanent."""
    try:
        with _connect(target, context, timeout) as smtp:
            _authenticate(smtp, target, context)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
        raise _refusals_error(exc.recipients) from exc
    except smtplib.SMTPResponseException as exc:
        raise _reply_error(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise _Temporary(f"connection dropped: {exc}") from exc
    # SMTPException is an OSError too, so it must be sorted out before the socket errors.
    except (smtplib.SMTPException, ssl.SSLError) as exc:  # no STARTTLS/AUTH, bad certificate
        raise _Permanent(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:  # connection refused, reset, timed out
        raise _Temporary(f"{type(exc).__name__}: {exc}") from exc
    return {address: _reason(code, text) for address, (code, text) in refused.items()}


def _connect(target: _Target, context: ssl.SSLContext, timeout: float) -> smtplib.SMTP:
    if target.scheme == "smtps":
        return smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    return smtplib.SMTP(target.host, target.port, timeout=timeout)


def _authenticate(smtp: smtplib.SMTP, target: _Target, context: ssl.SSLContext) -> None:
    if target.scheme == "smtp+starttls":
        smtp.starttls(context=context)  # raises SMTPNotSupportedError rather than go on in clear
    if target.username is None:
        return
    if target.scheme == "smtp":
        raise _Permanent(
            "credentials given for plain smtp://; use smtp+starttls:// or smtps:// "
            "so the password is not sent in clear"
        )
    smtp.login(target.username, target.password or "")


def _reply_error(code: int, text: bytes | str) -> Exception:
    reason = _reason(code, text)
    return _Temporary(reason) if 400 <= code < 500 else _Permanent(reason)


def _refusals_error(recipients: Mapping[str, tuple[int, bytes | str]]) -> Exception:
    """All recipients refused: retry only if every refusal was temporary (e.g. greylisting)."""
    reasons = "; ".join(f"{a}: {_reason(code, text)}" for a, (code, text) in recipients.items())
    summary = f"all recipients refused: {reasons}"
    if all(400 <= code < 500 for code, _ in recipients.values()):
        return _Temporary(summary)
    return _Permanent(summary)


def _reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()
