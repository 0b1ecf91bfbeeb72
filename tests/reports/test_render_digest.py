"""The digest as a reader sees it: subject line, HTML and plain text from the sample digest."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reports.render import render_html, render_text, subject

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
XSS = "<script>alert(1)</script> javascript:alert(2)"


@pytest.fixture
def digest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


class _Tags(HTMLParser):
    """Every start tag with its attributes, to assert on what a mail client would act on."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def section(text: str, title: str) -> str:
    """The plain-text section under an upper-case title, up to the next one."""
    start = text.index(title)
    following = re.search(r"\n\n\n[A-Z][A-Z ']+\n", text[start + len(title) :])
    return text[start : start + len(title) + following.start()] if following else text[start:]


# --- subject ---------------------------------------------------------------------------------


def test_subject_sums_up_the_week(digest: dict[str, Any]) -> None:
    assert subject(digest) == (
        "[ACME] Week 47: off track, 61% of budget used, 3 scope changes (€2,620, 1 needs "
        "estimate), 3 decisions and 2 blockers waiting on you"
    )


def test_subject_uses_singular_and_leaves_out_what_is_not_there(digest: dict[str, Any]) -> None:
    digest["scope"]["changes_this_week"] = digest["scope"]["changes_this_week"][:1]
    digest["headline"] = {
        "spent_pct": 12.4,
        "changes_count": 1,
        "changes_cost": 1360.0,
        "blockers_on_client": 1,
        "decisions_waiting": 1,
    }
    assert subject(digest) == (
        "[ACME] Week 47: 12% of budget used, 1 scope change (€1,360), 1 decision and 1 blocker "
        "waiting on you"
    )
    digest["headline"] = {
        "spent_pct": None,
        "changes_count": 0,
        "changes_cost": None,
        "blockers_on_client": 0,
        "decisions_waiting": 0,
    }
    assert subject(digest) == "[ACME] Week 47: no scope changes"


def test_subject_never_shows_zero_cost_for_unpriced_changes(digest: dict[str, Any]) -> None:
    unpriced = digest["scope"]["changes_this_week"][2]
    digest["scope"]["changes_this_week"] = [unpriced, copy.deepcopy(unpriced)]
    digest["headline"].update(changes_count=2, changes_cost=0.0)
    assert "2 scope changes (2 need estimates)" in subject(digest)
    assert "€0" not in subject(digest)


def test_subject_is_one_line_whatever_the_data_holds(digest: dict[str, Any]) -> None:
    digest["project"] = "ACME\r\nBcc: victim@example.com"
    digest["week"] = "2026-W47\n\x00\u2028"
    line = subject(digest)
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", line)
    assert line.startswith("[ACME Bcc: victim@example.com] Week 47: ")


# --- HTML ------------------------------------------------------------------------------------


def test_html_has_every_section_in_order_with_waiting_on_client_first(
    digest: dict[str, Any],
) -> None:
    html = render_html(digest, image_cids={"burn": "b@x", "scope": "s@x"}, audience="pm")
    titles = [
        "Waiting on you",
        "Budget",
        "Scope changes",
        "Milestones and forecast",
        "Blocked on our side",
        "Moved this week",
        "Risks",
        "Questions for you",
        "Are you happy with this week's progress?",
    ]
    positions = [html.index(t) for t in titles]
    assert positions == sorted(positions)
    waiting = html[positions[0] : positions[1]]
    assert "ACME-131" in waiting and "ACME-137" in waiting and "ACME-118" not in waiting
    assert "ACME-118" in html[positions[4] : positions[5]]


def test_html_shows_money_evm_and_its_plain_sentences(digest: dict[str, Any]) -> None:
    html = render_html(digest, image_cids={}, audience="pm")
    for figure in (
        "€122,040",  # whole amounts drop the cents ...
        "€74,400",
        "€6,400",
        "€47,640",
        "8 Jan 2027",
        "€143,076.92",  # ... others show them, as the JSON keeps them
        "-€21,036.92",
        "0.85",
        "0.95",
    ):
        assert figure in html
    assert "For every euro spent, 0.85 euros of planned work was delivered." in html
    assert "19 Feb 2027" in html and "4 days later than last week" in html


