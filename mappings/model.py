"""The validated mapping: frozen dataclasses that every other part of scopewatch reads.

Nothing here knows about TOML; `mappings.loader` builds these from a file and checks every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# The digest's sections a project may send its client (`client_sections`), and the default. The
# earned-value table and the internal figures (work logged on rejected changes) are the PM's
# alone, so no mapping can choose them for a client.
CLIENT_SECTION_CHOICES = (
    "headline", "waiting_on_you", "budget", "scope", "milestones", "blockers", "feedback",
    "transitions", "risks", "questions",
)  # fmt: skip
DEFAULT_CLIENT_SECTIONS = CLIENT_SECTION_CHOICES[:7]


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
    grace_hours: float = 24  # how late a digest may still go out for its week

    @property
    def weekday(self) -> int:
        """Monday is 0, as in `datetime.weekday()`."""
        return WEEKDAYS.index(self.day)


@dataclass(frozen=True)
class Rate:
    """An hourly rate: what the client is billed and, when known, what the hour costs us."""

    billing: Decimal
    cost: Decimal | None = None  # internal; no client-facing text shows it


RoleRates = tuple[tuple[str, Rate], ...]  # (role or person, rate), in file order


@dataclass(frozen=True)
class RateChange:
    """New rates for some roles, from `start` (in the project's zone) until the next change."""

    start: date
    rates: RoleRates


@dataclass(frozen=True)
class Retainer:
    """A monthly allowance, in hours or in money (exactly one of them is set)."""

    hours_per_month: float | None = None
    money_per_month: Decimal | None = None
    carry_over: bool = False  # unused allowance moves to the next month


@dataclass(frozen=True)
class NonBillable:
    """Work that is logged but not billed: matched by issue type, label or component."""

    types: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()


CONTRACTS = ("time_and_materials", "fixed_price", "retainer")


@dataclass(frozen=True)
class Project:
    key: str
    client: str
    currency: str
    budget: Decimal
    start: date
    end: date
    baseline: datetime | None  # timezone-aware; None when only a captured baseline is used
    hours_per_point: float
    weekly_capacity_hours: float
    default_rate: Decimal
    exclude_types: tuple[str, ...] = ()
    digest: DigestSchedule = field(default_factory=DigestSchedule)
    categories: tuple[tuple[str, Decimal], ...] = ()  # (component name, budget), in file order
    pm: tuple[str, ...] = ()  # the agency's people: previews, alerts, feedback alerts
    locale: str = "en_GB"  # Babel locale of the client's digest
    client_sections: tuple[str, ...] = DEFAULT_CLIENT_SECTIONS  # in CLIENT_SECTION_CHOICES
    contract: str = "time_and_materials"  # one of CONTRACTS
    retainer: Retainer | None = None  # set exactly when contract is "retainer"
    alerts: tuple[float, ...] = (50, 75, 90, 100)  # % of budget, ascending
    alerts_to_client: bool = False  # the 90 and 100 % crossings also mail `digest.to` (live only)
    feedback_alert_below: int = 6  # a feedback score at or below it alerts `pm`
    notify_client_on_flag: bool = False
    non_billable: NonBillable = field(default_factory=NonBillable)
    rates: RoleRates = ()  # this client's card, over Mapping.rates
    person_rates: RoleRates = ()  # by Jira person, over any role
    rate_changes: tuple[RateChange, ...] = ()  # ascending by start

    @property
    def category_budgets(self) -> dict[str, Decimal]:
        return dict(self.categories)

    @property
    def hours_per_day(self) -> float:
        return self.weekly_capacity_hours / 5


@dataclass(frozen=True)
class ExchangeRate:
    """One unit of `currency` is worth `rate` of `to`, from `start` until the pair's next entry."""

    start: date
    currency: str
    to: str
    rate: Decimal


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
    rates: RoleRates = ()  # role -> hourly rate
    people: tuple[tuple[str, str], ...] = ()  # Jira accountId (or Data Center name) -> role
    estimates: tuple[tuple[str, float], ...] = ()  # issue type -> default hours
    statuses: Statuses = field(default_factory=Statuses)
    # For a multi-project total in one currency only; ascending by start within each pair.
    exchange_rates: tuple[ExchangeRate, ...] = ()
    source: str = "<memory>"

    def project(self, key: str) -> Project | None:
        return next((p for p in self.projects if p.key == key), None)

    @property
    def rate_by_role(self) -> dict[str, Decimal]:
        """The billing rate of each role in [rates]."""
        return {role: rate.billing for role, rate in self.rates}

    @property
    def role_by_person(self) -> dict[str, str]:
        return dict(self.people)

    @property
    def hours_by_type(self) -> dict[str, float]:
        return dict(self.estimates)

    def rate_for(self, person: str | None, project: Project) -> Decimal:
        """The hourly billing rate of a person on `project`.

        Their own rate, else the project's rate for their role, else [rates] for their role, else
        the project's default rate, as first agreed: dated `rate_changes` are applied by
        `reports.rates.rate_on`, which everything that prices work uses (in Decimal).
        """
        role = self.role_by_person.get(person or "")
        for rates, name in (
            (project.person_rates, person),
            (project.rates, role),
            (self.rates, role),
        ):
            rate = dict(rates).get(name) if name is not None else None
            if rate is not None:
                return rate.billing
        return project.default_rate
