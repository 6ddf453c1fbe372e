"""Where a test's planner answers come from: the live planner, a disk cache of model answers,
or the answers stored in an earlier results file (rescore).

Every request is identified by a hash of what the planner sees (brief, history, current
plan, workspace version, "now", audience counts) plus the planner's identity and the
repetition number, so a cached or replayed answer is the answer to exactly that request.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from copilot.errors import CopilotError, EvalError
from copilot.planner.base import Planner, PlanRequest, PlanResult
from evals.results import ErrorInfo, PlannerAnswer, UsageRecord

__all__ = [
    "AnswerSource",
    "LiveAnswers",
    "CachedAnswers",
    "ReplayAnswers",
    "request_hash",
    "answer_from_result",
]


def request_hash(identity: str, request: PlanRequest, *, sample: int = 0) -> str:
    """sha256 over everything that can change the planner's answer to this request."""
    payload = {
        "identity": identity,
        "sample": sample,
        "brief": request.brief,
        "history": [[t.role, t.content] for t in request.history],
        "current_plan": request.current_plan.model_dump(mode="json") if request.current_plan else None,
        "workspace": request.workspace.content_hash,
        "now": request.now.isoformat() if request.now else None,
        "audience": asdict(request.audience),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def answer_from_result(result: PlanResult, latency_ms: float) -> PlannerAnswer:
    usage = result.usage
    return PlannerAnswer(
        planner=result.planner,
        plan=result.plan.model_dump(mode="json") if result.plan is not None else None,
        reply=result.reply,
        questions=list(result.questions),
        notes=list(result.notes),
        usage=UsageRecord(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                          cost_usd=usage.cost_usd, calls=usage.calls),
        prompt_versions=dict(result.prompt_versions),
        latency_ms=round(latency_ms, 3),
    )


class AnswerSource(Protocol):
    """Answers plan requests; ``identity`` names the planner (and model, prompts) behind them."""

    identity: str

    async def answer(self, request: PlanRequest, *, sample: int) -> tuple[str, PlannerAnswer]:
        """(request hash, answer). A product error (e.g. BriefError) is an answer with ``error`` set."""


class LiveAnswers:
    """Calls the planner, timing it. CopilotErrors are answers; anything else is a crash and propagates."""

    def __init__(self, planner: Planner, *, identity: str | None = None) -> None:
        self.planner = planner
        self.identity = identity or planner.name

    async def answer(self, request: PlanRequest, *, sample: int) -> tuple[str, PlannerAnswer]:
        key = request_hash(self.identity, request, sample=sample)
        started = time.perf_counter()
        try:
            result = await self.planner.plan(request)
        except CopilotError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return key, PlannerAnswer(planner=self.planner.name, latency_ms=round(elapsed, 3),
                                      error=ErrorInfo(type=type(exc).__name__, message=exc.message))
        return key, answer_from_result(result, (time.perf_counter() - started) * 1000)


class CachedAnswers:
    """A disk cache in front of another source: one JSON file per request hash.

    Only answers without an error are kept, so a timeout or a 503 is retried next run.
    """

    def __init__(self, inner: AnswerSource, folder: Path) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.folder = folder
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    async def answer(self, request: PlanRequest, *, sample: int) -> tuple[str, PlannerAnswer]:
        key = request_hash(self.identity, request, sample=sample)
        path = self._path(key)
        if path.exists():
            try:
                cached = PlannerAnswer.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError:
                cached = None  # a damaged cache entry is a miss, not a failure
            if cached is not None:
                self.hits += 1
                return key, cached.model_copy(update={"cached": True})
        self.misses += 1
        key, answer = await self.inner.answer(request, sample=sample)
        if answer.error is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(answer.model_dump_json(), encoding="utf-8")
            tmp.replace(path)
        return key, answer


class ReplayAnswers:
    """Answers stored in a results file, by request hash. A miss goes to ``fallback`` or is an error."""

    def __init__(self, answers: dict[str, PlannerAnswer], *, identity: str,
                 fallback: AnswerSource | None = None) -> None:
        self.answers = answers
        self.identity = identity
        self.fallback = fallback
        self.replayed = 0

    async def answer(self, request: PlanRequest, *, sample: int) -> tuple[str, PlannerAnswer]:
        key = request_hash(self.identity, request, sample=sample)
        if key in self.answers:
            self.replayed += 1
            return key, self.answers[key]
        if self.fallback is not None:
            return await self.fallback.answer(request, sample=sample)
        raise EvalError(f"no stored answer for this request (brief {request.brief[:60]!r}): the suite's inputs "
                        "or the workspace changed since the run (compare run.workspace_hashes); run it again "
                        "instead of rescoring", path=key)
