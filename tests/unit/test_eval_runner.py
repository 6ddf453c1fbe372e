"""The eval runner itself: scoring, exit codes, conversations, repeats, caching, rescore and compare.

The planner is a scripted stand-in (answers chosen by the brief); validation, guards,
rendering, scoring and the reports are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.fakes import demo_plan, demo_plan_data

from copilot.errors import BriefError
from copilot.plan import Plan
from copilot.planner.base import Planner, PlanRequest, PlanResult, TokenCallback, Usage
from evals.answers import CachedAnswers, LiveAnswers
from evals.compare import compare_reports
from evals.rescore import rescore
from evals.results import RunReport, load_report, save_report
from evals.runner import run_suites
from evals.spec import load_suite


class BriefPlanner(Planner):
    """Answers by a function of the request (so concurrency cannot reorder answers); counts calls."""

    name = "brief-scripted"

    def __init__(self, answer: Callable[[PlanRequest], PlanResult], *, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.requests: list[PlanRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def plan(self, request: PlanRequest, *, on_token: TokenCallback | None = None) -> PlanResult:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.answer(request)
        finally:
            self.in_flight -= 1


class MustNotBeCalled(Planner):
    name = "brief-scripted"

    def __init__(self) -> None:
        self.calls = 0

    async def plan(self, request: PlanRequest, *, on_token: TokenCallback | None = None) -> PlanResult:
        self.calls += 1
        raise AssertionError(f"the planner was called for {request.brief!r}")


def without_vip() -> Plan:
    data = demo_plan_data()
    data["segments"] = data["segments"][1:]
    data["variants"] = data["variants"][1:]
    data["offers"] = ["winback15"]
    return Plan.model_validate(data)


def result(plan: Plan | None, *, reply: str = "Here is a winback plan with two segments.",
           questions: list[str] | None = None, prompt_tokens: int = 0, completion_tokens: int = 0) -> PlanResult:
    """The product's own result type, filled in as a planner would."""
    return PlanResult(plan=plan, planner="scripted", reply=reply, questions=list(questions or []),
                      usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, calls=1))


def good_answers(request: PlanRequest) -> PlanResult:
    brief = request.brief.lower()
    if not brief.strip():
        raise BriefError("the brief is empty")
    if "drop the vip" in brief:
        return result(without_vip(), reply="Dropped the VIP segment.")
    if "which offer" in brief:
        return result(None, questions=["Which offer do you mean? 40% off is not in the fact sheet."])
    return result(demo_plan(), prompt_tokens=120, completion_tokens=30)


def worse_answers(request: PlanRequest) -> PlanResult:
    """A regression: the winback plan no longer states the offer."""
    result = good_answers(request)
    if result.plan is not None and "drop" not in request.brief.lower():
        data = result.plan.model_dump(mode="json")
        for v in data["variants"]:
            v["body"] = v["body"].replace("15% off", "a treat").replace(" with code COMEBACK15", "")
            v["subject"] = v["subject"].replace("15% off", "Something")
        result.plan = Plan.model_validate(data)
    return result


SUITE = """
suite: runner_check
threshold: {threshold}
defaults:
  assert:
    - type: plan_valid
tests:
  - id: winback
    brief: win back lapsed runners with 15% off
    assert:
      - {{type: goal, value: winback}}
      - {{type: offer_in_copy, value: winback15, segment: Lapsed customers, metric: honesty}}
      - {{type: not_contains, value: ["{{{{", "None", "Hi ,"]}}
      - {{type: segments_count, min: 1, max: 4}}
      - {{type: tokens, max: 1000}}
  - id: ask-about-offer
    brief: which offer - 40% off everything
    default_assert: false
    assert:
      - {{type: asks_question, value: offer}}
      - {{type: no_plan}}
  - id: refine
    every_turn: [{{type: plan_valid}}]
    conversation:
      - win back lapsed runners
      - message: drop the VIP segment
        assert: [{{type: segments_delta, value: -1}}, {{type: segment_named, value: VIP, negate: true}}]
{extra}
"""

MUST_FAIL = """
  - id: must-fail
    brief: win back lapsed runners with 15% off
    assert:
      - {type: goal, value: welcome}
"""


def suite_file(tmp_path: Path, *, threshold: float = 1.0, extra: str = "") -> Path:
    path = tmp_path / "runner_check.yaml"
    path.write_text(SUITE.format(threshold=threshold, extra=extra), encoding="utf-8")
    return path


def run(path: Path, planner: Planner, **kwargs: Any) -> RunReport:
    return asyncio.run(run_suites([load_suite(path)], source=LiveAnswers(planner), provider="scripted", **kwargs))


