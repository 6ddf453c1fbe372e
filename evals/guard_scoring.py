"""Guard scoring as an eval suite: labeled guard cases -> precision, recall and F1 per guard and code.

Each labeled case is a plan (or one variant of a base plan) with the finding codes the
guards must report (``expect``); a case with no expected codes is a negative. The guards
run exactly as the service runs them (``guards.run_plan``). Per finding code a case counts
as a true positive (expected and reported), false negative (expected, missed), false
positive (reported, not expected) or true negative (neither), over the cases of that
code's guard. Per guard the counts of its codes add up (micro-average), so the wrong code
from the right guard is a miss and a false alarm. A case passes when the codes reported
by its guard are exactly the expected ones.

Per guard the case's verdict is scored too: the worst severity the guard reported (block,
warn, or pass: nothing or only info) against the worst severity of the expected codes
(under the brand's severity overrides). "Flagged" counts warn and block as the positive,
"block" only block; with ``min_verdict_score`` in the suite, the suite fails when any
guard's precision or recall for either is below it.

A case file names its brand (``brand: alpenglow``: copilot/brands/alpenglow and
evals/contacts/alpenglow.yaml; default demo) and may give its own ``base_plan``.
"""

from __future__ import annotations

import copy
import glob
from datetime import datetime
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from copilot.errors import CopilotError, EvalError
from copilot.workspace import Workspace, format_loc, load_workspace
from copilot.workspace.loader import demo_workspace_dir
from evals.pipeline import load_contacts
from evals.results import Confusion, ErrorInfo, GuardScores, SuiteResult, TestResult, VerdictScores
from evals.spec import SuiteSpec

BRANDS_DIR = demo_workspace_dir().parent

__all__ = ["GuardCase", "GuardCaseFile", "load_guard_cases", "score_cases", "score_verdicts", "run_guard_suite",
           "confusion", "VERDICTS"]


class GuardCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    guard: str | None = None  # the guard this case labels (defaults to the file's)
    description: str = ""
    plan: dict[str, Any] | None = None  # a whole plan, or keys replacing the base plan's
    variant: dict[str, Any] | None = None  # keys replacing the first variant of the plan
    samples: list[dict[str, Any]] | None = None  # contacts for every segment (default: the demo contacts)
    now: datetime | None = None  # the present moment the guards compare times with (default: the file's)
    expect: list[str] = Field(default_factory=list)  # codes that must be reported; [] for a negative
    tags: list[str] = Field(default_factory=list)


class GuardCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guard: str | None = None
    # A bundled brand (copilot/brands/<brand>/): its workspace, and its sample contacts
    # (evals/contacts/<brand>.yaml) unless a case gives its own. Default: the demo brand.
    brand: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    workspace: str = "demo"  # a workspace folder relative to the suite file (older files; not with brand)
    base_plan: dict[str, Any] | None = None
    now: datetime | None = None  # every case's "now" unless it gives its own (default: none, times unchecked)
    samples: list[dict[str, Any]] | None = None  # every case's samples unless it gives its own (default: the brand's contacts)
    cases: list[GuardCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_brand(self) -> GuardCaseFile:
        if self.brand is not None and self.workspace != "demo":
            raise ValueError("give 'brand' (a bundled brand) or 'workspace' (a folder), not both")
        if self.brand is not None and not (BRANDS_DIR / self.brand).is_dir():
            raise ValueError(f"no bundled brand {self.brand!r} in {BRANDS_DIR}")
        return self

    @property
    def brand_name(self) -> str:
        return self.brand or ("demo" if self.workspace == "demo" else Path(self.workspace).name)



def _base_plan(folder: Path | None = None) -> dict[str, Any]:
    """The ``_base_plan.yaml`` beside a brand's case files, else the demo's."""
    path = Path(__file__).resolve().parent / "guard_cases" / "_base_plan.yaml"
    if folder is not None and (folder / "_base_plan.yaml").exists():
        path = folder / "_base_plan.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    if not isinstance(data, dict):
        raise EvalError(f"guard cases need a base plan: {path}", file=str(path), path="(file)")
    return data


def load_guard_cases(patterns: list[str], base: Path, *, exclude: Path | None = None
                     ) -> list[tuple[Path, GuardCaseFile]]:
    """Every case file matching the globs (relative to ``base``; ``_name.yaml`` files and
    ``exclude``, the suite file itself, left out), validated, in name order."""
    files: list[Path] = []
    for pattern in patterns:
        matched = sorted(Path(p).resolve() for p in glob.glob(str(base / pattern)))
        files += [p for p in matched if not p.name.startswith("_") and p != exclude and p not in files]
    if not files:
        raise EvalError(f"no guard case files match {patterns} under {base}", path="cases")
    out = []
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            out.append((path, GuardCaseFile.model_validate(raw)))
        except yaml.YAMLError as exc:
            raise EvalError(f"guard cases {path}: malformed YAML: {exc}", file=str(path), path="(file)") from exc
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = format_loc(first["loc"])
            raise EvalError(f"guard cases {path}: {where}: {first['msg']}", file=str(path), path=where) from exc
    return out


def _case_plan(case: GuardCase, file: GuardCaseFile, folder: Path | None = None) -> dict[str, Any]:
    plan = copy.deepcopy(file.base_plan or _base_plan(folder if file.brand else None))
    if case.plan:
        plan.update(copy.deepcopy(case.plan))
    if case.variant:
        plan["variants"] = [dict(plan["variants"][0], **case.variant), *plan["variants"][1:]]
    return plan


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def confusion(tp: int, fp: int, fn: int, tn: int) -> Confusion:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)  # the harmonic mean of precision and recall, 0 when tp = 0
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn, precision=precision, recall=recall, f1=f1)


