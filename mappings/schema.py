"""The shape of a mapping file: one pydantic model per TOML table, each building its model part.

pydantic walks the whole file and collects every problem with where it is. `Table` adds what
pydantic does not say the way we want: unknown keys, with a "did you mean", and the checks between
keys (`mappings.relations`), which run on the file as written so that one wrong value does not hide
another problem. The output is the frozen dataclasses of `mappings.model`, which know nothing of
TOML or pydantic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from mappings import relations
from mappings.model import (
    DigestSchedule,
    ExchangeRate,
    JiraFields,
    Mapping,
    NonBillable,
    Project,
    Rate,
    RateChange,
    Retainer,
    RoleRates,
    Statuses,
)
from mappings.relations import Problem
from mappings.values import (
    IS_TABLE,
    ClientSections,
    Contract,
    Currency,
    CustomField,
    Day,
    Emails,
    Flag,
    Hour,
    Instant,
    KnownCurrency,
    Label,
    LocaleName,
    Money,
    NamedMoney,
    NamedNumbers,
    NamedTexts,
    OptionalMoney,
    OptionalPositive,
    Percentages,
    PositiveNumber,
    ProjectKey,
    Score,
    StatusCategories,
    Text,
    Texts,
    Weekday,
    Zone,
    array_of,
    near_miss,
    positive_money,
    problem_of,
    refuse,
    show,
    unknown_key,
)


class Table(BaseModel):
    """A TOML table: unknown keys are refused by name, alongside every other problem inside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # A table whose keys are not all declared (a rate change names roles): `relations` judges them.
    free_keys: ClassVar[bool] = False

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, dict):
            raise refuse(f"must be a table, got {show(value)}")
        problems: list[Problem] = []
        misspelt: set[tuple[str | None]] = set()
        if not cls.free_keys:
            keys = [field.alias or name for name, field in cls.model_fields.items()]
            unknown = [k for k in value if k not in keys]
            problems += [((k,), unknown_key(k, keys), value[k]) for k in unknown]
            misspelt = {(near_miss(k, keys),) for k in unknown}
            value = {k: v for k, v in value.items() if k in keys}
        problems += cls.relations(value)
        try:
            result = handler(value)
        except ValidationError as exc:
            problems += [(tuple(e["loc"]), problem_of(e), e["input"]) for e in exc.errors()]
        # A misspelt key also leaves the right one missing: one mistake, one message.
        problems = [p for p in problems if not (p[0] in misspelt and p[1].startswith("missing"))]
        if problems:
            details = [
                InitErrorDetails(type=refuse(p), loc=loc, input=got) for loc, p, got in problems
            ]
            raise ValidationError.from_exception_data(cls.__name__, details)
        return result

    @classmethod
    def relations(cls, raw: dict[str, Any]) -> list[Problem]:
        """Problems between keys of this table as written; only the whole file has any so far."""
        return []


# --- rates --------------------------------------------------------------------------------------


class RateTable(Table):
    """`{ billing = 80, cost = 50 }`: the rate billed and, optionally, what the hour costs us."""

    billing: Money
    cost: OptionalMoney = None

    def build(self) -> Rate:
        return Rate(billing=self.billing, cost=self.cost)


def _number_is_billing(value: Any) -> Any:
    """A plain number is the billing rate; anything else must be a `{ billing, cost }` table."""
    if isinstance(value, dict):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return {"billing": positive_money(value)}
    raise refuse(f"must be a positive number or {{ billing = …, cost = … }}, got {show(value)}")


RateValue = Annotated[RateTable, BeforeValidator(_number_is_billing)]
Rates = Annotated[dict[str, RateValue], IS_TABLE]


def _role_rates(rates: dict[str, RateTable]) -> RoleRates:
    return tuple((name, rate.build()) for name, rate in rates.items())


class RateChangeTable(Table):
    """`[[projects.rate_changes]]`: `from = DATE` and the new rate of each role it names."""

    model_config = ConfigDict(extra="allow")
    free_keys = True
    __pydantic_extra__: dict[str, RateValue] = Field(init=False)

    start: Day = Field(alias="from")

    def build(self) -> RateChange:
        return RateChange(start=self.start, rates=_role_rates(self.__pydantic_extra__ or {}))


# --- a project ----------------------------------------------------------------------------------


class DigestTable(Table):
    to: Emails = DigestSchedule.to
    day: Weekday = DigestSchedule.day
    hour: Hour = DigestSchedule.hour
    tz: Zone = DigestSchedule.tz
    grace_hours: PositiveNumber = DigestSchedule.grace_hours

    def build(self) -> DigestSchedule:
        return DigestSchedule(**dict(self))


class RetainerTable(Table):
    hours_per_month: OptionalPositive = None
    money_per_month: OptionalMoney = None
    carry_over: Flag = Retainer.carry_over

    # pydantic runs this after Table's check has passed, so a misspelt hours_per_month is reported
    # once, as an unknown key, rather than also as "needs hours_per_month".
    @model_validator(mode="after")
    def _hours_or_money(self) -> RetainerTable:
        if (self.hours_per_month is None) == (self.money_per_month is None):
            raise refuse("needs hours_per_month or money_per_month, exactly one of them")
        return self

    def build(self) -> Retainer:
        return Retainer(**dict(self))


class NonBillableTable(Table):
    types: Texts = NonBillable.types
    labels: Texts = NonBillable.labels
    components: Texts = NonBillable.components

    def build(self) -> NonBillable:
        return NonBillable(**dict(self))


RateChanges = Annotated[
    tuple[RateChangeTable, ...], array_of("an array of tables, [[projects.rate_changes]]")
]


