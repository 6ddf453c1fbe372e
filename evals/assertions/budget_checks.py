"""Budget assertions: latency, tokens and cost. Test-level budgets add up every turn."""

from __future__ import annotations

from evals.assertions.base import Outcome, Scope, assertion
from evals.spec import AssertionSpec


def _turns(scope: Scope):  # type: ignore[no-untyped-def]
    return scope.turns if scope.level == "test" else [scope.turn]


def _budget(spec: AssertionSpec, value: float, unit: str, scope: Scope) -> Outcome:
    what = "conversation" if scope.level == "test" and len(scope.turns) > 1 else "answer"
    assert spec.max is not None
    ok = value <= spec.max and (spec.min is None or value >= spec.min)
    return Outcome(1 if ok else 0, f"{what} took {value:g} {unit} (budget {spec.max:g})")


@assertion("latency_ms", needs=("max",))
def latency_ms(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The planner answered within ``max`` milliseconds (as measured when the answer was made)."""
    return _budget(spec, round(sum(t.answer.latency_ms for t in _turns(scope)), 1), "ms", scope)


@assertion("tokens", needs=("max",))
def tokens(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Prompt plus completion tokens stay within ``max``."""
    return _budget(spec, sum(t.answer.usage.tokens for t in _turns(scope)), "tokens", scope)


@assertion("cost_usd", needs=("max",))
def cost_usd(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The estimated model cost stays within ``max`` USD."""
    return _budget(spec, round(sum(t.answer.usage.cost_usd for t in _turns(scope)), 6), "USD", scope)
