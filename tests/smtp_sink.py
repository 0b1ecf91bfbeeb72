"""An aiosmtpd handler for mail tests: refuses RCPTs and answers DATA as scripted, then accepts.

It can also take a message in and never answer (`hold`): the mail has arrived, but its sender is
left waiting, which is where a test kills it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class ScriptedSink:
    data_replies: list[str] = field(default_factory=list)  # answered in turn, then 250
    refuse: dict[str, str] = field(default_factory=dict)  # address → RCPT reply
    delivered: list[Envelope] = field(default_factory=list)
    data_attempts: list[float] = field(default_factory=list)  # monotonic times of each DATA
    hold: set[str] = field(
        default_factory=set
    )  # the next DATA to one of these: taken, not answered
    released: bool = False  # held DATA commands are answered (running_sink sets it when done)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.data_attempts.append(time.monotonic())
        held = self.hold & set(envelope.rcpt_tos)
        if held:
            self.hold -= held
            self.delivered.append(envelope)  # the mail has arrived...
            while not self.released:  # ...but its sender never hears so
                await asyncio.sleep(0.05)
            return "250 OK"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.delivered.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.delivered:
            content = envelope.original_content
            assert isinstance(content, bytes)
            msg = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            parsed.append(msg)
        return parsed

    def message_ids(self) -> list[str]:
        return [str(msg["Message-ID"]) for msg in self.messages()]


@contextmanager
def running_sink() -> Iterator[tuple[ScriptedSink, int]]:
    """A ScriptedSink served by aiosmtpd on a free loopback port, for the length of the block."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = ScriptedSink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.released = True
        controller.stop()
