"""Unhappy feedback reaches the PM at once: "not happy", or a score at or below the threshold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import create_app
from service.digest.links import feedback_link
from service.store.clock import frozen_clock
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import NOW, ROOT, app_settings

LEAD = "lead@agency.example"


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, str]]:
    with running_sink() as (handler, port):
        yield handler, f"smtp://127.0.0.1:{port}"


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path, sink: tuple[ScriptedSink, str]) -> Iterator[Any]:
    mapping = (ROOT / "mappings" / "sandbox.toml").read_text(encoding="utf-8")
    acme_pm = 'pm = ["pm@agency.example"]'
    assert acme_pm in mapping
    mapping = mapping.replace(acme_pm, f'pm = ["{LEAD}"]', 1)  # ACME's PM: the first project
    (tmp_path / "mapping.toml").write_text(mapping, encoding="utf-8")
    settings = app_settings(
        sqlite_url,
        mappings=str(tmp_path / "mapping.toml"),
        smtp_url=sink[1],
        mail_from="scopewatch@agency.example",
    )
    app = create_app(settings, clock=frozen_clock(NOW))
    yield app
    app.extensions["scopewatch"].engine.dispose()


def answer(app: Any, week: str, happy: str, score: int, comment: str = "") -> int:
    link = feedback_link(app.extensions["scopewatch"], "ACME", week)
    assert link is not None
    path = link.removeprefix("http://127.0.0.1:8080")
    response = app.test_client().post(
        path, data={"happy": happy, "score": str(score), "comment": comment}
    )
    return int(response.status_code)


def test_an_unhappy_answer_mails_the_pm_once_with_the_comment(
    app: Any, sink: tuple[ScriptedSink, str]
):
    handler, _ = sink
    assert answer(app, "2026-W47", "no", 8, "why is SSO suddenly extra?") == 200
    assert answer(app, "2026-W47", "no", 8, "again") == 409  # the same link, answered
    (alert,) = handler.messages()
    assert alert["To"] == LEAD
    assert alert["Subject"] == "[ACME] Acme Corp feedback for 2026-W47: not happy, 8/10"
    assert "why is SSO suddenly extra?" in alert.get_content()


@pytest.mark.parametrize(("happy", "score", "alerted"), [("yes", 6, True), ("yes", 7, False)])
def test_a_low_score_alerts_even_when_happy_and_the_threshold_is_included(
    app: Any, sink: tuple[ScriptedSink, str], happy: str, score: int, alerted: bool
):
    assert answer(app, "2026-W46", happy, score) == 200
    assert len(sink[0].messages()) == (1 if alerted else 0)
