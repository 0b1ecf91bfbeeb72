"""What every request, worker loop and CLI command needs, built once: `Runtime.from_settings()`.

The engine, the mapping, the Jira client (None when Jira is not configured: write-backs then wait
in the outbox), the mailer (None without SMTP settings) and the clock. The CLI, the worker, the
scheduler and `create_app` all start from one of these; nothing below them reads the environment
or the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from mappings import load_mapping
from mappings.model import Mapping
from service.mailer import Mailer
from service.settings import Settings, load_settings
from service.store.clock import Clock, system_clock
from service.store.engine import make_engine

if TYPE_CHECKING:
    from service.jira.client import JiraClient


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    mapping: Mapping
    # The one source of "now" for views and the engine: tests freeze it.
    clock: Clock = system_clock
    jira: JiraClient | None = None
    mailer: Mailer | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        interactive: bool = False,
    ) -> Runtime:
        """Everything built from the settings (default: the environment's), once.

        `interactive` for a command run by hand: its Jira client gives up on a Jira that does not
        answer within `SCOPEWATCH_JIRA_GIVE_UP` seconds; services keep retrying for minutes.
        """
        settings = settings or load_settings()
        mapping = load_mapping(settings.mappings)
        clock = clock or system_clock
        return cls(
            settings=settings,
            engine=make_engine(settings.database_url),
            mapping=mapping,
            clock=clock,
            jira=_jira_client(settings, mapping, interactive, clock),
            mailer=_mailer(settings),
        )

    def close(self) -> None:
        self.engine.dispose()


def _jira_client(
    settings: Settings, mapping: Mapping, interactive: bool, clock: Clock
) -> JiraClient | None:
    if not settings.jira_configured:
        return None
    # Imported here: the `jira` library costs a quarter of a second, and most commands need none.
    from service.jira.client import JiraClient

    return JiraClient.from_settings(settings, mapping, interactive=interactive, clock=clock)


def _mailer(settings: Settings) -> Mailer | None:
    if not settings.smtp_url or not settings.mail_from:
        return None
    return Mailer(smtp_url=settings.smtp_url, mail_from=settings.mail_from)
