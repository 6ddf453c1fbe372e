"""What changed between two plan revisions: segments added, removed or changed, and copy changes per field."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from copilot.plan import Plan, Segment, Variant

__all__ = ["PlanDiff", "SegmentChange", "CopyChange", "VariantRef", "diff_plans", "COPY_FIELDS", "word_diff"]

# A variant's fields a person edits, as the plan model declares them (copy, locale, fallbacks).
COPY_FIELDS = Variant.EDITABLE_FIELDS
_SEGMENT_PARTS = ("priority", "description", "rule", "hypothesis", "field_rationales")
_PLAN_PARTS = ("title", "goal", "summary", "trigger", "suppression", "offers", "send_window")


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(before: str, after: str) -> list[tuple[Literal["same", "del", "ins"], str]]:
    """``before`` -> ``after`` as runs of words kept, deleted and inserted (whitespace and punctuation
    are tokens of their own), so a one-word edit shows as one word struck and one added."""
    a, b = _TOKEN.findall(before or ""), _TOKEN.findall(after or "")
    runs: list[tuple[Literal["same", "del", "ins"], str]] = []

    def add(op: Literal["same", "del", "ins"], tokens: list[str]) -> None:
        if not tokens:
            return
        if runs and runs[-1][0] == op:
            runs[-1] = (op, runs[-1][1] + "".join(tokens))
        else:
            runs.append((op, "".join(tokens)))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("same", a[i1:i2])
        else:
            add("del", a[i1:i2])
            add("ins", b[j1:j2])
    return runs


@dataclass(frozen=True)
class VariantRef:
    segment: str
    message: str
    key: str

    def label(self) -> str:
        return f"{self.segment} / {self.message} / {self.key}"


@dataclass(frozen=True)
class SegmentChange:
    name: str
    parts: list[str]  # which of priority, description, rule, hypothesis, field_rationales differ
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class CopyChange:
    variant: VariantRef
    field: str
    before: Any
    after: Any


@dataclass
class PlanDiff:
    segments_added: list[str] = field(default_factory=list)
    segments_removed: list[str] = field(default_factory=list)
    segments_changed: list[SegmentChange] = field(default_factory=list)
    variants_added: list[VariantRef] = field(default_factory=list)
    variants_removed: list[VariantRef] = field(default_factory=list)
    copy_changes: list[CopyChange] = field(default_factory=list)
    plan_parts_changed: list[str] = field(default_factory=list)  # title, trigger, suppression ...

    @property
    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["is_empty"] = self.is_empty
        return data


def _segment_parts(segment: Segment) -> dict[str, Any]:
    dumped = segment.model_dump(mode="json")
    return {part: dumped[part] for part in _SEGMENT_PARTS}


def _ref(variant: Variant) -> VariantRef:
    return VariantRef(variant.segment, variant.message, variant.key)


def diff_plans(before: Plan, after: Plan) -> PlanDiff:
    """Compare two plans by segment name and by variant (segment, message, key)."""
    diff = PlanDiff()
    old_segments = {s.name: s for s in before.segments}
    new_segments = {s.name: s for s in after.segments}
    diff.segments_added = [n for n in new_segments if n not in old_segments]
    diff.segments_removed = [n for n in old_segments if n not in new_segments]
    for name, new in new_segments.items():
        old = old_segments.get(name)
        if old is None:
            continue
        old_parts, new_parts = _segment_parts(old), _segment_parts(new)
        changed = [p for p in _SEGMENT_PARTS if old_parts[p] != new_parts[p]]
        if changed:
            diff.segments_changed.append(SegmentChange(
                name=name, parts=changed,
                before={p: old_parts[p] for p in changed}, after={p: new_parts[p] for p in changed},
            ))

    old_variants = {_ref(v): v.model_dump(mode="json") for v in before.variants}
    new_variants = {_ref(v): v.model_dump(mode="json") for v in after.variants}
    diff.variants_added = [r for r in new_variants if r not in old_variants]
    diff.variants_removed = [r for r in old_variants if r not in new_variants]
    for ref, new_fields in new_variants.items():
        old_fields = old_variants.get(ref)
        if old_fields is None:
            continue
        for name in COPY_FIELDS:
            if old_fields[name] != new_fields[name]:
                diff.copy_changes.append(CopyChange(ref, name, old_fields[name], new_fields[name]))

    old_plan, new_plan = before.model_dump(mode="json"), after.model_dump(mode="json")
    diff.plan_parts_changed = [p for p in _PLAN_PARTS if old_plan[p] != new_plan[p]]
    return diff
