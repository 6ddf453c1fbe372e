"""What a guard sees: the plan (or one variant of it), the workspace and caller-supplied samples.

Shared views of the copy (prose with template tags and URLs blanked, same offsets as the
source) are computed once per variant and reused by every guard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from copilot.plan import PROSE_FIELD_NAMES, Plan, Segment, Variant
from copilot.workspace import Offer, Workspace
from guards.finding import Code, FieldName, Finding

__all__ = ["PlanContext", "VariantContext", "PROSE_FIELDS", "Samples"]

Samples = Mapping[str, Sequence[Mapping[str, Any]]]
# The copy fields people read (every copy field but links), as the plan model declares them.
PROSE_FIELDS: tuple[FieldName, ...] = PROSE_FIELD_NAMES  # type: ignore[assignment]
# Markdown link destinations and bare URLs: not prose, blanked before reading (template tags too:
# template_tag_spans, a scan, since a lazy regex for them is quadratic on copy with unclosed '{{').
_NOT_PROSE = re.compile(r"(?<=\]\()[^)\s]*|https?://\S+")
_TAG_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def template_tag_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each template tag ({{ }}, {% %}, {# #}), as a lazy regex would find them, in
    one pass: each opener's next position is looked up once, and an opener with no closer left stops."""
    spans: list[tuple[int, int]] = []
    nxt = {op: text.find(op) for op in _TAG_CLOSERS}
    pos = 0
    while True:
        live = [(i, op) for op, i in nxt.items() if i >= 0]
        if not live:
            return spans
        start, op = min(live)
        end = text.find(_TAG_CLOSERS[op], start + 2)
        if end < 0:  # no closer after here: no later opener of this kind has one either
            nxt[op] = -1
            continue
        pos = end + 2
        spans.append((start, pos))
        for other, i in nxt.items():
            if 0 <= i < pos:
                nxt[other] = text.find(other, pos)


def blank_not_prose(text: str) -> str:
    """``text`` with template tags, link destinations and URLs replaced by spaces (newlines and
    offsets kept)."""
    if "{" in text:
        parts, last = [], 0
        for start, end in template_tag_spans(text):
            parts += [text[last:start], re.sub(r"[^\n]", " ", text[start:end])]
            last = end
        text = "".join(parts) + text[last:]
    return _NOT_PROSE.sub(_blank, text)


@dataclass
class PlanContext:
    plan: Plan
    workspace: Workspace
    samples: Samples = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # e.g. the deliverability timeout

    @cached_property
    def offers(self) -> list[Offer]:
        """The plan's offers that exist on the fact sheet."""
        by_id = self.workspace.offers_by_id
        return [by_id[o] for o in self.plan.offers if o in by_id]

    def finding(self, code: Code, *, message: str, segment: str | None = None,
                evidence: dict[str, Any] | None = None, fix: str | None = None) -> Finding:
        return Finding(guard=code.guard, code=code.code, severity=code.severity, segment=segment,
                       message=message, evidence=evidence or {}, fix=fix)


@dataclass
class VariantContext:
    plan: Plan
    workspace: Workspace
    variant: Variant
    samples: Sequence[Mapping[str, Any]] = ()
    _plan_context: PlanContext | None = None
    # Located findings already made, by what they say; a repeat elsewhere in the field returns the
    # first one and its span goes into ``repeats`` (the pipeline reports one finding with a count), so
    # copy that repeats one problem ten thousand times costs ten thousand look-ups, not findings.
    _made: dict[tuple[Any, ...], Finding] = field(default_factory=dict, repr=False)
    repeats: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    @cached_property
    def plan_context(self) -> PlanContext:
        return self._plan_context or PlanContext(self.plan, self.workspace)

    @property
    def offers(self) -> list[Offer]:
        return self.plan_context.offers

    @cached_property
    def segment(self) -> Segment | None:
        return self.plan.segment(self.variant.segment)

    def source(self, name: FieldName) -> str:
        return getattr(self.variant, name)

    @cached_property
    def prose(self) -> dict[FieldName, str]:
        """Each prose field with template tags and URLs replaced by spaces (offsets kept)."""
        return {name: blank_not_prose(self.source(name)) for name in PROSE_FIELDS}

    def finding(self, code: Code, *, message: str, field: FieldName | None = None,
                span: tuple[int, int] | None = None, evidence: dict[str, Any] | None = None,
                fix: str | None = None) -> Finding:
        v = self.variant
        key: tuple[Any, ...] | None = None
        if span is not None:
            key = (code.code, field, message, fix, repr(evidence))
            first = self._made.get(key)
            if first is not None and first.span != span:
                self.repeats.setdefault(id(first), []).append(span)
                return first
        made = Finding(guard=code.guard, code=code.code, severity=code.severity, segment=v.segment,
                       variant=v.key, message_key=v.message, field=field, span=span, message=message,
                       evidence=evidence or {}, fix=fix,
                       locale=v.locale if v.locale != self.workspace.brand.default_locale else None)
        if key is not None:
            self._made[key] = made
        return made
