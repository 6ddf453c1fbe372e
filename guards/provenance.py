"""provenance: the four-quadrant test for every field a plan uses (segment rules, merge fields,
and copy that names a field's value or concept without a merge field).

expected = zero- or first-party and disclosed; unexpected = second/third-party, inferred or
undisclosed. helpful = the segment gives the field a rationale tied to its hypothesis (for
rule fields: the hypothesis or a rationale names it); unhelpful = it is only mentioned.
expected+helpful passes; expected+unhelpful warns (self-centered flex); unexpected+helpful
warns and needs a reviewer's acknowledgement; unexpected+unhelpful blocks (creepy).
Sensitive fields in copy block; uses the catalog does not allow block; stale data warns. Naming the
occasion of a date moment ("happy birthday") is no use of the field that times it when the person gave
that field for exactly this (given_for: segmentation); its value or a merge of it still is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from copilot.plan import (
    COPY_FIELD_NAMES,
    AllRule,
    AnyRule,
    BranchStep,
    ConsentRule,
    EventRule,
    FieldRule,
    LastPerformedRule,
    NotRule,
    Segment,
)
from copilot.render import variant_names
from copilot.text import PhraseMatcher, tokenize
from copilot.workspace import CatalogEvent, CatalogField
from guards.context import PROSE_FIELDS, PlanContext, VariantContext, template_tag_spans
from guards.finding import Code, Finding, Guard

__all__ = ["GUARD", "quadrant"]


def _code(code: str, severity: str, title: str) -> Code:
    return Code(code, "provenance", severity, title)  # type: ignore[arg-type]


UNKNOWN_FIELD = _code("PROV_UNKNOWN_FIELD", "block", "A field or event is not in the data catalog")
CREEPY = _code("PROV_CREEPY", "block", "Unexpected and unhelpful: data the reader never expected, used for nothing")
NEEDS_ACK = _code("PROV_NEEDS_ACK", "warn", "Unexpected but helpful: a reviewer must acknowledge it")
FLEX = _code("PROV_FLEX", "warn", "Expected but unhelpful: a self-centered flex")
SENSITIVE = _code("PROV_SENSITIVE_IN_COPY", "block", "The copy uses a sensitive field")
USE_NOT_ALLOWED = _code("PROV_USE_NOT_ALLOWED", "block", "The catalog does not allow this field for this purpose")
STALE = _code("PROV_STALE", "warn", "The data is older than the catalog's freshness limit")
SENSITIVE_TARGETING = _code("PROV_SENSITIVE_TARGETING", "block",
                            "A segment rule chooses people by sensitive data they never disclosed")

_CONCEPTS = yaml.safe_load((Path(__file__).parent / "data" / "field_concepts.yaml").read_text(encoding="utf-8"))
# Names are how we address people: a greeting with them is par for the course, not a flex.
_ADDRESS_FIELDS = frozenset({"first_name", "last_name", "full_name", "name", "nickname", "preferred_name"})
_STOP = frozenset({"the", "and", "for", "at", "of", "is", "id", "band", "score", "notes", "count", "date", "tier", "type", "value", "name"})
Item = CatalogField | CatalogEvent


def quadrant(item: Item, helpful: bool) -> tuple[bool, bool]:
    """(expected, helpful) for a catalog field or event."""
    expected = item.provenance in {"zero_party", "first_party"} and item.disclosed
    return expected, helpful


@dataclass
class _Use:
    name: str
    how: set[str] = field(default_factory=set)  # merge, concept, literal
    where: tuple[str, tuple[int, int] | None] | None = None
    said: str = ""


def check_plan(ctx: PlanContext) -> Iterator[Finding]:
    ws = ctx.workspace
    for seg in ctx.plan.segments:
        for kind, name, rule in _rule_uses(seg.rule):
            item = ws.field(name) if kind == "field" else ws.event(name)
            if item is None:
                yield ctx.finding(UNKNOWN_FIELD, segment=seg.name, message=(
                    f"segment {seg.name!r} uses {kind} {name!r}, which the data catalog does not describe"),
                    evidence={"kind": kind, "name": name}, fix="Use a catalog field, or add it to catalog.yaml.")
                continue
            if "segmentation" not in item.allowed_uses:
                yield ctx.finding(USE_NOT_ALLOWED, segment=seg.name, message=(
                    f"{name} may be used for {', '.join(item.allowed_uses)}, not to choose recipients"),
                    evidence={"name": name, "purpose": "segmentation", "allowed": list(item.allowed_uses)},
                    fix=f"Remove {name} from the segment rule.")
            if item.sensitive and not item.disclosed:
                yield ctx.finding(SENSITIVE_TARGETING, segment=seg.name, message=(
                    f"segment {seg.name!r} chooses people by {name} ({item.description}): sensitive data the "
                    f"person never disclosed ({item.provenance.replace('_', '-')}); targeting on it is as "
                    "revealing as naming it, whatever the rationale"),
                    evidence={"name": name, "provenance": item.provenance, "disclosed": False, "sensitive": True},
                    fix=f"Remove {name} from the segment rule; choose people by what they told you or did with you.")
            elif not ((_routine(ws, name) or isinstance(rule, FieldRule) and rule.op == "exists")
                      and quadrant(item, False)[0]):
                # (an expected field tested only for having a value, e.g. so a greeting can use it, is no flex)
                helpful = _tied(seg, name, item) or _has_rationale(seg, name)
                yield from _quadrant_findings(ctx, seg, item, name, helpful, "rule", None)
            stale = _stale_window(item, rule)
            if stale:
                yield ctx.finding(STALE, segment=seg.name, message=f"{name}: {stale}",
                                  evidence={"name": name, "freshness_days": item.freshness_days},
                                  fix=f"Look back at most {item.freshness_days} days.")
        yield from _stale_samples(ctx, seg, {n for _, n, _ in _rule_uses(seg.rule)}, None)
    for i, rule in enumerate(ctx.plan.suppression.exclusions):
        for kind, name, _ in _rule_uses(rule):
            item = ws.field(name) if kind == "field" else ws.event(name)
            if item is None:
                yield ctx.finding(UNKNOWN_FIELD, message=f"exclusion {i + 1} uses {kind} {name!r}, not in the catalog",
                                  evidence={"kind": kind, "name": name})
    trigger = ctx.plan.trigger
    events = [trigger.entry_event] if trigger.entry_event else []
    events += [e.event for e in trigger.exit_conditions]
    for name in events:
        if ws.event(name) is None:
            yield ctx.finding(UNKNOWN_FIELD, message=f"the trigger uses event {name!r}, which the catalog does not describe",
                              evidence={"kind": "event", "name": name})


def check_variant(ctx: VariantContext) -> Iterator[Finding]:
    ws, seg, variant = ctx.workspace, ctx.segment, ctx.variant
    uses: dict[str, _Use] = {}
    for name in sorted(variant_names(variant)):
        use = uses.setdefault(name, _Use(name))
        use.how.add("merge")
        use.where = _locate_in_tags(ctx, name)
        use.said = "{{ " + name + " }}"
    for hit_name, fname, span, said in _concept_hits(ctx):
        use = uses.setdefault(hit_name, _Use(hit_name))
        use.how.add("concept")
        use.where = use.where or (fname, span)
        use.said = use.said or said
    for name, fname, span, said in _literal_hits(ctx):
        use = uses.setdefault(name, _Use(name))
        use.how.add("literal")
        use.where = use.where or (fname, span)
        use.said = use.said or said
    for name, use in uses.items():
        item: Item | None = ws.field(name) or ws.event(name)
        where_field, span = use.where or (None, None)
        how = " and ".join(sorted(use.how))
        if item is None:
            yield ctx.finding(UNKNOWN_FIELD, field=where_field, span=span, message=(  # type: ignore[arg-type]
                f"merge field {name!r} is not in the data catalog"), evidence={"name": name},
                fix="Use a catalog field, or add it to catalog.yaml with its provenance.")
            continue
        evidence = {"name": name, "used_as": sorted(use.how), "said": use.said, "provenance": item.provenance,
                    "disclosed": item.disclosed}
        trigger = ctx.plan.trigger
        if use.how == {"concept"} and trigger.kind == "date" and trigger.date_field == name \
                and "segmentation" in item.given_for:
            continue  # "Happy birthday" on the birthday the person gave for it: the occasion, not the data
        if item.sensitive:
            yield ctx.finding(SENSITIVE, field=where_field, span=span, message=(  # type: ignore[arg-type]
                f"{use.said!r} uses {name}, a sensitive field ({item.description}); sensitive data never goes in copy"),
                evidence=evidence, fix=f"Remove every reference to {name} from the copy.")
            continue
        if "personalization" not in item.allowed_uses:
            yield ctx.finding(USE_NOT_ALLOWED, field=where_field, span=span, message=(  # type: ignore[arg-type]
                f"{use.said!r} puts {name} in the copy ({how}), but the catalog allows it only for "
                f"{', '.join(item.allowed_uses)}"), evidence=evidence, fix=f"Remove {name} from the copy.")
        in_rule = seg is not None and name in {n for _, n, _ in _rule_uses(seg.rule)}
        # Helpful: a rationale tied to the hypothesis, or the copy names what defines the
        # segment and the hypothesis says so ("your cart" in a cart-abandonment segment).
        helpful = seg is not None and (_tied(seg, name, item) or _rationale_tied(seg, name)) and (
            _has_rationale(seg, name) or in_rule)
        helpful = helpful or (name in _ADDRESS_FIELDS and use.how == {"merge"})
        yield from _quadrant_findings(ctx, seg, item, name, helpful, how, (where_field, span, use.said))
        if seg is not None:
            yield from _stale_samples(ctx, seg, {name}, (where_field, span))


def _quadrant_findings(ctx: Any, seg: Segment | None, item: Item, name: str, helpful: bool, how: str,
                       at: tuple[str | None, tuple[int, int] | None, str] | None) -> Iterator[Finding]:
    expected, _ = quadrant(item, helpful)
    if expected and helpful:
        return
    origin = f"{item.provenance.replace('_', '-')}{'' if item.disclosed else ', never disclosed to the person'}"
    in_what = "the segment rule" if how == "rule" else f"the copy ({how})"
    if expected:
        code, message, fix = FLEX, (
            f"{name} is expected data, but {in_what} uses it without a rationale tied to the hypothesis: "
            "it serves the brand more than the reader"), f"Give {name} a field rationale tied to the hypothesis, or drop it."
    elif helpful:
        code, message, fix = NEEDS_ACK, (
            f"{name} is unexpected ({origin}) but has a rationale tied to the hypothesis; "
            "a reviewer must acknowledge it"), "Acknowledge in review, or use expected data instead."
    else:
        code, message, fix = CREEPY, (
            f"{name} ({item.description}) is unexpected ({origin}) and {in_what} uses it with no rationale tied to "
            "the hypothesis: the reader will feel watched"), f"Remove {name}; the reader never gave it to you."
    evidence = {"name": name, "provenance": item.provenance, "disclosed": item.disclosed, "used_in": how,
                "requires_acknowledgement": code is NEEDS_ACK}
    if at is None:
        yield ctx.finding(code, segment=seg.name if seg else None, message=f"segment {seg.name!r}: {message}" if seg
                          else message, evidence=evidence, fix=fix)
    else:
        evidence["said"] = at[2]
        yield ctx.finding(code, field=at[0], span=at[1], message=message, evidence=evidence, fix=fix)


# Fields and events a rule uses to deliver at all (the reader's language, consent, a frequency cap),
# not to personalize: expected ones are no flex whatever the hypothesis says.
_ROUTINE_ROLES = frozenset({"locale", "email_sent"})
_ROUTINE_NAMES = frozenset({"locale", "language", "timezone", "time_zone", "email", "consent"})


def _routine(ws: Any, name: str) -> bool:
    return name in _ROUTINE_NAMES or ws.role_of(name) in _ROUTINE_ROLES


def _rule_uses(rule: Any) -> Iterator[tuple[str, str, Any]]:
    if isinstance(rule, (AllRule, AnyRule)):
        for r in rule.rules:
            yield from _rule_uses(r)
    elif isinstance(rule, NotRule):
        yield from _rule_uses(rule.rule)
    elif isinstance(rule, FieldRule):
        yield "field", rule.field, rule
    elif isinstance(rule, (EventRule, LastPerformedRule)):
        yield "event", rule.event, rule
    elif isinstance(rule, BranchStep):
        yield from _rule_uses(rule.rule)
    elif isinstance(rule, ConsentRule):
        return  # consent is required of every send; using it is never personalization


def _words(name: str) -> set[str]:
    return {w[:5] for w in name.lower().split("_") if len(w) >= 3 and w not in _STOP}


def _stems(text: str) -> set[str]:
    return {t.norm[:5] for t in tokenize(text) if len(t.norm) >= 3}


# Words that make a field a model's output or a bought rating: a hypothesis that names the field must say
# them too ("what they give" does not name give_propensity; "churn risk" names churn_risk_score).
_MODEL_WORDS = frozenset({"prope", "risk", "score", "ratin", "predi", "likel", "affin", "proba", "band", "segme"})


def _tied(seg: Segment, name: str, item: Item | None = None) -> bool:
    """The hypothesis (attribute, tactic) or the segment's description names the field: a content word
    of its name, including any word that marks it as a model's score or a rating, or every word of one
    of the catalog's words for it."""
    h = seg.hypothesis
    said = _stems(f"{h.attribute} {h.tactic} {seg.description}")
    required = {w[:5] for w in name.lower().split("_")} & _MODEL_WORDS
    if _words(name) & said and required <= said:
        return True
    return item is not None and any((ws := _stems(w)) and ws <= said for w in item.words)


