"""The offline planner on the bundled brands' suites: a brand x moment pass-rate table, the question
rate (and how many of those questions the suite expected), and median and p95 latency per brief.

    .venv/bin/python benchmarks/brands.py [--suites evals/suites/brands/*.yaml] [--results FILE] [--json]

Runs the suites through the eval runner (the same path as `copilot eval run`), or reads an earlier
results JSON with --results. A brief's moment is the goal its suite expects (the first one listed;
"(question)" for briefs that expect a question, "(other)" for briefs without a goal). The last line is
JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.results import RunReport, TestResult, load_report  # noqa: E402
from evals.runner import run_offline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _moment(test: TestResult) -> str:
    asserts = test.inputs.get("assert") or []
    for a in asserts:
        if a.get("type") == "goal":
            value = a.get("value")
            return str(value[0] if isinstance(value, list) else value)
    if any(a.get("type") == "asks_question" and not a.get("negate") for a in asserts):
        return "(question)"
    return "(other)"


def _asked(test: TestResult) -> bool:
    return bool(test.turns) and test.turns[0].answer.plan is None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def summarize(report: RunReport) -> dict[str, Any]:
    tests = [t for t in report.tests() if t.suite.startswith("brand_")]
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in tests:
        cell = table[t.suite.removeprefix("brand_")][_moment(t)]
        cell[0] += t.status == "pass"
        cell[1] += 1
    asked = [t for t in tests if _asked(t)]
    expected = [t for t in asked if _moment(t) == "(question)"]
    latencies = [t.latency_ms for t in tests]
    return {
        "briefs": len(tests),
        "passed": sum(t.status == "pass" for t in tests),
        "pass_rate": round(sum(t.status == "pass" for t in tests) / len(tests), 3) if tests else 0.0,
        "question_rate": round(len(asked) / len(tests), 3) if tests else 0.0,
        "questions_expected": len(expected),
        "questions_unexpected": len(asked) - len(expected),
        "latency_ms_median": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_ms_p95": round(_p95(latencies), 1),
        "table": {brand: {m: f"{p}/{n}" for m, (p, n) in sorted(row.items())} for brand, row in sorted(table.items())},
    }


def _print(summary: dict[str, Any]) -> None:
    brands = list(summary["table"])
    moments = sorted({m for row in summary["table"].values() for m in row})
    width = max([len(m) for m in moments] + [10])
    print(f"{'moment':<{width}} " + " ".join(f"{b[:12]:>12}" for b in brands))
    for m in moments:
        print(f"{m:<{width}} " + " ".join(f"{summary['table'][b].get(m, '-'):>12}" for b in brands))
    print(f"\nbriefs {summary['briefs']}, passing every expectation {summary['passed']} "
          f"({summary['pass_rate']:.1%})")
    print(f"question rate {summary['question_rate']:.1%} ({summary['questions_expected']} expected by the suite, "
          f"{summary['questions_unexpected']} not)")
    print(f"latency per brief: median {summary['latency_ms_median']} ms, p95 {summary['latency_ms_p95']} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="*", default=sorted(str(p) for p in (ROOT / "evals/suites/brands").glob("*.yaml")))
    parser.add_argument("--results", type=Path, help="read this results JSON instead of running the suites")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = load_report(args.results) if args.results else run_offline(args.suites)
    summary = summarize(report)
    _print(summary)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
