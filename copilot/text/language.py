"""Which of the supported languages a short text is written in, from its common function words."""

from __future__ import annotations

from copilot.text.fold import normalize, tokenize

__all__ = ["guess_language", "language_of"]

# Words frequent in briefs and copy of each language and rare in the others' (after folding accents).
_COMMON = {
    "en": ("the", "and", "with", "for", "who", "to", "of", "our", "customers", "people", "them", "send", "off",
           "their", "they", "this", "that", "remind", "tell", "everyone", "after", "before", "have", "haven't"),
    "es": ("el", "la", "los", "las", "que", "con", "para", "por", "una", "clientes", "correo", "hace", "sin",
           "del", "meses", "envía", "enviar", "quienes", "su", "sus", "y", "a los", "descuento", "hasta"),
    "de": ("der", "die", "das", "und", "mit", "für", "nicht", "den", "kunden", "seit", "eine", "ein", "an",
           "alle", "schick", "schicke", "haben", "wer", "rabatt", "zurückholen", "monaten", "wochen", "bis",
           "auf", "bekommen", "ende", "sie", "ihre", "nach", "vor"),
    "fr": ("les", "le", "des", "qui", "ont", "pas", "sans", "pour", "avec", "aux", "clients", "un", "une",
           "du", "leur", "leurs", "avant", "après", "jusqu'au", "offrir", "relancer", "et", "nos", "vos", "tous",
           "toutes", "dans", "au", "ces", "cette"),
}
_FOLDED = {lang: frozenset(normalize(w) for w in words) for lang, words in _COMMON.items()}


def guess_language(text: str, default: str = "en") -> str:
    """'en', 'es', 'de' or 'fr': the language with the most common words in ``text`` (``default`` on a tie
    with it, or when none is found)."""
    tokens = [t.norm for t in tokenize(text)]
    counts = {lang: sum(t in words for t in tokens) for lang, words in _FOLDED.items()}
    best = max(counts, key=lambda k: (counts[k], k == default))
    return best if counts[best] > 0 else default


def language_of(locale: str) -> str:
    """The language of a locale code: "es-MX" / "es_MX" / "ES" -> "es"."""
    return locale.replace("-", "_").split("_")[0].lower()
