"""The versioned results format written by ``copilot eval run`` and read by rescore and compare.

One JSON document per run: run metadata, then per suite its tests, each with the
inputs, every turn's planner answer (plan, reply, questions, notes, usage, latency),
validation problems, guard findings, rendered variants and every assertion's result.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from copilot.errors import EvalError
from copilot.plan import Plan
from copilot.workspace import format_loc
from guards import Finding

__all__ = [
    "RESULTS_FORMAT",
    "RESULTS_VERSION",
    "ErrorInfo",
    "UsageRecord",
    "PlannerAnswer",
    "RenderRecord",
    "AssertionResult",
    "TurnResult",
    "VerdictScores",
    "TestResult",
    "MetricSummary",
    "Confusion",
    "GuardScores",
    "SuiteResult",
    "RunInfo",
    "RunReport",
    "load_report",
    "save_report",
]

RESULTS_FORMAT = "copilot-eval-results"
RESULTS_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorInfo(_Record):
    type: str
    message: str


class UsageRecord(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class PlannerAnswer(_Record):
    """What the planner returned for one request (or the error it raised), as stored and replayed."""

    planner: str = ""
    plan: dict[str, Any] | None = None
    reply: str = ""
    questions: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    usage: UsageRecord = Field(default_factory=UsageRecord)
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    latency_ms: float = 0.0
    error: ErrorInfo | None = None
    cached: bool = False
    _plan: Plan | None = PrivateAttr(default=None)

    def plan_model(self) -> Plan | None:
        """The plan as a typed Plan (parsed once); None when there is no plan."""
        if self.plan is None:
            return None
        if self._plan is None:
            try:
                self._plan = Plan.model_validate(self.plan)
            except ValidationError:
                return None  # the turn's validation_problems say why
        return self._plan


class RenderRecord(_Record):
    """One variant rendered for one sample contact."""

    segment: str
    variant: str
    message: str
    contact: str
    locale: str = ""  # the variant's language ("" in results written before variants had one)
    subject: str = ""
    preheader: str = ""
    text: str = ""
    # The whole HTML document is large and rescore renders again, so it is kept in memory
    # for html assertions but left out of the results file.
    html: str = Field(default="", exclude=True)
    cta_text: str = ""
    cta_url: str = ""
    error: str | None = None


class AssertionResult(_Record):
    type: str
    label: str
    metric: str
    negate: bool = False
    weight: float = 1.0
    threshold: float = 1.0
    score: float = 0.0
    passed: bool = False
    skipped: bool = False
    reason: str = ""
    turn: int = 0
    grader: dict[str, Any] | None = None  # llm_rubric: the grader's request hash, answer and usage


class TurnResult(_Record):
    index: int
    message: str
    request_hash: str
    answer: PlannerAnswer
    validation_problems: list[dict[str, str]] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)  # guards.Finding, serialised by Finding.to_dict
    renders: list[RenderRecord] = Field(default_factory=list)
    assertions: list[AssertionResult] = Field(default_factory=list)


class TestResult(_Record):
    __test__ = False  # not a pytest class

    suite: str
    id: str
    repeat: int = 0
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    turns: list[TurnResult] = Field(default_factory=list)
    status: Literal["pass", "fail", "error"] = "fail"
    score: float = 0.0
    error: ErrorInfo | None = None
    latency_ms: float = 0.0
    usage: UsageRecord = Field(default_factory=UsageRecord)
    guard_case: dict[str, Any] | None = None  # guard suites: expected vs found codes

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.id}#{self.repeat}"

    @property
    def assertions(self) -> list[AssertionResult]:
        return [a for t in self.turns for a in t.assertions]


class MetricSummary(_Record):
    name: str
    score: float
    passed: int
    total: int


class Confusion(_Record):
    """Counts for one guard or one finding code over the labeled cases."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class VerdictScores(_Record):
    """One guard's verdicts over its cases: the worst severity it reported (pass, warn or
    block; info is a pass) against the worst severity its expected codes have."""

    flagged: Confusion = Field(default_factory=Confusion)  # positive: warn or block
    block: Confusion = Field(default_factory=Confusion)  # positive: block
    matrix: dict[str, dict[str, int]] = Field(default_factory=dict)  # expected verdict -> reported -> cases


