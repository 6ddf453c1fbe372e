"""Playbook copy in other languages: gettext catalogs (copilot/playbooks/locales/<lang>/<playbook>.po,
one per playbook and language, plus ``common.po`` for the planner's own lines) read with Babel.

A catalog maps each English copy string of the playbooks, exactly as written, to its translation
with the same [[placeholders]] and {{ merge fields }}. A string with no translation stays English
and the planner says so; English needs no catalog.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from copilot.text import language_of

__all__ = ["LOCALES_DIR", "catalog_languages", "language_neutral", "reads_as", "translate"]

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


# nothing but [[placeholders]], {{ merge fields }}, spaces and punctuation: the same in every language
_NEUTRAL = re.compile(r"(?:\s|\[\[[^\]]*\]\]|\{\{[^}]*\}\}|[.,:;!?()\-–—·*])*")


def language_neutral(text: str) -> bool:
    """True for copy with no words of its own (``[[offer_sentence]]``): it needs no translation."""
    return _NEUTRAL.fullmatch(text) is not None



@lru_cache(maxsize=16)
def _catalog(lang: str) -> dict[tuple[str | None, str], str]:
    """(context, English) -> translation, over every catalog of ``lang`` (fuzzy entries are not translations)."""
    out: dict[tuple[str | None, str], str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        out.update({(m.context, m.id): m.string for m in catalog
                    if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy})
    return out


_WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(re.sub(r"\[\[[^\]]*\]\]|\{\{[^}]*\}\}|\{[^}]*\}", " ", text).lower()))


@lru_cache(maxsize=16)
def _vocabulary(lang: str) -> tuple[frozenset[str], frozenset[str]]:
    """(words only ``lang``'s translations use, words only the English uses), from its catalogs."""
    english: set[str] = set()
    local: set[str] = set()
    for (_, text), translated in _catalog(lang).items():
        english |= _words(text)
        local |= _words(translated)
    return frozenset(local - english), frozenset(english - local)


def reads_as(text: str, locale: str) -> bool:
    """Whether ``text`` (a short line such as a brand's CTA) reads as ``locale``'s language rather than
    English, judged by the words the catalogs use in each; False for a language with no catalog."""
    lang = language_of(locale)
    words = _words(text)
    if lang == "en":
        return True
    local, english = _vocabulary(lang)
    return len(words & local) > len(words & english)


def catalog_languages() -> list[str]:
    """Languages the playbook copy is translated into (besides English)."""
    return sorted(p.name for p in LOCALES_DIR.glob("*") if p.is_dir() and any(p.glob("*.po")))


def translate(text: str, locale: str, context: str | None = None) -> str | None:
    """``text`` in ``locale``'s language; the text itself for English; None when not translated.

    ``context`` is the gettext msgctxt of a word that reads differently where it is used (the
    newsletter's ``[[period]]``)."""
    lang = language_of(locale)
    if lang == "en" or language_neutral(text):
        return text
    return _catalog(lang).get((context, text))
