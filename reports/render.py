"""The weekly digest as an e-mail subject, HTML (for mail clients) and plain text.

`_view` turns the digest dict into display strings once; the two templates only lay them out, so
the HTML and the text say the same thing. Everything that came from Jira is ticket text a stranger
may have typed: it is made single-line and stripped of control characters here, and the HTML
template escapes it (autoescape on). The only links rendered are the feedback link and the signed
approve/reject links of pending changes, and only when they are http(s).
"""

from __future__ import annotations

import base64
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mappings.model import CLIENT_SECTION_CHOICES, DEFAULT_CLIENT_SECTIONS
from reports import charts, formats, i18n
from reports.budget import UNCATEGORISED
from reports.i18n import N_

# Every fixed text is English here and goes through the catalogue of the digest's locale
# (`reports.i18n`); N_ marks a text kept in a table, translated where it is shown.
NEEDS_ESTIMATE = N_("needs estimate")
_BLANK = formats.BLANK
_DECISIONS = {
    "pending": N_("awaiting your decision"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}
_EVM_LABELS = (
    ("bac", N_("Budget at completion (BAC)"), "money"),
    ("pv", N_("Planned value to date (PV)"), "money"),
    ("ev", N_("Earned value to date (EV)"), "money"),
    ("ac", N_("Actual cost to date (AC)"), "money"),
    ("cpi", N_("Cost performance index (CPI)"), "ratio"),
    ("spi", N_("Schedule performance index (SPI)"), "ratio"),
    ("eac", N_("Estimate at completion (EAC)"), "money"),
    ("etc", N_("Estimate to complete (ETC)"), "money"),
    ("vac", N_("Variance at completion (VAC)"), "money"),
)
# Two audiences. The client's digest holds the sections its project's mapping chooses
# (`client_sections`, by default these: docs/digest-status.md); the PM's holds every section, the
# earned-value table with its acronyms and the internal figures (work logged on rejected changes).
CLIENT, PM = "client", "pm"
CLIENT_SECTIONS: tuple[str, ...] = DEFAULT_CLIENT_SECTIONS
PM_SECTIONS: tuple[str, ...] = (*CLIENT_SECTION_CHOICES, "earned_value", "internal")
SECTIONS = {CLIENT: CLIENT_SECTIONS, PM: PM_SECTIONS}
CHARTS: tuple[str, ...] = ("burn", "scope")
_CHART_MAKERS: dict[str, Callable[[Mapping[str, Any], str | None], bytes]] = {
    "burn": charts.burn_chart,
    "scope": charts.scope_chart,
}


@lru_cache(maxsize=16)
def _env(locale: str) -> Environment:
    """The templates with the catalogue of `locale` installed: one environment per locale, as
    Jinja's i18n extension keeps the translations on the environment."""
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,  # a misspelt name in a template fails the tests, not a client
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # newstyle: `_("Approve %(key)s", key=k)` escapes the value, never the translation.
    translations = i18n.translations(locale)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals["needs_estimate"] = i18n.texts(locale)._(NEEDS_ESTIMATE)
    return env


# --- the three outputs ----------------------------------------------------------------------


def subject(d: Mapping[str, Any], *, locale: str | None = None) -> str:
    """One line, e.g. `[ACME] Week 47: off track, 62% of budget used, 3 scope changes (€2,620),
    2 decisions and 1 blocker waiting on you`: the status first when the digest has one.

    `locale` (here and in the other renderers) overrides the digest's own "locale" key; without
    either the digest is shown in `formats.DEFAULT_LOCALE`.
    """
    show = _Show.of(d, locale)
    head = _headline(d)
    parts: list[str] = []
    if head.get("status"):
        status = _clean(head["status"])
        parts.append(show._(_STATUS_WORDS[status]) if status in _STATUS_WORDS else status)
    contract = (d.get("budget") or {}).get("contract") or {}
    if contract.get("type") == "fixed_price":
        # The client pays the price: the share delivered is their news, not the effort spent.
        if contract.get("delivered") is not None:
            parts.append(
                show._("%(pct)s of the planned work delivered", pct=show.pct(contract["delivered"]))
            )
    elif head["spent_pct"] is not None:
        parts.append(show._("%(pct)s of budget used", pct=show.pct(head["spent_pct"])))
    parts.append(_changes_phrase(head, show))
    waiting = _waiting_items(head, show)
    if waiting:
        parts.append(show._("%(items)s waiting on you", items=_and(waiting, show)))
    week = _week_label(d.get("week"), show)
    text = f"[{_clean(d.get('project'))}] {week}: " + show._(", ").join(parts)
    # A header must stay one line whatever the data holds: that is what stops header injection.
    return _clean(text)


def render_html(
    d: Mapping[str, Any],
    *,
    image_cids: Mapping[str, str] | None = None,
    locale: str | None = None,
    audience: str = CLIENT,
) -> str:
    """The digest as an e-mail-safe HTML page: tables, inline CSS, no script.

    With `image_cids` ({"burn": cid, "scope": cid}) the charts are `cid:` references to MIME
    parts; without it they are embedded as `data:` URIs so a browser preview shows them.
    `audience` is "client" (plain words, the client's sections) or "pm" (everything).
    """
    show = _Show.of(d, locale)
    view = _view(d, show, audience)
    view["charts"] = _chart_sources(d, image_cids, show.locale)
    return _env(show.locale).get_template("digest.html").render(v=view)


def render_text(d: Mapping[str, Any], *, locale: str | None = None, audience: str = CLIENT) -> str:
    """The plain-text twin of the HTML, with aligned columns."""
    show = _Show.of(d, locale)
    view = _view(d, show, audience)
    return _env(show.locale).get_template("digest.txt").render(v=view, table=_text_table)


def _text_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: str = "",
    clip: Mapping[int, int] | None = None,
) -> str:
    """Columns padded to their widest cell.

    `right` lists the 0-based columns to right-align; `clip` caps a column's width (the summary),
    so a long ticket title does not push the figures off a plain-text reader's screen.
    """
    aligned = {int(i) for i in right}
    limits = clip or {}
    rows = [
        [_clip(cell, limits[i]) if i in limits else cell for i, cell in enumerate(r)] for r in rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in aligned else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


# --- the view: every figure as the string a reader sees ---------------------------------------


@dataclass(frozen=True)
class _Show:
    """The digest's figures as text, through `reports.formats`, in one locale and currency; its
    issue keys as links to the Jira site the digest names."""

    locale: str
    currency: str
    jira: str | None = None

    @classmethod
    def of(cls, d: Mapping[str, Any], locale: str | None) -> _Show:
        return cls(formats.locale_of(d, locale), _clean(d.get("currency")), _jira_base(d))

    def key(self, value: Any) -> IssueKey:
        return IssueKey(value, self.jira)

    def _(self, message: str, **values: object) -> str:
        return i18n.texts(self.locale)._(message, **values)

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        return i18n.texts(self.locale).ngettext(singular, plural, n, **values)

    @property
    def needs_estimate(self) -> str:
        return self._(NEEDS_ESTIMATE)

    def days(self, value: Any) -> str:
        """An age in whole days: "1 day", "12 days"."""
        if value is None:
            return _BLANK
        return self.ngettext("%(num)s day", "%(num)s days", int(value))

    def money(self, value: Any, currency: str = "") -> str:
        return formats.money(_number(value), currency or self.currency, self.locale)

    def hours(self, value: Any) -> str:
        return formats.hours(_number(value), self.locale)

    def tenths(self, value: Any) -> str:
        return formats.tenths(_number(value), self.locale)

    def pct(self, value: Any) -> str:
        return formats.percent(_number(value), self.locale)

    def ratio(self, value: Any) -> str:
        return formats.number(_number(value), self.locale, 2)

    def date(self, value: Any) -> str:
        """The day in the offset the builder gave (the project's digest zone); text that is not
        a date is shown as it came rather than failing the whole digest."""
        try:
            return formats.date(value, self.locale)
        except (TypeError, ValueError):
            return _clean(value)


class IssueKey(str):
    """An issue key as its table cell shows it, with the Jira page it links to (None when the
    digest names no Jira site). A `str`, so the text tables pad and measure it like any cell."""

    url: str | None

    def __new__(cls, key: Any, jira_url: str | None) -> IssueKey:
        made = super().__new__(cls, _clean(key))
        made.url = f"{jira_url}/browse/{quote(made)}" if jira_url and made else None
        return made


def _jira_base(d: Mapping[str, Any]) -> str | None:
    """The Jira site the builder put in the digest ("jira_url"), if it is a safe http(s) URL."""
    base = _safe_link(d.get("jira_url"))
    return base.rstrip("/") if base else None


def _links(view: Mapping[str, Any]) -> list[IssueKey]:
    """Every linked issue key the view shows, once, in the order a reader meets them: the
    plain-text digest lists their Jira pages at its end."""
    found: dict[str, IssueKey] = {}

    def walk(value: Any) -> None:
        if isinstance(value, IssueKey):
            if value.url:
                found.setdefault(str(value), value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(view)
    return list(found.values())


def _view(d: Mapping[str, Any], show: _Show, audience: str = CLIENT) -> dict[str, Any]:
    if audience not in SECTIONS:
        raise ValueError(f"unknown audience {audience!r}: use {' or '.join(SECTIONS)}")
    sections = SECTIONS[audience]
    if audience == CLIENT and d.get("client_sections") is not None:
        # The mapping's choice, never beyond what a client may see (mappings refuses the rest).
        sections = tuple(s for s in d["client_sections"] if s in CLIENT_SECTION_CHOICES)
    view: dict[str, Any] = {
        "subject": subject(d, locale=show.locale),
        "lang": show.locale.split("_")[0],
        "project": _clean(d.get("project")),
        "client": _clean(d.get("client")) or _clean(d.get("project")),
        "week": _week_label(d.get("week"), show),
        "title": show._("%(week)s progress report", week=_week_label(d.get("week"), show)),
        "period": _period(d.get("period") or {}, show),
        "headline": _headline_lines(d, show),
        "status": _status(d, show),
        "waiting_line": _waiting_line(_headline(d), show),
        "waiting_on_client": _waiting_items(_headline(d), show) != [],
        "budget": _budget(d.get("budget") or {}, show, pm=audience == PM),
        "scope": _scope(d.get("scope") or {}, show, internal="internal" in sections),
        "timeline": _timeline(d.get("timeline") or {}, show),
        "blockers": _blockers(d.get("blockers") or [], show),
        "transitions": [
            [
                show.key(t.get("key")),
                _clip(t.get("summary")),
                f"{_clean(t.get('from')) or _BLANK} → {_clean(t.get('to')) or _BLANK}",
                show.date(t.get("at")),
            ]
            for t in d.get("transitions") or []
        ],
        "risks": [
            {"title": _clean(r.get("title")), "why": _clean(r.get("why"))}
            for r in d.get("risks") or []
        ],
        "questions": [
            [show.key(q.get("key")), _clip(q.get("summary")), show.days(q.get("age_days"))]
            for q in d.get("questions") or []
        ],
        "feedback": _feedback(d.get("feedback") or {}, show),
        "chart_alt": _chart_alt(d, show),
        "decisions": _decisions(d.get("decisions") or [], show),
        "sections": sections,
    }
    for name in ("transitions", "risks", "questions"):
        if name not in sections:
            view[name] = []
    view["links"] = _links(view)
    return view


def _decisions(changes: Sequence[Mapping[str, Any]], show: _Show) -> list[dict[str, Any]]:
    """Changes awaiting the client, each with its signed approve and reject links (http(s) only)."""
    rows = []
    for c in changes:
        approve, reject = _safe_link(c.get("approve")), _safe_link(c.get("reject"))
        if not approve or not reject:
            continue
        cost = _number(c.get("cost"))
        rows.append(
            {
                "key": show.key(c.get("key")),
                "summary": _clip(c.get("summary")),
                "price": show.needs_estimate if cost is None else show.money(cost),
                "hours": show.hours(c.get("hours")),
                "approve": approve,
                "reject": reject,
            }
        )
    return rows


def _headline(d: Mapping[str, Any]) -> dict[str, Any]:
    """The headline block, filled from the sections when the builder left a figure out: either
    way each figure is the one its section shows."""
    head = dict(d.get("headline") or {})
    budget, scope = d.get("budget") or {}, d.get("scope") or {}
    timeline = d.get("timeline") or {}
    changes = scope.get("changes_this_week") or []
    pending = scope.get("pending") or {}
    head.setdefault("spent_pct", budget.get("burn_pct"))
    head.setdefault("spent", budget.get("spent"))
    head.setdefault("budget", budget.get("total"))
    head.setdefault("forecast_cost", (budget.get("evm") or {}).get("eac"))
    head.setdefault("planned_end", timeline.get("end"))
    head.setdefault("forecast_finish", (timeline.get("forecast") or {}).get("p85"))
    head.setdefault("decisions_waiting", pending.get("count") or 0)
    head.setdefault("decisions_cost", pending.get("cost"))
    head.setdefault("changes_count", len(changes))
    head.setdefault("changes_cost", sum(c.get("cost") or 0 for c in changes) if changes else None)
    head.setdefault(
        "blockers_on_client",
        sum(1 for b in d.get("blockers") or [] if b.get("waiting_on") == "client"),
    )
    head["unpriced"] = sum(1 for c in changes if _number(c.get("cost")) is None)
    return head


def _waiting_items(head: Mapping[str, Any], show: _Show) -> list[str]:
    """What waits on the client, e.g. ["2 decisions", "1 blocker"]; empty when nothing does."""
    items = []
    if decisions := int(head.get("decisions_waiting") or 0):
        items.append(show.ngettext("%(num)s decision", "%(num)s decisions", decisions))
    if blockers := int(head.get("blockers_on_client") or 0):
        items.append(show.ngettext("%(num)s blocker", "%(num)s blockers", blockers))
    return items


def _and(items: Sequence[str], show: _Show) -> str:
    """ "a", "a and b": the waiting lists hold one or two items."""
    if len(items) < 2:
        return "".join(items)
    return show._("%(first)s and %(second)s", first=", ".join(items[:-1]), second=items[-1])


def _changes_phrase(head: Mapping[str, Any], show: _Show) -> str:
    count = int(head.get("changes_count") or 0)
    if count == 0:
        return show._("no scope changes")
    details = []
    if head.get("changes_cost") is not None and head["unpriced"] < count:
        details.append(show.money(head["changes_cost"]))
    if unpriced := int(head["unpriced"]):
        details.append(show.ngettext("%(num)s needs estimate", "%(num)s need estimates", unpriced))
    return show.ngettext(
        "%(num)s scope change (%(details)s)",
        "%(num)s scope changes (%(details)s)",
        count,
        details=", ".join(details),
    )


STATUS_COLOURS = {"on track": "#15803d", "at risk": "#b45309", "off track": "#b91c1c"}
_STATUS_WORDS = {"on track": N_("on track"), "at risk": N_("at risk"), "off track": N_("off track")}
# A milestone's status (`reports.timeline.milestone_status`); "done" in older digests.
_MILESTONE_WORDS = {
    **_STATUS_WORDS,
    "released": N_("released"),
    "late": N_("late"),
    "done": N_("done"),
}
_REASONS = {
    "cost_over_budget": N_("the expected final cost is over the budget"),
    "finish_after_plan": N_("the likely finish is after the planned end"),
    "client_waiting": N_("something has waited on you for over a week"),
    "over_allowance": N_("this month's work is over the retainer's allowance"),
}


def _status(d: Mapping[str, Any], show: _Show) -> dict[str, str] | None:
    """The status badge: its words (never colour alone) and its colour."""
    head = d.get("headline") or {}
    status = _clean(head.get("status"))
    if status not in STATUS_COLOURS:
        return None
    reasons = [show._(_REASONS[r]) for r in head.get("status_reasons") or [] if r in _REASONS]
    words = show._(_STATUS_WORDS[status])
    text = (
        show._("Status: %(status)s (%(reasons)s).", status=words, reasons="; ".join(reasons))
        if reasons
        else show._("Status: %(status)s.", status=words)
    )
    return {"text": text, "colour": STATUS_COLOURS[status]}


def _cost_line(head: Mapping[str, Any], show: _Show) -> str | None:
    budget, spent = _number(head.get("budget")), _number(head.get("spent"))
    forecast = _number(head.get("forecast_cost"))
    so_far = ""
    if spent is not None and budget is not None:
        if head.get("spent_pct") is not None:
            so_far = show._(
                "Cost so far %(spent)s (%(pct)s of the budget)",
                spent=show.money(spent),
                pct=show.pct(head["spent_pct"]),
            )
        else:
            so_far = show._("Cost so far %(spent)s", spent=show.money(spent))
    if forecast is None or budget is None:
        if not so_far:
            return None
        return show._(
            "%(so_far)s of %(budget)s; the expected final cost cannot be forecast yet.",
            so_far=so_far,
            budget=show.money(budget),
        )
    gap = forecast - budget
    if round(gap, 2) == 0:
        verdict = show._("on budget")
    elif gap > 0:
        verdict = show._("%(gap)s over", gap=show.money(gap))
    else:
        verdict = show._("%(gap)s under", gap=show.money(-gap))
    line = show._(
        "Expected final cost %(forecast)s against a budget of %(budget)s: %(verdict)s.",
        forecast=show.money(forecast),
        budget=show.money(budget),
        verdict=verdict,
    )
    return f"{line} {so_far}." if so_far else line


def _finish_line(head: Mapping[str, Any], show: _Show) -> str | None:
    end = _parse(head.get("planned_end"))
    finish = _parse(head.get("forecast_finish"))
    if end is None:
        return None
    if finish is None:
        return show._(
            "Likely finish: no forecast yet; the plan ends on %(end)s.", end=show.date(end)
        )
    days = (_as_date(finish) - _as_date(end)).days
    if days > 0:
        when = show.ngettext(
            "%(num)s day after the planned end on %(end)s",
            "%(num)s days after the planned end on %(end)s",
            days,
            end=show.date(end),
        )
    elif days < 0:
        when = show.ngettext(
            "%(num)s day before the planned end on %(end)s",
            "%(num)s days before the planned end on %(end)s",
            -days,
            end=show.date(end),
        )
    else:
        when = show._("on the planned end date")
    return show._(
        "Likely finish %(finish)s (85%% confidence), %(when)s.", finish=show.date(finish), when=when
    )


def _waiting_line(head: Mapping[str, Any], show: _Show) -> str:
    decisions = int(head.get("decisions_waiting") or 0)
    blockers = int(head.get("blockers_on_client") or 0)
    if not decisions and not blockers:
        return show._("Nothing is waiting on you.")
    items = []
    if decisions:
        cost = _number(head.get("decisions_cost"))
        on_scope = show.ngettext(
            "%(num)s decision on scope changes", "%(num)s decisions on scope changes", decisions
        )
        items.append(f"{on_scope} ({show.money(cost)})" if cost else on_scope)
    if blockers:
        items.append(
            show.ngettext(
                "%(num)s blocked item only you can unblock",
                "%(num)s blocked items only you can unblock",
                blockers,
            )
        )
    return show._("Waiting on you: %(items)s.", items=_and(items, show))


def _money_lines(d: Mapping[str, Any], head: Mapping[str, Any], show: _Show) -> list[str]:
    """The money news in the contract's own language: a fixed price is the price, the approved
    change requests and the share delivered (the agency's effort against it is not the client's
    news); a retainer leads with this month's allowance; time and materials with the expected
    final cost against the budget."""
    contract = (d.get("budget") or {}).get("contract") or {}
    summary = _clean(contract.get("summary"))
    if contract.get("type") == "fixed_price" and summary:
        return [summary]
    cost = _cost_line(head, show)
    lines = [summary] if contract.get("type") == "retainer" and summary else []
    return lines + ([cost] if cost else [])


def _headline_lines(d: Mapping[str, Any], show: _Show) -> list[str]:
    """Bad news first: cost against budget, finish against plan, what waits on the client, then
    the week's scope changes."""
    head = _headline(d)
    finish = _finish_line(head, show)
    lines = _money_lines(d, head, show) + ([finish] if finish else [])
    lines.append(_waiting_line(head, show))
    changes = show._("%(changes)s this week.", changes=_changes_phrase(head, show))
    lines.append(changes[:1].upper() + changes[1:])
    return lines


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _budget(b: Mapping[str, Any], show: _Show, *, pm: bool = False) -> dict[str, Any]:
    """Plain words for the client ("cost so far", "expected final cost"); the PM's version keeps
    the earned-value table with its acronyms."""
    evm = b.get("evm") or {}
    explain = evm.get("explain") or {}
    if pm:
        rows = [
            [show._("Budget (BAC)"), show.money(b.get("total"))],
            [show._("Spent to date (AC)"), show.money(b.get("spent"))],
            [show._("Spent this week"), show.money(b.get("spent_this_week"))],
            [show._("Remaining"), show.money(b.get("remaining"))],
            [show._("Used"), show.pct(b.get("burn_pct"))],
            [show._("Runs out at this pace"), show.date(b.get("runway_date"))],
        ]
    else:
        rows = [
            [show._("Budget"), show.money(b.get("total"))],
            [show._("Cost so far"), show.money(b.get("spent"))],
            [show._("Cost this week"), show.money(b.get("spent_this_week"))],
            [show._("Remaining"), show.money(b.get("remaining"))],
            [show._("Used"), show.pct(b.get("burn_pct"))],
            [show._("Expected final cost"), show.money(evm.get("eac"))],
            [show._("Runs out at this pace"), show.date(b.get("runway_date"))],
        ]
    return {
        "rows": rows,
        "categories": [
            [
                _category(c.get("category"), show),
                show.money(c.get("budget")),
                show.money(c.get("spent")),
                _share(c.get("spent"), c.get("budget"), show),
            ]
            for c in b.get("by_category") or []
        ],
        "evm": [
            [
                show._(label),
                show.money(evm.get(key)) if kind == "money" else show.ratio(evm.get(key)),
                _clean(explain.get(key)),
            ]
            for key, label, kind in _EVM_LABELS
            if key in evm and pm
        ],
    }


def _category(value: Any, show: _Show) -> str:
    """A category is the mapping's own name, except the one the builder adds for the rest."""
    name = _clean(value)
    return show._(N_("Uncategorised")) if name == UNCATEGORISED else name


def _scope(s: Mapping[str, Any], show: _Show, *, internal: bool = False) -> dict[str, Any]:
    """The scope section; work logged on rejected changes is internal billing detail."""
    baseline, current = _number(s.get("baseline_hours")), _number(s.get("current_hours"))
    added = None if baseline is None or current is None else current - baseline
    changes = [_change(c, show) for c in s.get("changes_this_week") or []]
    return {
        "baseline": show.hours(baseline),
        "current": show.hours(current),
        "added": show.hours(added),
        "sum": _scope_sum(s, show),
        "changes": changes,
        "compact": [_compact(c, show) for c in changes],
        "decisions": [
            [
                label,
                str((s.get(name) or {}).get("count") or 0),
                show.hours((s.get(name) or {}).get("hours")),
                show.money((s.get(name) or {}).get("cost")),
            ]
            for name, label in (
                ("pending", show._("Awaiting your decision")),
                ("approved", show._("Approved")),
                ("rejected", show._("Rejected")),
            )
        ],
        "growth": [
            [
                show.key(g.get("key")),
                show.hours(g.get("from_hours")),
                show.hours(g.get("to_hours")),
                show.date(g.get("at")),
            ]
            for g in s.get("growth") or []
        ],
        "awaiting": [
            [
                show.key(c.get("key")),
                _clip(c.get("summary")),
                show.needs_estimate
                if _number(c.get("hours")) is None
                else show.hours(c.get("hours")),
                show.needs_estimate
                if _number(c.get("cost")) is None
                else show.money(c.get("cost"), _clean(c.get("currency"))),
                show.days(c.get("age_days")),
            ]
            for c in s.get("awaiting_decision") or []
        ],
        "rejected_logged": show.hours(s.get("rejected_hours_logged"))
        if s.get("rejected_hours_logged") and internal
        else None,
    }


@dataclass(frozen=True)
class _TwoLines:
    """A cell with a smaller second line under its text (the HTML's narrow tables)."""

    text: str
    detail: str


def _compact(change: Sequence[str], show: _Show) -> list[Any]:
    """A scope change row in four columns for the HTML: the type, hours and schedule go under
    the summary, so the table fits a 360 px phone with room left for the summary."""
    key, summary, kind, hours, cost, days, decision = change
    # "0.8 d" stays on one line; "needs estimate" may wrap.
    hours, days = (
        t if t == show.needs_estimate else t.replace(" ", "\u00a0") for t in (hours, days)
    )
    detail = f"{kind} · {hours}"
    if days != _BLANK:
        detail += " · " + show._("schedule %(days)s", days=days)
    return [key, _TwoLines(summary, detail), cost, decision]


def _scope_sum(s: Mapping[str, Any], show: _Show) -> str:
    """Current scope as the sum it is: "Agreed scope 490 h + approved changes 16 h + pending
    changes 30 h + raised estimates 16 h = current scope 552 h." (terms that are 0 left out)."""
    if "raised_hours" not in s:
        # A digest from before the terms were kept: the short sentence.
        baseline, current = _number(s.get("baseline_hours")), _number(s.get("current_hours"))
        added = None if baseline is None or current is None else current - baseline
        return show._(
            "Agreed scope %(baseline)s; current scope %(current)s (%(added)s added).",
            baseline=show.hours(baseline),
            current=show.hours(current),
            added=show.hours(added),
        )
    terms = [
        (" + ", N_("approved changes %(hours)s"), (s.get("approved") or {}).get("hours")),
        (" + ", N_("pending changes %(hours)s"), (s.get("pending") or {}).get("hours")),
        (" + ", N_("raised estimates %(hours)s"), s.get("raised_hours")),
        (" − ", N_("removed from scope %(hours)s"), s.get("removed_hours")),
    ]
    text = show._("Agreed scope %(hours)s", hours=show.hours(s.get("baseline_hours")))
    for sign, label, value in terms:
        if _number(value):
            text += sign + show._(label, hours=show.hours(value))
    return show._(
        "%(terms)s = current scope %(hours)s.",
        terms=text,
        hours=show.hours(s.get("current_hours")),
    )


def _change(c: Mapping[str, Any], show: _Show) -> list[str]:
    """A scope change row; an unpriced change says so instead of showing a misleading zero."""
    hours, cost, days = (
        _number(c.get("hours")),
        _number(c.get("cost")),
        _number(c.get("schedule_days")),
    )
    decision = str(c.get("decision"))
    return [
        show.key(c.get("key")),
        _clip(c.get("summary")),
        _clean(c.get("issue_type")),
        show.needs_estimate if hours is None else show.hours(hours),
        show.needs_estimate if cost is None else show.money(cost, _clean(c.get("currency"))),
        _BLANK if days is None else show._("%(days)s d", days=show.tenths(days)),
        show._(_DECISIONS[decision]) if decision in _DECISIONS else _clean(decision),
    ]


def _timeline(t: Mapping[str, Any], show: _Show) -> dict[str, Any]:
    forecast = t.get("forecast") or {}
    moved = forecast.get("moved_days")
    if not moved:
        moved_text = show._("unchanged since last week") if moved == 0 else ""
    elif moved > 0:
        moved_text = show.ngettext(
            "%(num)s day later than last week's forecast",
            "%(num)s days later than last week's forecast",
            int(moved),
        )
    else:
        moved_text = show.ngettext(
            "%(num)s day earlier than last week's forecast",
            "%(num)s days earlier than last week's forecast",
            -int(moved),
        )
    confidence = show._(
        "(85%% confidence; 50%%: %(p50)s, 95%%: %(p95)s)",
        p50=show.date(forecast.get("p50")),
        p95=show.date(forecast.get("p95")),
    )
    return {
        "planned": show._(
            "Planned %(start)s to %(end)s.",
            start=show.date(t.get("start")),
            end=show.date(t.get("end")),
        ),
        "confidence": f"{confidence}, {moved_text}" if moved_text else confidence,
        "start": show.date(t.get("start")),
        "end": show.date(t.get("end")),
        "p50": show.date(forecast.get("p50")),
        "p85": show.date(forecast.get("p85")),
        "p95": show.date(forecast.get("p95")),
        "forecast": forecast.get("p85") is not None,
        "moved": moved_text,
        "why_milestones_differ": _unscheduled_note(forecast, t.get("milestones") or [], show),
        "milestones": [
            [
                _clean(m.get("name")),
                show.date(m.get("due")),
                _milestone_status(m.get("status"), show),
                show.date(m.get("forecast_p85")),
            ]
            for m in t.get("milestones") or []
        ],
    }


def _milestone_status(value: Any, show: _Show) -> str:
    status = _clean(value)
    return show._(_MILESTONE_WORDS[status]) if status in _MILESTONE_WORDS else status or _BLANK


def _unscheduled_note(
    forecast: Mapping[str, Any], milestones: Sequence[Mapping[str, Any]], show: _Show
) -> str | None:
    """Why the last milestone's forecast is not the project's finish, when it is not."""
    hours = _number(forecast.get("unscheduled_hours"))
    last = [m for m in milestones if m.get("forecast_p85")]
    if not hours or hours <= 0 or not last or forecast.get("p85") is None:
        return None
    return show._(
        "The last milestone, %(name)s, is forecast for %(date)s; the project finishes later "
        "because %(hours)s of open work belongs to no milestone.",
        name=_clean(last[-1].get("name")),
        date=show.date(last[-1].get("forecast_p85")),
        hours=show.hours(hours),
    )


def _blockers(items: Sequence[Mapping[str, Any]], show: _Show) -> dict[str, list[list[str]]]:
    """Split so what the client can unblock comes first, oldest first within each group."""

    def rows(waiting_on: str) -> list[list[str]]:
        chosen = [b for b in items if (b.get("waiting_on") == "client") == (waiting_on == "client")]
        chosen.sort(key=lambda b: -(b.get("age_days") or 0))
        return [
            [
                show.key(b.get("key")),
                _clip(b.get("summary")),
                show.date(b.get("since")),
                show.days(b.get("age_days")),
                _clean(b.get("owner")) or _BLANK,
            ]
            for b in chosen
        ]

    return {"client": rows("client"), "team": rows("team")}


def _feedback(f: Mapping[str, Any], show: _Show) -> dict[str, Any]:
    last = f.get("last")
    said = None
    if last:
        when, score = show.date(last.get("at")), last.get("score")
        said = (
            show._("On %(date)s you said you were happy (score %(score)s)", date=when, score=score)
            if last.get("happy")
            else show._(
                "On %(date)s you said you were not happy (score %(score)s)", date=when, score=score
            )
        )
        comment = _clip(last.get("comment"), 200)
        said += f": “{comment}”" if comment else ""
        said += "" if said.rstrip("”").endswith((".", "!", "?")) else "."
    # Weekly means kept to 0.1: a week of 3 and 4 reads 3.5, not a truncated 3.
    trend = [show.tenths(x) for x in f.get("trend") or [] if _number(x) is not None]
    return {
        "link": _safe_link(f.get("link")),
        "last": said,
        "trend": " → ".join(trend) if len(trend) > 1 else None,
    }


def _chart_alt(d: Mapping[str, Any], show: _Show) -> dict[str, str]:
    """Alt text that carries the charts' message for clients who block images."""
    budget, scope = d.get("budget") or {}, d.get("scope") or {}
    return {
        "burn": show._(
            "Spent %(spent)s of %(budget)s; budget runs out %(date)s at this pace.",
            spent=show.money(budget.get("spent")),
            budget=show.money(budget.get("total")),
            date=show.date(budget.get("runway_date")),
        ),
        "scope": show._(
            "Scope %(current)s against %(baseline)s agreed.",
            current=show.hours(scope.get("current_hours")),
            baseline=show.hours(scope.get("baseline_hours")),
        ),
    }


def _chart_sources(
    d: Mapping[str, Any], image_cids: Mapping[str, str] | None, locale: str
) -> dict[str, str | None]:
    """A `src` per chart; None leaves a chart out (a message built without that image part)."""
    if image_cids is not None:
        return {name: f"cid:{image_cids[name]}" if name in image_cids else None for name in CHARTS}
    return {
        name: "data:image/png;base64," + base64.b64encode(make(d, locale)).decode("ascii")
        for name, make in _CHART_MAKERS.items()
    }


# --- text --------------------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """One line of plain text: control, format and line-separator characters become spaces.

    Format characters include the right-to-left override, which can make a ticket title read
    as something else in a client's inbox.
    """
    if value is None:
        return ""
    text = "".join(
        " " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in str(value)
    )
    return " ".join(text.split())


def _clip(value: Any, limit: int = 70) -> str:
    text = _clean(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe_link(value: Any) -> str | None:
    """Only an absolute http(s) URL may become a link: never `javascript:` or `data:`."""
    url = str(value or "")
    if not url or _clean(url) != url or any(ch in url for ch in "<>\"'`\\"):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else None


def _number(value: Any) -> float | None:
    """A figure, or None when it is unknown (null, or a NaN that slipped through)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _share(part: Any, whole: Any, show: _Show) -> str:
    part, whole = _number(part), _number(whole)
    return _BLANK if part is None or not whole else show.pct(100 * part / whole)


def _week_label(week: Any, show: _Show) -> str:
    """`2026-W47` → `Week 47`; anything else is shown as it came."""
    text = _clean(week)
    _, sep, number = text.partition("-W")
    return show._("Week %(number)s", number=int(number)) if sep and number.isdigit() else text


def _parse(value: Any) -> date | datetime | None:
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _period(p: Mapping[str, Any], show: _Show) -> str:
    """Monday to Sunday: the period's end is the next Monday at midnight, exclusive."""
    start, end = _parse(p.get("start")), _parse(p.get("end"))
    if start is None or end is None:
        return ""
    if isinstance(end, datetime) and end.time() == datetime.min.time():
        end = end - timedelta(days=1)
    return f"{show.date(start)} – {show.date(end)}"