VERDICTS = ("pass", "warn", "block")


def verdict(severities: Any) -> str:
    """The worst of these severities as a verdict: block, warn, or pass (nothing, or only info)."""
    found = set(severities)
    return "block" if "block" in found else "warn" if "warn" in found else "pass"


def score_verdicts(outcomes: list[tuple[str, str, str]]) -> dict[str, VerdictScores]:
    """outcomes: (guard, expected verdict, reported verdict) per case -> per guard the
    confusion for "flagged" (warn or block is the positive) and for "block", and the 3x3 matrix."""
    out: dict[str, VerdictScores] = {}
    for guard in sorted({g for g, _, _ in outcomes}):
        rows = [(e, r) for g, e, r in outcomes if g == guard]
        matrix = {e: {r: sum(1 for x, y in rows if (x, y) == (e, r)) for r in VERDICTS} for e in VERDICTS}
        scores = {}
        for name, positive in (("flagged", {"warn", "block"}), ("block", {"block"})):
            tp = sum(e in positive and r in positive for e, r in rows)
            fp = sum(e not in positive and r in positive for e, r in rows)
            fn = sum(e in positive and r not in positive for e, r in rows)
            scores[name] = confusion(tp, fp, fn, len(rows) - tp - fp - fn)
        out[guard] = VerdictScores(flagged=scores["flagged"], block=scores["block"], matrix=matrix)
    return out


def below_minimum(verdicts: dict[str, VerdictScores], minimum: float) -> list[str]:
    """Each guard's verdict precision or recall under ``minimum`` ("facts block recall 0.850").
    A ratio with nothing to count (no case expected or reported that verdict) is not a failure."""
    out = []
    for guard, v in verdicts.items():
        for name, c in (("flagged", v.flagged), ("block", v.block)):
            for metric, value in (("precision", c.precision), ("recall", c.recall)):
                if value is not None and value + 1e-9 < minimum:
                    out.append(f"{guard} {name} {metric} {value:.3f}")
    return out


def score_cases(outcomes: list[tuple[str, set[str], set[str]]], code_guard: dict[str, str]) -> GuardScores:
    """outcomes: (guard, expected codes, reported codes of that guard) per case."""
    guards = sorted({g for g, _, _ in outcomes})
    by_guard: dict[str, list[int]] = {g: [0, 0, 0, 0] for g in guards}
    codes = sorted({c for _, exp, got in outcomes for c in exp | got})
    by_code: dict[str, list[int]] = {c: [0, 0, 0, 0] for c in codes}
    for guard, expected, reported in outcomes:
        for code in codes:
            if code_guard.get(code, guard) != guard:
                continue  # a facts case says nothing about a tone code
            e, r = code in expected, code in reported
            cell = 0 if e and r else 1 if r else 2 if e else 3
            by_code[code][cell] += 1
            # Per guard the codes add up (micro-average): reporting the wrong code of the
            # right guard is a false positive and a false negative, not a hit.
            by_guard[guard][cell] += 1
    overall = [sum(v[i] for v in by_guard.values()) for i in range(4)]
    return GuardScores(cases=len(outcomes), by_guard={g: confusion(*v) for g, v in by_guard.items()},
                       by_code={c: confusion(*v) for c, v in by_code.items()}, overall=confusion(*overall))


