"""Read what a client is still sending before we answer it early.

A route that answers before it reads the body (a 401 before any parsing, a 415 on the type)
leaves the rest unread, and the threaded server then closes the connection: a client still
sending a chunked body gets a broken pipe instead of our answer (the reliability fuzz saw this
under load). Reading and dropping the rest, up to the intake limit, lets every client read its
answer; beyond the limit the server closes as before.
"""

from __future__ import annotations

from typing import IO

from flask import Response, request

from service.web.context import get_runtime

CHUNK = 64 * 1024


def drain(stream: IO[bytes], limit: int) -> None:
    while limit > 0:
        chunk = stream.read(min(CHUNK, limit))
        if not chunk:
            return
        limit -= len(chunk)


def drain_after_request(response: Response) -> Response:
    """Flask's `after_request` hook: the body's unread rest, before the answer goes out."""
    drain(request.stream, get_runtime().settings.max_body + 1)
    return response
