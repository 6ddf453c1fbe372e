"""The labeled set: every guard keeps precision and recall of at least 0.9 on it."""

from __future__ import annotations

import pytest

from evals.guard_scoring import load_guard_cases, run_guard_suite
from evals.spec import load_suite
from guards.registry import registered_guards

MIN = 0.9


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return run_guard_suite(load_suite("guard_cases"))


def test_labeled_set_is_large_with_a_third_hard_negatives() -> None:
    suite = load_suite("guard_cases")
    cases = [c for _, f in load_guard_cases(suite.cases, suite.path.parent, exclude=suite.path) for c in f.cases]
    assert len(cases) >= 300
    assert len({f.brand_name for _, f in load_guard_cases(suite.cases, suite.path.parent, exclude=suite.path)}) >= 5
    hard = sum("hard_negative" in c.tags for c in cases)
    assert 0.3 <= hard / len(cases) <= 0.45
    assert sum("subtle" in c.tags for c in cases) >= 30
    assert {c.guard or f.guard for _, f in load_guard_cases(suite.cases, suite.path.parent, exclude=suite.path)
            for c in f.cases} == {g.name for g in registered_guards()}  # every fast guard has labeled cases


def test_every_guard_keeps_precision_and_recall_of_at_least_0_9(result) -> None:  # type: ignore[no-untyped-def]
    scores = result.guard_scores
    assert set(scores.by_guard) == {g.name for g in registered_guards()}
    for guard, c in scores.by_guard.items():
        assert c.precision is not None and c.precision >= MIN, f"{guard} precision {c.precision}"
        assert c.recall is not None and c.recall >= MIN, f"{guard} recall {c.recall}"


def test_every_guard_keeps_verdict_precision_and_recall_of_at_least_0_9(result) -> None:  # type: ignore[no-untyped-def]
    scores = result.guard_scores
    assert set(scores.verdicts) == {g.name for g in registered_guards()}
    assert scores.below_minimum == [] and result.meets_threshold
    for guard, v in scores.verdicts.items():
        for name, c in (("flagged", v.flagged), ("block", v.block)):
            assert c.precision is not None and c.precision >= MIN, f"{guard} {name} precision {c.precision}"
            assert c.recall is not None and c.recall >= MIN, f"{guard} {name} recall {c.recall}"


def test_no_labeled_case_crashes_a_guard(result) -> None:  # type: ignore[no-untyped-def]
    assert all(t.status != "error" for t in result.tests), [t.id for t in result.tests if t.status == "error"]
    assert not any("GUARD_FAILED" in str(t.guard_case) for t in result.tests)
