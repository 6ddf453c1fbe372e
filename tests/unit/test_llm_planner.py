"""The OpenAI-compatible planner over the real wire format (respx): rounds, streaming, strict schema, tokens, budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.fakes import demo_plan
from support.openai_stub import StubLLM, answering, planning_answer, prompt_tokens
from support.openai_stub import llm_settings as make_settings
from support.openai_stub import run_planner as run

from copilot.errors import BriefError
from copilot.planner.base import AudienceStats, PlanRequest, Turn
from copilot.planner.factory import get_planner
from copilot.planner.llm import LLMPlanner
from copilot.planner.offline import OfflinePlanner
from copilot.tokens import prepare_tiktoken_cache
from copilot.validation import validate_plan
from copilot.workspace import load_workspace

WS = load_workspace()
BRIEF = "win back runners who haven't bought in six months with 15% off before the spring sale"


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


def _walk(node: Any):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_factory_picks_the_model_planner_only_when_a_key_or_base_url_is_set(tmp_path: Path) -> None:
    assert isinstance(get_planner(make_settings(tmp_path, openai_api_key=None, openai_base_url=None)), OfflinePlanner)
    assert isinstance(get_planner(make_settings(tmp_path, openai_api_key=None)), LLMPlanner)
    keyed = get_planner(make_settings(tmp_path, openai_base_url=None, model="gpt-4o"))
    assert isinstance(keyed, LLMPlanner) and keyed.name == "llm:gpt-4o"
    assert get_planner(make_settings(tmp_path, model="gpt-4o")) is get_planner(make_settings(tmp_path, model="gpt-4o"))


async def test_new_plan_takes_one_streamed_call_then_one_copy_call_per_segment(tmp_path: Path) -> None:
    plan = demo_plan()
    stub = StubLLM(answering(plan, reply="Two segments: lapsed VIPs first, then everyone else."))
    result, tokens = await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=BRIEF, workspace=WS))
    assert stub.kinds == ["plan", "copy", "copy"]
    assert stub.bodies[0]["stream"] is True and "stream" not in stub.bodies[1]
    assert {b["messages"][-1]["content"].split('Segment "')[1].split('"')[0] for b in stub.bodies[1:]} == \
        {"Lapsed VIPs", "Lapsed customers"}
    assert result.planner == "llm:gpt-4o-mini"
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    assert [v.model_dump() for v in result.plan.variants] == [v.model_dump() for v in plan.variants]
    assert result.plan.brief == BRIEF
    assert "".join(tokens) == "Two segments: lapsed VIPs first, then everyone else."
    assert len(tokens) > 1  # streamed in pieces, not sent whole at the end
    assert set(result.prompt_versions) == {"system", "plan", "copy"}


async def test_requests_use_a_strict_json_schema(tmp_path: Path) -> None:
    stub = StubLLM(answering(demo_plan()))
    await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=BRIEF, workspace=WS))
    for body in stub.bodies:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        objects = [n for n in _walk(fmt["json_schema"]["schema"]) if n.get("type") == "object"]
        assert objects
        for node in objects:
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
        assert not any({"oneOf", "default", "format", "pattern"} & set(n) for n in _walk(fmt["json_schema"]["schema"]))


@pytest.mark.parametrize("brief", ["", "   \n ", "x" * 4001])
async def test_an_empty_or_oversized_brief_is_refused_before_any_call(tmp_path: Path, brief: str) -> None:
    stub = StubLLM(answering(demo_plan()))
    with pytest.raises(BriefError) as caught:
        await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=brief, workspace=WS))
    assert caught.value.context["field"] == "brief" and stub.bodies == []


async def test_every_request_caps_the_answer_length(tmp_path: Path) -> None:
    stub = StubLLM(answering(demo_plan()))
    await run(LLMPlanner(make_settings(tmp_path, llm_max_output_tokens=1234)), stub,
              PlanRequest(brief=BRIEF, workspace=WS))
    assert [b["max_completion_tokens"] for b in stub.bodies] == [1234, 1234, 1234]


async def test_counted_prompt_tokens_match_the_usage_the_api_reports(tmp_path: Path) -> None:
    stub = StubLLM(answering(demo_plan()))
    settings = make_settings(tmp_path, price_prompt_per_mtok=2.0, price_completion_per_mtok=8.0)
    result, _ = await run(LLMPlanner(settings), stub, PlanRequest(brief=BRIEF, workspace=WS))
    assert len(result.calls) == 3
    for call, body in zip(result.calls, stub.bodies, strict=True):
        assert call.counted_prompt_tokens == call.reported_prompt_tokens == prompt_tokens(body["messages"])
        assert call.completion_tokens == call.reported_completion_tokens
    assert result.usage.prompt_tokens == sum(c.reported_prompt_tokens for c in result.calls)
    assert result.usage.cost_usd == pytest.approx(
        (result.usage.prompt_tokens * 2.0 + result.usage.completion_tokens * 8.0) / 1e6)


async def test_older_turns_are_condensed_to_fit_the_budget_but_not_the_brief_or_plan(tmp_path: Path) -> None:
    plan = demo_plan()
    long_turn = "tell me more about trail runners and their habits " * 60
    history = [Turn("user" if i % 2 == 0 else "assistant", f"turn {i}: {long_turn}") for i in range(8)]
    request = PlanRequest(brief="make the VIP copy warmer", workspace=WS, history=history, current_plan=plan)
    stub = StubLLM(answering(plan, copy_to_write=["Lapsed VIPs"]))
    result, _ = await run(LLMPlanner(make_settings(tmp_path, context_budget=4500)), stub, request)
    round_one = stub.bodies_of("revise")[0]
    text = round_one["messages"][-1]["content"]
    assert prompt_tokens(round_one["messages"]) <= 4500
    assert "make the VIP copy warmer" in text
    assert '"name":"Lapsed VIPs"' in text and '"name":"Lapsed customers"' in text  # current plan kept whole
    assert f"turn 7: {long_turn.strip()}" in text and f"turn 6: {long_turn.strip()}" in text  # recent turns whole
    assert "turn 0:" not in text or f"turn 0: {long_turn.strip()}" not in text
    assert result.history_window is not None and (result.history_window.omitted + result.history_window.condensed) > 0
    assert any("condensed" in n for n in result.notes)


async def test_follow_up_rewrites_copy_only_for_the_segments_the_model_names(tmp_path: Path) -> None:
    plan = demo_plan()
    warmer = plan.model_copy(update={"variants": [
        plan.variants[0].model_copy(update={"subject": "We saved you a spot, {{ first_name }}"}),
        plan.variants[1]]})
    stub = StubLLM(answering(warmer, copy_to_write=["Lapsed VIPs"], reply="Warmed up the VIP email."))
    request = PlanRequest(brief="make the VIP email warmer", workspace=WS, current_plan=plan,
                          history=[Turn("user", BRIEF), Turn("assistant", "Here is a plan.")])
    result, _ = await run(LLMPlanner(make_settings(tmp_path)), stub, request)
    assert stub.kinds == ["revise", "copy"]
    assert 'Current copy (change what the request asks' in stub.bodies[1]["messages"][-1]["content"]
    assert result.plan is not None
    assert result.plan.variants_for("Lapsed VIPs")[0].subject == "We saved you a spot, {{ first_name }}"
    assert result.plan.variants_for("Lapsed customers") == plan.variants_for("Lapsed customers")
    assert result.plan.brief == f"{plan.brief}\nmake the VIP email warmer"
    assert "revise" in result.prompt_versions


async def test_dropping_a_segment_needs_no_copy_call(tmp_path: Path) -> None:
    plan = demo_plan()
    fewer = plan.model_copy(update={"segments": plan.segments[1:], "variants": plan.variants[1:]})
    stub = StubLLM(answering(fewer, copy_to_write=[]))
    result, _ = await run(LLMPlanner(make_settings(tmp_path)),
                          stub, PlanRequest(brief="drop the VIP segment", workspace=WS, current_plan=plan))
    assert stub.kinds == ["revise"]
    assert result.plan is not None and [s.name for s in result.plan.segments] == ["Lapsed customers"]


async def test_a_thin_first_message_gets_questions_and_no_plan(tmp_path: Path) -> None:
    stub = StubLLM().queue("clarify", {"reply": "Happy to help; a few things first.",
                                       "questions": ["Who should get it?", "Is there an offer?"]})
    result, tokens = await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief="an email", workspace=WS))
    assert stub.kinds == ["clarify"]
    assert result.plan is None and result.questions == ["Who should get it?", "Is there an offer?"]
    assert "".join(tokens) == "Happy to help; a few things first."


async def test_the_model_may_answer_with_questions_instead_of_a_plan(tmp_path: Path) -> None:
    stub = StubLLM().queue("plan", planning_answer(None, reply="Which offer?", questions=["Which offer?"]))
    result, _ = await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=BRIEF, workspace=WS))
    assert stub.kinds == ["plan"] and result.plan is None and result.questions == ["Which offer?"]


async def test_only_aggregate_counts_reach_the_prompt(tmp_path: Path) -> None:
    stub = StubLLM(answering(demo_plan()))
    audience = AudienceStats(contacts=4321, subscribed=4000, event_contacts={"order_placed": 1234},
                             field_filled={"shoe_size": 1000, "first_name": 4321})
    await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=BRIEF, workspace=WS, audience=audience))
    text = stub.bodies[0]["messages"][-1]["content"]
    assert "4321 contacts, 4000 subscribed" in text
    assert '"order_placed":1234' in text and '"shoe_size":"23%"' in text


async def test_copy_the_model_writes_in_each_language_is_kept_per_language(tmp_path: Path) -> None:
    """The copy round asks for every language the brand writes; Spanish variants the model returns land in
    the plan beside the English ones, one per segment, message and arm."""
    plan = demo_plan()
    spanish = [v.model_copy(update={"locale": "es", "subject": "Te echamos de menos"}) for v in plan.variants]
    both = plan.model_copy(update={"variants": [*plan.variants, *spanish]})
    stub = StubLLM(answering(both))
    result, _ = await run(LLMPlanner(make_settings(tmp_path)), stub, PlanRequest(brief=BRIEF, workspace=WS))
    copy_prompts = [b["messages"][-1]["content"] for b in stub.bodies[1:]]
    assert all("Languages: write every message in each of en, es, de" in p for p in copy_prompts)
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    assert sorted((v.segment, v.message, v.key, v.locale) for v in result.plan.variants) == sorted(
        (v.segment, v.message, v.key, v.locale) for v in both.variants)
