"""A message the server took in but never answered for is not sent again.

The end of DATA is the point of no return in SMTP: once the final "." is out, the server may have
queued the message even if its reply never arrives (a timeout, a dropped connection). Retrying
then mails the client twice; the mailer reports the send as unconfirmed instead.
"""

from __future__ import annotations

from email.message import EmailMessage

from service.mailer import send_message
from tests.smtp_sink import running_sink


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "digest@scopewatch.example"
    msg["To"] = to
    msg["Subject"] = "Week 47"
    msg["Message-ID"] = "<w47.ACME@scopewatch.example>"
    msg.set_content("Hello")
    return msg


def test_no_reply_after_the_message_went_out_is_not_retried() -> None:
    with running_sink() as (sink, port):
        sink.hold = {"cfo@acme.example"}  # taken in, never answered
        result = send_message(
            message("cfo@acme.example"),
            f"smtp://127.0.0.1:{port}",
            timeout=1,
            retries=2,
            retry_wait=0,
        )
        assert len(sink.delivered) == 1  # arrived once, and only once
    assert result.ok and result.unconfirmed
    assert "no reply" in (result.error or "")


def test_a_connection_lost_before_the_message_went_out_is_still_retried() -> None:
    with running_sink() as (sink, port):
        sink.data_replies = ["421 try again later"]
        result = send_message(
            message("cfo@acme.example"), f"smtp://127.0.0.1:{port}", retries=2, retry_wait=0
        )
        assert len(sink.delivered) == 1
    assert result.ok and not result.unconfirmed
