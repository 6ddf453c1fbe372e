"""The vocabulary a brief is read against, built once per workspace version: the playbooks' words,
the catalog's field and event names, audience, risky-field, injection, channel and tone phrases,
and the fact sheet's products, categories, offers and calendar moments, in one phrase matcher."""

from __future__ import annotations

import re

from copilot.brief.reading import AudienceHint
from copilot.plan import EventRule, FieldRule, LastPerformedRule, Rule
from copilot.playbooks import Playbook, Vocabulary, load_playbooks, load_vocabulary
from copilot.rules import walk_rule
from copilot.text import FILLER_WORDS, Phrase, PhraseMatcher, graded_cutoff, normalize
from copilot.workspace import Workspace

__all__ = ["Lexicon", "brief_form", "lexicon", "STRONG", "EVENT", "WEAK"]

STRONG, EVENT, WEAK = 3, 2, 1


def brief_form(text: str) -> str:
    """A phrase as the brief reader matches it: folded, hyphenated words joined ("win-back" -> "winback")."""
    return normalize(text, join_hyphens=True)


def _phrase(name: str) -> str:
    return brief_form(name.replace("_", " "))


# The brief's vocabulary is read side by side (a goal, an event and a product may share words), typo-tolerant:
# hyphens join ("win-back" is "winback"), articles and possessives are skipped, long phrases take a word
# more or less, and each kind keeps its best hits.
_FILLER = frozenset(normalize(w) for words in FILLER_WORDS.values() for w in words)


def _vocabulary_matcher(phrases: list[Phrase]) -> PhraseMatcher:
    return PhraseMatcher(phrases, cutoff=graded_cutoff, ignore=_FILLER, join_hyphens=True, slack=1, words="similar",
                         keep="best_per_label")


def _rule_names(rule: Rule) -> tuple[list[str], list[str]]:
    fields, events = [], []
    for _, node in walk_rule(rule, ""):
        if isinstance(node, FieldRule):
            fields.append(node.field)
        elif isinstance(node, (EventRule, LastPerformedRule)):
            events.append(node.event)
    return fields, events


class Lexicon:
    def __init__(self, workspace: Workspace, books: tuple[Playbook, ...], vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.books = {b.id: b for b in books}
        entries: list[Phrase] = []
        for b in books:
            entries += [Phrase(p, "goal", b.id, STRONG) for p in b.vocabulary]
            entries += [Phrase(p, "goal", b.id, WEAK) for p in b.weak_vocabulary]
        for e in workspace.catalog.events:
            entries.append(Phrase(_phrase(e.name), "event", e.name, EVENT))
        for f in workspace.catalog.fields:
            entries.append(Phrase(_phrase(f.name), "field", f.name))
        self.audience: list[AudienceHint] = []
        for a in vocab.audience:
            fields, events = _rule_names(a.rule)
            if all(workspace.field(n) for n in fields) and all(workspace.event(n) for n in events):
                self.audience.append(AudienceHint(a.label, "", a.rule, tuple(fields), tuple(events)))
                entries += [Phrase(p, "audience", str(len(self.audience) - 1)) for p in a.phrases]
        for name, phrases in vocab.risky.items():
            if workspace.field(name):
                entries += [Phrase(p, "field", name) for p in phrases]
        entries += [Phrase(p, "injection", "injection", cutoff=88) for p in vocab.injection]
        for channel, phrases in vocab.channels.items():
            entries += [Phrase(p, "channel", channel) for p in phrases]
        for tone, phrases in vocab.tones.items():
            entries += [Phrase(p, "tone", tone) for p in phrases]
        for p in workspace.facts.products:
            for name in (p.name, *p.aliases, p.sku):
                entries.append(Phrase(name, "product", p.sku, cutoff=88))
        for category in sorted({p.category for p in workspace.facts.products}):
            words = _phrase(category)
            entries += [Phrase(words, "category", category), Phrase(words.rstrip("s"), "category", category)]
        for o in workspace.facts.offers:
            entries += [Phrase(o.name, "offer", o.id, cutoff=88), Phrase(_phrase(o.id), "offer", o.id, cutoff=95)]
        for c in workspace.facts.calendar:
            entries += [Phrase(c.name, "calendar", c.id, cutoff=88), Phrase(_phrase(c.id), "calendar", c.id)]
        self.matcher = _vocabulary_matcher(entries)
        self.countries = re.compile(
            r"\b(?:in|from|based in|living in|en|de|desde|aus|nach)\s+(?:the\s+)?(" + "|".join(
                sorted((re.escape(n) for ns in vocab.countries.values() for n in ns), key=len, reverse=True)) +
            r")\b", re.I)
        self.country_codes = {n.lower(): code for code, ns in vocab.countries.items() for n in ns}
        self.exclusion = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(vocab.exclusion_words,
                                                                                   key=len, reverse=True)) + r")\b",
                                    re.I)


_LEXICONS: dict[tuple[str, int], Lexicon] = {}


def lexicon(workspace: Workspace) -> Lexicon:
    books, vocab = load_playbooks(), load_vocabulary()
    key = (workspace.content_hash, id(books))
    if key not in _LEXICONS:
        if len(_LEXICONS) > 16:
            _LEXICONS.clear()
        _LEXICONS[key] = Lexicon(workspace, books, vocab)
    return _LEXICONS[key]