def test_html_says_needs_estimate_for_an_unpriced_change(digest: dict[str, Any]) -> None:
    html = render_html(digest, image_cids={})
    row = html[html.index("ACME-146") :].split("</tr>")[0]
    assert row.count("needs estimate") == 2
    assert "€0" not in row and ">0 h" not in row


def test_html_escapes_ticket_text_and_links_nothing_but_http(digest: dict[str, Any]) -> None:
    digest["scope"]["changes_this_week"][0]["summary"] = XSS
    digest["blockers"][1]["summary"] = '"><img src=x onerror=alert(3)>'
    digest["risks"][0]["title"] = XSS
    digest["feedback"]["link"] = "javascript:alert(document.cookie)"
    html = render_html(digest, image_cids={"burn": "b@x", "scope": "s@x"})

    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    found = tags(html)
    assert not [t for t, _ in found if t == "script"]
    assert all("onerror" not in attrs for _, attrs in found)
    assert [a for t, a in found if t == "a"] == []  # the only link would have been javascript:
    assert "Reply to this e-mail and tell us." in html


def test_html_links_the_feedback_form_when_it_is_https(digest: dict[str, Any]) -> None:
    html = render_html(digest, image_cids={})
    links = [a["href"] for t, a in tags(html) if t == "a"]
    assert links == [digest["feedback"]["link"]]
    assert "Are you happy with this week's progress?" in html


def test_html_refers_to_charts_by_content_id(digest: dict[str, Any]) -> None:
    html = render_html(digest, image_cids={"burn": "burn.1@x", "scope": "scope.1@x"})
    sources = [a["src"] for t, a in tags(html) if t == "img"]
    assert sources == ["cid:burn.1@x", "cid:scope.1@x"]


def test_html_preview_embeds_charts_as_png_data(digest: dict[str, Any]) -> None:
    sources = [a["src"] or "" for t, a in tags(render_html(digest)) if t == "img"]
    assert len(sources) == 2
    assert all(s.startswith("data:image/png;base64,iVBORw0KGgo") for s in sources)


def test_html_has_no_script_and_only_inline_styles(digest: dict[str, Any]) -> None:
    html = render_html(digest, image_cids={})
    names = {t for t, _ in tags(html)}
    assert names.isdisjoint({"script", "link", "style", "iframe", "form"})


def test_html_is_a_fluid_table_layout_that_mail_clients_keep(digest: dict[str, Any]) -> None:
    """Gmail drops <style> in some views and Outlook lays out with Word: the layout is tables,
    each element carries its own inline style, and the one column is fluid up to 640 px with a
    fixed-width table for Outlook (which ignores max-width) in a conditional comment."""
    html = render_html(digest, image_cids={}, audience="pm")
    squeezed = re.sub(r"\s+", "", html).lower()
    for banned in ("display:flex", "display:grid", "display:inline-flex", "float:", "position:"):
        assert banned not in squeezed, banned
    found = tags(html)
    for tag, attrs in found:
        if tag in {"h1", "h2", "p", "th", "a"}:
            assert "font-family:" in str(attrs.get("style")), (tag, attrs)
        if tag in {"table", "td", "img"}:
            assert attrs.get("style"), (tag, attrs)
    assert [t for t, _ in found if t == "div"] == ["div"]  # only the hidden preview text
    column = [a for t, a in found if t == "table" and "max-width:640px" in str(a.get("style"))]
    assert len(column) == 1 and column[0]["width"] == "100%"
    assert re.search(r"<!--\[if mso\]><table [^>]*width=\"640\"", html)
    for _, attrs in (t for t in found if t[0] == "table"):
        assert attrs.get("width") in {"100%", None} and attrs.get("cellpadding") == "0"


# --- plain text ------------------------------------------------------------------------------


