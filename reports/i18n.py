"""The digest's fixed texts in the reader's language: one gettext catalogue per language.

The catalogues are reports/locale/<language>/LC_MESSAGES/messages.po (English and German ship),
extracted with Babel (babel.cfg) from the templates and the sentence-making code of `reports`.
The .po is compiled in memory on first use, so a fresh clone needs no build step and a compiled
file can never be older than its source. A locale is matched on its language ("de_DE", "de_AT"
read German); a language without a catalogue reads the English the code is written in. Fuzzy
entries are left out, as `msgfmt` does: a guess never reaches a client.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
# The texts are written in English: an English digest reads them as they are, without parsing a
# catalogue (the JSON digest of an English project then pays nothing for translations).
SOURCE_LANGUAGE = "en"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=16)
def translations(locale: str) -> NullTranslations:
    """The translations for `locale` ("de_DE"); English (the msgids themselves) when its
    language has no catalogue."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    language = Locale.parse(locale).language
    path = catalogue_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Texts:
    """The fixed texts of one locale. `_` and `ngettext` are the names Babel extracts, so a
    sentence is marked for translation where it is written: `t._("Budget")`."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._translations = translations(locale)

    def _(self, message: str, **values: object) -> str:
        """`message` translated, its %(name)s placeholders filled from `values`."""
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The singular or plural form for `n` as the language has them; %(num)s is `n`."""
        return self._translations.ngettext(singular, plural, n) % {"num": n, **values}


@lru_cache(maxsize=16)
def texts(locale: str) -> Texts:
    return Texts(locale)


def N_(message: str) -> str:  # noqa: N802 - the marker Babel extracts by this name
    """Marks a text for the catalogue where it is kept (a table of labels); it is translated
    where it is shown."""
    return message