def _has_rationale(seg: Segment, name: str) -> bool:
    return any(r.field == name and r.rationale.strip() for r in seg.field_rationales)


def _rationale_tied(seg: Segment, name: str) -> bool:
    """The rationale shares a content word (5+ letters) with the hypothesis's tactic."""
    tactic = {s for s in _stems(seg.hypothesis.tactic) if len(s) == 5}
    return any(tactic & _stems(r.rationale) for r in seg.field_rationales if r.field == name)


@lru_cache(maxsize=32)
def _concept_matcher(workspace_hash: str, names: tuple[str, ...], own: tuple[tuple[str, str], ...]
                     ) -> tuple[PhraseMatcher, dict[str, list[str]]]:
    owners: dict[str, list[str]] = {}
    phrases: list[tuple[str, str]] = []
    for i, entry in enumerate(_CONCEPTS):
        match = {m.lower() for m in entry["match"]}
        hit = [n for n in names if match & set(n.split("_"))]
        if hit:
            owners[str(i)] = hit
            phrases += [(p, str(i)) for p in entry["phrases"]]
    for phrase, name in own:
        owners.setdefault(f"own:{name}", [name])
        phrases.append((phrase, f"own:{name}"))
    return PhraseMatcher(phrases), owners


def _own_phrases(ws: Any) -> tuple[tuple[str, str], ...]:
    """The catalog's own words for data the reader would not expect or that is sensitive
    (``words: [expecting a baby, pregnant]``), said to the reader: "your allergies", "you're
    pregnant", and a phrase of two words or more as it stands ("expecting a baby")."""
    out: list[tuple[str, str]] = []
    for item in [*ws.catalog.fields, *ws.catalog.events]:
        if quadrant(item, False)[0] and not item.sensitive:
            continue
        for word in item.words:
            w = " ".join(word.lower().split())
            if len(w) < 4:
                continue
            out += [(f"your {w}", item.name), (f"you're {w}", item.name), (f"you are {w}", item.name)]
            if " " in w:
                out.append((w, item.name))
    return tuple(out)


