"""`check_mapping`: warnings about a valid mapping that probably does not do what is meant."""

from __future__ import annotations

import math

from mappings.errors import show_key
from mappings.model import Mapping, Project, RoleRates


def check_mapping(mapping: Mapping) -> list[str]:
    """Warnings, one line each, naming the file and the key."""
    warnings = _people_without_a_rate(mapping) + _costs_above_billing("rates", mapping.rates)
    for i, project in enumerate(mapping.projects):
        where = f"projects[{i}] ({project.key})"
        warnings += [f"{where}: {w}" for w in _project_warnings(mapping, project)]
    return [f"{mapping.source}: {w}" for w in warnings]


def _people_without_a_rate(mapping: Mapping) -> list[str]:
    warnings = []
    rates = mapping.rate_by_role
    for person, role in mapping.people:
        if role in rates:
            continue
        lacking = [p.key for p in mapping.projects if role not in dict(p.rates)]
        if len(lacking) == len(mapping.projects):
            warnings.append(
                f'people.{show_key(person)}: role "{role}" has no rate in [rates]; '
                "their hours are priced at the project's default_rate"
            )
        elif lacking:
            warnings.append(
                f'people.{show_key(person)}: role "{role}" has no rate in [rates] nor in the rates '
                f"of {', '.join(lacking)}; their hours there are priced at its default_rate"
            )
    return warnings


def _project_warnings(mapping: Mapping, project: Project) -> list[str]:
    warnings = []
    if project.baseline is None:
        warnings.append(
            "no baseline date; flags nothing until a baseline is captured with "
            f"`scopewatch baseline capture --project {project.key}`"
        )
    if project.categories:
        total = sum(budget for _, budget in project.categories)
        if not math.isclose(total, project.budget, abs_tol=0.005):
            warnings.append(
                f"category budgets add up to {total:g}, "
                f"the project budget is {project.budget:g} {project.currency}"
            )
    if not project.digest.to:
        warnings.append("digest has no recipients (`to`); no digest will be sent")
    roles = set(mapping.role_by_person.values())
    warnings += [
        f"rates.{show_key(role)}: nobody in [people] has this role; is it misspelt?"
        for role, _ in project.rates
        if role not in roles
    ]
    warnings += _costs_above_billing("rates", project.rates)
    warnings += _costs_above_billing("person_rates", project.person_rates)
    for j, change in enumerate(project.rate_changes):
        warnings += _costs_above_billing(f"rate_changes[{j}]", change.rates)
    return warnings


def _costs_above_billing(table: str, rates: RoleRates) -> list[str]:
    """A cost above the billing rate loses money on every hour: possible, rarely meant."""
    return [
        f"{table}.{show_key(name)}: cost {rate.cost:g} is above the billing rate {rate.billing:g}"
        for name, rate in rates
        if rate.cost is not None and rate.cost > rate.billing
    ]