def test_text_has_aligned_columns(digest: dict[str, Any]) -> None:
    assert (
        "Decisions so far\n"
        "                        Changes  Hours    Cost\n"
        "----------------------  -------  -----  ------\n"
        "Awaiting your decision        3   40 h  €3,400\n"
        "Approved                      2   42 h  €3,300\n"
        "Rejected                      1   10 h    €850\n"
    ) in render_text(digest)


def test_text_lists_the_same_sections_with_waiting_on_client_first(
    digest: dict[str, Any],
) -> None:
    text = render_text(digest, audience="pm")
    titles = [
        "WAITING ON YOU",
        "BUDGET",
        "SCOPE CHANGES",
        "MILESTONES AND FORECAST",
        "BLOCKED ON OUR SIDE",
        "MOVED THIS WEEK",
        "RISKS",
        "QUESTIONS FOR YOU",
        "ARE YOU HAPPY WITH THIS WEEK'S PROGRESS?",
    ]
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions)
    assert "ACME-118" not in section(text, "WAITING ON YOU")
    assert "Tell us in one click: " + digest["feedback"]["link"] in text
    assert "Week 47 progress report, 16 Nov 2026 – 22 Nov 2026" in text


@pytest.mark.parametrize("unknown", [None, float("nan")])
def test_text_says_needs_estimate_for_an_unpriced_change(
    digest: dict[str, Any], unknown: float | None
) -> None:
    digest["scope"]["changes_this_week"][2].update(hours=unknown, cost=unknown)
    row = next(line for line in render_text(digest).splitlines() if line.startswith("ACME-146"))
    assert row.count("needs estimate") == 2
    assert "nan" not in row and "€0" not in row


def test_text_keeps_ticket_text_on_its_own_line(digest: dict[str, Any]) -> None:
    digest["scope"]["changes_this_week"][0]["summary"] = "PDF export\r\n\r\nFAKE SECTION\x1b[31m"
    digest["feedback"]["link"] = "javascript:alert(1)"
    text = render_text(digest)
    row = next(line for line in text.splitlines() if line.startswith("ACME-141"))
    assert "PDF export FAKE SECTION [31m" in row
    assert "\x1b" not in text and "\r" not in text
    assert "javascript:" not in text


def test_a_digest_with_nothing_in_it_still_renders() -> None:
    empty = {"project": "ACME", "week": "2026-W47"}
    assert subject(empty) == "[ACME] Week 47: no scope changes"
    text = render_text(empty)
    assert "No new scope this week." in text and "No finish forecast yet" in text
    assert "Nothing is waiting on you." in render_html(empty, image_cids={})


# --- locale and blanks -----------------------------------------------------------------------


def test_the_digest_is_shown_in_its_own_locale(digest: dict[str, Any]) -> None:
    digest["locale"] = "de_DE"
    assert subject(digest) == (  # a header holds plain spaces only
        "[ACME] Woche 47: nicht im Plan, 61 % des Budgets verbraucht, 3 Umfangsänderungen "
        "(2.620 €, 1 ohne Schätzung), 3 Entscheidungen und 2 Blockaden warten auf Sie"
    )
    text = render_text(digest)
    assert "Fortschrittsbericht Woche 47, 16. Nov. 2026 – 22. Nov. 2026" in text
    assert (
        "* Erwartete Endkosten 143.076,92\xa0€ bei einem Budget von 122.040\xa0€: "
        "21.036,92\xa0€ darüber. Bisherige Kosten 74.400\xa0€ (61\xa0% des Budgets)."
    ) in text
    assert "Vereinbarter Umfang 1.424 h; aktueller Umfang 1.498 h (74 h hinzugekommen)." in text
    assert "Wartet auf Ihre Entscheidung           3     40 h  3.400\xa0€" in text
    html = render_html(digest, image_cids={}, audience="pm")
    assert "143.076,92\xa0€" in html and "-21.036,92\xa0€" in html and "0,85" in html
    assert "Aufgebraucht bei diesem Tempo" in html and "8. Jan. 2027" in html


