"""Folding and tokenising: the one matching form of a text, with each word's span in the original.

A word is a run of letters and digits; apostrophes inside it ("didn't") and, on request,
hyphens ("win-back") join rather than split. A word's matching form is case-folded with its
accents dropped ("Größe" -> "grosse", "días" -> "dias") and its joiners removed, so a typo, a
missing accent or a different apostrophe still lands on the same form. Spans always point
into the original text, so a finding or a reading quotes what was written.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "tokenize", "normalize", "fold", "skeleton", "skeleton_phrase", "ascii_lower", "lowered", "word_start", "word_end", "stem",
           "sentence_bounds", "identifier"]

# Combining marks are word characters too, so text in decomposed form ("e" + U+0301) stays one word.
_LETTER = r"(?:[^\W_]|[\u0300-\u036f])"
_WORD_SPLIT = re.compile(rf"{_LETTER}+(?:['’‘]{_LETTER}+)*")
_WORD_JOIN = re.compile(rf"{_LETTER}+(?:[-'’‘]{_LETTER}+)*")
_JOINERS = str.maketrans("", "", "-'’‘")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Token(NamedTuple):
    """One word: ``text`` as written, ``norm`` its matching form, ``start``/``end`` its span.
    (A named tuple: texts are cut into thousands of these, and tuples are built fastest.)"""

    text: str
    norm: str
    start: int
    end: int


@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """Case-folded, accents dropped: 'Größe' -> 'grosse', 'Días' -> 'dias'."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _norm(word: str) -> str:
    return fold(word).translate(_JOINERS) if not word.isalnum() else fold(word)


@lru_cache(maxsize=8192)
def tokenize(text: str, *, join_hyphens: bool = False) -> tuple[Token, ...]:
    """The words of ``text`` with their spans (cached: the same copy is read by several checks)."""
    pattern = _WORD_JOIN if join_hyphens else _WORD_SPLIT
    if text.isascii():  # the common case, without a call per word
        low = text.lower()
        if "'" in low or (join_hyphens and "-" in low):
            return tuple(Token(m.group(), low[m.start():m.end()].translate(_JOINERS), m.start(), m.end())
                         for m in pattern.finditer(text))
        return tuple(Token(m.group(), low[m.start():m.end()], m.start(), m.end()) for m in pattern.finditer(text))
    return tuple(Token(m.group(), _norm(m.group()), m.start(), m.end()) for m in pattern.finditer(text))


def normalize(text: str, *, join_hyphens: bool = False) -> str:
    """The matching form of a phrase: folded words joined by single spaces."""
    return " ".join(t.norm for t in tokenize(text, join_hyphens=join_hyphens))


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NOT_IDENT = re.compile(r"[^a-z0-9]+")


def identifier(text: str) -> str:
    """A column header or an event name as a catalog identifier: 'First Name' -> 'first_name',
    'lastOrderDate' -> 'last_order_date', 'Order Completed' -> 'order_completed', 'Größe' -> 'grosse';
    one starting with a digit gets an 'f_' prefix; at most 63 characters; '' when nothing is left."""
    words = _NOT_IDENT.sub("_", fold(_CAMEL.sub("_", text.strip()))).strip("_")
    if words[:1].isdigit():
        words = f"f_{words}"
    return words[:63].rstrip("_")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so every offset stays valid (str.lower can change lengths)."""
    return text.translate(_ASCII_LOWER)


@lru_cache(maxsize=4096)
def lowered(text: str) -> str:
    """``text`` lower-cased with every offset kept: recognisers search it with case-sensitive
    patterns, which Python's re runs much faster than IGNORECASE ones."""
    low = text.lower()
    return low if len(low) == len(text) else ascii_lower(text)


def word_start(text: str, i: int) -> bool:
    """Whether a word can start at ``i`` (no letter or digit right before it)."""
    return i <= 0 or not text[i - 1].isalnum()


def word_end(text: str, i: int) -> bool:
    """Whether a word can end at ``i`` (no letter or digit right after it)."""
    return i >= len(text) or not text[i].isalnum()


def stem(word: str) -> str:
    """A crude singular: 'socks' -> 'sock', 'tabs' -> 'tab' (not 'ss' or short words)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])|\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, paragraph or list item."""
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


# Letters that look alike: digits and signs written for letters, and Cyrillic and Greek letters that
# look Latin ("hidd3n", "N0 pain", "tіme" with a Cyrillic і). Contractions are spelled out, so
# "you are missing out" is "you're missing out".
_LOOK_ALIKE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                             "|": "l",
                             "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
                             "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "к": "k", "м": "m", "т": "t",
                             "в": "b", "н": "h", "α": "a", "ο": "o", "ι": "i", "ν": "v", "ρ": "p", "τ": "t",
                             "κ": "k", "ε": "e", "υ": "u"})
_CONTRACTIONS = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'m", " am"))


def skeleton(text: str) -> tuple[str, list[int]]:
    """The letters of ``text`` with look-alikes read as letters and no spaces, hyphens or punctuation
    between words ("Bucket-list", "bucketlist", "hidd3n gem" -> "bucketlist", "hiddengem"), and for
    each letter the index in ``text`` it came from. Read a phrase with ``skeleton_phrase``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        c = fold(ch).translate(_LOOK_ALIKE) if not ch.isascii() or not ch.isalpha() else ch.lower()
        if c.isalpha():
            out.append(c)
            where.append(i)
    return "".join(out), where


def skeleton_phrase(phrase: str) -> tuple[str, ...]:
    """A listed phrase's skeletons: as written, and with contractions spelled out ("you're" ->
    "youre", "youare")."""
    low = fold(phrase).replace("’", "'")
    full = low
    for short, long_ in _CONTRACTIONS:
        full = full.replace(short, long_)
    full = full.replace("won not", "will not").replace("ca not", "cannot")
    return tuple(dict.fromkeys("".join(c for c in form if c.isalpha()) for form in (low, full)))
