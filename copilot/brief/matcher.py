"""Fuzzy phrase matching with rapidfuzz: brief word windows against a vocabulary of phrases.

Text is lower-cased, accents and apostrophes dropped and hyphens joined ("win-back" ->
"winback", "didn't" -> "didnt"), so a typo or a missing accent still lands on the phrase.
Every token keeps its character span in the original text, so a hit quotes the marketer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

__all__ = ["Entry", "Hit", "PhraseMatcher", "Token", "normalize", "tokenize"]

_WORD = re.compile(r"[a-z0-9]+")
# Articles and possessives carry no meaning for matching: "abandoned their cart" is "abandoned cart".
_FILLER = frozenset({"the", "a", "an", "their", "his", "her", "my", "your", "our", "its", "el", "la", "los", "las",
                     "sus", "su", "der", "die", "das", "den", "dem", "des", "ihre", "ihren", "ihr"})
_FOLD = {"ß": "ss", "’": "'", "‘": "'"}


def _fold_char(ch: str) -> str:
    ch = _FOLD.get(ch, ch)
    decomposed = unicodedata.normalize("NFKD", ch.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """The matching form of a phrase: folded, hyphens and apostrophes joined, single spaces."""
    return " ".join(t.text for t in tokenize(text))


def _content(text: str) -> str:
    return " ".join(w for w in text.split(" ") if w not in _FILLER) or text


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character span in the original text
    end: int


def tokenize(text: str) -> list[Token]:
    folded: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in "-'’‘" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            continue  # join "win-back" and "didn't" into one word
        for c in _fold_char(ch):
            folded.append(c)
            origin.append(i)
    flat = "".join(folded)
    return [Token(m.group(), origin[m.start()], origin[m.end() - 1] + 1) for m in _WORD.finditer(flat)]


@dataclass(frozen=True)
class Entry:
    """One vocabulary phrase and what it stands for."""

    phrase: str  # normalized
    kind: str  # goal, event, audience, risky, injection, channel, tone, product, category, offer, calendar ...
    target: str  # playbook id, catalog name, sku, offer id ...
    weight: int = 1
    cutoff: int = 0  # 0: chosen from the phrase length

    @property
    def size(self) -> int:
        return self.phrase.count(" ") + 1


@dataclass(frozen=True)
class Hit:
    entry: Entry
    start: int  # token index (among content words)
    end: int  # token index (exclusive)
    score: float
    text: str  # as the marketer typed it
    char_start: int = 0  # span in the original text
    char_end: int = 0

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def target(self) -> str:
        return self.entry.target


def _cutoff(entry: Entry) -> int:
    if entry.cutoff:
        return entry.cutoff
    n = len(entry.phrase)
    if n <= 4:
        return 100  # "vip", "sms": a one-letter slip is another word
    if n <= 7 or entry.size == 1:
        return 90  # one word: "reviews" is not "reviewers"
    return 85


class PhraseMatcher:
    """Finds vocabulary phrases in a text; within a kind, overlapping hits keep the best."""

    def __init__(self, entries: list[Entry]) -> None:
        unique: dict[tuple[str, str, str], Entry] = {}
        for e in entries:
            phrase = _content(e.phrase)
            if phrase:
                unique.setdefault((phrase, e.kind, e.target), Entry(phrase, e.kind, e.target, e.weight, e.cutoff))
        self.entries = list(unique.values())
        # window length -> phrases compared with windows of that many words: same length,
        # or one word more or less for phrases of three words and up ("ditched their cart").
        self._by_size: dict[int, list[Entry]] = defaultdict(list)
        for e in self.entries:
            sizes = {e.size} | ({e.size - 1, e.size + 1} if e.size >= 3 else set())
            for s in sizes:
                if s >= 1:
                    self._by_size[s].append(e)
        self._phrases = {s: [e.phrase for e in es] for s, es in self._by_size.items()}
        self._cutoffs = {s: np.array([_cutoff(e) for e in es]) for s, es in self._by_size.items()}

    def find(self, text: str, tokens: list[Token] | None = None) -> list[Hit]:
        tokens = tokenize(text) if tokens is None else tokens
        tokens = [t for t in tokens if t.text not in _FILLER]
        words = [t.text for t in tokens]
        hits: list[Hit] = []
        for size, entries in self._by_size.items():
            if size > len(words):
                continue
            windows = [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]
            scores = cdist(windows, self._phrases[size], scorer=fuzz.ratio, score_cutoff=80, dtype=np.uint8)
            rows, cols = np.nonzero(scores >= self._cutoffs[size][np.newaxis, :])
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if scores[r, c] == 0 or not _tokens_agree(words[r:r + size], entries[c]):
                    continue
                first, last = tokens[r].start, tokens[r + size - 1].end
                hits.append(Hit(entries[c], r, r + size, float(scores[r, c]), text[first:last], first, last))
        return _resolve(hits)


def _tokens_agree(window: list[str], entry: Entry) -> bool:
    """Same-length matches must agree word by word: "back runners" is not "track runners"."""
    if len(window) != entry.size or entry.size == 1:
        return True
    return all(w == p or w.rstrip("s") == p.rstrip("s") or (min(len(w), len(p)) > 3 and fuzz.ratio(w, p) >= 75)
               for w, p in zip(window, entry.phrase.split(" "), strict=True))


def _resolve(hits: list[Hit]) -> list[Hit]:
    """Per kind, keep the best non-overlapping hits; in text order."""
    out: list[Hit] = []
    by_kind: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        by_kind[h.kind].append(h)
    for kind_hits in by_kind.values():
        # a longer phrase wins over a shorter one it contains unless it matched much worse:
        # "abandonned cart" (96) beats "cart" (100); "didnt buy" (100) beats "did not buy" (90)
        kind_hits.sort(key=lambda h: (-h.score * (1 + 0.1 * (h.entry.size - 1)), -len(h.entry.phrase), h.start,
                                      h.entry.target))
        taken: list[tuple[int, int]] = []
        for h in kind_hits:
            if all(h.end <= s or h.start >= e for s, e in taken):
                taken.append((h.start, h.end))
                out.append(h)
    out.sort(key=lambda h: (h.start, h.kind, h.target))
    return out
