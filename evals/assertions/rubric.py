"""The model-graded rubric assertion. The grader's prompt is prompts/ file ``eval_rubric``."""

from __future__ import annotations

from evals.assertions.base import Outcome, Scope, assertion, skip
from evals.spec import AssertionSpec


@assertion("llm_rubric", needs=("value",), default_threshold=0.5)
async def llm_rubric(spec: AssertionSpec, scope: Scope) -> Outcome:
    """A grading model scores the answer against the rubric in ``value`` (0..1; passes at 0.5)."""
    if scope.grader is None:
        return skip("no grading model configured (set OPENAI_API_KEY or OPENAI_BASE_URL); rubric not graded")
    graded = await scope.grader.grade(rubric=str(spec.value), turn=scope.turn, brief=scope.brief)
    if graded.get("skipped"):
        return skip(str(graded.get("reason", "not graded")))
    return Outcome(float(graded["score"]), str(graded.get("reason", "")), grader=graded)
