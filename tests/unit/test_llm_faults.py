"""Every model fault ends the turn with a valid plan (after retry or repair) or a clear note and the offline plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.fakes import demo_plan
from support.openai_stub import (
    StalledStream,
    StubLLM,
    answering,
    completion,
    copy_answer,
    planning_answer,
    sse_body,
)
from support.openai_stub import llm_settings as make_settings
from support.openai_stub import run_planner as run

from copilot.errors import PlannerError
from copilot.planner.base import PlanRequest
from copilot.planner.llm import LLMPlanner
from copilot.tokens import prepare_tiktoken_cache
from copilot.validation import validate_plan
from copilot.workspace import load_workspace

WS = load_workspace()
BRIEF = "win back runners who haven't bought in six months with 15% off before the spring sale"
PLAN = demo_plan()
OFFLINE = "offline-playbook"


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


async def plan_with(stub: StubLLM, tmp_path: Path, **settings: Any) -> tuple[Any, str]:
    result, tokens = await run(LLMPlanner(make_settings(tmp_path, **settings)), stub,
                               PlanRequest(brief=BRIEF, workspace=WS))
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    return result, "".join(tokens)


def assert_fell_back(result: Any, streamed: str, reason: str) -> None:
    assert result.planner == OFFLINE
    assert reason in result.notes[0] and "offline playbooks" in result.notes[0]
    assert result.notes[0] in result.reply and result.notes[0] in streamed


def _error(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {"message": "upstream trouble", "type": "x"}})


async def test_429_with_retry_after_is_retried_and_the_model_answers(tmp_path: Path) -> None:
    stub = StubLLM(answering(PLAN)).queue("plan", _error(429, **{"retry-after": "0.05"}))
    result, _ = await plan_with(stub, tmp_path, llm_retries=2)
    assert stub.kinds[:2] == ["plan", "plan"] and result.planner == "llm:gpt-4o-mini"


async def test_500_that_persists_falls_back_to_the_offline_plan_with_a_note(tmp_path: Path) -> None:
    stub = StubLLM(answering(PLAN)).queue("plan", *[_error(500, **{"retry-after-ms": "5"})] * 2)
    result, streamed = await plan_with(stub, tmp_path, llm_retries=1)
    assert stub.kinds == ["plan", "plan"]
    assert_fell_back(result, streamed, "HTTP 500 after 1 retries")


async def test_503_then_success_is_retried(tmp_path: Path) -> None:
    stub = StubLLM(answering(PLAN)).queue("copy", _error(503, **{"retry-after-ms": "5"}))
    result, _ = await plan_with(stub, tmp_path, llm_retries=1)
    assert result.planner == "llm:gpt-4o-mini" and stub.kinds.count("copy") == 3


async def test_connection_error_falls_back(tmp_path: Path) -> None:
    stub = StubLLM().queue("plan", httpx.ConnectError("connection refused"))
    result, streamed = await plan_with(stub, tmp_path)
    assert_fell_back(result, streamed, "could not reach the model's API at http://llm.test/v1")
    assert result.usage.calls == 0  # nothing was answered, nothing billed


async def test_with_fallback_off_a_model_fault_is_an_error_not_an_offline_plan(tmp_path: Path) -> None:
    stub = StubLLM().queue("plan", httpx.ConnectError("connection refused"))
    with pytest.raises(PlannerError, match="could not reach the model's API") as caught:
        await run(LLMPlanner(make_settings(tmp_path, llm_fallback=False)), stub, PlanRequest(brief=BRIEF, workspace=WS))
    assert caught.value.context["fault"] == "connection"


@pytest.mark.parametrize("stream", [True, False])
async def test_a_body_that_is_not_json_falls_back(tmp_path: Path, stream: bool) -> None:
    def broken(body: dict[str, Any]) -> httpx.Response:
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content='data: {"id": "c", "choices": [{"delta": {"content": "Hi"\n\n')
        return httpx.Response(200, headers={"content-type": "application/json"}, content=b'{"id": "cmpl-1", "cho')

    stub = StubLLM(answering(PLAN)).queue("plan" if stream else "copy", broken)
    result, streamed = await plan_with(stub, tmp_path)
    assert_fell_back(result, streamed, "the model's API sent data that is not valid JSON")


async def test_timeout_falls_back(tmp_path: Path) -> None:
    stub = StubLLM().queue("plan", httpx.ReadTimeout("no answer"))
    result, streamed = await plan_with(stub, tmp_path, llm_timeout=3)
    assert_fell_back(result, streamed, "did not answer within 3 s")


async def test_a_stream_that_stalls_falls_back_after_the_stall_timeout(tmp_path: Path) -> None:
    first = sse_body(json.dumps(planning_answer(PLAN, reply="Starting to plan"))[:40]).split("data: [DONE]")[0]
    stalled = httpx.Response(200, headers={"content-type": "text/event-stream"},
                             stream=StalledStream(first, silence=5))
    stub = StubLLM().queue("plan", stalled)
    result, streamed = await plan_with(stub, tmp_path, llm_stall_timeout=0.3)
    assert streamed.startswith("Starting")  # what arrived was shown, then the note
    assert_fell_back(result, streamed, "went silent for 0.3 s")


async def test_malformed_json_is_repaired_once(tmp_path: Path) -> None:
    stub = StubLLM(answering(PLAN)).queue("plan", '{"reply": "Here", "plan": {"title": ')
    result, _ = await plan_with(stub, tmp_path)
    assert stub.kinds[:2] == ["plan", "repair"] and result.planner == "llm:gpt-4o-mini"
    repair = stub.bodies_of("repair")[0]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"reply": "Here", "plan": {"title": '}
    assert "not valid JSON" in repair[-1]["content"]
    assert "repair" in result.prompt_versions


async def test_output_cut_off_by_the_length_limit_is_repaired(tmp_path: Path) -> None:
    def cut(body: dict[str, Any]) -> httpx.Response:
        text = json.dumps(planning_answer(PLAN))[:300]
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_body(text, finish="length"))

    stub = StubLLM(answering(PLAN)).queue("plan", cut)
    result, _ = await plan_with(stub, tmp_path)
    assert "cut off at the length limit" in stub.bodies_of("repair")[0]["messages"][-1]["content"]
    assert result.planner == "llm:gpt-4o-mini"


async def test_a_refusal_falls_back_with_the_models_words(tmp_path: Path) -> None:
    refused = httpx.Response(200, headers={"content-type": "text/event-stream"},
                             content=sse_body("", refusal="I can't help with that request."))
    stub = StubLLM().queue("plan", refused)
    result, streamed = await plan_with(stub, tmp_path)
    assert stub.kinds == ["plan"]  # a refusal is not argued with
    assert_fell_back(result, streamed, "the model declined: I can't help with that request.")


async def test_empty_content_is_repaired(tmp_path: Path) -> None:
    stub = StubLLM(answering(PLAN)).queue(
        "copy", lambda body: httpx.Response(200, json=completion("")))
    result, _ = await plan_with(stub, tmp_path)
    repair = stub.bodies_of("repair")[0]["messages"]
    assert repair[-2]["content"] == "(empty)" and "the answer was empty" in repair[-1]["content"]
    assert result.planner == "llm:gpt-4o-mini"


async def test_schema_violating_output_gets_one_repair_then_the_offline_plan(tmp_path: Path) -> None:
    bad = planning_answer(PLAN)
    bad["plan"]["segments"][0]["rule"]["rules"][0]["field"] = "shoe_colour"
    stub = StubLLM().queue("plan", bad).queue("repair", bad)
    result, streamed = await plan_with(stub, tmp_path)
    assert stub.kinds == ["plan", "repair"]
    repair_prompt = stub.bodies_of("repair")[0]["messages"][-1]["content"]
    assert "plan.segments[0].rule.rules[0].field" in repair_prompt and "shoe_colour" in repair_prompt
    assert_fell_back(result, streamed, "unusable even after a repair round")
    assert result.usage.calls == 2  # both model calls are still counted and priced


async def test_copy_that_breaks_workspace_rules_is_repaired_for_that_segment_only(tmp_path: Path) -> None:
    bad = copy_answer(PLAN, "Lapsed customers")
    bad["variants"][0]["body"] = "Hi {{ shoe_colour }}, come back."
    stub = StubLLM(answering(PLAN))

    def copy(kind: str, body: dict[str, Any]) -> Any:
        if kind == "copy" and 'Segment "Lapsed customers"' in body["messages"][-1]["content"]:
            return bad
        return answering(PLAN)(kind, body)

    stub.default = copy
    stub.queue("repair", copy_answer(PLAN, "Lapsed customers"))
    result, _ = await plan_with(stub, tmp_path)
    assert sorted(stub.kinds) == ["copy", "copy", "plan", "repair"]
    assert "shoe_colour" in stub.bodies_of("repair")[0]["messages"][-1]["content"]
    assert result.planner == "llm:gpt-4o-mini"


async def test_unknown_keys_in_the_answer_are_refused_not_obeyed(tmp_path: Path) -> None:
    sneaky = planning_answer(PLAN)
    sneaky["review_state"] = "approved"
    stub = StubLLM(answering(PLAN)).queue("plan", sneaky)
    result, _ = await plan_with(stub, tmp_path)
    assert "review_state" in stub.bodies_of("repair")[0]["messages"][-1]["content"]
    assert not hasattr(result, "review_state")
