"""Whole-word phrase matching, exact and fuzzy (rapidfuzz), for vocabularies and phrase lists.

A text is cut into word windows; a window hits a listed phrase when their matching forms are
equal, or when rapidfuzz's ratio reaches the phrase's cutoff and the words agree one by one
(so "click there" is not "click here", and "back runners" is not "track runners"). Every
window size is compared in one ``cdist`` call against the phrases of that size.

Two ways of keeping hits, chosen by the caller:

- ``keep="longest"``: no two hits overlap; the longest phrase wins, an exact hit beats a
  fuzzy one (phrase lists: banned words, spam triggers, concepts).
- ``keep="best_per_label"``: within a label the best-scoring hits that do not overlap, a
  longer phrase weighted up ("abandonned cart" beats "cart"); hits of different labels may
  overlap (a brief's vocabulary: goals, events, products ... read side by side).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from copilot.text.fold import Token, normalize, tokenize

__all__ = ["Phrase", "PhraseMatch", "PhraseMatcher", "graded_cutoff", "similarity"]

EXACT_ONLY = 101  # a cutoff no ratio reaches


@dataclass(frozen=True)
class Phrase:
    """One listed phrase: ``label`` says which list or kind it is in, ``target`` what it stands for."""

    text: str
    label: str
    target: str = ""
    weight: int = 1
    cutoff: int = 0  # fuzzy score a window needs; 0: the matcher's rule


@dataclass(frozen=True)
class PhraseMatch:
    """A phrase found in a text: ``start``/``end`` its character span, ``first``/``last`` its
    word indexes (``last`` exclusive, counting only the words the matcher reads)."""

    phrase: Phrase
    norm: str  # the phrase's matching form
    start: int
    end: int
    first: int
    last: int
    score: float
    text: str  # the original text of the span
    words: str  # the matched words as written, joined by single spaces
    exact: bool

    @property
    def label(self) -> str:
        return self.phrase.label

    @property
    def target(self) -> str:
        return self.phrase.target

    @property
    def size(self) -> int:
        return self.norm.count(" ") + 1


def similarity(a: str, b: str) -> float:
    """How alike two short texts are, 0-100, in their matching form and whatever their word order
    ("Actualizar mis datos de pago" and "Actualiza tus datos de pago" score about 84)."""
    return float(fuzz.token_sort_ratio(normalize(a), normalize(b)))


def graded_cutoff(norm: str) -> int:
    """A cutoff by length: up to 4 letters exact ("vip" is not "vips"'s typo, "sms" not "sm"), one word
    or up to 7 letters 90 ("reviews" is not "reviewers"), longer phrases 85."""
    if len(norm) <= 4:
        return 100
    if len(norm) <= 7 or " " not in norm:
        return 90
    return 85


def _fixed(cutoff: int, min_chars: int) -> Callable[[str], int]:
    return lambda norm: cutoff if len(norm) >= min_chars else EXACT_ONLY


@dataclass(frozen=True)
class _Entry:
    phrase: Phrase
    norm: str
    size: int
    cutoff: int
    order: int


class PhraseMatcher:
    """Finds listed phrases in texts. Options (keyword-only):

    - ``cutoff``: the fuzzy score a window needs, an int (phrases shorter than ``min_chars``
      then match exactly only) or a function of the phrase's matching form; a phrase's own
      ``cutoff`` overrides it.
    - ``ignore``: words skipped in phrases and texts alike ("the", "their": "abandoned their
      cart" is "abandoned cart").
    - ``join_hyphens``: "win-back" is one word "winback" rather than "win back".
    - ``slack``: phrases of three words and more are also compared with windows this many
      words shorter or longer ("ditched their cart" for "ditched cart").
    - ``words``: how the words of a fuzzy hit must agree: ``"typo"`` each word equal or a
      plausible typo with the same first letter; ``"similar"`` (multi-word phrases only) equal,
      the same singular, or close in letters.
    - ``keep``: ``"longest"`` or ``"best_per_label"`` (see the module docstring).
    """

    def __init__(self, phrases: Iterable[Phrase | tuple[str, str]], *, cutoff: int | Callable[[str], int] = 88,
                 min_chars: int = 7, ignore: Iterable[str] = (), join_hyphens: bool = False, slack: int = 0,
                 words: Literal["typo", "similar"] = "typo",
                 keep: Literal["longest", "best_per_label"] = "longest") -> None:
        self.ignore = frozenset(ignore)
        self.join_hyphens, self.words, self.keep = join_hyphens, words, keep
        rule = cutoff if callable(cutoff) else _fixed(cutoff, min_chars)
        seen: set[tuple[str, str, str]] = set()
        self.entries: list[_Entry] = []
        for item in phrases:
            phrase = item if isinstance(item, Phrase) else Phrase(item[0], item[1])
            norm = self._content(normalize(phrase.text, join_hyphens=join_hyphens))
            key = (norm, phrase.label, phrase.target)
            if not norm or key in seen:
                continue
            seen.add(key)
            self.entries.append(_Entry(phrase, norm, norm.count(" ") + 1, phrase.cutoff or rule(norm),
                                       len(self.entries)))
        self._exact: dict[str, list[_Entry]] = defaultdict(list)
        by_size: dict[int, list[_Entry]] = defaultdict(list)
        for e in self.entries:
            self._exact[e.norm].append(e)
            if e.cutoff > 100:
                continue  # exact only
            sizes = {e.size} | ({e.size - slack, e.size + slack} if slack and e.size >= 3 else set())
            for s in sizes:
                if s >= 1:
                    by_size[s].append(e)
        self._sizes = sorted({e.size for e in self.entries} | set(by_size), reverse=True)
        self._fuzzy = {s: (es, [e.norm for e in es], np.array([e.cutoff for e in es]), min(e.cutoff for e in es))
                       for s, es in by_size.items()}
        self._cache: dict[str, tuple[PhraseMatch, ...]] = {}

    def _content(self, norm: str) -> str:
        if not self.ignore:
            return norm
        return " ".join(w for w in norm.split(" ") if w not in self.ignore) or norm

    def tokens(self, text: str) -> tuple[Token, ...]:
        """The words this matcher reads in ``text``."""
        return tokenize(text, join_hyphens=self.join_hyphens)

    def find(self, text: str) -> list[PhraseMatch]:
        """The phrases in ``text``, in text order (cached per text)."""
        hits = self._cache.get(text)
        if hits is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            hits = self._cache[text] = tuple(self._find(text))
        return list(hits)

    def _find(self, text: str) -> list[PhraseMatch]:
        toks = [t for t in self.tokens(text) if t.norm not in self.ignore]
        norms = [t.norm for t in toks]
        found: list[tuple[_Entry, int, int, float, bool]] = []  # entry, first, size, score, exact
        for size in self._sizes:
            if size > len(norms):
                continue
            windows = [" ".join(norms[i:i + size]) for i in range(len(norms) - size + 1)]
            for i, w in enumerate(windows):
                found += [(e, i, size, 100.0, True) for e in self._exact.get(w, ())]
            fuzzy = self._fuzzy.get(size)
            if fuzzy is None:
                continue
            entries, phrases, cutoffs, lowest = fuzzy
            scores = cdist(windows, phrases, scorer=fuzz.ratio, score_cutoff=lowest, dtype=np.uint8)
            rows, cols = np.nonzero((scores >= cutoffs[np.newaxis, :]) & (scores > 0))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                e = entries[c]
                if windows[r] != e.norm and self._agree(norms[r:r + size], e):
                    found.append((e, r, size, float(scores[r, c]), False))
        chosen = self._longest(found) if self.keep == "longest" else self._best_per_label(found)
        return [self._match(text, toks, *f) for f in chosen]

    def _agree(self, window: Sequence[str], e: _Entry) -> bool:
        if len(window) != e.size:
            return self.words == "similar"  # a slack window: the score alone decides
        parts = e.norm.split(" ")
        if self.words == "typo":
            return all(_typo(w, p) for w, p in zip(window, parts, strict=True))
        return e.size == 1 or all(_similar(w, p) for w, p in zip(window, parts, strict=True))

    @staticmethod
    def _longest(found: list[tuple[_Entry, int, int, float, bool]]) -> list[tuple[_Entry, int, int, float, bool]]:
        found.sort(key=lambda f: (-f[2], not f[4], f[1], f[0].order))
        taken: set[int] = set()
        out = []
        for f in found:
            span = range(f[1], f[1] + f[2])
            if not taken.intersection(span):
                taken.update(span)
                out.append(f)
        return sorted(out, key=lambda f: f[1])

    @staticmethod
    def _best_per_label(found: list[tuple[_Entry, int, int, float, bool]]
                        ) -> list[tuple[_Entry, int, int, float, bool]]:
        by_label: dict[str, list[tuple[_Entry, int, int, float, bool]]] = defaultdict(list)
        for f in found:
            by_label[f[0].phrase.label].append(f)
        out = []
        for hits in by_label.values():
            # a longer phrase wins over a shorter one it contains unless it matched much worse:
            # "abandonned cart" (96) beats "cart" (100); "didnt buy" (100) beats "did not buy" (90)
            hits.sort(key=lambda f: (-f[3] * (1 + 0.1 * (f[0].size - 1)), -len(f[0].norm), f[1], f[0].phrase.target))
            taken: list[tuple[int, int]] = []
            for f in hits:
                if all(f[1] + f[2] <= s or f[1] >= e for s, e in taken):
                    taken.append((f[1], f[1] + f[2]))
                    out.append(f)
        return sorted(out, key=lambda f: (f[1], f[0].phrase.label, f[0].phrase.target))

    @staticmethod
    def _match(text: str, toks: Sequence[Token], e: _Entry, first: int, size: int, score: float,
               exact: bool) -> PhraseMatch:
        start, end = toks[first].start, toks[first + size - 1].end
        words = " ".join(t.text for t in toks[first:first + size])
        return PhraseMatch(e.phrase, e.norm, start, end, first, first + size, score, text[start:end], words, exact)


def _typo(x: str, y: str) -> bool:
    """Equal, or a plausible typo of ``y``: the same first letter, and close letters (5+ letters) or
    one letter dropped or added (shorter words: never a swapped one, "like" is not "live")."""
    if x == y:
        return True
    if x[:1] != y[:1]:
        return False
    if len(x) == len(y) and x[:-1] == y[:-1]:
        return False  # another ending is another word ("needs" is not "needy"), not a typo
    if min(len(x), len(y)) >= 5:
        return fuzz.ratio(x, y) >= 80
    short, long_ = sorted((x, y), key=len)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _similar(w: str, p: str) -> bool:
    return w == p or w.rstrip("s") == p.rstrip("s") or (min(len(w), len(p)) > 3 and fuzz.ratio(w, p) >= 75)
