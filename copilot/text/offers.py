"""Offer words the brief reader and the facts guard both look for: free-shipping promises and
discount codes ("code COMEBACK15", "cupón: VUELVE15", "Gutscheincode SPRING20")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from copilot.text.words import languages, pattern

__all__ = ["free_shipping", "code_after", "code_context"]

_FREE_SHIPPING = {
    "en": r"free (?:standard |express |2-day |two-day )?(?:shipping|delivery)|ship(?:s|ping)? (?:is |for )?free",
    "es": r"env[ií]os? (?:gratis|gratuitos?|sin coste)|entrega gratuita",
    "de": r"kostenlose[nr]? (?:versand|lieferung)|versandkostenfrei|gratis[- ]?versand",
    "fr": r"livraison (?:gratuite|offerte)|frais de port offerts",
}


@lru_cache(maxsize=32)
def _free_shipping(langs: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(_FREE_SHIPPING[lang] for lang in langs if lang in _FREE_SHIPPING) or _FREE_SHIPPING["en"]
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.I)


def free_shipping(locale: str | Iterable[str] = "en") -> re.Pattern[str]:
    """A regex of a free-shipping promise ("free shipping", "envío gratis", "versandkostenfrei")."""
    return _free_shipping(languages(locale))


@lru_cache(maxsize=32)
def _code_after(langs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<![^\W_]){pattern('code_intro', langs)}\s*[:=]?\s*[\"“'«]?(?P<code>[A-Za-z0-9_-]{{3,32}})",
                      re.I)


def code_after(locale: str | Iterable[str] = "en") -> re.Pattern[str]:
    """A regex of a code after the word that introduces it; the code is group ``code``."""
    return _code_after(languages(locale))


@lru_cache(maxsize=32)
def _code_context(langs: tuple[str, ...]) -> re.Pattern[str]:
    words = f"{pattern('code_intro', langs)}|{pattern('code_verb', langs)}"
    return re.compile(rf"(?<![^\W_])(?:{words})\W*$", re.I)


def code_context(locale: str | Iterable[str] = "en") -> re.Pattern[str]:
    """A regex, searched in the words before a capitalised word, that makes it a code ("use CODE")."""
    return _code_context(languages(locale))
