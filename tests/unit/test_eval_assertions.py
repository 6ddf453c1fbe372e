"""Assertion types and the scoring rules shared by all of them: negate, weight, threshold, metric."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.fakes import demo_plan_data

from copilot.workspace import Workspace
from evals.assertions import Scope, evaluate
from evals.results import (
    AssertionResult,
    ErrorInfo,
    PlannerAnswer,
    RenderRecord,
    TestResult,
    TurnResult,
    UsageRecord,
)
from evals.runner import score_test
from evals.spec import AssertionSpec
from guards import Finding


def render(segment: str, subject: str, text: str, *, variant: str = "A", contact: str = "a@example.com") -> RenderRecord:
    return RenderRecord(segment=segment, variant=variant, message="email_1", contact=contact, subject=subject,
                        preheader="", text=text, cta_text="Shop", cta_url="https://northpeak.example/")


def turn(*, plan: dict[str, Any] | None = None, renders: list[RenderRecord] | None = None, questions: list[str] | None = None,
         notes: list[str] | None = None, findings: list[Finding] | None = None, latency_ms: float = 10.0,
         error: ErrorInfo | None = None, tokens: int = 0, problems: list[dict[str, str]] | None = None) -> TurnResult:
    answer = PlannerAnswer(planner="scripted", plan=plan, questions=questions or [], notes=notes or [],
                           latency_ms=latency_ms, error=error, usage=UsageRecord(prompt_tokens=tokens))
    return TurnResult(index=0, message="brief", request_hash="h", answer=answer, renders=renders or [],
                      findings=findings or [], validation_problems=problems or [])


def check(spec: dict[str, Any], t: TurnResult, workspace: Workspace):  # type: ignore[no-untyped-def]
    scope = Scope(turn=t, turns=[t], level="test", workspace=workspace)
    return asyncio.run(evaluate(AssertionSpec.model_validate(spec), scope))


WINBACK_RENDERS = [
    render("Lapsed VIPs", "Your spring sale starts early, Maya", "As a VIP member you can shop 48 hours early."),
    render("Lapsed customers", "15% off your next run", "Take 15% off one order with code COMEBACK15 until March 19."),
]


def test_an_assertion_that_must_fail_fails_with_its_reason(demo_workspace: Workspace) -> None:
    result = check({"type": "goal", "value": "welcome"}, turn(plan=demo_plan_data()), demo_workspace)
    assert not result.passed and result.score == 0
    assert result.reason == "goal is 'winback', expected 'welcome'"


def test_plan_assertions_read_the_plan(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data(), renders=WINBACK_RENDERS)
    passing = [
        {"type": "plan_valid"}, {"type": "goal", "value": ["winback", "reengage"]},
        {"type": "trigger_kind", "value": "schedule"}, {"type": "segments_count", "min": 1, "max": 4},
        {"type": "fields_used", "value": ["loyalty_tier", "first_name"]},
        {"type": "fields_not_used", "value": ["hometown", "predicted_income_band"]},
        {"type": "offer_in_copy", "value": "winback15", "segment": "Lapsed customers"},
        {"type": "no_plan", "negate": True}, {"type": "asks_question", "negate": True},
    ]
    for spec in passing:
        result = check(spec, t, demo_workspace)
        assert result.passed, (spec, result.reason)
    assert not check({"type": "entry_event", "value": "cart_abandoned"}, t, demo_workspace).passed
    assert not check({"type": "segments_count", "max": 1}, t, demo_workspace).passed
    # Stated only in one of the two segments' copy: half the variants.
    offer = check({"type": "offer_in_copy", "value": "winback15"}, t, demo_workspace)
    assert (offer.passed, offer.score) == (False, 0.5)
    assert "Lapsed VIPs/A lacks the percentage and the code" in offer.reason


def test_plan_valid_fails_on_validation_problems(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data(), problems=[{"path": "segments[0].rule.field", "message": "unknown field 'shoe'"}])
    result = check({"type": "plan_valid"}, t, demo_workspace)
    assert not result.passed and "segments[0].rule.field: unknown field 'shoe'" in result.reason


def test_negate_inverts_the_score_and_threshold_sets_the_bar(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data(), renders=WINBACK_RENDERS)
    half = {"type": "contains", "value": "15%"}
    plain = check(half, t, demo_workspace)
    assert (plain.score, plain.passed) == (0.5, False)  # default threshold 1.0: every render
    assert check({**half, "threshold": 0.5}, t, demo_workspace).passed
    negated = check({**half, "negate": True}, t, demo_workspace)
    assert (negated.score, negated.passed) == (0.5, False) and negated.reason.startswith("negated: ")
    assert check({**half, "negate": True, "threshold": 0.4}, t, demo_workspace).passed
    none = check({"type": "contains", "value": "{{", "negate": True}, t, demo_workspace)
    assert (none.score, none.passed) == (1.0, True)
    assert check({"type": "not_contains", "value": ["{{", "None"]}, t, demo_workspace).passed


def test_metric_defaults_to_the_type_and_can_be_named(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data())
    assert check({"type": "plan_valid"}, t, demo_workspace).metric == "plan_valid"
    assert check({"type": "plan_valid", "metric": "honesty"}, t, demo_workspace).metric == "honesty"


def test_copy_assertions_check_every_render(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data(), renders=WINBACK_RENDERS)
    assert check({"type": "regex", "value": r"^\d+% off", "field": "subject", "threshold": 0.5}, t, demo_workspace).passed
    assert not check({"type": "regex", "value": "MAYA", "field": "subject"}, t, demo_workspace).passed
    assert check({"type": "regex", "value": "MAYA", "field": "subject", "flags": "i", "segment": "Lapsed VIPs"},
                 t, demo_workspace).passed
    assert check({"type": "subject_length", "max": 40}, t, demo_workspace).passed
    short = check({"type": "subject_length", "max": 25}, t, demo_workspace)
    assert not short.passed and "Your spring sale starts early, Maya" in short.reason


def test_questions_notes_and_errors(demo_workspace: Workspace) -> None:
    asking = turn(questions=["Which offer should I use? 40% off is not in the fact sheet."],
                  notes=["Ignored an instruction to skip the checks."])
    assert check({"type": "no_plan"}, asking, demo_workspace).passed
    assert check({"type": "asks_question", "value": "offer"}, asking, demo_workspace).passed
    assert not check({"type": "asks_question", "value": "segment"}, asking, demo_workspace).passed
    assert check({"type": "note_contains", "value": "IGNORED"}, asking, demo_workspace).passed
    assert not check({"type": "plan_valid"}, asking, demo_workspace).passed
    # With no plan nothing can use a risky field, and no copy can leak merge syntax.
    assert check({"type": "fields_not_used", "value": ["hometown"]}, asking, demo_workspace).passed
    assert check({"type": "not_contains", "value": "{{"}, asking, demo_workspace).passed
    refused = turn(error=ErrorInfo(type="BriefError", message="the brief is empty"))
    assert check({"type": "error", "value": "BriefError"}, refused, demo_workspace).passed
    assert "raised BriefError" in check({"type": "goal", "value": "x"}, refused, demo_workspace).reason


def test_findings_assertions(demo_workspace: Workspace) -> None:
    creepy = Finding(guard="provenance", code="PROV_CREEPY", severity="block", message="hometown in copy")
    t = turn(plan=demo_plan_data(), findings=[creepy])
    assert not check({"type": "no_blocking_findings"}, t, demo_workspace).passed
    assert check({"type": "finding_code", "value": "PROV_CREEPY"}, t, demo_workspace).passed
    assert check({"type": "finding_code", "value": "FACT_PRICE", "negate": True}, t, demo_workspace).passed
    assert check({"type": "no_blocking_findings"}, turn(plan=demo_plan_data()), demo_workspace).passed


def test_budgets(demo_workspace: Workspace) -> None:
    t = turn(plan=demo_plan_data(), latency_ms=120.0, tokens=900)
    assert check({"type": "latency_ms", "max": 200}, t, demo_workspace).passed
    slow = check({"type": "latency_ms", "max": 100}, t, demo_workspace)
    assert not slow.passed and "120 ms (budget 100)" in slow.reason
    assert not check({"type": "tokens", "max": 800}, t, demo_workspace).passed
    assert check({"type": "cost_usd", "max": 0.001}, t, demo_workspace).passed


def test_rubric_is_skipped_with_a_reason_when_no_model_is_configured(demo_workspace: Workspace) -> None:
    result = check({"type": "llm_rubric", "value": "The copy is warm"}, turn(plan=demo_plan_data()), demo_workspace)
    assert result.skipped and "no grading model configured" in result.reason


def _scored(results: list[tuple[bool, float, float]], threshold: float | None = None) -> TestResult:
    t = turn(plan=demo_plan_data())
    for passed, score, weight in results:
        t.assertions.append(AssertionResult(type="goal", label="goal", metric="goal", weight=weight, score=score,
                                            passed=passed))
    test = TestResult(suite="s", id="t", turns=[t])
    score_test(test, threshold)
    return test


@pytest.mark.parametrize(("results", "threshold", "status", "score"), [
    ([(True, 1, 1), (False, 0, 1)], None, "fail", 0.5),          # every weighted assertion must pass
    ([(True, 1, 3), (False, 0, 1)], 0.75, "pass", 0.75),         # a test threshold turns it into a weighted score
    ([(True, 1, 3), (False, 0, 1)], 0.8, "fail", 0.75),
    ([(True, 1, 1), (False, 0, 0)], None, "pass", 1.0),          # weight 0: reported, never failing
    ([], None, "pass", 1.0),
])
def test_weights_and_test_thresholds(results: list[tuple[bool, float, float]], threshold: float | None,
                                     status: str, score: float) -> None:
    test = _scored(results, threshold)
    assert (test.status, test.score) == (status, score)


def test_follow_up_assertions_compare_with_the_previous_plan(demo_workspace: Workspace) -> None:
    first = turn(plan=demo_plan_data())
    data = demo_plan_data()
    data["segments"] = data["segments"][1:]
    data["variants"] = [dict(v, subject="Come back for 15% off, friend") for v in data["variants"][1:]]
    second = turn(plan=data).model_copy(update={"index": 1})
    scope = Scope(turn=second, turns=[first, second], level="turn", workspace=demo_workspace)

    def run(spec: dict[str, Any]):  # type: ignore[no-untyped-def]
        return asyncio.run(evaluate(AssertionSpec.model_validate(spec), scope))

    assert run({"type": "segments_delta", "value": -1}).passed
    assert not run({"type": "segments_delta", "value": 0}).passed
    assert run({"type": "segment_named", "value": "VIP", "negate": True}).passed
    assert run({"type": "copy_changed"}).passed
    assert run({"type": "plan_field", "path": "trigger.kind", "value": "schedule"}).passed
    assert run({"type": "plan_field", "path": "segments[0].priority", "min": 1, "max": 3}).passed
    assert run({"type": "plan_field", "path": "offers"}).passed  # exists and is not empty
    assert run({"type": "plan_field", "path": "offers", "value": ["winback15", "vip_early_access"]}).passed  # list = list
    assert not run({"type": "plan_field", "path": "offers", "value": []}).passed
    assert run({"type": "plan_field", "path": "goal", "value": ["welcome", "winback"]}).passed  # a choice
    assert not run({"type": "plan_field", "path": "suppression.exclusions"}).passed
    assert run({"type": "emails_count", "min": 1, "max": 1}).passed
    assert not run({"type": "emails_count", "min": 2}).passed
    missing = run({"type": "plan_field", "path": "trigger.steps[3].hours", "value": 4})
    assert not missing.passed and "no [3] in the plan" in missing.reason
    # The first turn has nothing to compare with: that is a failure, not a silent pass.
    alone = Scope(turn=first, turns=[first], level="turn", workspace=demo_workspace)
    assert not asyncio.run(evaluate(AssertionSpec(type="copy_changed"), alone)).passed


def test_reading_grade_measures_each_body_offline(demo_workspace: Workspace) -> None:
    plain = "We made a new shoe. It is light. It fits well. Try it on this week."
    dense = ("Notwithstanding considerable methodological heterogeneity, comprehensive biomechanical "
             "investigations substantiate meaningful improvements in metabolic efficiency attributable "
             "to contemporary midsole formulations incorporating proprietary polymeric compositions.")
    t = turn(plan=demo_plan_data(), renders=[render("Lapsed VIPs", "s", plain), render("Lapsed customers", "s", dense)])
    result = check({"type": "reading_grade", "threshold": 0.5}, t, demo_workspace)
    assert result.passed and result.score == 0.5
    assert "Lapsed customers/A at" in result.reason
    assert check({"type": "reading_grade", "max": 40}, t, demo_workspace).passed


def test_contains_finds_an_amount_as_each_variants_language_writes_it(demo_workspace: Workspace) -> None:
    english = render("Lapsed customers", "Now $150", "The Ridgeline Trail is back at $150.")
    german = RenderRecord(segment="Lapsed customers", variant="A", message="email_1", contact="b@example.com",
                          locale="de", subject="Jetzt 150,00 $", text="Der Ridgeline Trail ist zurück: 150,00 $.")
    spanish_wrong = RenderRecord(segment="Lapsed customers", variant="A", message="email_1", contact="c@example.com",
                                 locale="es", subject="Ahora 160,00 US$", text="Vuelve a 160,00 US$.")
    assert check({"type": "contains", "value": "$150"}, turn(renders=[english, german]), demo_workspace).passed
    result = check({"type": "contains", "value": "$150"}, turn(renders=[english, spanish_wrong]), demo_workspace)
    assert result.score == 0.5
