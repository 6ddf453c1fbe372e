"""Run eval suites: every test (times ``repeat``) with bounded parallelism, scored into a RunReport.

Scoring (promptfoo-like): a test's score is the weighted mean of its assertions' scores
(skipped and weight-0 assertions left out). Without a test ``threshold`` it passes when
every weighted assertion passes; with one, when its score reaches the threshold. A suite
meets its threshold when its pass rate does. A crash inside a test is an error, which
marks the whole run as broken (exit code 2).
"""

from __future__ import annotations

import asyncio
import platform
import subprocess
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from copilot import __version__
from copilot.errors import EvalError
from copilot.models import utcnow
from copilot.workspace import Workspace, load_workspace
from evals.answers import AnswerSource
from evals.assertions import Grader
from evals.pipeline import load_contacts, run_conversation
from evals.results import (
    AssertionResult,
    ErrorInfo,
    MetricSummary,
    RunInfo,
    RunReport,
    SuiteResult,
    TestResult,
    UsageRecord,
)
from evals.spec import SuiteSpec, TestSpec

__all__ = ["run_suites", "run_offline", "score_test", "summarize_suite", "git_state", "ProgressCallback"]

ProgressCallback = Callable[[str, TestResult], None]
_REPO = Path(__file__).resolve().parent.parent


