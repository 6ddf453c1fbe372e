"""Compare two eval runs: per-suite pass rates, per-test status, per-metric scores, guard scores.

A regression is a test that passes less often than before (pass -> fail or error), a
suite that no longer meets its threshold, a metric whose score dropped by more than the
tolerance, or a guard whose precision or recall dropped by more than the tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evals.results import Confusion, RunReport, TestResult

__all__ = ["SuiteChange", "TestChange", "MetricChange", "GuardChange", "Comparison", "compare_reports"]


@dataclass(frozen=True)
class SuiteChange:
    suite: str
    before: float | None
    after: float | None
    threshold: float
    met_before: bool | None
    met_after: bool | None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else round(self.after - self.before, 6)

    @property
    def regressed(self) -> bool:
        return bool(self.met_before) and self.met_after is False


@dataclass(frozen=True)
class TestChange:
    __test__ = False

    suite: str
    id: str
    before: str  # "pass", "fail", "error", "2/3 pass" or "absent"
    after: str
    pass_before: float | None
    pass_after: float | None
    score_before: float | None
    score_after: float | None
    newly_failing: list[str] = field(default_factory=list)  # assertion labels that pass before, not after
    newly_passing: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.pass_before is None:
            return "new"
        if self.pass_after is None:
            return "removed"
        if self.pass_after < self.pass_before:
            return "regression"
        if self.pass_after > self.pass_before:
            return "fixed"
        if (self.score_after or 0) < (self.score_before or 0):
            return "score down"
        if (self.score_after or 0) > (self.score_before or 0):
            return "score up"
        return "same"


@dataclass(frozen=True)
class MetricChange:
    suite: str
    metric: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else round(self.after - self.before, 6)


@dataclass(frozen=True)
class GuardChange:
    suite: str
    scope: str  # "guard" or "code"
    name: str
    precision_before: float | None
    precision_after: float | None
    recall_before: float | None
    recall_after: float | None
    f1_before: float | None
    f1_after: float | None


@dataclass
class Comparison:
    before_run: dict[str, Any]
    after_run: dict[str, Any]
    tolerance: float
    suites: list[SuiteChange]
    tests: list[TestChange]  # changed ones only
    metrics: list[MetricChange]
    guards: list[GuardChange]

    @property
    def test_regressions(self) -> list[TestChange]:
        return [t for t in self.tests if t.kind == "regression"]

    @property
    def metric_regressions(self) -> list[MetricChange]:
        return [m for m in self.metrics if m.delta is not None and m.delta < -self.tolerance]

    @property
    def guard_regressions(self) -> list[GuardChange]:
        def dropped(b: float | None, a: float | None) -> bool:
            return b is not None and a is not None and a < b - self.tolerance

        return [g for g in self.guards if dropped(g.precision_before, g.precision_after)
                or dropped(g.recall_before, g.recall_after)]

    @property
    def regressions(self) -> list[str]:
        """One line per regression, for the terminal and the exit code."""
        out = [f"suite {s.suite}: pass rate {s.before:.1%} -> {s.after:.1%}, below its threshold {s.threshold:.0%}"
               for s in self.suites if s.regressed and s.before is not None and s.after is not None]
        out += [f"test {t.suite}/{t.id}: {t.before} -> {t.after}"
                + (f" (now failing: {', '.join(t.newly_failing)})" if t.newly_failing else "")
                for t in self.test_regressions]
        out += [f"metric {m.suite}/{m.metric}: {m.before:.3f} -> {m.after:.3f}" for m in self.metric_regressions
                if m.before is not None and m.after is not None]
        out += [f"guard {g.suite} {g.scope} {g.name}: precision {_fmt(g.precision_before)} -> "
                f"{_fmt(g.precision_after)}, recall {_fmt(g.recall_before)} -> {_fmt(g.recall_after)}"
                for g in self.guard_regressions]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before_run, "after": self.after_run, "tolerance": self.tolerance,
            "suites": [asdict(s) | {"delta": s.delta, "regressed": s.regressed} for s in self.suites],
            "tests": [asdict(t) | {"kind": t.kind} for t in self.tests],
            "metrics": [asdict(m) | {"delta": m.delta} for m in self.metrics],
            "guards": [asdict(g) for g in self.guards],
            "regressions": self.regressions,
        }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _status(runs: list[TestResult]) -> str:
    if len(runs) == 1:
        return runs[0].status
    return f"{sum(r.status == 'pass' for r in runs)}/{len(runs)} pass"


def _grouped(report: RunReport) -> dict[tuple[str, str], list[TestResult]]:
    groups: dict[tuple[str, str], list[TestResult]] = {}
    for test in report.tests():
        groups.setdefault((test.suite, test.id), []).append(test)
    return groups


def _assertion_pass(runs: list[TestResult]) -> dict[str, float]:
    """Assertion label (with turn) -> share of repeats in which it passed."""
    counts: dict[str, list[bool]] = {}
    for run in runs:
        for a in run.assertions:
            if not a.skipped:
                counts.setdefault(f"{a.label}" + (f" (turn {a.turn + 1})" if a.turn else ""), []).append(a.passed)
    return {k: sum(v) / len(v) for k, v in counts.items()}


def _run_meta(report: RunReport) -> dict[str, Any]:
    r = report.run
    return {"id": r.id, "started_at": r.started_at.isoformat(), "provider": r.provider, "model": r.model,
            "planner": r.planner, "git_sha": r.git_sha}


def _guard_changes(before: RunReport, after: RunReport) -> list[GuardChange]:
    out = []
    b_suites = {s.name: s for s in before.suites if s.guard_scores}
    for suite in after.suites:
        if not suite.guard_scores or suite.name not in b_suites:
            continue
        b_scores = b_suites[suite.name].guard_scores
        assert b_scores is not None
        for scope, a_map, b_map in (("guard", suite.guard_scores.by_guard, b_scores.by_guard),
                                    ("code", suite.guard_scores.by_code, b_scores.by_code)):
            for name in sorted(set(a_map) | set(b_map)):
                b, a = b_map.get(name, Confusion()), a_map.get(name, Confusion())
                if (b.precision, b.recall, b.f1) != (a.precision, a.recall, a.f1):
                    out.append(GuardChange(suite.name, scope, name, b.precision, a.precision, b.recall, a.recall,
                                           b.f1, a.f1))
    return out


def compare_reports(before: RunReport, after: RunReport, *, tolerance: float = 0.0) -> Comparison:
    suites = []
    b_suites = {s.name: s for s in before.suites}
    a_suites = {s.name: s for s in after.suites}
    for name in list(dict.fromkeys([*b_suites, *a_suites])):
        b, a = b_suites.get(name), a_suites.get(name)
        suites.append(SuiteChange(name, b.pass_rate if b else None, a.pass_rate if a else None,
                                  (a or b).threshold, b.meets_threshold if b else None,  # type: ignore[union-attr]
                                  a.meets_threshold if a else None))
    tests = []
    b_tests, a_tests = _grouped(before), _grouped(after)
    for key in list(dict.fromkeys([*b_tests, *a_tests])):
        b_runs, a_runs = b_tests.get(key, []), a_tests.get(key, [])

        def share(runs: list[TestResult]) -> float | None:
            return sum(r.status == "pass" for r in runs) / len(runs) if runs else None

        def mean_score(runs: list[TestResult]) -> float | None:
            return round(sum(r.score for r in runs) / len(runs), 6) if runs else None

        b_assert, a_assert = _assertion_pass(b_runs), _assertion_pass(a_runs)
        change = TestChange(
            suite=key[0], id=key[1],
            before=_status(b_runs) if b_runs else "absent", after=_status(a_runs) if a_runs else "absent",
            pass_before=share(b_runs), pass_after=share(a_runs),
            score_before=mean_score(b_runs), score_after=mean_score(a_runs),
            # An assertion new in AFTER counts as passing before: a new failing check is news.
            newly_failing=[k for k, v in a_assert.items() if v < b_assert.get(k, 1.0)],
            newly_passing=[k for k, v in a_assert.items() if k in b_assert and v > b_assert[k]],
        )
        if change.kind != "same":
            tests.append(change)
    metrics = []
    for name in a_suites.keys() | b_suites.keys():
        b_m = b_suites[name].metrics if name in b_suites else {}
        a_m = a_suites[name].metrics if name in a_suites else {}
        for metric in sorted(set(b_m) | set(a_m)):
            before_score = b_m[metric].score if metric in b_m else None
            after_score = a_m[metric].score if metric in a_m else None
            if before_score != after_score:
                metrics.append(MetricChange(name, metric, before_score, after_score))
    metrics.sort(key=lambda m: (m.suite, m.metric))
    order = {"regression": 0, "score down": 1, "removed": 2, "fixed": 3, "score up": 4, "new": 5}
    tests.sort(key=lambda t: (order.get(t.kind, 9), t.suite, t.id))
    return Comparison(_run_meta(before), _run_meta(after), tolerance, suites, tests, metrics,
                      _guard_changes(before, after))
