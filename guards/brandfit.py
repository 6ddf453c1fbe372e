"""brandfit: copy that names products, categories or activities the brand's workspace does not have.

A coffee roaster's welcome email about running gear is factually clean and well toned, and still
wrong for the brand. The guard knows generic nouns of kinds of goods and pastimes
(``guards/data/brand_fit.yaml``: shoes, coffee, books, yoga, marathons ...), grouped so that synonyms
stand together, and reads the brand's own world from its workspace: every word of its products,
categories, descriptions, offers, policies, claims, calendar, catalog (field and value names, words,
descriptions, audiences), voice lines and brand file. A group the workspace never mentions is
off-brand; copy that names it is flagged: blocking when the off-brand thing is what the email is
about (named in the subject, preheader or CTA, or twice or more), a warning for a single mention in
the body. Nothing here names a brand: the vocabulary is generic and the brand's side is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from copilot.text import stem, tokenize
from copilot.workspace import Workspace
from guards.context import PROSE_FIELDS, VariantContext
from guards.finding import Code, Finding, Guard

__all__ = ["GUARD", "brand_words", "off_brand_mentions"]

OFF_BRAND = Code("FIT_OFF_BRAND", "brandfit", "block",
                 "The email is about a product, category or activity the brand does not have")
OFF_BRAND_MENTION = Code("FIT_OFF_BRAND_MENTION", "brandfit", "warn",
                         "The body mentions a product, category or activity the brand does not have")

_DATA = yaml.safe_load((Path(__file__).parent / "data" / "brand_fit.yaml").read_text(encoding="utf-8"))
_HEADLINE_FIELDS = frozenset({"subject", "preheader", "cta_text"})


def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(t.norm) for t in tokenize(text, join_hyphens=True))


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]  # stems, in order (exact forms for an entry written "=books")
    group: str
    kind: str  # product | activity
    exact: bool = False


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, list[_Entry]], dict[str, list[tuple[str, ...]]]]:
    """Entries by their first stem, and idioms by their first stem."""
    entries: dict[str, list[_Entry]] = {}
    for kind, key in (("product", "products"), ("activity", "activities")):
        for group, words in _DATA[key].items():
            for word in map(str, words):
                exact = word.startswith("=")  # "=books": the plural only ("book" a spot is a verb)
                s = tuple(t.norm for t in tokenize(word[1:], join_hyphens=True)) if exact else _stems(word)
                if s:
                    entries.setdefault(s[0], []).append(_Entry(s, group, kind, exact))
    idioms: dict[str, list[tuple[str, ...]]] = {}
    for phrase in _DATA["idioms"]:
        s = _stems(str(phrase))
        if s:
            idioms.setdefault(s[0], []).append(s)
    for lists in (*entries.values(), *idioms.values()):
        lists.sort(key=lambda e: -len(e.words if isinstance(e, _Entry) else e))  # longest first
    return entries, idioms


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _brand_text(ws: Workspace) -> str:
    parts: list[str] = []
    for model in (ws.brand, ws.voice, ws.facts, ws.catalog):
        dump = model.model_dump(mode="json")
        # What the brand bans or must never claim is not what it has.
        dump = {k: v for k, v in dump.items() if k not in {"banned_phrases", "discouraged_phrases", "cta_forbidden",
                                                          "forbidden_claims"}}
        parts += list(_strings(dump))
    texts = [p.replace("_", " ") for p in parts]
    stems = " ".join(" ".join(_stems(t)) for t in texts)
    norms = " ".join(" ".join(tok.norm for tok in tokenize(t, join_hyphens=True)) for t in texts)
    return f" {stems} | {norms} "


def brand_words(ws: Workspace) -> frozenset[str]:
    """The groups of the generic vocabulary the workspace mentions (on-brand groups)."""
    return _on_brand(ws)


# One reading per version of a workspace (keyed by its content hash; workspaces are not hashable).
_ON_BRAND: dict[str, frozenset[str]] = {}


def _on_brand(ws: Workspace) -> frozenset[str]:
    key = ws.content_hash
    if key not in _ON_BRAND:
        text = _brand_text(ws)
        entries, _ = _vocabulary()
        if len(_ON_BRAND) > 32:
            _ON_BRAND.clear()
        _ON_BRAND[key] = frozenset(e.group for lst in entries.values() for e in lst
                                   if f" {' '.join(e.words)} " in text)
    return _ON_BRAND[key]


def off_brand_mentions(text: str, ws: Workspace) -> list[tuple[_Entry, tuple[int, int], str]]:
    """(entry, span, words as written) of each off-brand noun in ``text``."""
    entries, idioms = _vocabulary()
    on = _on_brand(ws)
    tokens = tokenize(text, join_hyphens=True)
    stems = [stem(t.norm) for t in tokens]
    norms = [t.norm for t in tokens]
    out: list[tuple[_Entry, tuple[int, int], str]] = []
    skip_until = 0
    for i, s in enumerate(stems):
        if i < skip_until:
            continue
        idiom = next((len(p) for p in idioms.get(s, ()) if tuple(stems[i:i + len(p)]) == p), 0)
        if not idiom:  # an idiom may start a word earlier: "up and running", "in the running"
            for back in (1, 2):
                if i - back >= 0 and any(tuple(stems[i - back:i - back + len(p)]) == p and len(p) > back
                                         for p in idioms.get(stems[i - back], ())):
                    idiom = 1
                    break
        if idiom:
            skip_until = i + idiom
            continue
        for entry in (*entries.get(s, ()), *(entries.get(norms[i], ()) if norms[i] != s else ())):
            n = len(entry.words)
            if tuple((norms if entry.exact else stems)[i:i + n]) == entry.words:
                if entry.group not in on:
                    span = (tokens[i].start, tokens[i + n - 1].end)
                    out.append((entry, span, text[span[0]:span[1]]))
                skip_until = i + n
                break
    return out


def check_variant(ctx: VariantContext) -> Iterator[Finding]:
    ws = ctx.workspace
    found: list[tuple[str, _Entry, tuple[int, int], str]] = []
    for fname in PROSE_FIELDS:
        text = ctx.prose[fname]
        if text.strip():
            found += [(fname, e, span, said) for e, span, said in off_brand_mentions(text, ws)]
    if not found:
        return
    central = len(found) >= 2 or any(f in _HEADLINE_FIELDS for f, *_ in found)
    code = OFF_BRAND if central else OFF_BRAND_MENTION
    groups = sorted({e.group.replace("_", " ") for _, e, _, _ in found})
    said = sorted({s.lower() for *_, s in found})
    fname, entry, span, first = found[0]
    what = "products or categories" if all(e.kind == "product" for _, e, _, _ in found) else (
        "activities" if all(e.kind == "activity" for _, e, _, _ in found) else "products or activities")
    yield ctx.finding(code, field=fname, span=span, message=(  # type: ignore[arg-type]
        f"the copy names {', '.join(repr(s) for s in said)} ({', '.join(groups)}): {what} {ws.brand.name}'s "
        "workspace never mentions (no product, category, offer, catalog value or voice line)"
        + ("" if central else "; one passing mention in the body")),
        evidence={"said": said, "groups": groups, "kind": entry.kind, "count": len(found),
                  "fields": sorted({f for f, *_ in found})},
        fix=("Write about what the brand sells (facts.yaml products and categories), or add the product "
             "to the fact sheet first if the brand now has it."))


GUARD = Guard(
    name="brandfit",
    description="Copy names only products, categories and activities the brand's workspace has.",
    codes=(OFF_BRAND, OFF_BRAND_MENTION),
    check_variant=check_variant,
)
