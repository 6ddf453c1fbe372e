"""The assertion registry: each type is a named check of (spec, scope) -> score and reason.

Adding an assertion type means writing one function decorated with ``@assertion(...)``
in a module of this package. Scores are 0..1; ``evaluate`` applies negate, threshold,
weight and metric the same way for every type.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from copilot.workspace import Workspace
from evals.results import AssertionResult, TurnResult
from evals.spec import AssertionSpec

__all__ = ["Scope", "Outcome", "AssertionType", "ASSERTIONS", "assertion", "evaluate", "Grader", "skip"]


class Grader(Protocol):
    """A model that grades an answer against a rubric (see evals.assertions.rubric)."""

    name: str

    async def grade(self, *, rubric: str, turn: TurnResult, brief: str) -> dict[str, Any]:
        """Returns {"score": 0..1, "pass": bool, "reason": str, "usage": {...}, "request_hash": str, ...}
        or {"skipped": True, "reason": str}."""


@dataclass(frozen=True)
class Scope:
    """What an assertion sees: the turn it is attached to and every turn up to it.

    ``level`` is "test" for a test's own assertions (checked on the final turn; budgets
    add up every turn) and "turn" for assertions attached to one conversation turn.
    """

    turn: TurnResult
    turns: list[TurnResult]
    level: Literal["turn", "test"]
    workspace: Workspace
    grader: Grader | None = None
    brief: str = ""


@dataclass(frozen=True)
class Outcome:
    score: float
    reason: str
    skipped: bool = False
    grader: dict[str, Any] | None = None


def skip(reason: str) -> Outcome:
    return Outcome(score=0.0, reason=reason, skipped=True)


Check = Callable[[AssertionSpec, Scope], "Outcome | Awaitable[Outcome]"]


@dataclass(frozen=True)
class AssertionType:
    name: str
    check: Check
    needs: tuple[str, ...] = ()  # "value", "max", "path", "range" (min or max)
    default_threshold: float = 1.0
    doc: str = field(default="")
    validate: Callable[[AssertionSpec], str | None] | None = None  # the type's own check of its value


    def check_spec(self, spec: AssertionSpec) -> str | None:
        """A problem with the spec's parameters, or None."""
        if "value" in self.needs and spec.value in (None, "", []):
            return "needs 'value'"
        if "path" in self.needs and not spec.path:
            return "needs 'path', e.g. trigger.steps[0].hours"
        if "max" in self.needs and spec.max is None:
            return "needs 'max'"
        if "range" in self.needs and spec.min is None and spec.max is None:
            return "needs 'min' and/or 'max'"
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            return f"min {spec.min} is above max {spec.max}"
        return self.validate(spec) if self.validate is not None else None


ASSERTIONS: dict[str, AssertionType] = {}


def assertion(name: str, *, needs: tuple[str, ...] = (), default_threshold: float = 1.0,
              validate: Callable[[AssertionSpec], str | None] | None = None) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        first_paragraph = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
        ASSERTIONS[name] = AssertionType(name=name, check=fn, needs=needs, default_threshold=default_threshold,
                                         doc=first_paragraph, validate=validate)
        return fn

    return register


async def evaluate(spec: AssertionSpec, scope: Scope) -> AssertionResult:
    """Run one assertion and apply negate / threshold; never raises for a bad answer."""
    kind = ASSERTIONS[spec.type]
    threshold = spec.threshold if spec.threshold is not None else kind.default_threshold
    outcome = kind.check(spec, scope)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    assert isinstance(outcome, Outcome)
    common = dict(type=spec.type, label=spec.label, metric=spec.metric or spec.type, negate=spec.negate,
                  weight=spec.weight, threshold=threshold, turn=scope.turn.index, grader=outcome.grader)
    if outcome.skipped:
        return AssertionResult(**common, score=0.0, passed=True, skipped=True, reason=outcome.reason)
    score = min(1.0, max(0.0, float(outcome.score)))
    reason = outcome.reason
    if spec.negate:
        score = 1.0 - score
        reason = f"negated: {reason}"
    # A tiny tolerance so 2/3 against a 0.6667 threshold is not lost to float rounding.
    return AssertionResult(**common, score=round(score, 6), passed=score + 1e-9 >= threshold, reason=reason)
