"""What every request, worker loop and CLI command needs, built once: `Runtime.from_settings()`.

The engine, the mapping, the Jira client (None when Jira is not configured: write-backs then wait
in the outbox), the mailer (None without SMTP settings) and the clock. The CLI, the worker, the
scheduler and `create_app` all start from one of these; nothing below them reads the environment
or the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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

log = logging.getLogger(__name__)


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


class Paced:
    """A job for the worker loop's idle hook, run at most once every `every` (by the runtime's
    clock), so an idle worker does not rebuild every project's figures each second. `job(rt, now)`
    returns how many mails it sent; its failure is logged and the next round tries again."""

    def __init__(
        self,
        rt: Runtime,
        job: Callable[[Runtime, datetime], int],
        *,
        every: timedelta = timedelta(minutes=10),
        name: str = "paced job",
    ) -> None:
        self.rt = rt
        self.job = job
        self.every = every
        self.name = name
        self.last: datetime | None = None

    def __call__(self) -> int:
        now = self.rt.clock()
        if self.last is not None and now - self.last < self.every:
            return 0
        self.last = now
        try:
            return self.job(self.rt, now)
        except Exception:  # the worker's loop goes on; the next round tries again
            log.exception("%s failed", self.name)
            return 0