def test_a_passing_suite_meets_its_threshold_and_exits_0(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path), BriefPlanner(good_answers))
    suite = report.suites[0]
    assert [(t.id, t.status) for t in suite.tests] == [("winback", "pass"), ("ask-about-offer", "pass"),
                                                       ("refine", "pass")]
    assert (suite.pass_rate, suite.meets_threshold, report.exit_code()) == (1.0, True, 0)
    assert suite.metrics["honesty"].score == 1.0 and "plan_valid" in suite.metrics


def test_an_assertion_that_must_fail_fails_and_the_run_exits_1(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path, extra=MUST_FAIL), BriefPlanner(good_answers))
    failed = [t for t in report.tests() if t.status == "fail"]
    assert [t.id for t in failed] == ["must-fail"]
    goal = next(a for a in failed[0].assertions if a.type == "goal")
    assert not goal.passed and goal.reason == "goal is 'winback', expected 'welcome'"
    assert report.suites[0].pass_rate == 0.75 and report.exit_code() == 1


def test_a_lower_threshold_accepts_the_same_failures(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path, threshold=0.75, extra=MUST_FAIL), BriefPlanner(good_answers))
    assert report.suites[0].meets_threshold and report.exit_code() == 0


def test_a_crash_inside_a_test_marks_the_run_broken_with_exit_2(tmp_path: Path) -> None:
    def crashing(request: PlanRequest) -> PlanResult:
        if "drop the vip" in request.brief.lower():
            raise RuntimeError("planner bug")
        return good_answers(request)

    report = run(suite_file(tmp_path), BriefPlanner(crashing))
    refine = next(t for t in report.tests() if t.id == "refine")
    assert refine.status == "error" and refine.error is not None
    assert "RuntimeError" == refine.error.type and "planner bug" in refine.error.message
    assert [t.status for t in report.tests() if t.id != "refine"] == ["pass", "pass"]  # the others still ran
    assert report.exit_code() == 2


def test_a_product_error_is_an_answer_the_suite_can_expect(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("suite: empty\ntests:\n  - id: blank\n    brief: '   '\n"
                    "    assert: [{type: error, value: BriefError}, {type: no_plan}]\n", encoding="utf-8")
    report = run(path, BriefPlanner(good_answers))
    test = report.tests()[0]
    assert test.status == "pass" and test.turns[0].answer.error is not None
    assert report.exit_code() == 0


def test_each_turn_revises_the_latest_plan_with_the_history(tmp_path: Path) -> None:
    planner = BriefPlanner(good_answers)
    report = run(suite_file(tmp_path), planner)
    refine = next(t for t in report.tests() if t.id == "refine")
    # every_turn checks each answer; the suite's default assertions check the final one.
    assert [(a.type, a.turn) for a in refine.assertions] == [
        ("plan_valid", 0), ("plan_valid", 1), ("segments_delta", 1), ("segment_named", 1), ("plan_valid", 1)]
    follow_up = next(r for r in planner.requests if r.brief == "drop the VIP segment")
    assert follow_up.current_plan is not None and len(follow_up.current_plan.segments) == 2
    assert [t.role for t in follow_up.history] == ["user", "assistant"]
    assert follow_up.history[0].content == "win back lapsed runners"
    assert follow_up.now is not None and follow_up.now.tzinfo is not None


def test_repeats_run_every_test_n_times_within_the_concurrency_bound(tmp_path: Path) -> None:
    planner = BriefPlanner(good_answers, delay=0.01)
    report = run(suite_file(tmp_path), planner, repeat=3, concurrency=2)
    assert sorted((t.id, t.repeat) for t in report.tests() if t.id == "winback") == [
        ("winback", 0), ("winback", 1), ("winback", 2)]
    assert report.suites[0].total == 9 and len(planner.requests) == 12  # the conversation has two turns
    assert planner.max_in_flight == 2


def test_the_report_records_answers_findings_renders_and_run_metadata(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path), BriefPlanner(good_answers))
    out = tmp_path / "results.json"
    save_report(report, out)
    loaded = load_report(out)
    assert loaded.model_dump(mode="json") == report.model_dump(mode="json")
    winback = loaded.tests()[0]
    turn = winback.turns[0]
    assert turn.answer.plan is not None and turn.answer.usage.prompt_tokens == 120
    assert turn.renders and {r.contact for r in turn.renders} >= {"maya.runner@example.com", "j.doe@example.com"}
    assert all("{{" not in r.text for r in turn.renders)
    assert isinstance(turn.findings, list) and len(turn.request_hash) == 64
    assert winback.inputs["brief"] == "win back lapsed runners with 15% off"
    run_info = loaded.run
    assert run_info.provider == "scripted" and run_info.planner == "scripted"
    assert run_info.workspace_hashes and run_info.git_sha and run_info.finished_at is not None