def _concept_hits(ctx: VariantContext) -> Iterator[tuple[str, str, tuple[int, int], str]]:
    ws = ctx.workspace
    names = tuple(sorted([f.name for f in ws.catalog.fields] + [e.name for e in ws.catalog.events]))
    matcher, owners = _concept_matcher(ws.content_hash, names, _own_phrases(ws))
    rule_names = {n for _, n, _ in _rule_uses(ctx.segment.rule)} if ctx.segment else set()
    for fname in PROSE_FIELDS:
        for hit in matcher.find(ctx.prose[fname]):
            candidates = owners[hit.label]
            # "your cart" in a cart-abandonment segment names the event its rule uses
            chosen = [c for c in candidates if c in rule_names] or candidates
            for name in chosen:
                yield name, fname, (hit.start, hit.end), hit.words


def _literal_hits(ctx: VariantContext) -> Iterator[tuple[str, str, tuple[int, int], str]]:
    """Values of string fields written into the copy: from the segment's rule (city = Portland)
    and from the caller's sample contacts (their hometown, their city)."""
    ws = ctx.workspace
    values: dict[str, set[str]] = {}
    if ctx.segment is not None:
        for kind, name, rule in _rule_uses(ctx.segment.rule):
            f = ws.field(name) if kind == "field" else None
            if f is not None and f.type == "string" and isinstance(rule, FieldRule):
                vals = rule.value if isinstance(rule.value, list) else [rule.value]
                values.setdefault(name, set()).update(str(v) for v in vals if isinstance(v, str))
            elif f is not None and f.type == "enum" and isinstance(rule, FieldRule) and rule.op in {"eq", "in"} \
                    and (f.sensitive or not quadrant(f, False)[0]):
                # The value the rule picks, said in words: "bargain hunters" for sale_only, "over 100k".
                # A one-word value ("high", "gold") is too common a word to count on its own.
                vals = rule.value if isinstance(rule.value, list) else [rule.value]
                for v in (str(v) for v in vals if isinstance(v, str)):
                    said = values.setdefault(name, set())
                    said.update(f.value_words.get(v, []))
                    if "_" in v:
                        said.add(v.replace("_", " "))
    # A sample's value counts when most samples share it (one contact's city named in
    # the copy is a coincidence) and it is not the brand's own (its address, its name).
    brand_text = f"{ws.brand.name} {ws.brand.sender.postal_address}".lower()
    counts: dict[tuple[str, str], int] = {}
    for contact in ctx.samples:
        for name, value in contact.items():
            f = ws.field(name)
            if f is not None and f.type == "string" and name not in {"email", "first_name", "last_name"} \
                    and isinstance(value, str) and value.strip():
                counts[(name, value.strip())] = counts.get((name, value.strip()), 0) + 1
    for (name, value), n in counts.items():
        if n >= 2 and n * 2 >= len(ctx.samples) and value.lower() not in brand_text:
            values.setdefault(name, set()).add(value)
    for name, vals in values.items():
        for value in vals:
            value = value.strip()
            if len(value) < 3:
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.I)
            for fname in PROSE_FIELDS:
                m = pattern.search(ctx.prose[fname])
                if m:
                    yield name, fname, m.span(), m.group(0)
                    break


