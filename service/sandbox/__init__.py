"""A faithful local stand-in for Jira Cloud's REST API and webhooks.

It knows nothing of scopewatch: it speaks only Jira's documented shapes, so tests against it
prove the integration rather than our assumptions. Where it and real Jira differ, it is wrong.
"""

from .app import create_sandbox_app
from .seeding import SeedError, load_seed
from .server import SandboxServer, serve

__all__ = ["SandboxServer", "SeedError", "create_sandbox_app", "load_seed", "serve"]