def test_rescore_gives_the_same_scores_without_calling_the_planner(tmp_path: Path) -> None:
    path = suite_file(tmp_path, extra=MUST_FAIL)
    original = run(path, BriefPlanner(good_answers), repeat=2)
    save_report(original, tmp_path / "results.json")
    stored = load_report(tmp_path / "results.json")
    planner = MustNotBeCalled()
    rescored = asyncio.run(rescore(stored, fallback=LiveAnswers(planner)))
    assert planner.calls == 0

    def scores(report: RunReport) -> list[tuple[Any, ...]]:
        return [(t.id, t.repeat, t.status, t.score, [(a.label, a.passed, a.score, a.reason) for a in t.assertions])
                for t in report.tests()]

    assert scores(rescored) == scores(original)
    assert rescored.exit_code() == original.exit_code() == 1
    assert rescored.run.rescored_from is not None


def test_rescore_applies_edited_assertions_and_refuses_changed_inputs(tmp_path: Path) -> None:
    path = suite_file(tmp_path, extra=MUST_FAIL)
    original = run(path, BriefPlanner(good_answers))
    path.write_text(path.read_text().replace("{type: goal, value: welcome}", "{type: goal, value: winback}"))
    fixed = asyncio.run(rescore(original))
    assert fixed.exit_code() == 0
    # A changed brief is a request the results hold no answer for: an error, not a model call.
    path.write_text(path.read_text().replace("which offer - 40% off everything", "a brand new brief"))
    changed = asyncio.run(rescore(original))
    broken = next(t for t in changed.tests() if t.id == "ask-about-offer")
    assert broken.status == "error" and "no stored answer" in (broken.error.message if broken.error else "")
    assert changed.exit_code() == 2


def test_compare_finds_an_injected_regression(tmp_path: Path) -> None:
    path = suite_file(tmp_path)
    before = run(path, BriefPlanner(good_answers))
    after = run(path, BriefPlanner(worse_answers))
    comparison = compare_reports(before, after)
    regressions = comparison.test_regressions
    assert [(t.id, t.before, t.after) for t in regressions] == [("winback", "pass", "fail")]
    assert any("offer_in_copy=winback15" in label for label in regressions[0].newly_failing)
    honesty = next(m for m in comparison.metric_regressions if m.metric == "honesty")
    assert (honesty.before, honesty.after) == (1.0, 0.0)
    assert any(line.startswith("test runner_check/winback: pass -> fail") for line in comparison.regressions)
    assert any(line.startswith("suite runner_check") for line in comparison.regressions)
    same = compare_reports(before, before)
    assert same.regressions == [] and same.tests == []
    back = compare_reports(after, before)
    assert back.regressions == [] and [t.kind for t in back.tests] == ["fixed"]


def test_model_answers_are_cached_by_request_and_errors_are_not(tmp_path: Path) -> None:
    path = suite_file(tmp_path)
    first = BriefPlanner(good_answers)
    cache = tmp_path / "cache"
    report1 = asyncio.run(run_suites([load_suite(path)], source=CachedAnswers(LiveAnswers(first), cache),
                                     provider="scripted"))
    second = MustNotBeCalled()
    source = CachedAnswers(LiveAnswers(second, identity=first.name), cache)
    report2 = asyncio.run(run_suites([load_suite(path)], source=source, provider="scripted"))
    assert second.calls == 0 and source.hits == 4
    assert all(t.answer.cached for test in report2.tests() for t in test.turns)
    assert [(t.id, t.status, t.score) for t in report2.tests()] == [(t.id, t.status, t.score) for t in report1.tests()]
    # A failed answer (here a BriefError) is asked again next time instead of being served from the cache.
    blank = tmp_path / "blank.yaml"
    blank.write_text("suite: b\ntests:\n  - {id: blank, brief: ' ', assert: [{type: error, value: BriefError}]}\n")
    asyncio.run(run_suites([load_suite(blank)], source=CachedAnswers(LiveAnswers(first), cache), provider="scripted"))
    again = BriefPlanner(good_answers)
    asyncio.run(run_suites([load_suite(blank)], source=CachedAnswers(LiveAnswers(again, identity=first.name), cache),
                           provider="scripted"))
    assert len(again.requests) == 1


def test_a_missing_workspace_stops_the_run_before_any_planner_call(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text("suite: ws\ndefaults: {workspace: no_such_brand}\ntests:\n  - {id: a, brief: hi}\n")
    planner = MustNotBeCalled()
    with pytest.raises(Exception, match="workspace folder not found"):
        run(path, planner)
    assert planner.calls == 0
