"""Run every registered guard on a plan or on one edited variant; apply the brand's severity
overrides; never let a guard's own failure pass silently (it becomes a blocking finding)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from copilot.plan import COPY_FIELDS, Plan, Variant
from copilot.workspace import Workspace
from guards.context import PlanContext, Samples, VariantContext
from guards.finding import SEVERITY_RANK, Code, Finding, Guard
from guards.registry import all_codes, registered_guards, separate_process_guards

__all__ = ["run_plan", "run_variant", "run_deliverability", "has_blocking", "PIPELINE", "MAX_FIELD_CHARS"]

# Oversized copy (longer than the plan model's limit for the field) is refused before any
# guard reads it: guard cost grows with length.
MAX_FIELD_CHARS = {f.name: f.max_chars for f in COPY_FIELDS}

COPY_TOO_LONG = Code("GUARD_COPY_TOO_LONG", "pipeline", "block", "A copy field is longer than any email can be",
                     lowerable=False)
GUARD_FAILED = Code("GUARD_FAILED", "pipeline", "block", "A guard could not finish; the variant is unchecked",
                    lowerable=False)
UNKNOWN_OVERRIDE = Code("GUARD_UNKNOWN_OVERRIDE", "pipeline", "warn",
                        "voice.yaml overrides the severity of a code that does not exist")
OVERRIDE_IGNORED = Code("GUARD_OVERRIDE_IGNORED", "pipeline", "warn",
                        "voice.yaml tries to lower a code that cannot be lowered")
PIPELINE = Guard(name="pipeline", description="Limits, guard failures and severity-override problems.",
                 codes=(COPY_TOO_LONG, GUARD_FAILED, UNKNOWN_OVERRIDE, OVERRIDE_IGNORED))
_FIELD_ORDER = {f.name: i for i, f in enumerate(COPY_FIELDS)}


def run_plan(plan: Plan, workspace: Workspace, *, samples: Samples | None = None,
             now: datetime | None = None) -> list[Finding]:
    """Every fast guard on the whole plan (deliverability excluded: see run_deliverability).

    ``samples``: segment name -> a few real contacts as plain dicts of catalog fields,
    chosen by the caller (guards never query the database). ``now``: the present moment, for the
    checks that compare the plan's times with it (guards read no clock: without it they are skipped).
    """
    pctx = PlanContext(plan, workspace, samples or {}, options={"now": now} if now is not None else {})
    findings: list[Finding] = []
    for guard in registered_guards():
        if guard.check_plan is not None:
            findings += _guarded(guard, guard.check_plan, pctx, lambda code, msg, ev: pctx.finding(
                code, message=msg, evidence=ev))
    for variant in plan.variants:
        findings += _variant_findings(variant, pctx)
    return _finish(findings, plan, workspace, config_findings=True)


def run_variant(variant: Variant, plan: Plan, workspace: Workspace, *,
                samples: Samples | None = None) -> list[Finding]:
    """The findings about one variant only (as the review UI re-checks an edit live).

    ``variant`` may differ from the plan's copy of it; plan-level checks (offers against
    the send window, segment rules) are left to run_plan.
    """
    pctx = PlanContext(plan, workspace, samples or {})
    return _finish(_variant_findings(variant, pctx), plan, workspace, config_findings=False)


def run_deliverability(plan: Plan, workspace: Workspace, *, timeout: float = 120.0) -> list[Finding]:
    """Score every variant with SpamAssassin in a separate process (seconds, not milliseconds).

    Not part of run_plan's fast path; call it on request (``copilot guard --deliverability``).
    """
    findings: list[Finding] = []
    for guard in separate_process_guards():
        module_check = guard.check_plan
        if module_check is not None:
            pctx = PlanContext(plan, workspace, {}, options={"timeout": timeout})
            findings += _guarded(guard, module_check, pctx, lambda code, msg, ev: pctx.finding(
                code, message=msg, evidence=ev))
    return _finish(findings, plan, workspace, config_findings=False)


def has_blocking(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "block" for f in findings)


def _variant_findings(variant: Variant, pctx: PlanContext) -> list[Finding]:
    vctx = VariantContext(pctx.plan, pctx.workspace, variant, tuple(pctx.samples.get(variant.segment, ())), pctx)
    too_long = [
        vctx.finding(COPY_TOO_LONG, field=name, message=(
            f"{name} is {len(getattr(variant, name)):,} characters; the limit is {limit:,}. "
            "The other guards did not read this variant."),
            evidence={"length": len(getattr(variant, name)), "limit": limit},
            fix=f"Shorten the {name}.")
        for name, limit in MAX_FIELD_CHARS.items() if len(getattr(variant, name)) > limit
    ]
    if too_long:
        return too_long
    findings: list[Finding] = []
    for guard in registered_guards():
        if guard.check_variant is not None:
            findings += _guarded(guard, guard.check_variant, vctx, lambda code, msg, ev: vctx.finding(
                code, message=msg, evidence=ev))
    if not vctx.repeats:
        return findings
    out: list[Finding] = []
    reported: set[int] = set()
    for f in findings:  # a repeated finding comes back as the same object: report it once, counted
        if id(f) in reported:
            continue
        reported.add(id(f))
        spans = vctx.repeats.get(id(f))
        out.append(_counted(f, [f.span, *spans]) if spans and f.span else f)  # type: ignore[list-item]
    return out


# How many of a repeated finding's spans its evidence lists (the count is always exact).
SPANS_LISTED = 20


def _counted(f: Finding, spans: list[tuple[int, int]]) -> Finding:
    """One finding standing for the same problem found at ``spans``: the first span, the count, the
    first few spans in evidence. The fingerprint stays the single finding's, so an acknowledgement
    holds however often the problem repeats."""
    spans = sorted(set(spans))
    if len(spans) < 2:
        return f
    where = f"the {f.field}" if f.field else "this copy"
    return f.model_copy(update={
        "span": spans[0], "message": f"{f.message} ({len(spans):,} times in {where})",
        "evidence": {**f.evidence, "count": len(spans), "spans": [list(s) for s in spans[:SPANS_LISTED]]}})


def _guarded(guard: Guard, check: Callable[[Any], Iterable[Finding]], ctx: Any,
             make: Callable[[Code, str, dict[str, Any]], Finding]) -> list[Finding]:
    """Run one guard; a crash becomes a blocking finding instead of a passed check (fail closed)."""
    try:
        return list(check(ctx))
    except Exception as exc:  # noqa: BLE001 - any guard bug must surface as a finding
        return [make(GUARD_FAILED, f"the {guard.name} guard failed ({type(exc).__name__}: {exc}); "
                     "this copy is unchecked", {"guard": guard.name, "error": type(exc).__name__})]


def _finish(findings: list[Finding], plan: Plan, workspace: Workspace, *, config_findings: bool) -> list[Finding]:
    codes = all_codes()
    overrides = workspace.voice.severity_overrides
    extra: list[Finding] = []
    if overrides:
        out = []
        for f in findings:
            code = codes.get(f.code)
            wanted = code.severity_under(overrides) if code is not None else f.severity
            if f.code in overrides and wanted != f.severity:
                f = f.model_copy(update={"severity": wanted})
            out.append(f)
        findings = out
        if config_findings:
            pctx = PlanContext(plan, workspace)
            for name, wanted in overrides.items():
                code = codes.get(name)
                if code is None:
                    extra.append(pctx.finding(UNKNOWN_OVERRIDE, message=(
                        f"voice.yaml severity_overrides names {name!r}, which is not a finding code; "
                        "it changes nothing"), evidence={"code": name}, fix="Fix the code's spelling (see guards/README.md)."))
                elif not code.lowerable and SEVERITY_RANK[wanted] > SEVERITY_RANK[code.severity]:
                    extra.append(pctx.finding(OVERRIDE_IGNORED, message=(
                        f"{name} cannot be lowered to {wanted}: it means the email reaches the inbox broken"),
                        evidence={"code": name, "wanted": wanted}))
    return sorted(_dedupe(extra + findings), key=_sort_key(plan))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per fingerprint: exact repeats go, and the same problem at several spans of a
    field becomes one finding with a count (whichever guard made them)."""
    by_print: dict[str, list[Finding]] = {}
    for f in findings:
        by_print.setdefault(f.fingerprint, []).append(f)
    out = []
    for group in by_print.values():
        first = group[0]
        if len(group) == 1 or first.span is None or "count" in first.evidence:
            out.append(first)
            continue
        out.append(_counted(first, [f.span for f in group if f.span is not None]))
    return out


def _sort_key(plan: Plan) -> Callable[[Finding], tuple[Any, ...]]:
    seg_index = {s.name: i for i, s in enumerate(plan.segments)}

    def key(f: Finding) -> tuple[Any, ...]:
        seg = -1 if f.segment is None else seg_index.get(f.segment, len(seg_index))
        return (seg, f.segment or "", f.message_key or "", f.variant or "", SEVERITY_RANK[f.severity],
                _FIELD_ORDER.get(f.field or "", -1), f.span or (0, 0), f.code)
    return key

