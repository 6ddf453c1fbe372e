"""The eval runner itself: scoring, exit codes, conversations, repeats, caching, rescore and compare.

Everything is the product's own: the planners (the offline playbook planner, and the model
planner over the OpenAI wire format), validation, guards, rendering, scoring and the reports.
The only stand-in is the model's HTTP API (respx), which answers by what each request's
prompt says, so concurrency cannot reorder answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from support.fakes import demo_plan, demo_plan_data
from support.openai_stub import (
    BASE_URL,
    InFlight,
    StubLLM,
    copy_answer,
    llm_settings,
    planning_answer,
    said,
    segment_of,
)

from copilot.errors import WorkspaceError
from copilot.plan import Plan
from copilot.planner.base import Planner
from copilot.planner.llm import LLMPlanner
from copilot.planner.offline import OfflinePlanner
from copilot.tokens import estimate_cost, prepare_tiktoken_cache
from evals.answers import CachedAnswers, LiveAnswers
from evals.compare import compare_reports
from evals.rescore import rescore
from evals.results import RunReport, TestResult, load_report, save_report
from evals.runner import run_suites
from evals.spec import SuiteSpec, load_suite

WINBACK = "win back lapsed runners with 15% off"


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


# ---------------------------------------------------------------------------- the suite

SUITE = """
suite: runner_check
threshold: {threshold}
defaults:
  assert:
    - type: plan_valid
tests:
  - id: winback
    brief: {winback}
    assert:
      - {{type: goal, value: winback}}
      - {{type: offer_in_copy, value: winback15, segment: {offer_segment}, metric: honesty}}
      - {{type: not_contains, value: ["{{{{", "None", "Hi ,"]}}
      - {{type: segments_count, min: 1, max: 4}}
      - {{type: tokens, max: 20000}}
  - id: ask-first
    brief: which offer - 40% off everything
    default_assert: false
    assert:
      - {{type: asks_question, value: {asked_about}}}
      - {{type: no_plan}}
  - id: refine
    every_turn: [{{type: plan_valid}}]
    conversation:
      - win back lapsed runners
      - message: drop the {dropped} segment
        assert: [{{type: segments_delta, value: -1}}, {{type: segment_named, value: {dropped}, negate: true}}]
{extra}
"""

# What each planner really answers to the suite's briefs: the offline planner plans three
# lapsed segments (big spenders, repeat buyers, one-time buyers) and asks which moment a
# brief without one is for; the model (as the API below answers) plans the demo plan's two
# segments (Lapsed VIPs, Lapsed customers) and asks which offer is meant.
OFFLINE = {"offer_segment": "Lapsed one-time buyers", "asked_about": "moment", "dropped": "big spenders"}
MODEL = {"offer_segment": "Lapsed customers", "asked_about": "offer", "dropped": "VIP"}

MUST_FAIL = f"""
  - id: must-fail
    brief: {WINBACK}
    assert:
      - {{type: goal, value: welcome}}
"""


def suite_file(tmp_path: Path, answers: dict[str, str] = OFFLINE, *, threshold: float = 1.0,
               extra: str = "") -> Path:
    path = tmp_path / "runner_check.yaml"
    path.write_text(SUITE.format(threshold=threshold, winback=WINBACK, extra=extra, **answers), encoding="utf-8")
    return path


def run(path: Path, planner: Planner, **kwargs: Any) -> RunReport:
    provider = "openai" if isinstance(planner, LLMPlanner) else "offline"
    return asyncio.run(run_suites([load_suite(path)], source=LiveAnswers(planner), provider=provider, **kwargs))


# ---------------------------------------------------------------------------- the model's API

def without_vip() -> Plan:
    data = demo_plan_data()
    data["segments"] = data["segments"][1:]
    data["variants"] = data["variants"][1:]
    data["offers"] = ["winback15"]
    return Plan.model_validate(data)


def without_offer(plan: Plan) -> Plan:
    """A regression: the copy no longer states the offer."""
    data = plan.model_dump(mode="json")
    for v in data["variants"]:
        v["body"] = v["body"].replace("15% off", "a treat").replace(" with code COMEBACK15", "")
        v["subject"] = v["subject"].replace("15% off", "Something")
        v["cta_text"] = v["cta_text"].replace(" for 15% off", "")
    return Plan.model_validate(data)


def model_answers(plan: Plan) -> Callable[[str, dict[str, Any]], Any]:
    """The model's answers to the suite, chosen by the words each request carries."""

    def default(kind: str, body: dict[str, Any]) -> Any:
        words = said(body)
        if words.startswith("which offer"):
            question = "Which offer do you mean? 40% off is not in the fact sheet."
            if kind == "clarify":
                return {"reply": question, "questions": [question]}
            return planning_answer(None, reply=question, questions=[question])
        if kind == "revise":
            assert words == "drop the VIP segment", words
            return planning_answer(without_vip(), reply="Dropped the VIP segment.", copy_to_write=[])
        if kind == "plan":
            return planning_answer(plan, reply="Here is a winback plan with two segments.")
        if kind == "copy":
            return copy_answer(plan, segment_of(body))
        raise AssertionError(f"unexpected {kind} request for {words!r}")

    return default


