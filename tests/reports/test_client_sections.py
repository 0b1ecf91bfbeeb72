"""`client_sections`: the mapping chooses what the client's digest holds; some sections never."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mappings import load_mapping
from reports.render import render_html, render_text
from tests.mappings.texts import PROJECT, load

RISK = "Budget runs out before go-live"
QUESTION = "Should guest checkout keep the cart"


@pytest.fixture
def digest(sample_digest: dict[str, Any]) -> dict[str, Any]:
    return sample_digest


def test_by_default_the_client_reads_neither_risks_nor_questions_and_the_pm_reads_both(digest):
    for render in (render_html, render_text):
        assert RISK not in render(digest)
        assert QUESTION not in render(digest)
        assert RISK in render(digest, audience="pm")
        assert QUESTION in render(digest, audience="pm")


def test_a_project_may_send_its_client_the_risks(digest):
    digest["client_sections"] = ["headline", "budget", "risks"]
    for render in (render_html, render_text):
        assert RISK in render(digest)
        assert QUESTION not in render(digest)


def test_a_forged_choice_in_the_digest_cannot_reach_the_pms_own_figures(digest):
    # The mapping refuses these names; a digest JSON edited by hand must not get them through.
    digest["client_sections"] = ["headline", "scope", "earned_value", "internal"]
    digest["scope"]["rejected_hours_logged"] = 12.5
    for render in (render_html, render_text):
        assert "(CPI)" not in render(digest)
        assert "Work logged on rejected changes" not in render(digest)
        assert "(CPI)" in render(digest, audience="pm")
        assert "Work logged on rejected changes" in render(digest, audience="pm")


def test_the_mapping_reads_the_choice(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(PROJECT + 'client_sections = ["headline", "risks"]\n', encoding="utf-8")
    assert load_mapping(path).projects[0].client_sections == ("headline", "risks")


def test_the_default_is_the_documented_seven(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(PROJECT, encoding="utf-8")
    assert load_mapping(path).projects[0].client_sections == (
        "headline", "waiting_on_you", "budget", "scope", "milestones", "blockers", "feedback",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["earned_value", "internal", "budgt"])
def test_the_pms_own_sections_and_typos_are_refused_where_they_stand(tmp_path, name):
    error = load(tmp_path, PROJECT + f'client_sections = ["headline", "{name}"]\n')
    assert (error.line, error.key) == (11, "projects[0].client_sections[1]"), str(error)
    assert 'one of "headline"' in error.problem


def test_a_section_left_out_leaves_no_heading_behind(digest):
    digest["client_sections"] = ["headline", "risks"]
    html, text = render_html(digest), render_text(digest)
    for heading in ("Budget", "Scope changes", "Milestones and forecast", "Waiting on you"):
        assert f">{heading}</h2>" not in html
        assert heading.upper() not in text
    assert "Are you happy" not in html and "ARE YOU HAPPY" not in text
    assert ">Risks</h2>" in html and "RISKS" in text


def test_the_default_sections_all_show(digest):
    html, text = render_html(digest), render_text(digest)
    for heading in ("Budget", "Scope changes", "Milestones and forecast", "Waiting on you"):
        assert f">{heading}</h2>" in html
        assert heading.upper() in text
    assert "Are you happy" in html
