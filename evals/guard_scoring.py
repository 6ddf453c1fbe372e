"""Guard scoring as an eval suite: labeled guard cases -> precision, recall and F1 per guard and code.

Each labeled case is a plan (or one variant of a base plan) with the finding codes the
guards must report (``expect``); a case with no expected codes is a negative. The guards
run exactly as the service runs them (``guards.run_plan``). Per finding code a case counts
as a true positive (expected and reported), false negative (expected, missed), false
positive (reported, not expected) or true negative (neither), over the cases of that
code's guard. Per guard the counts of its codes add up (micro-average), so the wrong code
from the right guard is a miss and a false alarm. A case passes when the codes reported
by its guard are exactly the expected ones.
"""

from __future__ import annotations

import copy
import glob
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.errors import CopilotError, EvalError
from copilot.workspace import Workspace, format_loc, load_workspace
from evals.pipeline import load_contacts
from evals.results import Confusion, ErrorInfo, GuardScores, SuiteResult, TestResult
from evals.spec import SuiteSpec

# The bundled brands' folders (a case file's ``brand``).
BRANDS_DIR = Path(__file__).resolve().parent.parent / "copilot" / "brands"

__all__ = ["GuardCase", "GuardCaseFile", "load_guard_cases", "score_cases", "run_guard_suite", "confusion"]


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
    workspace: str = "demo"
    # The bundled brand the cases are written for (evals/guard_cases/<brand>/): its workspace and
    # its sample contacts (evals/contacts/<brand>.yaml); ``base_plan`` is then the brand's own.
    brand: str | None = None
    base_plan: dict[str, Any] | None = None
    now: datetime | None = None  # every case's "now" unless it gives its own (default: none, times unchecked)
    samples: list[dict[str, Any]] | None = None  # every case's samples unless it gives its own (default: the brand's contacts)
    cases: list[GuardCase] = Field(min_length=1)

    @property
    def workspace_name(self) -> str:
        return self.brand or self.workspace


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
    workspaces: dict[str, Workspace] = {}
    tests: list[TestResult] = []
    outcomes: list[tuple[str, set[str], set[str]]] = []
    for path, file in load_guard_cases(suite.cases, base, exclude=suite.path):
        name = file.workspace_name
        if name not in workspaces:
            folder = (BRANDS_DIR / file.brand) if file.brand and file.brand != "demo" else suite.workspace_dir(name)
            workspaces[name] = load_workspace(folder)
        workspace = workspaces[name]
        for case in file.cases:
            guard = case.guard or file.guard
            result = TestResult(suite=suite.suite, id=f"{path.parent.name + '/' if file.brand else ''}{path.stem}/{case.id}", description=case.description,
                                tags=list(case.tags), inputs={"file": path.name, "guard": guard})
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
                    file.samples if file.samples is not None else load_contacts(name))
                findings = run_plan(plan, workspace, samples={s.name: samples for s in plan.segments},
                                    now=case.now if "now" in case.model_fields_set else file.now)
            except CopilotError as exc:
                result.status, result.error = "error", ErrorInfo(type=type(exc).__name__, message=exc.message)
                tests.append(result)
                continue
            reported = {f.code for f in findings if f.guard == guard}
            outcomes.append((guard, expected, reported))
            result.status = "pass" if reported == expected else "fail"
            result.score = 1.0 if reported == expected else 0.0
            result.guard_case = {"guard": guard, "expected": sorted(expected), "reported": sorted(reported),
                                 "missed": sorted(expected - reported), "unexpected": sorted(reported - expected),
                                 "findings": [f"{f.severity} {f.code}: {f.message}" for f in findings][:20]}
            tests.append(result)
    summary = summarize_suite(suite, tests)
    summary.guard_scores = score_cases(outcomes, code_guard)
    return summary
