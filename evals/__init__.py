"""Eval suites, scorers and the runner: score the copilot over many briefs and gate regressions.

``copilot eval run`` drives the product's own planner, validation, guards and renderer;
see evals/README.md for the suite format and the scoring rules.
"""

from evals.answers import CachedAnswers, LiveAnswers, ReplayAnswers, request_hash
from evals.assertions import ASSERTIONS
from evals.compare import Comparison, compare_reports
from evals.results import RESULTS_VERSION, RunReport, load_report, save_report
from evals.runner import run_suites
from evals.spec import SUITES_DIR, AssertionSpec, SuiteSpec, TestSpec, load_suite

__all__ = [
    "ASSERTIONS",
    "AssertionSpec",
    "CachedAnswers",
    "Comparison",
    "LiveAnswers",
    "RESULTS_VERSION",
    "ReplayAnswers",
    "RunReport",
    "SUITES_DIR",
    "SuiteSpec",
    "TestSpec",
    "compare_reports",
    "load_report",
    "load_suite",
    "request_hash",
    "run_suites",
    "save_report",
]
