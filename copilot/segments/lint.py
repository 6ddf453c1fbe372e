"""Logic lint: what a marketer would want to hear about a valid plan before review.

A promotion that keeps going after the purchase, an empty segment, one hidden under a
higher-priority one, a delay the moment does not fit, conditions that cannot all hold.
Warnings, not errors: the plan is valid, it just probably does not do what was meant.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from copilot.plan import (
    AllRule,
    BranchStep,
    ConsentRule,
    DelayStep,
    EventRule,
    FieldRule,
    LastPerformedRule,
    NotRule,
    Plan,
    Rule,
    SegmentRule,
    SendStep,
    Step,
    WaitStep,
)
from copilot.segments.sizing import SizingReport
from copilot.workspace import Workspace

__all__ = ["LintWarning", "lint_plan", "CONVERSION_EVENTS", "DELAY_HOURS"]

# Events that mean the campaign worked: an event-triggered promotion should stop there.
CONVERSION_EVENTS = ("order_placed", "purchase", "purchased", "order_completed", "checkout_completed")
# Entry event -> (earliest, latest) sensible hours before the first email of a journey.
DELAY_HOURS: dict[str, tuple[float, float]] = {
    "cart_abandoned": (0.5, 72),
    "product_viewed": (1, 7 * 24),
    "back_in_stock_requested": (0, 24),
    "signed_up": (0, 3 * 24),
    "order_placed": (0, 14 * 24),
    "order_delivered": (24, 30 * 24),
}


@dataclass(frozen=True)
class LintWarning:
    """One warning: a stable ``code``, where (``path``, ``segment``) and what to consider."""

    code: str
    path: str
    message: str
    segment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _conjuncts(rule: Rule) -> list[tuple[bool, Rule]]:
    """(positive?, leaf) for every condition that must hold, through nested AND and NOT-of-leaf."""
    if isinstance(rule, AllRule):
        return [c for sub in rule.rules for c in _conjuncts(sub)]
    if isinstance(rule, NotRule) and not isinstance(rule.rule, (AllRule, NotRule)):
        return [(False, rule.rule)]
    return [(True, rule)]


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _field_range(rule: FieldRule) -> tuple[float, float] | None:
    inf = float("inf")
    v = rule.value
    if rule.op in {"eq"} and _numeric(v):
        return (v, v)  # type: ignore[return-value]
    if rule.op in {"gt", "gte"} and _numeric(v):
        return (v + (1e-9 if rule.op == "gt" else 0), inf)  # type: ignore[operator]
    if rule.op in {"lt", "lte"} and _numeric(v):
        return (-inf, v - (1e-9 if rule.op == "lt" else 0))  # type: ignore[operator]
    if rule.op == "between" and isinstance(v, list) and len(v) == 2 and all(_numeric(x) for x in v):
        return (v[0], v[1])
    return None


def _allowed_values(positive: bool, rule: FieldRule) -> set[Any] | None:
    if positive and rule.op == "eq" and not _numeric(rule.value):
        return {rule.value}
    if positive and rule.op == "in" and isinstance(rule.value, list):
        return set(rule.value)
    return None


def _contradiction(a: tuple[bool, Rule], b: tuple[bool, Rule]) -> str | None:
    (pa, ra), (pb, rb) = a, b
    if ra == rb and pa != pb:
        return "a condition and its negation are both required"
    if isinstance(ra, FieldRule) and isinstance(rb, FieldRule) and ra.field == rb.field:
        field = ra.field
        ops = {(pa, ra.op), (pb, rb.op)}
        if {(True, "exists"), (True, "not_exists")} <= ops or {(True, "exists"), (False, "exists")} <= ops:
            return f"{field} must both exist and not exist"
        va, vb = _allowed_values(pa, ra), _allowed_values(pb, rb)
        if va is not None and vb is not None and not va & vb:
            return f"{field} cannot be in {sorted(map(str, va))} and in {sorted(map(str, vb))} at once"
        for values, other, positive in ((va, rb, pb), (vb, ra, pa)):
            excluded = (positive and other.op in {"ne", "not_in"}) or (not positive and other.op in {"eq", "in"})
            if values is not None and excluded:
                banned = set(other.value) if isinstance(other.value, list) else {other.value}
                if values <= banned:
                    return f"{field} is required to be {sorted(map(str, values))} and also excluded from it"
        ga = _field_range(ra) if pa else None
        gb = _field_range(rb) if pb else None
        if ga and gb and max(ga[0], gb[0]) > min(ga[1], gb[1]):
            return f"no value of {field} satisfies both ranges"
    if isinstance(ra, ConsentRule) and isinstance(rb, ConsentRule) and pa and pb and ra.state != rb.state:
        return f"consent cannot be both {ra.state} and {rb.state}"
    events = [(p, r) for p, r in (a, b) if isinstance(r, (EventRule, LastPerformedRule))]
    if len(events) == 2:
        return _event_contradiction(*events)  # type: ignore[arg-type]
    return None


def _performed_window_days(rule: EventRule) -> float | None:
    """Days back a plain "did it at least once" condition reaches (inf for ever); None otherwise."""
    if rule.count_op != "at_least" or rule.count < 1:
        return None
    if rule.window.kind == "ever":
        return float("inf")
    if rule.window.kind == "within_days":
        return float(rule.window.days or 0)
    return None


def _event_contradiction(a: tuple[bool, Any], b: tuple[bool, Any]) -> str | None:
    (pa, ra), (pb, rb) = a, b
    if ra.event != rb.event:
        return None
    for (p1, r1), (p2, r2) in ((a, b), (b, a)):
        # did E within D (positive) and did not do E within D' >= D, same filters
        if p1 and not p2 and isinstance(r1, EventRule) and isinstance(r2, EventRule) and not r2.where:
            d1, d2 = _performed_window_days(r1), _performed_window_days(r2)
            if d1 is not None and d2 is not None and d2 >= d1:
                return f"{r1.event} is required in a window where it is also ruled out"
        if p1 and isinstance(r1, LastPerformedRule) and r1.op == "never" and not r1.where:
            if p2 and isinstance(r2, EventRule) and _performed_window_days(r2) is not None:
                return f"{r1.event} is required never to have happened and also to have happened"
            if p2 and isinstance(r2, LastPerformedRule) and r2.op != "never":
                return f"{r1.event} is required never to have happened and also to have a last time"
    if pa and pb and isinstance(ra, EventRule) and isinstance(rb, EventRule) and ra.where == rb.where \
            and ra.window == rb.window:
        lows = [r.count for r in (ra, rb) if r.count_op in {"at_least", "exactly"}]
        highs = [r.count for r in (ra, rb) if r.count_op in {"at_most", "exactly"}]
        if lows and highs and max(lows) > min(highs):
            return f"{ra.event} count must be at least {max(lows)} and at most {min(highs)}"
    return None


def _first_send_delay(steps: list[Step]) -> float | None:
    """Hours from entry to the first send step on the main path (waits count their timeout)."""
    hours = 0.0
    for step in steps:
        if isinstance(step, SendStep):
            return hours
        if isinstance(step, DelayStep):
            hours += step.hours
        elif isinstance(step, WaitStep):
            hours += step.timeout_hours
        elif isinstance(step, BranchStep):
            branch = [d for d in (_first_send_delay(step.then_steps), _first_send_delay(step.else_steps)) if d is not None]
            if branch:
                return hours + min(branch)
    return None


def _static(plan: Plan, workspace: Workspace) -> list[LintWarning]:
    out: list[LintWarning] = []
    trigger = plan.trigger
    if trigger.kind == "event":
        conversions = [e for e in CONVERSION_EVENTS if workspace.event(e) is not None]
        exits = {c.event for c in trigger.exit_conditions}
        waits_exit = any(isinstance(s, WaitStep) and s.on_event == "exit" and s.event in conversions
                         for s in trigger.steps)
        if conversions and not exits & set(conversions) and not waits_exit:
            promo = " and it carries an offer" if plan.offers else ""
            out.append(LintWarning("NO_EXIT_ON_CONVERSION", "trigger.exit_conditions",
                                   f"the journey keeps emailing after a purchase{promo}: add an exit on "
                                   f"{conversions[0]!r}"))
        bounds = DELAY_HOURS.get(trigger.entry_event or "")
        delay = _first_send_delay(list(trigger.steps))
        if bounds and delay is not None and not bounds[0] <= delay <= bounds[1]:
            when = "late" if delay > bounds[1] else "early"
            out.append(LintWarning("DELAY_OUT_OF_RANGE", "trigger.steps",
                                   f"the first email goes out {delay:g} hours after {trigger.entry_event}: too {when} "
                                   f"for this moment (expected {bounds[0]:g} to {bounds[1]:g} hours)"))
    with_copy = {v.segment for v in plan.variants}
    by_name = {s.name: s for s in plan.segments}
    for i, seg in enumerate(plan.segments):
        path = f"segments[{i}]"
        if seg.name not in with_copy:
            out.append(LintWarning("SEGMENT_WITHOUT_COPY", path, f"no variant is written for {seg.name!r}: "
                                   "its contacts would get nothing", seg.name))
        conjuncts = _conjuncts(seg.rule)
        for a, b in itertools.combinations(conjuncts, 2):
            reason = _contradiction(a, b)
            if reason:
                out.append(LintWarning("CONTRADICTORY_CONDITIONS", f"{path}.rule",
                                       f"{seg.name!r} can never match anyone: {reason}", seg.name))
                break
        for positive, leaf in conjuncts:
            if positive and isinstance(leaf, SegmentRule) and leaf.segment in by_name \
                    and by_name[leaf.segment].priority < seg.priority:
                out.append(LintWarning("INSIDE_HIGHER_PRIORITY", f"{path}.rule",
                                       f"{seg.name!r} requires membership of {leaf.segment!r}, which has higher "
                                       "priority and takes all of them first", seg.name))
    return out


def _sized(plan: Plan, report: SizingReport) -> list[LintWarning]:
    out: list[LintWarning] = []
    index = {s.name: i for i, s in enumerate(plan.segments)}
    for seg in report.segments:
        path = f"segments[{index.get(seg.name, 0)}]"
        higher = [s for s in report.segments if s.priority < seg.priority]
        container = next((h for h in higher if seg.raw_size and report.overlaps[seg.name][h.name] == seg.raw_size),
                         None)
        if seg.raw_size == 0:
            out.append(LintWarning("EMPTY_SEGMENT", path, f"{seg.name!r} matches nobody in the audience", seg.name))
        elif container is not None:
            out.append(LintWarning("INSIDE_HIGHER_PRIORITY", path, f"all {seg.raw_size} contacts of {seg.name!r} "
                                   f"are also in higher-priority {container.name!r}, so it receives nobody",
                                   seg.name))
        elif seg.after_priority == 0:
            out.append(LintWarning("INSIDE_HIGHER_PRIORITY", path, f"higher-priority segments take all "
                                   f"{seg.raw_size} contacts of {seg.name!r}", seg.name))
        elif seg.size == 0:
            out.append(LintWarning("EMPTY_SEGMENT", path, f"every contact of {seg.name!r} is suppressed "
                                   f"({', '.join(f'{k}: {v}' for k, v in seg.suppressed.items() if v)})", seg.name))
    return out


def lint_plan(plan: Plan, workspace: Workspace, report: SizingReport | None = None) -> list[LintWarning]:
    """Warnings about a valid plan; with a sizing ``report`` also the ones that need counts."""
    warnings = _static(plan, workspace)
    if report is not None:
        seen = {(w.code, w.segment) for w in warnings}
        warnings += [w for w in _sized(plan, report) if (w.code, w.segment) not in seen]
    return warnings
