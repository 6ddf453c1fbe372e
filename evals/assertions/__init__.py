"""Assertion types for eval suites, registered by name in ``ASSERTIONS``."""

from evals.assertions import (  # noqa: F401  (importing a module registers its types)
    brand_checks,
    budget_checks,
    copy_checks,
    plan_checks,
    revision_checks,
    rubric,
)
from evals.assertions.base import ASSERTIONS, AssertionType, Grader, Outcome, Scope, assertion, evaluate, skip
from evals.assertions.copy_checks import reading_grade_of, render_text
from evals.assertions.plan_checks import plan_fields

__all__ = [
    "ASSERTIONS",
    "AssertionType",
    "Grader",
    "Outcome",
    "Scope",
    "assertion",
    "evaluate",
    "skip",
    "plan_fields",
    "render_text",
    "reading_grade_of",
]