def test_a_locale_argument_wins_over_the_digests_own(digest: dict[str, Any]) -> None:
    german = {**digest, "locale": "de_DE"}
    assert render_text(digest, locale="de_DE") == render_text(german)
    assert subject(german, locale="en_GB") == subject(digest)
    assert render_html(german, image_cids={}, locale="en_GB") == render_html(digest, image_cids={})


def test_an_unknown_figure_shows_the_same_blank_in_every_place(digest: dict[str, Any]) -> None:
    digest["budget"].update(spent_this_week=None, burn_pct=None, runway_date=None)
    digest["budget"]["evm"]["cpi"] = None
    digest["scope"]["growth"][0]["to_hours"] = float("nan")
    text = render_text(digest, audience="pm")
    for row in ("Spent this week", "Used", "Runs out at this pace"):
        assert re.search(rf"^{row} +—$", text, re.M), row
    assert re.search(r"^Cost performance index \(CPI\) +—$", text, re.M)
    assert re.search(r"^ACME-112 +8 h +— +19 Nov 2026$", text, re.M)


# --- two audiences ---------------------------------------------------------------------------


def test_the_client_reads_plain_words_and_the_pm_gets_everything(digest: dict[str, Any]) -> None:
    client, pm = render_text(digest), render_text(digest, audience="pm")
    # The client: "cost so far" and "expected final cost", no acronyms, no earned-value table,
    # no internal billing detail, and the default sections only.
    assert re.search(r"^Cost so far +€74,400$", client, re.M)
    assert re.search(r"^Expected final cost +€143,076.92$", client, re.M)
    for internal in ("Earned value", "(CPI)", "(EAC)", "Work logged on rejected changes"):
        assert internal not in client
        assert internal in pm
    for pm_only in ("MOVED THIS WEEK", "RISKS", "QUESTIONS FOR YOU"):
        assert pm_only not in client and pm_only in pm
    for both in ("WAITING ON YOU", "BUDGET", "SCOPE CHANGES", "MILESTONES AND FORECAST",
                 "BLOCKED ON OUR SIDE", "ARE YOU HAPPY"):  # fmt: skip
        assert both in client and both in pm
    html = render_html(digest, image_cids={})
    assert "Cost so far" in html and "Earned value" not in html and "(CPI)" not in html


def test_an_unknown_audience_is_refused(digest: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown audience 'boss'"):
        render_text(digest, audience="boss")


# --- issue keys link to Jira -----------------------------------------------------------------

JIRA = "https://acme.atlassian.net"


def test_every_issue_key_in_the_html_links_to_its_jira_page_and_never_wraps(
    digest: dict[str, Any],
) -> None:
    digest["jira_url"] = JIRA + "/"
    html = render_html(digest, image_cids={}, audience="pm")
    links = {a["href"]: a["style"] for t, a in tags(html) if t == "a"}
    for key in ("ACME-131", "ACME-137", "ACME-118", "ACME-112", "ACME-141"):
        assert "white-space:nowrap" in str(links[f"{JIRA}/browse/{key}"]), key
    # A key is a link and nothing more: no bare key left in a table cell.
    assert not re.search(r"<td[^>]*>ACME-\d+</td>", html)


def test_the_text_lists_the_jira_page_of_every_key_it_shows(digest: dict[str, Any]) -> None:
    digest["jira_url"] = JIRA
    text = render_text(digest)
    links = text[text.index("ISSUES IN JIRA") :]
    assert re.search(rf"^ACME-131 +{JIRA}/browse/ACME-131$", links, re.M)
    shown = set(re.findall(r"ACME-\d+", text[: text.index("ISSUES IN JIRA")]))
    assert set(re.findall(r"^(ACME-\d+) ", links, re.M)) == shown


@pytest.mark.parametrize("jira_url", [None, "javascript:alert(1)//", "ftp://acme.example"])
def test_without_a_safe_jira_site_keys_are_plain_text(
    digest: dict[str, Any], jira_url: str | None
) -> None:
    digest["jira_url"] = jira_url
    html, text = render_html(digest, image_cids={}), render_text(digest)
    assert "/browse/" not in html and "ISSUES IN JIRA" not in text
    assert re.search(r"<td[^>]*>ACME-131</td>", html)