class ProjectTable(Table):
    # Order matters where a check reads an earlier key: end after start, retainer after contract.
    key: ProjectKey
    client: Text
    currency: Currency
    budget: Money
    start: Day
    end: Day
    baseline: Instant | None = None
    hours_per_point: PositiveNumber
    weekly_capacity_hours: PositiveNumber
    default_rate: Money
    exclude_types: Texts = Project.exclude_types
    digest: DigestTable = Field(default_factory=DigestTable)
    categories: NamedMoney = Field(default_factory=dict)
    pm: Emails = Project.pm
    locale: LocaleName = Project.locale
    client_sections: ClientSections = Project.client_sections
    contract: Contract = Project.contract
    retainer: RetainerTable | None = Field(default=None, validate_default=True)
    alerts: Percentages = Project.alerts
    alerts_to_client: Flag = Project.alerts_to_client
    feedback_alert_below: Score = Project.feedback_alert_below
    notify_client_on_flag: Flag = Project.notify_client_on_flag
    non_billable: NonBillableTable = Field(default_factory=NonBillableTable)
    rates: Rates = Field(default_factory=dict)
    person_rates: Rates = Field(default_factory=dict)
    rate_changes: RateChanges = ()

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: Any, info: ValidationInfo) -> Any:
        start = info.data.get("start")
        if start is not None and end < start:
            raise refuse(f"must not be before start ({start}), got {end}")
        return end

    @field_validator("retainer")
    @classmethod
    def _retainer_with_its_contract(cls, retainer: Any, info: ValidationInfo) -> Any:
        contract = info.data.get("contract")  # absent when contract itself is wrong
        if contract == "retainer" and retainer is None:
            raise refuse(
                'missing: contract = "retainer" needs '
                "retainer = { hours_per_month = …, carry_over = … } (or money_per_month)"
            )
        if contract not in (None, "retainer") and retainer is not None:
            raise refuse(f'only goes with contract = "retainer"; this project\'s is "{contract}"')
        return retainer

    def build(self) -> Project:
        built = {
            "digest": self.digest.build(),
            "categories": tuple(self.categories.items()),
            "retainer": self.retainer.build() if self.retainer else None,
            "non_billable": self.non_billable.build(),
            "rates": _role_rates(self.rates),
            "person_rates": _role_rates(self.person_rates),
            "rate_changes": tuple(change.build() for change in self.rate_changes),
        }
        return Project(**{**dict(self), **built})


# --- the file -----------------------------------------------------------------------------------

_LABELS = ("scope_change_label", "approved_label", "rejected_label")


class JiraTable(Table):
    story_points_field: CustomField = JiraFields.story_points_field
    flagged_field: CustomField = JiraFields.flagged_field
    impact_hours_field: CustomField | None = None
    impact_cost_field: CustomField | None = None
    scope_change_label: Label = JiraFields.scope_change_label
    approved_label: Label = JiraFields.approved_label
    rejected_label: Label = JiraFields.rejected_label

    @field_validator("approved_label", "rejected_label")
    @classmethod
    def _labels_differ(cls, label: str, info: ValidationInfo) -> str:
        # One label meaning two things would turn a rejection into an approval.
        assert info.field_name is not None
        for other in _LABELS[: _LABELS.index(info.field_name)]:
            if info.data.get(other) == label:
                raise refuse(f'must differ from {other}, both are "{label}"')
        return label

    def build(self) -> JiraFields:
        return JiraFields(**dict(self))


class StatusesTable(Table):
    blocked: Texts = Statuses.blocked
    waiting_on_client: Texts = Statuses.waiting_on_client
    done_categories: StatusCategories = Statuses.done_categories

    def build(self) -> Statuses:
        return Statuses(**dict(self))


class ExchangeRateTable(Table):
    """`[[exchange_rates]]`: `{ from = DATE, currency = "USD", to = "EUR", rate = 0.92 }`."""

    start: Day = Field(alias="from")
    currency: KnownCurrency
    to: KnownCurrency
    rate: Money

    @field_validator("to")
    @classmethod
    def _another_currency(cls, to: str, info: ValidationInfo) -> str:
        if info.data.get("currency") == to:
            raise refuse(f'must differ from currency, both are "{to}"')
        return to

    def build(self) -> ExchangeRate:
        return ExchangeRate(**dict(self))


ExchangeRates = Annotated[
    tuple[ExchangeRateTable, ...], array_of("an array of tables, [[exchange_rates]]")
]


def _one_or_more(projects: Any) -> Any:
    if not isinstance(projects, list) or not projects:
        raise refuse(f"must be one or more [[projects]] tables, got {show(projects)}")
    return projects


class MappingTable(Table):
    jira: JiraTable = Field(default_factory=JiraTable)
    projects: Annotated[tuple[ProjectTable, ...], BeforeValidator(_one_or_more)] = ()
    rates: Rates = Field(default_factory=dict)
    people: NamedTexts = Field(default_factory=dict)
    estimates: NamedNumbers = Field(default_factory=dict)
    statuses: StatusesTable = Field(default_factory=StatusesTable)
    exchange_rates: ExchangeRates = ()

    @classmethod
    def relations(cls, raw: dict[str, Any]) -> list[Problem]:
        return relations.of_mapping(raw)

    def build(self, source: str) -> Mapping:
        return Mapping(
            jira=self.jira.build(),
            projects=tuple(project.build() for project in self.projects),
            rates=_role_rates(self.rates),
            people=tuple(self.people.items()),
            estimates=tuple(self.estimates.items()),
            statuses=self.statuses.build(),
            exchange_rates=tuple(rate.build() for rate in self.exchange_rates),
            source=source,
        )
