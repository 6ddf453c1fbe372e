"""Re-score a results file without calling any model: planner answers and rubric grades are
replayed from the file by request hash; validation, guards, renders and assertions run again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.answers import AnswerSource, ReplayAnswers
from evals.assertions import Grader
from evals.results import PlannerAnswer, RunReport
from evals.runner import run_suites
from evals.spec import SuiteSpec, load_suite

__all__ = ["rescore", "ReplayGrader", "suites_of"]


class ReplayGrader:
    """Rubric grades stored in a results file, by the grader's request hash."""

    def __init__(self, grades: dict[str, dict[str, Any]], name: str | None) -> None:
        self.grades = grades
        self.name = name or "replay"

    async def grade(self, *, rubric: str, turn: Any, brief: str) -> dict[str, Any]:
        from evals.grader import grader_request_hash

        key = grader_request_hash(self.name, rubric=rubric, turn=turn, brief=brief)
        if key in self.grades:
            return self.grades[key]
        return {"skipped": True, "reason": "not graded: no stored grade for this answer and rubric (rescore calls no model)"}


def suites_of(report: RunReport, *, stored: bool = False) -> list[SuiteSpec]:
    """The suites as they are now on disk (so edited assertions apply), or as stored in the results."""
    out = []
    for suite in report.suites:
        path = Path(suite.path) if suite.path else None
        if not stored and path is not None and path.exists():
            out.append(load_suite(path))
        else:
            spec = SuiteSpec.model_validate(suite.definition)
            out.append(spec.model_copy(update={"path": path}))
    return out


async def rescore(report: RunReport, *, source_path: str | None = None, stored_suites: bool = False,
                  fallback: AnswerSource | None = None, concurrency: int = 4) -> RunReport:
    answers: dict[str, PlannerAnswer] = {}
    grades: dict[str, dict[str, Any]] = {}
    for test in report.tests():
        for turn in test.turns:
            answers[turn.request_hash] = turn.answer
            for a in turn.assertions:
                if a.grader and a.grader.get("request_hash"):
                    grades[a.grader["request_hash"]] = a.grader
    source = ReplayAnswers(answers, identity=report.run.planner_identity, fallback=fallback)
    grader: Grader | None = ReplayGrader(grades, report.run.grader) if report.run.grader else None
    return await run_suites(suites_of(report, stored=stored_suites), source=source, provider=report.run.provider,
                            model=report.run.model, repeat=report.run.repeat, concurrency=concurrency,
                            grader=grader, rescored_from=source_path or report.run.id)
