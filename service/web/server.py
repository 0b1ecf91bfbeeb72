"""A threaded HTTP server for `scopewatch serve` and `run` (production uses gunicorn).

Its access log drops query strings: the `?token=` fallback carries the webhook secret.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

log = logging.getLogger("scopewatch.access")
QUERY = re.compile(r"\?[^\s'\"]*")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        # Error lines quote the raw request line; strip its query string too.
        text = QUERY.sub("", message % args if args else message)
        log.log(logging.WARNING if type == "error" else logging.INFO, "%s", text)


def serve_app(app: Flask, host: str, port: int) -> None:
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    log.info("listening on http://%s:%s", host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