class GuardScores(_Record):
    cases: int = 0
    by_guard: dict[str, Confusion] = Field(default_factory=dict)
    by_code: dict[str, Confusion] = Field(default_factory=dict)
    overall: Confusion = Field(default_factory=Confusion)
    verdicts: dict[str, VerdictScores] = Field(default_factory=dict)
    cases_by_brand: dict[str, dict[str, int]] = Field(default_factory=dict)  # brand -> guard -> cases
    minimum: float | None = None  # the suite's floor for verdict precision and recall
    below_minimum: list[str] = Field(default_factory=list)  # "facts block recall 0.850", ...


class SuiteResult(_Record):
    name: str
    path: str
    kind: str = "plan"
    description: str = ""
    threshold: float = 1.0
    total: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    pass_rate: float = 0.0
    meets_threshold: bool = False
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    tests: list[TestResult] = Field(default_factory=list)
    guard_scores: GuardScores | None = None
    definition: dict[str, Any] = Field(default_factory=dict)  # the suite as run, for rescore without the file


class RunInfo(_Record):
    id: str
    started_at: datetime
    finished_at: datetime | None = None
    provider: str
    model: str | None = None
    planner: str = ""
    planner_identity: str = ""
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    git_sha: str | None = None
    git_dirty: bool | None = None
    workspace_hashes: dict[str, str] = Field(default_factory=dict)
    repeat: int = 1
    concurrency: int = 1
    grader: str | None = None
    rescored_from: str | None = None
    copilot_version: str = ""
    python: str = ""


class RunReport(_Record):
    format: Literal["copilot-eval-results"] = RESULTS_FORMAT
    version: int = RESULTS_VERSION
    run: RunInfo
    suites: list[SuiteResult] = Field(default_factory=list)
    errors: list[ErrorInfo] = Field(default_factory=list)  # failures of the run itself

    @property
    def broken(self) -> bool:
        """The run itself broke: a test crashed unexpectedly or a run-level error was recorded."""
        return bool(self.errors) or any(s.errored for s in self.suites)

    @property
    def meets_thresholds(self) -> bool:
        return all(s.meets_threshold for s in self.suites)

    def exit_code(self) -> int:
        """0: every suite meets its threshold; 1: at least one does not; 2: the run broke."""
        if self.broken:
            return 2
        return 0 if self.meets_thresholds else 1

    def tests(self) -> list[TestResult]:
        return [t for s in self.suites for t in s.tests]


def save_report(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)  # never a half-written results file


def load_report(path: Path) -> RunReport:
    """Read a results file; refuses other formats and versions with a clear message."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EvalError(f"results file not found: {path}", file=str(path), path="(file)") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"results file {path} is not JSON: {exc}", file=str(path), path="(file)") from exc
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise EvalError(f"{path} is not an eval results file (no \"format\": \"{RESULTS_FORMAT}\")",
                        file=str(path), path="format")
    if data.get("version") != RESULTS_VERSION:
        raise EvalError(f"{path} has results version {data.get('version')!r}; this copilot reads version "
                        f"{RESULTS_VERSION}", file=str(path), path="version")
    try:
        return RunReport.model_validate(data)
    except ValidationError as exc:
        problems = [{"file": str(path), "path": format_loc(e["loc"]), "message": e["msg"]}
                    for e in exc.errors(include_url=False)]
        first = problems[0]
        raise EvalError(f"results file {path}: {first['path']}: {first['message']}",
                        file=str(path), path=first["path"], problems=problems) from exc