@contextmanager
def model_api(stub: StubLLM, *, delay: float = 0.0) -> Iterator[tuple[respx.Route, InFlight]]:
    """The chat completions endpoint answered by ``stub`` (after ``delay`` s), counting requests in flight."""
    in_flight = InFlight(stub, delay=delay)
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock.post("/chat/completions").mock(side_effect=in_flight), in_flight


def billed(stub: StubLLM, words: str) -> tuple[int, int, int]:
    """(calls, prompt tokens, completion tokens) the API billed for the requests carrying ``words``."""
    usages = [u for b, u in zip(stub.bodies, stub.usages, strict=True) if said(b) == words]
    return len(usages), sum(u["prompt_tokens"] for u in usages), sum(u["completion_tokens"] for u in usages)


def run_model(path: Path, tmp_path: Path, plan: Plan | None = None, **kwargs: Any) -> tuple[RunReport, StubLLM]:
    stub = StubLLM(model_answers(plan or demo_plan()))
    with model_api(stub):
        report = run(path, LLMPlanner(llm_settings(tmp_path / "data")), **kwargs)
    return report, stub


def statuses(report: RunReport) -> list[tuple[str, str]]:
    return [(t.id, t.status) for t in report.tests()]


def result_of(report: RunReport, test_id: str) -> TestResult:
    return next(t for t in report.tests() if t.id == test_id)


# ---------------------------------------------------------------------------- scoring and exit codes

@pytest.mark.parametrize("planner", ["offline", "model"])
def test_a_passing_suite_meets_its_threshold_and_exits_0(tmp_path: Path, planner: str) -> None:
    if planner == "offline":
        report = run(suite_file(tmp_path, OFFLINE), OfflinePlanner())
    else:
        report, _ = run_model(suite_file(tmp_path, MODEL), tmp_path)
    suite = report.suites[0]
    assert statuses(report) == [("winback", "pass"), ("ask-first", "pass"), ("refine", "pass")]
    assert (suite.pass_rate, suite.meets_threshold, report.exit_code()) == (1.0, True, 0)
    assert suite.metrics["honesty"].score == 1.0 and "plan_valid" in suite.metrics


def test_an_assertion_that_must_fail_fails_and_the_run_exits_1(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path, extra=MUST_FAIL), OfflinePlanner())
    failed = [t for t in report.tests() if t.status == "fail"]
    assert [t.id for t in failed] == ["must-fail"]
    goal = next(a for a in failed[0].assertions if a.type == "goal")
    assert not goal.passed and goal.reason == "goal is 'winback', expected 'welcome'"
    assert failed[0].score == 0.5  # plan_valid (a default assertion) still passed
    assert report.suites[0].pass_rate == 0.75 and not report.suites[0].meets_threshold
    assert report.exit_code() == 1


def test_a_lower_threshold_accepts_the_same_failures(tmp_path: Path) -> None:
    report = run(suite_file(tmp_path, threshold=0.75, extra=MUST_FAIL), OfflinePlanner())
    assert result_of(report, "must-fail").status == "fail"
    assert report.suites[0].meets_threshold and report.exit_code() == 0


