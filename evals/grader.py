"""The rubric grader: a model scores an answer against a rubric, with the prompt from prompts/.

Grades are cached by a hash of the grading request, like planner answers, and stored in
the results so ``rescore`` never calls the model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from copilot.errors import EvalError
from copilot.settings import Settings
from evals.results import TurnResult

__all__ = ["grader_request_hash", "make_grader", "grader_inputs", "ModelGrader", "GradeAnswer", "GRADER_PROMPT"]

GRADER_PROMPT = "eval_rubric"


class GradeAnswer(BaseModel):
    """The grader's structured answer (reason first, so the score follows from it)."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    score: float = Field(ge=0, le=1)
    passed: bool


def grader_inputs(turn: TurnResult, brief: str) -> dict[str, Any]:
    """What the grader sees of an answer: the plan, one render per variant, questions, notes."""
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in turn.renders:
        seen.setdefault((r.segment, r.message, r.variant), {
            "segment": r.segment, "variant": r.variant, "subject": r.subject, "preheader": r.preheader,
            "body": r.text, "cta": f"{r.cta_text} -> {r.cta_url}"})
    return {
        "brief": brief,
        "plan": turn.answer.plan,
        "emails": list(seen.values()),
        "questions": list(turn.answer.questions),
        "notes": list(turn.answer.notes),
    }


def grader_request_hash(identity: str, *, rubric: str, turn: TurnResult, brief: str) -> str:
    blob = json.dumps({"identity": identity, "rubric": rubric, "inputs": grader_inputs(turn, brief)},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ModelGrader:
    """Grades with the configured OpenAI-compatible model through the LLM planner's client
    (same endpoint, key, timeouts and retries), strict JSON output, temperature 0."""

    def __init__(self, settings: Settings, *, cache_dir: Path | None = None) -> None:
        from copilot.prompts import load_prompt

        self.settings = settings
        self.prompt = load_prompt(GRADER_PROMPT)
        self.name = f"grader:{settings.model}|{settings.openai_base_url or 'default'}|{self.prompt.ref}"
        self.cache_dir = cache_dir

    async def grade(self, *, rubric: str, turn: TurnResult, brief: str) -> dict[str, Any]:
        from copilot.planner.answers import AnswerProblem, parse_answer, response_format
        from copilot.planner.llm import LLMPlanner
        from copilot.tokens import estimate_cost

        key = grader_request_hash(self.name, rubric=rubric, turn=turn, brief=brief)
        cached = self._cached(key)
        if cached is not None:
            return cached
        text = self.prompt.render(rubric=rubric, **grader_inputs(turn, brief))
        client = LLMPlanner.shared(self.settings).client()
        try:
            completion = await client.chat.completions.create(
                model=self.settings.model, messages=[{"role": "user", "content": text}],
                response_format=response_format(GradeAnswer), temperature=0)
            content = completion.choices[0].message.content if completion.choices else None
            answer = parse_answer(GradeAnswer, content)
        except AnswerProblem as exc:
            raise EvalError(f"the grading model's answer was unusable: {exc}", path="llm_rubric") from exc
        except Exception as exc:  # noqa: BLE001 - any API failure means the grade is missing: the run broke
            raise EvalError(f"the grading model failed: {type(exc).__name__}: {exc}", path="llm_rubric") from exc
        usage = completion.usage
        prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        completion_tokens = getattr(usage, "completion_tokens", 0) or 0
        graded = {
            "score": answer.score, "pass": answer.passed, "reason": answer.reason, "request_hash": key,
            "model": self.settings.model, "prompt": GRADER_PROMPT, "prompt_version": self.prompt.ref,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "cost_usd": estimate_cost(prompt_tokens, completion_tokens,
                                                prompt_per_mtok=self.settings.price_prompt_per_mtok,
                                                completion_per_mtok=self.settings.price_completion_per_mtok)},
        }
        self._store(key, graded)
        return graded

    def _path(self, key: str) -> Path | None:
        return self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir is not None else None

    def _cached(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if path is None or not path.exists():
            return None
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            return None

    def _store(self, key: str, graded: dict[str, Any]) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(graded), encoding="utf-8")
        tmp.replace(path)


def make_grader(settings: Settings, *, model: str | None = None, cache: bool = True) -> ModelGrader | None:
    """A model grader when a model is configured; None otherwise (rubric assertions are then skipped)."""
    if not settings.llm_configured:
        return None
    from evals.providers import cache_dir

    settings = settings.replace(model=model) if model else settings
    return ModelGrader(settings, cache_dir=cache_dir(settings) / "grades" if cache else None)