def run_guard_suite(suite: SuiteSpec) -> SuiteResult:
    """Run every labeled case through the guards; one test result per case, plus the scores."""
    from copilot.validation import parse_plan
    from evals.runner import summarize_suite
    from guards import all_codes, run_plan

    base = suite.path.parent if suite.path else Path.cwd()
    code_guard = {code: c.guard for code, c in all_codes().items()}
    codes = all_codes()
    code_guard = {code: c.guard for code, c in codes.items()}
    workspaces: dict[str, Workspace] = {}
    tests: list[TestResult] = []
    outcomes: list[tuple[str, set[str], set[str]]] = []
    verdicts: list[tuple[str, str, str]] = []
    by_brand: dict[str, dict[str, int]] = {}
    files = load_guard_cases(suite.cases, base, exclude=suite.path)
    root = Path(os.path.commonpath([str(p.parent) for p, _ in files]))
    for path, file in files:
        where = f"brand:{file.brand}" if file.brand else file.workspace
        if where not in workspaces:
            folder = (None if file.brand == "demo" else BRANDS_DIR / file.brand) if file.brand \
                else suite.workspace_dir(file.workspace)
            workspaces[where] = load_workspace(folder)
        workspace = workspaces[where]
        overrides = workspace.voice.severity_overrides
        rel = path.relative_to(root)
        stem = rel.with_suffix("").as_posix()
        for case in file.cases:
            guard = case.guard or file.guard
            result = TestResult(suite=suite.suite, id=f"{stem}/{case.id}", description=case.description,
                                tags=list(case.tags), inputs={"file": rel.as_posix(), "guard": guard,
                                                              "brand": file.brand_name})
            if guard is None:
                raise EvalError(f"guard case {path.name}/{case.id} names no guard (set 'guard' in the case or file)",
                                file=str(path), path=case.id)
            expected = set(case.expect)
            unknown = expected - set(code_guard)
            if unknown:
                raise EvalError(f"guard case {path.name}/{case.id} expects unknown code(s) {sorted(unknown)}",
                                file=str(path), path=f"{case.id}.expect")
            try:
                plan = parse_plan(_case_plan(case, file, path.parent))
                samples = case.samples if case.samples is not None else (
                    file.samples if file.samples is not None else load_contacts(file.brand or "demo"))
                findings = run_plan(plan, workspace, samples={s.name: samples for s in plan.segments},
                                    now=case.now if "now" in case.model_fields_set else file.now)
            except CopilotError as exc:
                result.status, result.error = "error", ErrorInfo(type=type(exc).__name__, message=exc.message)
                tests.append(result)
                continue
            mine = [f for f in findings if f.guard == guard]
            reported = {f.code for f in mine}
            outcomes.append((guard, expected, reported))
            want, got = verdict(codes[c].severity_under(overrides) for c in expected), verdict(f.severity for f in mine)
            verdicts.append((guard, want, got))
            counts = by_brand.setdefault(file.brand_name, {})
            counts[guard] = counts.get(guard, 0) + 1
            result.status = "pass" if reported == expected else "fail"
            result.score = 1.0 if reported == expected else 0.0
            result.guard_case = {"guard": guard, "expected": sorted(expected), "reported": sorted(reported),
                                 "expected_verdict": want, "reported_verdict": got,
                                 "missed": sorted(expected - reported), "unexpected": sorted(reported - expected),
                                 "findings": [f"{f.severity} {f.code}: {f.message}" for f in findings][:20]}
            tests.append(result)
    summary = summarize_suite(suite, tests)
    scores = score_cases(outcomes, code_guard)
    scores.verdicts = score_verdicts(verdicts)
    scores.cases_by_brand = {b: dict(sorted(g.items())) for b, g in sorted(by_brand.items())}
    if suite.min_verdict_score is not None:
        scores.minimum = suite.min_verdict_score
        scores.below_minimum = below_minimum(scores.verdicts, suite.min_verdict_score)
        summary.meets_threshold = summary.meets_threshold and not scores.below_minimum
    summary.guard_scores = scores
    return summary