def test_a_broken_test_input_marks_the_run_broken_with_exit_2(tmp_path: Path) -> None:
    # A test's sample contacts file that is not YAML: that one test errors (the run is broken,
    # exit 2) with the file and the line, and the other tests still run.
    broken = "- {email: maya.runner@example.com, first_name: [Maya\n"
    (tmp_path / "broken_contacts.yaml").write_text(broken, encoding="utf-8")
    crashing = f"""
  - id: crashing
    brief: {WINBACK}
    contacts: broken_contacts.yaml
"""
    report = run(suite_file(tmp_path, extra=crashing), OfflinePlanner())
    crashed = result_of(report, "crashing")
    assert crashed.status == "error" and crashed.error is not None and crashed.turns == []
    assert crashed.error.type == "EvalError"
    first_line = crashed.error.message.splitlines()[0]
    assert f"contacts file {tmp_path / 'broken_contacts.yaml'} is malformed YAML at line 2, column 1" in first_line
    assert [s for s in statuses(report) if s[0] != "crashing"] == [
        ("winback", "pass"), ("ask-first", "pass"), ("refine", "pass")]  # the others still ran
    assert report.suites[0].errored == 1 and report.exit_code() == 2


def test_a_product_error_is_an_answer_the_suite_can_expect(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("suite: empty\ntests:\n  - id: blank\n    brief: '   '\n"
                    "    assert: [{type: error, value: BriefError}, {type: no_plan}]\n", encoding="utf-8")
    report = run(path, OfflinePlanner())
    test = report.tests()[0]
    assert test.status == "pass" and test.turns[0].answer.error is not None
    assert test.turns[0].answer.error.type == "BriefError" and "the brief is empty" in test.turns[0].answer.error.message
    assert report.exit_code() == 0


def test_a_token_budget_passes_within_it_and_fails_above_it(tmp_path: Path) -> None:
    def budgeted(limit: int) -> Path:
        path = tmp_path / "budget.yaml"
        path.write_text(f"suite: budget\ntests:\n  - id: winback\n    brief: {WINBACK}\n"
                        f"    assert: [{{type: tokens, max: {limit}}}]\n"
                        f"  - id: refine\n    conversation: [win back lapsed runners, drop the VIP segment]\n"
                        f"    assert: [{{type: tokens, max: {limit}}}]\n", encoding="utf-8")
        return path

    within, stub = run_model(budgeted(100_000), tmp_path)
    calls, prompt, completion = billed(stub, WINBACK)
    spent = prompt + completion
    assert calls == 3 and spent > 1000  # the plan round and one copy call per segment
    winback = result_of(within, "winback")
    assert (winback.status, winback.assertions[0].reason) == ("pass", f"answer took {spent} tokens (budget 100000)")
    # A test-level budget adds up every turn of a conversation.
    conversation = sum(sum(billed(stub, words)[1:]) for words in ("win back lapsed runners", "drop the VIP segment"))
    refine = result_of(within, "refine")
    assert refine.assertions[-1].reason == f"conversation took {conversation} tokens (budget 100000)"

    above, _ = run_model(budgeted(spent - 1), tmp_path)
    winback = result_of(above, "winback")
    assert winback.status == "fail" and not winback.assertions[0].passed
    assert winback.assertions[0].reason == f"answer took {spent} tokens (budget {spent - 1})"
    assert above.exit_code() == 1


# ---------------------------------------------------------------------------- conversations and repeats

def test_each_turn_revises_the_latest_plan_with_the_history(tmp_path: Path) -> None:
    report, stub = run_model(suite_file(tmp_path, MODEL), tmp_path)
    refine = result_of(report, "refine")
    # every_turn checks each answer; the suite's default assertions check the final one.
    assert [(a.type, a.turn) for a in refine.assertions] == [
        ("plan_valid", 0), ("plan_valid", 1), ("segments_delta", 1), ("segment_named", 1), ("plan_valid", 1)]
    [follow_up] = stub.bodies_of("revise")
    prompt = follow_up["messages"][-1]["content"]
    current = prompt.split("Current plan:\n", 1)[1]
    assert '"name":"Lapsed VIPs"' in current and '"name":"Lapsed customers"' in current  # the latest plan
    conversation = prompt.split("<conversation>\n", 1)[1].split("</conversation>", 1)[0]
    assert conversation.strip().splitlines() == [
        "user: win back lapsed runners", "assistant: Here is a winback plan with two segments."]
    assert f"Today: {refine.inputs['now'][:10]}." in prompt  # the test's fixed "now"
    final = refine.turns[1].answer.plan_model()
    assert final is not None and [s.name for s in final.segments] == ["Lapsed customers"]


def test_repeats_run_every_test_n_times_within_the_concurrency_bound(tmp_path: Path) -> None:
    stub = StubLLM(model_answers(demo_plan()))
    # One model call at a time per test, so the requests in flight at the API are the tests in flight.
    planner = LLMPlanner(llm_settings(tmp_path / "data", llm_concurrency=1))
    with model_api(stub, delay=0.02) as (route, in_flight):
        report = run(suite_file(tmp_path, MODEL), planner, repeat=3, concurrency=2)
    assert sorted((t.id, t.repeat) for t in report.tests() if t.id == "winback") == [
        ("winback", 0), ("winback", 1), ("winback", 2)]
    assert report.suites[0].total == 9 and report.exit_code() == 0
    # per repeat: winback 3 calls (plan, two copies), ask-first 1, refine 3 + 1 (the drop needs no copy)
    assert route.call_count == len(stub.bodies) == 24
    assert in_flight.peak == 2


def test_the_report_records_answers_findings_renders_and_run_metadata(tmp_path: Path) -> None:
    stub = StubLLM(model_answers(demo_plan()))
    settings = llm_settings(tmp_path / "data", price_prompt_per_mtok=2.0, price_completion_per_mtok=8.0)
    with model_api(stub):
        report = run(suite_file(tmp_path, MODEL), LLMPlanner(settings))
    out = tmp_path / "results.json"
    save_report(report, out)
    loaded = load_report(out)
    assert loaded.model_dump(mode="json") == report.model_dump(mode="json")
    winback = loaded.tests()[0]
    turn = winback.turns[0]
    calls, prompt, completion = billed(stub, WINBACK)
    usage = turn.answer.usage
    assert turn.answer.plan is not None and calls == 3
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (calls, prompt, completion)
    assert usage.cost_usd == pytest.approx(estimate_cost(prompt, completion, prompt_per_mtok=2.0,
                                                         completion_per_mtok=8.0))
    assert sum(t.usage.prompt_tokens for t in loaded.tests()) == stub.billed()[0]  # every call is accounted
    assert sum(t.usage.completion_tokens for t in loaded.tests()) == stub.billed()[1]
    assert turn.renders and {r.contact for r in turn.renders} >= {"maya.runner@example.com", "j.doe@example.com"}
    assert all("{{" not in r.text for r in turn.renders)
    assert isinstance(turn.findings, list) and len(turn.request_hash) == 64
    assert winback.inputs["brief"] == WINBACK
    run_info = loaded.run
    assert run_info.provider == "openai" and run_info.planner == "llm:gpt-4o-mini"
    assert run_info.planner_identity == "llm:gpt-4o-mini"
    assert {"system", "plan", "copy", "revise"} <= set(run_info.prompt_versions)
    assert run_info.workspace_hashes and run_info.git_sha and run_info.finished_at is not None


# ---------------------------------------------------------------------------- rescore, compare, caching

def test_rescore_gives_the_same_scores_without_calling_the_planner(tmp_path: Path) -> None:
    path = suite_file(tmp_path, extra=MUST_FAIL)
    original = run(path, OfflinePlanner(), repeat=2)
    save_report(original, tmp_path / "results.json")
    stored = load_report(tmp_path / "results.json")
    # A model planner that would answer (differently) if it were asked: the API must see no request.
    stub = StubLLM(model_answers(demo_plan()))
    with model_api(stub) as (route, _):
        rescored = asyncio.run(rescore(stored, fallback=LiveAnswers(LLMPlanner(llm_settings(tmp_path / "data")))))
    assert route.call_count == 0 and stub.bodies == []

    def scores(report: RunReport) -> list[tuple[Any, ...]]:
        return [(t.id, t.repeat, t.status, t.score, [(a.label, a.passed, a.score, a.reason) for a in t.assertions])
                for t in report.tests()]

    assert len(scores(rescored)) == 8
    assert scores(rescored) == scores(original)
    assert rescored.exit_code() == original.exit_code() == 1
    assert rescored.run.rescored_from == original.run.id


def test_rescore_applies_edited_assertions_and_refuses_changed_inputs(tmp_path: Path) -> None:
    path = suite_file(tmp_path, extra=MUST_FAIL)
    original = run(path, OfflinePlanner())
    path.write_text(path.read_text().replace("{type: goal, value: welcome}", "{type: goal, value: winback}"))
    fixed = asyncio.run(rescore(original))
    assert result_of(fixed, "must-fail").status == "pass" and fixed.exit_code() == 0
    # A changed brief is a request the results hold no answer for: an error, not a model call.
    path.write_text(path.read_text().replace("which offer - 40% off everything", "a brand new brief"))
    changed = asyncio.run(rescore(original))
    broken = result_of(changed, "ask-first")
    assert broken.status == "error" and "no stored answer" in (broken.error.message if broken.error else "")
    assert changed.exit_code() == 2


def test_compare_finds_an_injected_regression(tmp_path: Path) -> None:
    path = suite_file(tmp_path, MODEL)
    before, _ = run_model(path, tmp_path)
    after, _ = run_model(path, tmp_path, without_offer(demo_plan()))
    assert statuses(before) == [("winback", "pass"), ("ask-first", "pass"), ("refine", "pass")]
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
    suite = load_suite(suite_file(tmp_path, MODEL))
    cache = tmp_path / "cache"

    def cached_run(suite: SuiteSpec, stub: StubLLM, **changes: Any) -> tuple[RunReport, CachedAnswers, respx.Route]:
        source = CachedAnswers(LiveAnswers(LLMPlanner(llm_settings(tmp_path / "data", **changes))), cache)
        with model_api(stub) as (route, _):
            report = asyncio.run(run_suites([suite], source=source, provider="openai"))
        return report, source, route

    first, source, route = cached_run(suite, StubLLM(model_answers(demo_plan())))
    assert route.call_count == 8 and (source.hits, source.misses) == (0, 4)
    # Same requests, same planner identity: every answer comes from the cache, the API sees nothing.
    second, source, route = cached_run(suite, StubLLM(model_answers(demo_plan())))
    assert route.call_count == 0 and (source.hits, source.misses) == (4, 0)
    assert all(t.answer.cached for test in second.tests() for t in test.turns)
    assert [(t.id, t.status, t.score) for t in second.tests()] == [(t.id, t.status, t.score) for t in first.tests()]
    # A failed answer (here the API down, without the offline fallback) is asked again next time.
    down = tmp_path / "down.yaml"
    down.write_text("suite: d\ntests:\n  - {id: down, brief: win back lapsed VIP runners, "
                    "assert: [{type: error, value: PlannerError}]}\n")
    suite = load_suite(down)
    failing = StubLLM().queue("plan", httpx.Response(503, json={"error": {"message": "overloaded"}}))
    report, source, route = cached_run(suite, failing, llm_fallback=False)
    assert route.call_count == 1 and report.tests()[0].status == "pass"
    assert report.tests()[0].turns[0].answer.error is not None
    report, source, route = cached_run(suite, StubLLM(model_answers(demo_plan())), llm_fallback=False)
    assert route.call_count == 3 and source.misses == 1 and report.tests()[0].turns[0].answer.error is None
    _, source, route = cached_run(suite, StubLLM(model_answers(demo_plan())), llm_fallback=False)
    assert route.call_count == 0 and source.hits == 1  # the good answer was kept


def test_a_missing_workspace_stops_the_run_before_any_planner_call(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text(f"suite: ws\ntests:\n  - {{id: a, brief: {WINBACK}}}\n"
                    "  - {id: b, brief: hi, workspace: no_such_brand}\n")
    stub = StubLLM(model_answers(demo_plan()))
    with model_api(stub) as (route, _), pytest.raises(WorkspaceError, match="workspace folder not found"):
        run(path, LLMPlanner(llm_settings(tmp_path / "data")))
    assert route.call_count == 0  # not even for test a, whose workspace exists
