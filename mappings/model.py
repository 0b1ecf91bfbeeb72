"""The validated mapping: frozen dataclasses that every other part of scopewatch reads.

Nothing here knows about TOML; `mappings.loader` builds these from a file and checks every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class JiraFields:
    """Which Jira fields carry what; custom field ids differ from site to site."""

    story_points_field: str = "customfield_10016"
    flagged_field: str = "customfield_10021"
    impact_hours_field: str | None = None
    impact_cost_field: str | None = None
    scope_change_label: str = "scope-change"
    approved_label: str = "scope-approved"
    rejected_label: str = "scope-rejected"


@dataclass(frozen=True)
class DigestSchedule:
    to: tuple[str, ...] = ()
    day: str = "MON"  # one of WEEKDAYS
    hour: int = 8
    tz: str = "UTC"

    @property
    def weekday(self) -> int:
        """Monday is 0, as in `datetime.weekday()`."""
        return WEEKDAYS.index(self.day)


@dataclass(frozen=True)
class Project:
    key: str
    client: str
    currency: str
    budget: float
    start: date
    end: date
    baseline: datetime | None  # timezone-aware; None when only a captured baseline is used
    hours_per_point: float
    weekly_capacity_hours: float
    default_rate: float
    exclude_types: tuple[str, ...] = ()
    digest: DigestSchedule = field(default_factory=DigestSchedule)
    categories: tuple[tuple[str, float], ...] = ()  # (component name, budget), in file order

    @property
    def category_budgets(self) -> dict[str, float]:
        return dict(self.categories)

    @property
    def hours_per_day(self) -> float:
        return self.weekly_capacity_hours / 5


@dataclass(frozen=True)
class Statuses:
    blocked: tuple[str, ...] = ("Blocked",)
    waiting_on_client: tuple[str, ...] = ("Waiting for client",)
    done_categories: tuple[str, ...] = ("done",)


@dataclass(frozen=True)
class Mapping:
    """Everything one mapping file says. `source` is the file it came from, for messages."""

    jira: JiraFields
    projects: tuple[Project, ...]
    rates: tuple[tuple[str, float], ...] = ()  # role -> hourly rate
    people: tuple[tuple[str, str], ...] = ()  # Jira accountId (or Data Center name) -> role
    estimates: tuple[tuple[str, float], ...] = ()  # issue type -> default hours
    statuses: Statuses = field(default_factory=Statuses)
    source: str = "<memory>"

    def project(self, key: str) -> Project | None:
        return next((p for p in self.projects if p.key == key), None)

    @property
    def rate_by_role(self) -> dict[str, float]:
        return dict(self.rates)

    @property
    def role_by_person(self) -> dict[str, str]:
        return dict(self.people)

    @property
    def hours_by_type(self) -> dict[str, float]:
        return dict(self.estimates)

    def rate_for(self, person: str | None, project: Project) -> float:
        """The hourly rate of a person's role, else the project's default rate."""
        role = self.role_by_person.get(person or "")
        rate = self.rate_by_role.get(role or "")
        return project.default_rate if rate is None else rate