def git_state(cwd: Path = _REPO) -> tuple[str | None, bool | None]:
    """(commit SHA, working tree has changes) or (None, None) outside a git checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip(), bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def score_test(result: TestResult, threshold: float | None) -> None:
    """Set ``score`` and ``status`` from the assertions (an errored test stays an error)."""
    counted = [a for a in result.assertions if not a.skipped and a.weight > 0]
    total_weight = sum(a.weight for a in counted)
    result.score = round(sum(a.weight * a.score for a in counted) / total_weight, 6) if total_weight else 1.0
    if result.status == "error":
        return
    if threshold is not None:
        passed = result.score + 1e-9 >= threshold
    else:
        passed = all(a.passed for a in counted)
    result.status = "pass" if passed else "fail"


def _metrics(results: Sequence[TestResult]) -> dict[str, MetricSummary]:
    by_metric: dict[str, list[AssertionResult]] = {}
    for test in results:
        for a in test.assertions:
            if not a.skipped:
                by_metric.setdefault(a.metric, []).append(a)
    return {
        name: MetricSummary(name=name, score=round(sum(a.score for a in items) / len(items), 6),
                            passed=sum(a.passed for a in items), total=len(items))
        for name, items in sorted(by_metric.items())
    }


def summarize_suite(suite: SuiteSpec, tests: list[TestResult]) -> SuiteResult:
    passed = sum(t.status == "pass" for t in tests)
    errored = sum(t.status == "error" for t in tests)
    rate = passed / len(tests) if tests else 0.0
    return SuiteResult(
        name=suite.suite, path=str(suite.path or ""), kind=suite.kind, description=suite.description,
        threshold=suite.threshold, total=len(tests), passed=passed, failed=len(tests) - passed - errored,
        errored=errored, pass_rate=round(rate, 6), meets_threshold=bool(tests) and rate + 1e-9 >= suite.threshold,
        metrics=_metrics(tests), tests=tests,
        definition=suite.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


class _Workspaces:
    """Loads each workspace folder once per run."""

    def __init__(self) -> None:
        self._loaded: dict[Path | None, Workspace] = {}

    def get(self, suite: SuiteSpec, name: str) -> Workspace:
        folder = suite.workspace_dir(name)
        if folder not in self._loaded:
            self._loaded[folder] = load_workspace(folder)
        return self._loaded[folder]

    def hashes(self) -> dict[str, str]:
        return {w.slug: w.content_hash for w in self._loaded.values()}


def _inputs(test: TestSpec, workspace: Workspace) -> dict[str, Any]:
    data: dict[str, Any] = {"workspace": workspace.slug, "now": test.now.isoformat()}
    if test.conversation is not None:
        data["conversation"] = [t.message for t in test.conversation]
    else:
        data["brief"] = test.brief
    data["assert"] = [a.model_dump(mode="json", exclude_defaults=True) for a in test.assert_]
    return data


async def _run_test(suite: SuiteSpec, test: TestSpec, sample: int, *, source: AnswerSource,
                    workspaces: _Workspaces, grader: Grader | None) -> TestResult:
    workspace = workspaces.get(suite, test.workspace)
    result = TestResult(suite=suite.suite, id=test.id, repeat=sample, description=test.description,
                        tags=list(test.tags), inputs=_inputs(test, workspace))
    try:
        contacts = load_contacts(test.contacts, suite.path.parent if suite.path else None)
        result.turns = await run_conversation(test, source=source, workspace=workspace, contacts=contacts,
                                              sample=sample, grader=grader)
    except Exception as exc:  # noqa: BLE001 - a crash in one test is recorded, the others still run
        message = exc.message if isinstance(exc, EvalError) else str(exc) or type(exc).__name__
        result.status = "error"
        result.error = ErrorInfo(type=type(exc).__name__, message=f"{message}\n{traceback.format_exc(limit=6)}")
    usage = UsageRecord()
    for turn in result.turns:
        u = turn.answer.usage
        usage = UsageRecord(prompt_tokens=usage.prompt_tokens + u.prompt_tokens,
                            completion_tokens=usage.completion_tokens + u.completion_tokens,
                            cost_usd=round(usage.cost_usd + u.cost_usd, 8), calls=usage.calls + u.calls)
    result.usage = usage
    result.latency_ms = round(sum(t.answer.latency_ms for t in result.turns), 3)
    score_test(result, test.threshold)
    return result


async def run_suites(suites: Sequence[SuiteSpec], *, source: AnswerSource, provider: str, model: str | None = None,
                     repeat: int = 1, concurrency: int = 4, grader: Grader | None = None,
                     on_progress: ProgressCallback | None = None, rescored_from: str | None = None) -> RunReport:
    """Run every test of every suite ``repeat`` times, at most ``concurrency`` at once."""
    if repeat < 1 or concurrency < 1:
        raise EvalError("--repeat and --concurrency must be at least 1", path="options")
    from evals.guard_scoring import run_guard_suite

    sha, dirty = git_state()
    run = RunInfo(id=uuid.uuid4().hex[:12], started_at=utcnow(), provider=provider, model=model,
                  planner_identity=source.identity, git_sha=sha, git_dirty=dirty, repeat=repeat,
                  concurrency=concurrency, grader=getattr(grader, "name", None), rescored_from=rescored_from,
                  copilot_version=__version__, python=platform.python_version())
    workspaces = _Workspaces()
    for suite in suites:  # a missing or broken workspace stops the run before any planner call
        for test in suite.tests:
            workspaces.get(suite, test.workspace)
    gate = asyncio.Semaphore(concurrency)

    async def one(suite: SuiteSpec, test: TestSpec, sample: int) -> TestResult:
        async with gate:
            result = await _run_test(suite, test, sample, source=source, workspaces=workspaces, grader=grader)
        if on_progress is not None:
            on_progress(suite.suite, result)
        return result

    report = RunReport(run=run)
    for suite in suites:
        if suite.kind == "guards":
            suite_result = run_guard_suite(suite)
            for test in suite_result.tests:
                if on_progress is not None:
                    on_progress(suite.suite, test)
            report.suites.append(suite_result)
            continue
        jobs = [one(suite, test, sample) for test in suite.tests for sample in range(repeat)]
        tests = list(await asyncio.gather(*jobs))
        report.suites.append(summarize_suite(suite, tests))
    versions: dict[str, str] = {}
    planners: set[str] = set()
    for test in report.tests():
        for turn in test.turns:
            versions.update(turn.answer.prompt_versions)
            if turn.answer.planner:
                planners.add(turn.answer.planner)
            for a in turn.assertions:
                if a.grader and a.grader.get("prompt_version"):
                    versions[a.grader.get("prompt", "eval_rubric")] = a.grader["prompt_version"]
    run.prompt_versions = dict(sorted(versions.items()))
    run.planner = ", ".join(sorted(planners))
    run.workspace_hashes = workspaces.hashes()
    run.finished_at = utcnow()
    return report


def run_offline(paths: Sequence[str | Path], *, concurrency: int = 1) -> RunReport:
    """Every suite in ``paths`` on the offline planner, uncached, as `copilot eval run --provider offline` runs
    them (for benchmarks and tests that score suites in-process)."""
    from copilot.settings import get_settings
    from evals.grader import make_grader
    from evals.providers import make_source
    from evals.spec import load_suite

    settings = get_settings()
    specs = [load_suite(str(p)) for p in paths]
    source = make_source("offline", settings=settings, model=None, cache=False)
    return asyncio.run(run_suites(specs, source=source, provider="offline", model=None, concurrency=concurrency,
                                  grader=make_grader(settings, model=None, cache=False)))
