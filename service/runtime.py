"""What every request, worker loop and CLI command needs: settings, the engine, the mapping."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine

from mappings.model import Mapping
from service.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    mapping: Mapping


def get_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["scopewatch"]
    return runtime
