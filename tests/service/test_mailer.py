"""Sending the digest through a real SMTP server (aiosmtpd on 127.0.0.1), reading what arrived."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reports.mail import build_message
from service.mailer import SendResult, send_message
from tests.smtp_sink import ScriptedSink

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
MESSAGE_ID = "<digest.ACME.2026-W47@scopewatch.example>"
SENDER = "Scopewatch <digest@scopewatch.example>"
PASSWORD = "p@ss:w/rd %20"  # every character a URL needs escaped


@pytest.fixture
def full_digest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def digest(full_digest: dict[str, Any]) -> dict[str, Any]:
    """The sample without its weekly series: "No data yet" charts keep these tests quick."""
    del full_digest["series"]
    return full_digest


@dataclass
class Sink(ScriptedSink):
    """The scripted sink, also recording the logins it accepted."""

    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then answers 535 itself instead of leaving the client waiting.
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)

    def received(self) -> EmailMessage:
        assert len(self.delivered) == 1
        content = self.delivered[0].original_content
        assert isinstance(content, bytes)
        msg = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def part(msg: EmailMessage, content_type: str) -> EmailMessage:
    found = [p for p in msg.walk() if p.get_content_type() == content_type]
    assert len(found) == 1 and isinstance(found[0], EmailMessage)
    return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[Sink, int]]]:
    """Starts an SMTP server with the given Sink and aiosmtpd options; stops it afterwards."""
    running: list[Controller] = []

    def start(sink: Sink, **options: Any) -> tuple[Sink, int]:
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
        controller.start()
        running.append(controller)
        return sink, port

    yield start
    for controller in running:
        controller.stop()


def message(d: dict[str, Any], to: list[str] | None = None) -> EmailMessage:
    return build_message(
        d,
        mail_from=SENDER,
        to=to or ["pm@acme.example"],
        message_id=MESSAGE_ID,
        date=datetime(2026, 11, 23, 7, tzinfo=UTC),
    )


# --- the message as it arrives ---------------------------------------------------------------


def test_the_digest_arrives_with_text_html_and_both_charts(
    full_digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink())
    result = send_message(
        message(full_digest, ["pm@acme.example", "cto@acme.example"]), f"smtp://127.0.0.1:{port}"
    )
    assert result == SendResult(ok=True, refused={}, error=None)
    envelope = sink.delivered[0]
    assert envelope.mail_from == "digest@scopewatch.example"
    assert envelope.rcpt_tos == ["pm@acme.example", "cto@acme.example"]

    msg = sink.received()
    assert msg["Subject"] == (
        "[ACME] Week 47: off track, 61% of budget used, 3 scope changes "
        "(€2,620, 1 needs estimate), 3 decisions and 2 blockers waiting on you"
    )
    assert msg["From"] == SENDER
    assert msg["To"] == "pm@acme.example, cto@acme.example"
    assert msg["Message-ID"] == MESSAGE_ID
    assert msg["Date"].datetime == datetime(2026, 11, 23, 7, tzinfo=UTC)

    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content_charset() == "utf-8"
    assert "ACME-146" in plain.get_content() and "needs estimate" in plain.get_content()
    assert related.get_content_type() == "multipart/related"
    html, *images = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert [i.get_content_type() for i in images] == ["image/png", "image/png"]
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html.get_content()
        assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
        assert len(image.get_content()) > 10_000  # the real chart, not the "No data yet" one


def test_non_ascii_survives_the_trip(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    digest["client"] = "Société Générale Ünïcode"
    digest["project"] = "SGÜ"
    sink, port = serve(Sink())
    assert send_message(message(digest), f"smtp://127.0.0.1:{port}").ok
    msg = sink.received()
    assert msg["Subject"].startswith("[SGÜ] Week 47:")
    assert "Société Générale Ünïcode" in part(msg, "text/plain").get_content()
    assert "Société Générale Ünïcode" in part(msg, "text/html").get_content()


def test_a_crlf_in_ticket_text_adds_no_header_and_no_recipient(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    evil = "Export\r\nBcc: victim@evil.example\r\n\r\n<script>alert(1)</script>"
    digest["scope"]["changes_this_week"][0]["summary"] = evil
    digest["project"] = "ACME\r\nBcc: victim@evil.example"
    sink, port = serve(Sink())
    assert send_message(message(digest), f"smtp://127.0.0.1:{port}").ok
    assert sink.delivered[0].rcpt_tos == ["pm@acme.example"]
    msg = sink.received()
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    html = part(msg, "text/html").get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_message_needs_a_recipient_and_an_aware_date(digest: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_message(
            digest,
            mail_from=SENDER,
            to=[],
            message_id=MESSAGE_ID,
            date=datetime(2026, 11, 23, 7, tzinfo=UTC),
        )
    with pytest.raises(ValueError, match="timezone"):
        build_message(
            digest,
            mail_from=SENDER,
            to=["a@b.example"],
            message_id=MESSAGE_ID,
            date=datetime(2026, 11, 23, 7),
        )


# --- temporary and permanent failures --------------------------------------------------------


def test_temporary_refusals_are_retried_until_one_copy_is_delivered(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink(data_replies=["451 4.3.0 try again later"] * 2))
    result = send_message(message(digest), f"smtp://127.0.0.1:{port}", retry_wait=0.01)
    assert result.ok
    assert len(sink.data_attempts) == 3
    assert len(sink.delivered) == 1


def test_a_permanent_refusal_fails_at_once_with_the_servers_reason(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink(data_replies=["550 5.7.1 message looks like spam"]))
    result = send_message(message(digest), f"smtp://127.0.0.1:{port}", retry_wait=0.01)
    assert result == SendResult(ok=False, refused={}, error="550 5.7.1 message looks like spam")
    assert len(sink.data_attempts) == 1 and sink.delivered == []


def test_temporary_failures_give_up_after_the_retries(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink(data_replies=["452 4.3.1 mailbox full"] * 5))
    result = send_message(message(digest), f"smtp://127.0.0.1:{port}", retries=2, retry_wait=0.01)
    assert not result.ok
    assert result.error == "452 4.3.1 mailbox full (gave up after 3 attempts)"
    assert len(sink.data_attempts) == 3


def test_one_refused_recipient_is_reported_and_the_others_get_the_digest(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink(refuse={"gone@acme.example": "550 5.1.1 no such user"}))
    result = send_message(
        message(digest, ["pm@acme.example", "gone@acme.example"]), f"smtp://127.0.0.1:{port}"
    )
    assert result == SendResult(ok=True, refused={"gone@acme.example": "550 5.1.1 no such user"})
    assert sink.delivered[0].rcpt_tos == ["pm@acme.example"]


def test_every_recipient_refused_is_a_failure(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink(refuse={"pm@acme.example": "550 5.1.1 no such user"}))
    result = send_message(message(digest), f"smtp://127.0.0.1:{port}", retry_wait=0.01)
    assert not result.ok
    assert result.error == "all recipients refused: pm@acme.example: 550 5.1.1 no such user"
    assert sink.delivered == []


def test_a_server_that_is_not_there_is_retried_then_reported(digest: dict[str, Any]) -> None:
    result = send_message(
        message(digest), f"smtp://127.0.0.1:{free_port()}", retries=1, retry_wait=0.01, timeout=2
    )
    assert not result.ok
    assert result.error is not None
    assert "ConnectionRefusedError" in result.error and "after 2 attempts" in result.error


def test_an_unusable_url_fails_without_showing_the_password(digest: dict[str, Any]) -> None:
    result = send_message(message(digest), "http://user:hunter2@mail.example")
    assert not result.ok and result.error is not None
    assert "http://" in result.error and "hunter2" not in result.error


def test_credentials_are_never_sent_over_plain_smtp(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]]
) -> None:
    sink, port = serve(Sink())
    result = send_message(message(digest), f"smtp://user:secret@127.0.0.1:{port}")
    assert not result.ok and "plain smtp://" in (result.error or "")
    assert sink.delivered == [] and sink.logins == []


# --- TLS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A throw-away self-signed certificate for 127.0.0.1, made with the openssl tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(crt, key)
    return Cert(server=server, client=ssl.create_default_context(cafile=str(crt)))


def test_starttls_logs_in_with_url_decoded_credentials(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]], cert: Cert
) -> None:
    sink = Sink()
    _, port = serve(
        sink,
        tls_context=cert.server,
        require_starttls=True,
        auth_required=True,
        authenticator=sink.authenticate,
    )
    url = (
        f"smtp+starttls://{quote('digest@agency', safe='')}:{quote(PASSWORD, safe='')}"
        f"@127.0.0.1:{port}"
    )
    result = send_message(message(digest), url, ssl_context=cert.client)
    assert result.ok, result.error
    assert sink.logins == [(b"digest@agency", PASSWORD.encode())]
    assert len(sink.delivered) == 1


def test_smtps_sends_over_implicit_tls(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]], cert: Cert
) -> None:
    sink = Sink()
    # Implicit TLS is invisible to aiosmtpd's STARTTLS bookkeeping, hence auth_require_tls off.
    _, port = serve(
        sink, ssl_context=cert.server, auth_require_tls=False, authenticator=sink.authenticate
    )
    url = f"smtps://digest:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    assert send_message(message(digest), url, ssl_context=cert.client).ok
    assert sink.logins == [(b"digest", PASSWORD.encode())]
    assert len(sink.delivered) == 1


def test_an_untrusted_certificate_fails_at_once_and_sends_nothing(
    digest: dict[str, Any], serve: Callable[..., tuple[Sink, int]], cert: Cert
) -> None:
    sink = Sink()
    _, port = serve(sink, tls_context=cert.server, require_starttls=True)
    # retry_wait=5 would make a retry show as a slow test; the result says it was not retried.
    result = send_message(message(digest), f"smtp+starttls://127.0.0.1:{port}", retry_wait=5)
    assert not result.ok and "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
    assert "gave up" not in (result.error or "")
    assert sink.delivered == []


def test_a_wrong_password_is_reported_and_never_logged(
    digest: dict[str, Any],
    serve: Callable[..., tuple[Sink, int]],
    cert: Cert,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Sink()
    _, port = serve(
        sink,
        tls_context=cert.server,
        require_starttls=True,
        auth_required=True,
        authenticator=sink.authenticate,
    )
    # Our logger only: aiosmtpd at DEBUG logs the AUTH exchange itself, and warns that it does.
    caplog.set_level(logging.DEBUG, logger="service")
    url = f"smtp+starttls://digest:wrong-Secret-42@127.0.0.1:{port}"
    result = send_message(message(digest), url, ssl_context=cert.client, retry_wait=0.01, timeout=5)
    assert not result.ok and (result.error or "").startswith("535")
    assert "refused the message" in caplog.text
    assert "wrong-Secret-42" not in caplog.text + (result.error or "")
    assert sink.delivered == []
