"""What a request handler needs: the sandbox it runs in, who is calling, and which API version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from .clock import Clock
from .errors import JiraError
from .events import Events
from .faults import Faults, RequestLog
from .render import Renderer
from .state import JiraState
from .webhooks import WebhookDispatcher

EXTENSION = "scopewatch.sandbox"


@dataclass
class Sandbox:
    state: JiraState
    clock: Clock
    dispatcher: WebhookDispatcher
    seed: dict[str, Any]
    strict: bool = False
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)


def sandbox() -> Sandbox:
    return current_app.extensions[EXTENSION]


def api_version() -> int:
    return 3 if request.path.startswith("/rest/api/3/") else 2


def base_url() -> str:
    return request.host_url.rstrip("/")


def renderer() -> Renderer:
    return Renderer(sandbox().state, base_url(), api_version())


def events() -> Events:
    """Webhooks always use the v2 shapes, whichever API version made the change."""
    sb = sandbox()
    return Events(sb.dispatcher, Renderer(sb.state, base_url(), 2), sb.clock.now())


def actor() -> str:
    auth = request.authorization
    return sandbox().state.catalog.user_for_login(auth.username if auth else None)


def json_body() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise JiraError(400, "No content to map to Object due to end of input")
    return data


def int_arg(name: str, default: int, body: dict[str, Any] | None = None) -> int:
    raw = (body or {}).get(name, request.args.get(name))
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise JiraError(400, f"The value '{raw}' is not valid for the parameter '{name}'.") from exc


def list_arg(name: str, body: dict[str, Any] | None = None) -> list[str] | None:
    """Jira's comma-separated (or repeated, or JSON array) list parameters; None when absent."""
    raw: Any = (body or {}).get(name) if body is not None else None
    if raw is None:
        raw = request.args.getlist(name) or None
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    return [part.strip() for item in raw for part in str(item).split(",") if part.strip()]
