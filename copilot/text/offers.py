"""Offer words the brief reader and the facts guard both look for: free-shipping promises and
discount codes ("code COMEBACK15", "cupón: VUELVE15", "Gutscheincode SPRING20")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from copilot.text.fold import lowered, word_start
from copilot.text.words import canonical, languages, pattern

__all__ = ["IntroducedCode", "find_free_shipping", "find_introduced_codes", "code_context"]

_FREE_SHIPPING = {
    "en": r"free (?:standard |express |2-day |two-day |next-day |next day |same-day |tracked |uk |us )?(?:shipping|delivery)"
          r"|ship(?:s|ping)? (?:is |for )?free|deliver(?:y|ed)? (?:is |for )?free",
    "es": r"env[ií]os? (?:gratis|gratuitos?|sin coste)|entrega gratuita",
    "de": r"kostenlose[nr]? (?:versand|lieferung)|versandkostenfrei|gratis[- ]?versand",
    "fr": r"livraison (?:gratuite|offerte)|frais de port offerts",
}


@lru_cache(maxsize=32)
def _free_shipping(langs: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(_FREE_SHIPPING[lang] for lang in langs if lang in _FREE_SHIPPING) or _FREE_SHIPPING["en"]
    return re.compile(rf"(?:{alternatives})(?![^\W_])")


def find_free_shipping(text: str, locale: str | Iterable[str] = "en") -> list[tuple[int, int]]:
    """Spans of free-shipping promises ("free shipping", "envío gratis", "versandkostenfrei")."""
    low = lowered(text)
    return [m.span() for m in _free_shipping(canonical(languages(locale))).finditer(low) if word_start(low, m.start())]


@lru_cache(maxsize=32)
def _code_after(langs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"{pattern('code_intro', langs)}\s*[:=]?\s*[\"“'«]?([a-z0-9_-]{{3,32}})")


@dataclass(frozen=True)
class IntroducedCode:
    """A code after the word that introduces it: ``text`` the whole phrase ("code COMEBACK15"),
    ``code`` as written, ``span`` the code's own span."""

    text: str
    code: str
    span: tuple[int, int]


def find_introduced_codes(text: str, locale: str | Iterable[str] = "en") -> list[IntroducedCode]:
    """Codes after the word that introduces them ("code COMEBACK15", "cupón: VUELVE15", "Gutschein
    SPRING20")."""
    low = lowered(text)
    return [IntroducedCode(text[m.start():m.end()], text[m.start(1):m.end(1)], m.span(1))
            for m in _code_after(canonical(languages(locale))).finditer(low) if word_start(low, m.start())]


@lru_cache(maxsize=32)
def _code_context(langs: tuple[str, ...]) -> re.Pattern[str]:
    words = f"{pattern('code_intro', langs)}|{pattern('code_verb', langs)}"
    return re.compile(rf"(?<![^\W_])(?:{words})\W*$", re.I)


def code_context(locale: str | Iterable[str] = "en") -> re.Pattern[str]:
    """A regex, searched in the words before a capitalised word, that makes it a code ("use CODE")."""
    return _code_context(canonical(languages(locale)))
