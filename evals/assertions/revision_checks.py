"""Assertions for follow-up turns: what changed against the previous plan, and any plan value by path."""

from __future__ import annotations

import re
from typing import Any

from copilot.plan import Plan
from evals.assertions.base import Outcome, Scope, assertion
from evals.assertions.plan_checks import _no_plan_reason, values_of
from evals.spec import AssertionSpec

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _previous_plan(scope: Scope) -> Plan | None:
    for turn in reversed(scope.turns[:-1]):  # scope.turns ends with the turn being checked
        plan = turn.answer.plan_model()
        if plan is not None:
            return plan
    return None


def _with_previous(scope: Scope) -> tuple[Plan, Plan] | Outcome:
    """(this turn's plan, the previous plan), or the failing outcome saying which is missing."""
    plan, before = scope.turn.answer.plan_model(), _previous_plan(scope)
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    if before is None:
        return Outcome(0, "no earlier plan in this conversation to compare with")
    return plan, before


@assertion("segment_named", needs=("value",))
def segment_named(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Some segment's name contains the value (case-insensitive); negate it to check a segment was dropped."""
    plan = scope.turn.answer.plan_model()
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    wanted = values_of(spec)
    names = [s.name for s in plan.segments]
    hits = [n for n in names if any(w.lower() in n.lower() for w in wanted)]
    if hits:
        return Outcome(1, f"segment {hits[0]!r} matches (segments: {', '.join(names)})")
    return Outcome(0, f"no segment named like {' or '.join(map(repr, wanted))} (segments: {', '.join(names)})")


@assertion("segments_delta", needs=("value",))
def segments_delta(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The number of segments changed by exactly ``value`` since the previous turn's plan."""
    pair = _with_previous(scope)
    if isinstance(pair, Outcome):
        return pair
    plan, before = pair
    delta = len(plan.segments) - len(before.segments)
    expected = int(spec.value)
    return Outcome(1 if delta == expected else 0,
                   f"{len(before.segments)} -> {len(plan.segments)} segments ({delta:+d}, expected {expected:+d})")


def _copy(plan: Plan) -> dict[tuple[str, str, str], tuple[str, ...]]:
    return {(v.segment, v.message, v.key): tuple(text for _, text in v.copy_items(urls=False)) for v in plan.variants}


@assertion("copy_changed")
def copy_changed(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The copy differs from the previous turn's plan; score = share of surviving variants rewritten."""
    pair = _with_previous(scope)
    if isinstance(pair, Outcome):
        return pair
    plan, before = pair
    old, new = _copy(before), _copy(plan)
    shared = [k for k in new if k in old]
    if not shared:
        return Outcome(1, "every variant is new")
    changed = [k for k in shared if new[k] != old[k]]
    return Outcome(len(changed) / len(shared), f"{len(changed)} of {len(shared)} variants rewritten")


def plan_value(data: Any, path: str) -> Any:
    """``trigger.steps[0].hours`` in the plan's JSON; raises KeyError naming the missing step."""
    node = data
    for name, index in _STEP.findall(path):
        if name:
            if not isinstance(node, dict) or name not in node:
                raise KeyError(name)
            node = node[name]
        else:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                raise KeyError(f"[{i}]")
            node = node[i]
    return node


@assertion("plan_field", needs=("path",))
def plan_field(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The plan value at ``path`` equals ``value`` (or one of a list), or lies within [min, max];
    with neither, the path exists and is not empty."""
    assert spec.path is not None
    data = scope.turn.answer.plan
    if data is None:
        return Outcome(0, _no_plan_reason(scope))
    try:
        actual = plan_value(data, spec.path)
    except KeyError as exc:
        return Outcome(0, f"{spec.path}: no {exc.args[0]} in the plan")
    if spec.min is not None or spec.max is not None:
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return Outcome(0, f"{spec.path} is {actual!r}, not a number")
        ok = (spec.min is None or actual >= spec.min) and (spec.max is None or actual <= spec.max)
        return Outcome(1 if ok else 0, f"{spec.path} is {actual!r}")
    if spec.value is None:
        ok = actual not in (None, "", [], {})
        return Outcome(1 if ok else 0, f"{spec.path} is {'set' if ok else 'empty'}: {str(actual)[:80]}")
    # A list value is the expected value itself when the plan holds a list there
    # (offers: []), else a choice of accepted values.
    wanted = [spec.value] if isinstance(actual, list) or not isinstance(spec.value, list) else spec.value
    ok = actual in wanted or str(actual) in [str(w) for w in wanted]
    return Outcome(1 if ok else 0, f"{spec.path} is {actual!r}" + ("" if ok else f", expected {spec.value!r}"))


@assertion("emails_count", needs=("range",))
def emails_count(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The journey sends between ``min`` and ``max`` emails (send steps, branches included)."""
    from copilot.validation import iter_steps

    plan = scope.turn.answer.plan_model()
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    sends = [step.message for _, step in iter_steps(plan.trigger.steps) if step.type == "send"]
    ok = (spec.min is None or len(sends) >= spec.min) and (spec.max is None or len(sends) <= spec.max)
    return Outcome(1 if ok else 0, f"{len(sends)} send step(s): {', '.join(sends) or 'none'}")
