"""scopewatch's service. `create_app()` is the only way to get an app: no module-level app.

The factory lives in `service.web.app`; it is named here too because `service:create_app()` is
what gunicorn and operators are told to run. It is imported on first use, so that the CLI, the
worker and `reports` do not load Flask by importing a package of `service`.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    from service.web.app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app"]
