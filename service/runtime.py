"""What every request, worker loop and CLI command needs: settings, the engine, the mapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Engine

from mappings.model import Mapping
from service.settings import Settings
from service.store.schema import utcnow


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    mapping: Mapping
    # The one source of "now" for views and the engine: tests freeze it.
    clock: Callable[[], datetime] = utcnow


def get_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["scopewatch"]
    return runtime
