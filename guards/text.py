"""Text helpers shared by the guards: word tokens with offsets, number words, sentences, and
a phrase matcher that is case-, punctuation- and typo-tolerant ("ACT NOW!!" hits "act now")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal, InvalidOperation

import numpy as np
from rapidfuzz import fuzz, process

__all__ = ["Token", "tokens", "normalize", "parse_number", "NUMBER_WORDS_RE", "NUMBER_WORDS", "ascii_lower", "sentence_bounds",
           "PhraseMatcher", "PhraseHit", "stem"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_WORDS_ALT = "|".join(sorted([*_UNITS, *_TENS, "hundred", "a hundred", "one hundred"], key=len, reverse=True))
NUMBER_WORDS = tuple(sorted([*_UNITS, *_TENS, "hundred"]))
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so every offset stays valid (str.lower can change lengths)."""
    return text.translate(_ASCII_LOWER)


# "fifteen", "twenty-five", "twenty five", "one hundred"
NUMBER_WORDS_RE = rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(k for k in _UNITS if 0 < _UNITS[k] < 10)}))?|{_WORDS_ALT})"


@dataclass(frozen=True)
class Token:
    text: str  # as written
    norm: str  # lower-case, curly apostrophes straightened
    start: int
    end: int


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[Token, ...]:
    """Word tokens with their offsets (cached: the same copy is read by several guards)."""
    return tuple(Token(m.group(0), m.group(0).lower().replace("’", "'"), m.start(), m.end())
                 for m in _WORD.finditer(text))


def normalize(text: str) -> str:
    """Lower-case words joined by single spaces: punctuation and case do not count."""
    return " ".join(t.norm for t in tokens(text))


def stem(word: str) -> str:
    """A crude singular: 'socks' -> 'sock', 'tabs' -> 'tab' (not 'ss' or short words)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def parse_number(text: str) -> Decimal | None:
    """'15', '1,250.50', 'fifteen', 'twenty-five', 'a hundred' -> Decimal; None otherwise."""
    cleaned = text.strip().lower().replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        pass
    words = cleaned.replace("-", " ").split()
    if words in (["a", "hundred"], ["one", "hundred"], ["hundred"]):
        return Decimal(100)
    total = 0
    for word in words:
        if word in _TENS:
            total += _TENS[word]
        elif word in _UNITS:
            total += _UNITS[word]
        else:
            return None
    return Decimal(total) if words else None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])|\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, paragraph or list item."""
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


@dataclass(frozen=True)
class PhraseHit:
    phrase: str  # the listed phrase that matched
    label: str  # what list it came from
    start: int
    end: int
    matched: str  # the words as written
    exact: bool


class PhraseMatcher:
    """Finds listed phrases in text, by word windows: exact after normalizing, then fuzzy
    (rapidfuzz ``ratio`` over all windows of the phrase's length in one ``cdist`` call, with
    a score cutoff; each word must also start with the same letter, so "click there" does
    not hit "click here" while "clik here" does)."""

    def __init__(self, phrases: Iterable[tuple[str, str]], *, cutoff: int = 88) -> None:
        self.cutoff = cutoff
        self.exact: dict[str, tuple[str, str]] = {}
        by_len: dict[int, list[tuple[str, str, str]]] = {}
        for phrase, label in phrases:
            norm = normalize(phrase)
            if not norm:
                continue
            self.exact.setdefault(norm, (phrase, label))
            by_len.setdefault(len(norm.split()), []).append((norm, phrase, label))
        self.by_len = {n: items for n, items in by_len.items()}
        # Short phrases ("hurry") only match exactly: one typo away is another word.
        self.fuzzy_items = [it for items in by_len.values() for it in items if len(it[0]) >= 7]
        self._cache: dict[tuple[tuple[Token, ...], bool], list[PhraseHit]] = {}

    def find(self, toks: Sequence[Token], *, fuzzy: bool = True) -> list[PhraseHit]:
        """Hits in ``toks``, longest phrases first, no two overlapping; cached per token tuple."""
        key = (tuple(toks), fuzzy)
        hits = self._cache.get(key)
        if hits is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            hits = self._cache[key] = self._find(toks, fuzzy)
        return list(hits)

    def _find(self, toks: Sequence[Token], fuzzy: bool) -> list[PhraseHit]:
        norms = [t.norm for t in toks]
        windows: list[tuple[int, int, str]] = []  # (start token, length, text)
        for n in sorted(self.by_len, reverse=True):
            windows += [(i, n, " ".join(norms[i:i + n])) for i in range(len(norms) - n + 1)]
        found: list[tuple[int, int, tuple[str, str], bool]] = [
            (i, n, self.exact[w], True) for i, n, w in windows if w in self.exact]
        if fuzzy and self.fuzzy_items and windows:
            # One C call for every window against every phrase; word counts are checked after.
            scores = process.cdist([w for _, _, w in windows], [c[0] for c in self.fuzzy_items],
                                   scorer=fuzz.ratio, score_cutoff=self.cutoff, dtype=np.uint8)
            for a, b in zip(*np.nonzero(scores), strict=True):
                i, n, w = windows[a]
                if _same_initials(w, self.fuzzy_items[b][0]):
                    found.append((i, n, self.fuzzy_items[b][1:], False))
        hits: list[PhraseHit] = []
        taken: set[int] = set()
        for i, n, phrase, exact in sorted(found, key=lambda f: (-f[1], not f[3], f[0])):
            if not taken.intersection(range(i, i + n)):
                hits.append(self._hit(toks, i, n, phrase, exact=exact))
                taken.update(range(i, i + n))
        return sorted(hits, key=lambda h: h.start)

    @staticmethod
    def _hit(toks: Sequence[Token], i: int, n: int, found: tuple[str, str], *, exact: bool) -> PhraseHit:
        start, end = toks[i].start, toks[i + n - 1].end
        return PhraseHit(found[0], found[1], start, end, " ".join(t.text for t in toks[i:i + n]), exact)


def _same_initials(a: str, b: str) -> bool:
    """Same word count and every word equal or a plausible typo of its partner."""
    wa, wb = a.split(), b.split()
    return len(wa) == len(wb) and all(_typo(x, y) for x, y in zip(wa, wb, strict=True))


def _typo(x: str, y: str) -> bool:
    if x == y:
        return True
    if x[:1] != y[:1]:
        return False
    if min(len(x), len(y)) >= 5:
        return fuzz.ratio(x, y) >= 80
    # Short words: only a dropped or added letter ("clik"), never a swapped one ("like"/"live").
    short, long_ = sorted((x, y), key=len)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
