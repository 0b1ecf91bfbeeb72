"""Sending mail over SMTP: one connection per message, temporary failures retried (tenacity).

`Mailer` is what the runtime carries (the server URL and the sender); `send_message` is the one
SMTP conversation under it. A 4xx reply or a dropped connection is temporary and retried with
doubling waits; a 5xx reply, TLS or configuration problems fail at once with the server's reason.
Recipients refused while others were accepted do not fail the send (the message went out); they
are reported in `SendResult.refused`. A message whose final "." went out but whose reply never
came (a timeout, a dropped connection) is not sent again: the server may well have queued it, and
a client mailed twice is worse than a send we report as `unconfirmed`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SendResult:
    """What the server did with the message; `refused` maps address → "code reason"."""

    ok: bool
    refused: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    unconfirmed: bool = False  # the message went out, its reply never came: not sent again


@dataclass(frozen=True)
class Mailer:
    """Where mail goes and whom it comes from (`SCOPEWATCH_SMTP_URL`, `SCOPEWATCH_MAIL_FROM`)."""

    smtp_url: str
    mail_from: str
    retries: int = 3
    retry_wait: float = 2.0

    def send(self, msg: EmailMessage) -> SendResult:
        return send_message(msg, self.smtp_url, retries=self.retries, retry_wait=self.retry_wait)


class _Temporary(Exception):
    """A failure worth another attempt: a 4xx reply, or the connection failing or dropping."""


class _Unanswered(Exception):
    """The message went out (end of DATA) but no reply came: another attempt may mail it twice."""


class _Permanent(Exception):
    """A failure another attempt will not fix: a 5xx reply, TLS or configuration problems."""


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

    `ssl_context` defaults to the system's trusted CAs with hostname checking.
    """
    try:
        target = _Target.parse(smtp_url)
    except ValueError as exc:
        return SendResult(ok=False, error=str(exc))
    context = ssl_context or ssl.create_default_context()

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("smtp %s attempt %d failed, temporary: %s", target, state.attempt_number, error)

    def give_up(state: RetryCallState) -> SendResult:
        error = state.outcome.exception() if state.outcome else None
        attempts = state.attempt_number
        return SendResult(ok=False, error=f"{error} (gave up after {attempts} attempts)")

    retrying = Retrying(
        retry=retry_if_exception_type(_Temporary),
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=retry_wait),  # retry_wait, then twice that, …
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    try:
        refused = retrying(_send_once, msg, target, context, timeout)
    except _Permanent as exc:
        log.error("smtp %s refused the message: %s", target, exc)
        return SendResult(ok=False, error=str(exc))
    except _Unanswered as exc:
        log.warning("smtp %s: no reply after the message went out; not sent again: %s", target, exc)
        return SendResult(
            ok=True, error=f"no reply after the message went out: {exc}", unconfirmed=True
        )
    if isinstance(refused, SendResult):
        return refused  # tenacity gave up: `give_up`'s answer
    if refused:
        log.warning("smtp %s refused some recipients: %s", target, sorted(refused))
    return SendResult(ok=True, refused=refused)


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
    smtp: _Session | None = None
    try:
        with _connect(target, context, timeout) as smtp:
            _authenticate(smtp, target, context)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
        raise _refusals_error(exc.recipients) from exc
    except smtplib.SMTPResponseException as exc:  # a reply, even to the end of DATA: it is known
        raise _reply_error(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise _lost(smtp, f"connection dropped: {exc}") from exc
    # SMTPException is an OSError too, so it must be sorted out before the socket errors.
    except (smtplib.SMTPException, ssl.SSLError) as exc:  # no STARTTLS/AUTH, bad certificate
        raise _Permanent(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:  # connection refused, reset, timed out
        raise _lost(smtp, f"{type(exc).__name__}: {exc}") from exc
    return {address: _reason(code, text) for address, (code, text) in refused.items()}


class _Session(smtplib.SMTP):
    """An SMTP connection that knows whether a message's final "." has gone out."""

    body_sent = False

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        # Only the end of DATA ends so; no command does.
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.body_sent = True


class _SSLSession(_Session, smtplib.SMTP_SSL):
    pass


def _lost(smtp: _Session | None, reason: str) -> Exception:
    """A connection lost: worth another attempt, unless the message had already gone out."""
    return _Unanswered(reason) if smtp is not None and smtp.body_sent else _Temporary(reason)


def _connect(target: _Target, context: ssl.SSLContext, timeout: float) -> _Session:
    if target.scheme == "smtps":
        return _SSLSession(target.host, target.port, timeout=timeout, context=context)
    return _Session(target.host, target.port, timeout=timeout)


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