def _locate_in_tags(ctx: VariantContext, name: str) -> tuple[str, tuple[int, int] | None] | None:
    """The first template tag that reads ``name`` (its span from the tag's start to the name's end)."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    for fname in COPY_FIELD_NAMES:
        source = ctx.source(fname)  # type: ignore[arg-type]
        for start, end in template_tag_spans(source):
            m = word.search(source, start, end)
            if m:
                return fname, (start, m.end())
    return None


def _stale_window(item: Item, rule: Any) -> str | None:
    limit = item.freshness_days
    if limit is None:
        return None
    if isinstance(rule, EventRule):
        w = rule.window
        if w.kind == "within_days" and (w.days or 0) > limit:
            return f"the rule looks back {w.days} days; data older than {limit} days is stale"
        if w.kind in {"ever", "before_days", "since", "until"} and rule.count_op != "at_most" and rule.count > 0:
            return f"the rule counts events of any age ({w.kind}); data older than {limit} days is stale"
    if isinstance(rule, LastPerformedRule) and rule.days is not None:
        if rule.op == "within_last_days" and rule.days > limit:
            return f"the rule looks back {rule.days} days; data older than {limit} days is stale"
        if rule.op == "older_than_days" and rule.days >= limit:
            return f"the rule selects on events over {rule.days} days old; data older than {limit} days is stale"
    return None


def _stale_samples(ctx: Any, seg: Segment, names: set[str], at: tuple[str | None, Any] | None) -> Iterator[Finding]:
    """Sample contacts last updated before the field's freshness limit, counted from the
    send window's start (no clock: without a send window nothing is checked)."""
    window = ctx.plan.send_window
    samples = ctx.samples.get(seg.name, ()) if isinstance(ctx, PlanContext) else ctx.samples
    if window is None or not samples:
        return
    for name in sorted(names):
        item = ctx.workspace.field(name)
        if item is None or item.freshness_days is None:
            continue
        ages = [age for c in samples if (age := _age_days(c.get("updated_at"), window.start)) is not None]
        stale = [a for a in ages if a > item.freshness_days]
        if stale:
            message = (f"{len(stale)} of {len(ages)} sample contacts of {seg.name!r} were last updated over "
                       f"{item.freshness_days} days before the send ({max(stale)} days at most); {name} may be stale")
            evidence = {"name": name, "freshness_days": item.freshness_days, "stale_samples": len(stale)}
            if at is None:
                yield ctx.finding(STALE, segment=seg.name, message=message, evidence=evidence)
            else:
                yield ctx.finding(STALE, field=at[0], span=at[1], message=message, evidence=evidence)


def _age_days(value: Any, start: date) -> int | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        value = value.date()
    return (start - value).days if isinstance(value, date) else None


GUARD = Guard(
    name="provenance",
    description="Four-quadrant test (expected x helpful) for every field in rules, merge fields and copy; "
                "sensitive fields, allowed uses and freshness.",
    codes=(UNKNOWN_FIELD, CREEPY, NEEDS_ACK, FLEX, SENSITIVE, USE_NOT_ALLOWED, STALE, SENSITIVE_TARGETING),
    check_variant=check_variant,
    check_plan=check_plan,
)

