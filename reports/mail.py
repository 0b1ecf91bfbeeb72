"""The digest as a MIME message (sending it is `service.mailer`'s job: reports holds no SMTP).

Message layout, the one every mainstream client shows with inline images:

    multipart/alternative
      text/plain
      multipart/related
        text/html            (refers to the charts as cid:…)
        image/png  burn      (Content-ID)
        image/png  scope     (Content-ID)
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from reports import charts
from reports.render import render_html, render_text, subject

# --- building --------------------------------------------------------------------------------


def build_message(
    d: Mapping[str, Any],
    *,
    mail_from: str,
    to: list[str],
    message_id: str,
    date: datetime,
    locale: str | None = None,
    audience: str = "client",
) -> EmailMessage:
    """The digest e-mail. `message_id` is fixed by the caller so a resend is recognisably the same.

    `date` is the Date header (aware): the caller's clock, never the wall's. `locale` overrides
    the digest's own, for every part alike (see `reports.render`); `audience` is "client" or
    "pm" (the PM's version: earned value and internal figures, every section).
    """
    if not to:
        raise ValueError("a digest needs at least one recipient")
    when = date
    if when.tzinfo is None:
        raise ValueError("date must be timezone-aware")

    # Headers unfolded up to SMTP's 998-octet line limit: Python folds a long subject before an
    # encoded word (a "€") with a space too many, which readers then see.
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    # The policy refuses CR/LF in these values, so a bad address cannot add a header either.
    msg["Subject"] = subject(d, locale=locale)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away

    cids = {name: _content_id(name, message_id) for name in ("burn", "scope")}
    # Quoted-printable keeps every line under SMTP's 998-octet limit and the body 7-bit clean.
    msg.set_content(
        render_text(d, locale=locale, audience=audience),
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
    )
    msg.add_alternative(
        render_html(d, image_cids=cids, locale=locale, audience=audience),
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    html_part = next(part for part in msg.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    images = {"burn": charts.burn_chart(d, locale), "scope": charts.scope_chart(d, locale)}
    for name, png in images.items():
        html_part.add_related(
            png, "image", "png", cid=f"<{cids[name]}>", filename=f"{name}.png", disposition="inline"
        )
    return msg


def _content_id(name: str, message_id: str) -> str:
    """`burn.digest.ACME.2026-W47@host`: derived from the Message-ID, so stable across attempts."""
    return f"{name}.{message_id.strip().strip('<>')}"
