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
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mappings.model import CLIENT_SECTION_CHOICES, DEFAULT_CLIENT_SECTIONS
from reports import charts, formats

NEEDS_ESTIMATE = "needs estimate"
_BLANK = formats.BLANK
_DECISIONS = {"pending": "awaiting your decision", "approved": "approved", "rejected": "rejected"}
_EVM_LABELS = (
    ("bac", "Budget at completion (BAC)", "money"),
    ("pv", "Planned value to date (PV)", "money"),
    ("ev", "Earned value to date (EV)", "money"),
    ("ac", "Actual cost to date (AC)", "money"),
    ("cpi", "Cost performance index (CPI)", "ratio"),
    ("spi", "Schedule performance index (SPI)", "ratio"),
    ("eac", "Estimate at completion (EAC)", "money"),
    ("etc", "Estimate to complete (ETC)", "money"),
    ("vac", "Variance at completion (VAC)", "money"),
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

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,  # a misspelt name in a template fails the tests, not a client
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.globals["needs_estimate"] = NEEDS_ESTIMATE


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
        parts.append(_clean(head["status"]))
    contract = (d.get("budget") or {}).get("contract") or {}
    if contract.get("type") == "fixed_price":
        # The client pays the price: the share delivered is their news, not the effort spent.
        if contract.get("delivered") is not None:
            parts.append(f"{show.pct(contract['delivered'])} of the planned work delivered")
    elif head["spent_pct"] is not None:
        parts.append(f"{show.pct(head['spent_pct'])} of budget used")
    parts.append(_changes_phrase(head, show))
    waiting = _waiting_items(head)
    if waiting:
        parts.append(" and ".join(waiting) + " waiting on you")
    text = f"[{_clean(d.get('project'))}] {_week_label(d.get('week'))}: " + ", ".join(parts)
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
    return _env.get_template("digest.html").render(v=view)


def render_text(d: Mapping[str, Any], *, locale: str | None = None, audience: str = CLIENT) -> str:
    """The plain-text twin of the HTML, with aligned columns."""
    view = _view(d, _Show.of(d, locale), audience)
    return _env.get_template("digest.txt").render(v=view, table=_text_table)


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
    """The digest's figures as text, through `reports.formats`, in one locale and currency."""

    locale: str
    currency: str

    @classmethod
    def of(cls, d: Mapping[str, Any], locale: str | None) -> _Show:
        return cls(formats.locale_of(d, locale), _clean(d.get("currency")))

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


def _view(d: Mapping[str, Any], show: _Show, audience: str = CLIENT) -> dict[str, Any]:
    if audience not in SECTIONS:
        raise ValueError(f"unknown audience {audience!r}: use {' or '.join(SECTIONS)}")
    sections = SECTIONS[audience]
    if audience == CLIENT and d.get("client_sections") is not None:
        # The mapping's choice, never beyond what a client may see (mappings refuses the rest).
        sections = tuple(s for s in d["client_sections"] if s in CLIENT_SECTION_CHOICES)
    view = {
        "subject": subject(d, locale=show.locale),
        "project": _clean(d.get("project")),
        "client": _clean(d.get("client")) or _clean(d.get("project")),
        "week": _week_label(d.get("week")),
        "period": _period(d.get("period") or {}, show),
        "headline": _headline_lines(d, show),
        "status": _status(d),
        "waiting_line": _waiting_line(_headline(d), show),
        "budget": _budget(d.get("budget") or {}, show, pm=audience == PM),
        "scope": _scope(d.get("scope") or {}, show, internal="internal" in sections),
        "timeline": _timeline(d.get("timeline") or {}, show),
        "blockers": _blockers(d.get("blockers") or [], show),
        "transitions": [
            [
                _clean(t.get("key")),
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
            [_clean(q.get("key")), _clip(q.get("summary")), _days(q.get("age_days"))]
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
                "key": _clean(c.get("key")),
                "summary": _clip(c.get("summary")),
                "price": "needs estimate" if cost is None else show.money(cost),
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


def _waiting_items(head: Mapping[str, Any]) -> list[str]:
    """What waits on the client, e.g. ["2 decisions", "1 blocker"]; empty when nothing does."""
    items = []
    if int(head.get("decisions_waiting") or 0):
        items.append(_plural(int(head["decisions_waiting"]), "decision"))
    if int(head.get("blockers_on_client") or 0):
        items.append(_plural(int(head["blockers_on_client"]), "blocker"))
    return items


def _changes_phrase(head: Mapping[str, Any], show: _Show) -> str:
    count = int(head.get("changes_count") or 0)
    if count == 0:
        return "no scope changes"
    details = []
    if head.get("changes_cost") is not None and head["unpriced"] < count:
        details.append(show.money(head["changes_cost"]))
    if head["unpriced"]:
        unpriced = int(head["unpriced"])
        details.append(f"{unpriced} {NEEDS_ESTIMATE if unpriced == 1 else 'need estimates'}")
    return f"{_plural(count, 'scope change')} ({', '.join(details)})"


STATUS_COLOURS = {"on track": "#15803d", "at risk": "#b45309", "off track": "#b91c1c"}
_REASONS = {
    "cost_over_budget": "the expected final cost is over the budget",
    "finish_after_plan": "the likely finish is after the planned end",
    "client_waiting": "something has waited on you for over a week",
    "over_allowance": "this month's work is over the retainer's allowance",
}


def _status(d: Mapping[str, Any]) -> dict[str, str] | None:
    """The status badge: its words (never colour alone) and its colour."""
    head = d.get("headline") or {}
    status = _clean(head.get("status"))
    if status not in STATUS_COLOURS:
        return None
    reasons = [_REASONS[r] for r in head.get("status_reasons") or [] if r in _REASONS]
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return {"text": f"Status: {status}{why}.", "colour": STATUS_COLOURS[status]}


def _cost_line(head: Mapping[str, Any], show: _Show) -> str | None:
    budget, spent = _number(head.get("budget")), _number(head.get("spent"))
    forecast = _number(head.get("forecast_cost"))
    so_far = ""
    if spent is not None and budget is not None:
        so_far = f"cost so far {show.money(spent)}"
        if head.get("spent_pct") is not None:
            so_far += f" ({show.pct(head['spent_pct'])} of the budget)"
    if forecast is None or budget is None:
        if not so_far:
            return None
        return (
            f"{so_far[:1].upper()}{so_far[1:]} of {show.money(budget)}; the expected final cost "
            "cannot be forecast yet."
        )
    gap = forecast - budget
    if round(gap, 2) == 0:
        verdict = "on budget"
    else:
        verdict = f"{show.money(abs(gap))} {'over' if gap > 0 else 'under'}"
    line = (
        f"Expected final cost {show.money(forecast)} against a budget of {show.money(budget)}: "
        f"{verdict}."
    )
    return f"{line} {so_far[:1].upper()}{so_far[1:]}." if so_far else line


def _finish_line(head: Mapping[str, Any], show: _Show) -> str | None:
    end = _parse(head.get("planned_end"))
    finish = _parse(head.get("forecast_finish"))
    if end is None:
        return None
    if finish is None:
        return f"Likely finish: no forecast yet; the plan ends on {show.date(end)}."
    days = (_as_date(finish) - _as_date(end)).days
    if days > 0:
        when = f"{_plural(days, 'day')} after the planned end on {show.date(end)}"
    elif days < 0:
        when = f"{_plural(-days, 'day')} before the planned end on {show.date(end)}"
    else:
        when = "on the planned end date"
    return f"Likely finish {show.date(finish)} (85% confidence), {when}."


def _waiting_line(head: Mapping[str, Any], show: _Show) -> str:
    decisions = int(head.get("decisions_waiting") or 0)
    blockers = int(head.get("blockers_on_client") or 0)
    if not decisions and not blockers:
        return "Nothing is waiting on you."
    items = []
    if decisions:
        cost = _number(head.get("decisions_cost"))
        total = f" ({show.money(cost)})" if cost else ""
        items.append(f"{_plural(decisions, 'decision')} on scope changes{total}")
    if blockers:
        items.append(f"{_plural(blockers, 'blocked item')} only you can unblock")
    return "Waiting on you: " + " and ".join(items) + "."


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
    changes = _changes_phrase(head, show)
    lines.append(changes[:1].upper() + changes[1:] + " this week.")
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
            ["Budget (BAC)", show.money(b.get("total"))],
            ["Spent to date (AC)", show.money(b.get("spent"))],
            ["Spent this week", show.money(b.get("spent_this_week"))],
            ["Remaining", show.money(b.get("remaining"))],
            ["Used", show.pct(b.get("burn_pct"))],
            ["Runs out at this pace", show.date(b.get("runway_date"))],
        ]
    else:
        rows = [
            ["Budget", show.money(b.get("total"))],
            ["Cost so far", show.money(b.get("spent"))],
            ["Cost this week", show.money(b.get("spent_this_week"))],
            ["Remaining", show.money(b.get("remaining"))],
            ["Used", show.pct(b.get("burn_pct"))],
            ["Expected final cost", show.money(evm.get("eac"))],
            ["Runs out at this pace", show.date(b.get("runway_date"))],
        ]
    return {
        "rows": rows,
        "categories": [
            [
                _clean(c.get("category")),
                show.money(c.get("budget")),
                show.money(c.get("spent")),
                _share(c.get("spent"), c.get("budget"), show),
            ]
            for c in b.get("by_category") or []
        ],
        "evm": [
            [
                label,
                show.money(evm.get(key)) if kind == "money" else show.ratio(evm.get(key)),
                _clean(explain.get(key)),
            ]
            for key, label, kind in _EVM_LABELS
            if key in evm and pm
        ],
    }


def _scope(s: Mapping[str, Any], show: _Show, *, internal: bool = False) -> dict[str, Any]:
    """The scope section; work logged on rejected changes is internal billing detail."""
    baseline, current = _number(s.get("baseline_hours")), _number(s.get("current_hours"))
    added = None if baseline is None or current is None else current - baseline
    return {
        "baseline": show.hours(baseline),
        "current": show.hours(current),
        "added": show.hours(added),
        "sum": _scope_sum(s, show),
        "changes": [_change(c, show) for c in s.get("changes_this_week") or []],
        "decisions": [
            [
                label,
                str((s.get(name) or {}).get("count") or 0),
                show.hours((s.get(name) or {}).get("hours")),
                show.money((s.get(name) or {}).get("cost")),
            ]
            for name, label in (
                ("pending", "Awaiting your decision"),
                ("approved", "Approved"),
                ("rejected", "Rejected"),
            )
        ],
        "growth": [
            [
                _clean(g.get("key")),
                show.hours(g.get("from_hours")),
                show.hours(g.get("to_hours")),
                show.date(g.get("at")),
            ]
            for g in s.get("growth") or []
        ],
        "awaiting": [
            [
                _clean(c.get("key")),
                _clip(c.get("summary")),
                NEEDS_ESTIMATE if _number(c.get("hours")) is None else show.hours(c.get("hours")),
                NEEDS_ESTIMATE
                if _number(c.get("cost")) is None
                else show.money(c.get("cost"), _clean(c.get("currency"))),
                _days(c.get("age_days")),
            ]
            for c in s.get("awaiting_decision") or []
        ],
        "rejected_logged": show.hours(s.get("rejected_hours_logged"))
        if s.get("rejected_hours_logged") and internal
        else None,
    }


def _scope_sum(s: Mapping[str, Any], show: _Show) -> str | None:
    """Current scope as the sum it is: "Agreed scope 490 h + approved changes 16 h + pending
    changes 30 h + raised estimates 16 h = current scope 552 h." (terms that are 0 left out)."""
    if "raised_hours" not in s:
        return None  # a digest from before the terms were kept: the short sentence says it
    terms = [
        (" + ", "approved changes", (s.get("approved") or {}).get("hours")),
        (" + ", "pending changes", (s.get("pending") or {}).get("hours")),
        (" + ", "raised estimates", s.get("raised_hours")),
        (" − ", "removed from scope", s.get("removed_hours")),
    ]
    text = f"Agreed scope {show.hours(s.get('baseline_hours'))}"
    for sign, label, value in terms:
        if _number(value):
            text += f"{sign}{label} {show.hours(value)}"
    return f"{text} = current scope {show.hours(s.get('current_hours'))}."


def _change(c: Mapping[str, Any], show: _Show) -> list[str]:
    """A scope change row; an unpriced change says so instead of showing a misleading zero."""
    hours, cost, days = (
        _number(c.get("hours")),
        _number(c.get("cost")),
        _number(c.get("schedule_days")),
    )
    return [
        _clean(c.get("key")),
        _clip(c.get("summary")),
        _clean(c.get("issue_type")),
        NEEDS_ESTIMATE if hours is None else show.hours(hours),
        NEEDS_ESTIMATE if cost is None else show.money(cost, _clean(c.get("currency"))),
        _BLANK if days is None else f"{show.tenths(days)} d",
        _DECISIONS.get(str(c.get("decision")), _clean(c.get("decision"))),
    ]


def _timeline(t: Mapping[str, Any], show: _Show) -> dict[str, Any]:
    forecast = t.get("forecast") or {}
    moved = forecast.get("moved_days")
    if not moved:
        moved_text = "unchanged since last week" if moved == 0 else ""
    else:
        direction = "later" if moved > 0 else "earlier"
        moved_text = f"{_plural(abs(int(moved)), 'day')} {direction} than last week's forecast"
    return {
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
                _clean(m.get("status")) or _BLANK,
                show.date(m.get("forecast_p85")),
            ]
            for m in t.get("milestones") or []
        ],
    }


def _unscheduled_note(
    forecast: Mapping[str, Any], milestones: Sequence[Mapping[str, Any]], show: _Show
) -> str | None:
    """Why the last milestone's forecast is not the project's finish, when it is not."""
    hours = _number(forecast.get("unscheduled_hours"))
    last = [m for m in milestones if m.get("forecast_p85")]
    if not hours or hours <= 0 or not last or forecast.get("p85") is None:
        return None
    return (
        f"The last milestone, {_clean(last[-1].get('name'))}, is forecast for "
        f"{show.date(last[-1].get('forecast_p85'))}; the project finishes later because "
        f"{show.hours(hours)} of open work belongs to no milestone."
    )


def _blockers(items: Sequence[Mapping[str, Any]], show: _Show) -> dict[str, list[list[str]]]:
    """Split so what the client can unblock comes first, oldest first within each group."""

    def rows(waiting_on: str) -> list[list[str]]:
        chosen = [b for b in items if (b.get("waiting_on") == "client") == (waiting_on == "client")]
        chosen.sort(key=lambda b: -(b.get("age_days") or 0))
        return [
            [
                _clean(b.get("key")),
                _clip(b.get("summary")),
                show.date(b.get("since")),
                _days(b.get("age_days")),
                _clean(b.get("owner")) or _BLANK,
            ]
            for b in chosen
        ]

    return {"client": rows("client"), "team": rows("team")}


def _feedback(f: Mapping[str, Any], show: _Show) -> dict[str, Any]:
    last = f.get("last")
    said = None
    if last:
        mood = "happy" if last.get("happy") else "not happy"
        said = f"On {show.date(last.get('at'))} you said you were {mood}"
        said += f" (score {last.get('score')})"
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
        "burn": f"Spent {show.money(budget.get('spent'))} of "
        f"{show.money(budget.get('total'))}; budget runs out "
        f"{show.date(budget.get('runway_date'))} at this pace.",
        "scope": f"Scope {show.hours(scope.get('current_hours'))} against "
        f"{show.hours(scope.get('baseline_hours'))} agreed.",
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


def _days(value: Any) -> str:
    return _BLANK if value is None else _plural(int(value), "day")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _week_label(week: Any) -> str:
    """`2026-W47` → `Week 47`; anything else is shown as it came."""
    text = _clean(week)
    _, sep, number = text.partition("-W")
    return f"Week {int(number)}" if sep and number.isdigit() else text


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
