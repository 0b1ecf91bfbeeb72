"""The digest in the client's language: every fixed text comes from a gettext catalogue, English
and German ship, and a de_DE digest reads German words, German numbers and German dates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from reports import charts, formats, i18n
from reports.render import render_html, render_text, subject

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_digest.json"
LANGUAGES = ("en", "de")


def extracted() -> dict[str, tuple[str, ...]]:
    """Every msgid Babel extracts from the sources babel.cfg names, as `pybabel extract` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        ids = (message,) if isinstance(message, str) else tuple(message)
        found[ids[0]] = ids
    return found


@pytest.fixture(scope="module")
def msgids() -> dict[str, tuple[str, ...]]:
    found = extracted()
    assert len(found) > 150  # the extraction read the templates and the code, not nothing
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_of_the_digest_is_in_the_catalogue(
    msgids: dict[str, tuple[str, ...]], language: str
) -> None:
    with i18n.catalogue_path(language).open("rb") as po:
        catalogue = read_po(po)
    missing = [m for m in msgids if catalogue.get(m) is None]
    assert missing == [], f"not in {language}: run the update in README, Translations"
    stale = [
        m.id for m in catalogue if m.id and (m.id[0] if m.pluralizable else m.id) not in msgids
    ]
    assert stale == [], f"{language} holds texts the digest no longer has"


def test_every_german_text_is_translated_and_none_is_a_guess(
    msgids: dict[str, tuple[str, ...]],
) -> None:
    with i18n.catalogue_path("de").open("rb") as po:
        catalogue = read_po(po)
    for key, ids in msgids.items():
        entry = catalogue[key]
        assert not entry.fuzzy, key
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert len(forms) == len(ids) and all(forms), f"untranslated: {key!r}"
    # Babel's own checks: the placeholders of each translation are those of its msgid.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []


def test_a_locale_reads_its_language_and_an_unknown_language_reads_english() -> None:
    assert i18n.texts("de_DE")._("Expected final cost") == "Erwartete Endkosten"
    assert i18n.texts("de_AT")._("Cost so far") == "Bisherige Kosten"
    assert i18n.texts("en_GB")._("Cost so far") == "Cost so far"
    assert i18n.texts("fr_FR")._("Cost so far") == "Cost so far"
    german = i18n.texts("de_DE")
    assert german.ngettext("%(num)s day", "%(num)s days", 1) == "1 Tag"
    assert german.ngettext("%(num)s day", "%(num)s days", 12) == "12 Tage"


# --- a German digest ---------------------------------------------------------------------------


@pytest.fixture
def german() -> dict[str, Any]:
    digest: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    digest["locale"] = "de_DE"
    digest["timeline"]["forecast"]["p85"] = "2027-12-05"  # the example day
    digest["headline"]["forecast_finish"] = "2027-12-05"
    digest["budget"]["spent"] = 1360.0
    return digest


def test_a_german_digest_reads_german_words_numbers_and_dates(german: dict[str, Any]) -> None:
    text = render_text(german)
    assert "Voraussichtliches Ende 5. Dez. 2027 (85\u00a0% Sicherheit)" in text
    # Babel's German puts a no-break space before the sign, so "€" never starts a line.
    assert re.search(r"^Bisherige Kosten +1\.360\u00a0€$", text, re.M)
    assert re.search(r"^Erwartete Endkosten +143\.076,92\u00a0€$", text, re.M)
    assert "Fortschrittsbericht Woche 47, 16. Nov. 2026 – 22. Nov. 2026" in text
    assert "WARTET AUF SIE" in text and "Wartet auf Sie: 3 Entscheidungen" in text
    for english in ("Cost so far", "Likely finish", "Waiting on you", "progress report", "days"):
        assert english not in text, english
    # Money with its cents in German notation: the digest's house rule shows cents whenever an
    # amount has them (a whole amount drops them, as "1.360 €" above).
    assert formats.money(1360, "EUR", "de_DE", cents=True) == "1.360,00\u00a0€"
    assert "41.250,50\u00a0€" in text


def test_the_german_html_and_subject_are_german_too(german: dict[str, Any]) -> None:
    html = render_html(german, image_cids={})
    assert '<html lang="de">' in html
    for words in ("Bisherige Kosten", "Erwartete Endkosten", "Umfangsänderungen", "Wartezeit"):
        assert words in html, words
    assert "Expected final cost" not in html and "Waiting" not in html
    assert subject(german).startswith("[ACME] Woche 47: nicht im Plan, ")


def test_german_plurals_follow_the_count(german: dict[str, Any]) -> None:
    german["blockers"] = [b for b in german["blockers"] if b["key"] == "ACME-131"]
    german["blockers"][0]["age_days"] = 1
    german["headline"]["blockers_on_client"] = 1
    text = render_text(german)
    assert re.search(r"^ACME-131 .* 1 Tag  ", text, re.M)
    assert "1 blockierter Punkt, den nur Sie lösen können" in text


def test_the_charts_of_a_german_digest_have_german_legends_and_alt_text(
    german: dict[str, Any],
) -> None:
    burn, scope = charts.burn_figure(german), charts.scope_figure(german)
    legends = {
        t.get_text() for fig in (burn, scope) for legend in fig.legends for t in legend.texts
    }
    assert {"Plan", "Ausgegeben", "Budget", "Vereinbart (Basis)", "Aktueller Umfang"} <= legends
    html = render_html(german, image_cids={"burn": "b@x", "scope": "s@x"})
    assert (
        'alt="1.360\u00a0€ von 122.040\u00a0€ ausgegeben; bei diesem Tempo ist das Budget am '
        in html
    )
