"""The reader role (COPILOT_LLM_ROLE=reader) over the real wire format (respx): the model chooses from the
workspace's options, the playbooks build the plan, and the revision says which parts the model chose."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.openai_stub import StubLLM
from support.openai_stub import llm_settings as make_settings
from support.openai_stub import run_planner as run

from copilot.planner.base import PlanRequest, Turn
from copilot.planner.llm import LLMPlanner
from copilot.planner.offline import OfflinePlanner
from copilot.playbooks import load_playbooks
from copilot.tokens import prepare_tiktoken_cache
from copilot.validation import validate_plan
from copilot.workspace import load_workspace
from copilot.workspace.loader import demo_workspace_dir

DEMO = load_workspace()
WS = load_workspace(demo_workspace_dir().parent / "hollisvane")
NOW = datetime(2027, 2, 1, 9, tzinfo=UTC)
BRIEF = "welcome series for new subscribers with 10% off the first order"


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


def _reader(tmp_path: Path) -> LLMPlanner:
    return LLMPlanner(make_settings(tmp_path, llm_role="reader"))


def _choices(reply: str = "A welcome series with ten per cent off.", **choices: Any) -> dict[str, Any]:
    return {"reply": reply, "moment": "welcome", "audience": [], "offer": "first_order_10", **choices}


def _enums(schema: dict[str, Any]) -> dict[str, list[str]]:
    props = schema["properties"]
    out = {name: prop["enum"] for name, prop in props.items() if "enum" in prop}
    out.update({name: prop["items"]["enum"] for name, prop in props.items() if "enum" in prop.get("items", {})})
    return out


async def test_a_brief_takes_one_streamed_call_whose_choices_build_the_plan(tmp_path: Path) -> None:
    stub = StubLLM().queue("read", _choices())
    result, tokens = await run(_reader(tmp_path), stub, PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    assert stub.kinds == ["read"] and stub.bodies[0]["stream"] is True
    assert result.planner == "llm:gpt-4o-mini/reader"
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    assert (result.plan.goal, result.plan.offers) == ("welcome", ["first_order_10"])
    assert result.notes[0].startswith("Model-answered (gpt-4o-mini): the reply, and moment welcome; "
                                      "offer first_order_10.")
    assert "".join(tokens).startswith("A welcome series with ten per cent off.\n\n")
    assert result.reply.startswith("A welcome series with ten per cent off.")
    assert set(result.prompt_versions) == {"system", "read"}


async def test_the_choices_are_the_workspaces_own_options_and_strict(tmp_path: Path) -> None:
    stub = StubLLM().queue("read", _choices())
    await run(_reader(tmp_path), stub, PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    fmt = stub.bodies[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["moment", "audience", "offer", "reply"] and schema["additionalProperties"] is False
    enums = _enums(schema)
    assert set(enums["moment"]) == {b.id for b in load_playbooks()} | {"unclear"}
    assert set(enums["offer"]) == {o.id for o in WS.facts.offers} | {"no_offer", "not_said"}
    assert "Inner Circle" in " ".join(enums["audience"])
    # Nothing of the demo brand in what goes to the model.
    sent = str(stub.bodies[0])
    demo_words = {o.id for o in DEMO.facts.offers} | {p.name for p in DEMO.facts.products} | {DEMO.name}
    assert sorted(w for w in demo_words if w in sent) == []


async def test_the_models_choice_overrules_the_keyword_reading_and_says_so(tmp_path: Path) -> None:
    offline = OfflinePlanner().plan_now(PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    assert offline.plan is not None and offline.plan.goal == "welcome"
    stub = StubLLM().queue("read", _choices(moment="cart_abandonment", offer="no_offer"))
    result, _ = await run(_reader(tmp_path), stub, PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    assert result.plan is not None and (result.plan.goal, result.plan.offers) == ("cart_abandonment", [])
    assert any("The model read the moment as cart_abandonment; the keyword reader as welcome" in n
               for n in result.notes)


async def test_a_named_group_the_model_picks_narrows_the_plan(tmp_path: Path) -> None:
    brief = "tell the Inner Circle they can shop SS27 a week early, from 22 February"
    stub = StubLLM().queue("read", _choices(moment="announcement", offer="ss27_preview",
                                            audience=["Inner Circle"]))
    result, _ = await run(_reader(tmp_path), stub, PlanRequest(brief=brief, workspace=WS, now=NOW))
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    assert "circle_tier" in str([s.rule.model_dump() for s in result.plan.segments])
    assert "audience Inner Circle" in result.notes[0]


async def test_a_follow_up_keeps_the_segments_the_model_chose(tmp_path: Path) -> None:
    first = OfflinePlanner().plan_now(PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    assert first.plan is not None and len(first.plan.segments) >= 2
    kept = first.plan.segments[1].name
    stub = StubLLM().queue("read_revision", {"reply": "One segment it is.", "keep_segments": [kept],
                                             "offer": "keep", "max_emails": "keep", "tone": "warmer"})
    request = PlanRequest(brief="one segment only, and warmer", workspace=WS, now=NOW, current_plan=first.plan,
                          history=[Turn("user", BRIEF), Turn("assistant", first.reply)])
    result, tokens = await run(_reader(tmp_path), stub, request)
    assert stub.kinds == ["read_revision"]
    enums = _enums(stub.bodies[0]["response_format"]["json_schema"]["schema"])
    assert set(enums["keep_segments"]) == {s.name for s in first.plan.segments}
    assert result.planner == "llm:gpt-4o-mini/reader"
    assert result.plan is not None and validate_plan(result.plan, WS) == []
    assert [s.name for s in result.plan.segments] == [kept] and result.plan.segments[0].priority == 1
    assert {v.segment for v in result.plan.variants} == {kept}
    assert result.plan.offers == first.plan.offers
    assert result.notes[0].startswith(f"Model-answered (gpt-4o-mini): the reply, and segments kept {kept}; "
                                      "tone warmer.")
    assert "".join(tokens).startswith("One segment it is.")


async def test_an_unusable_answer_after_the_repair_round_falls_back_to_the_playbooks(tmp_path: Path) -> None:
    stub = StubLLM().queue("read", "not json").queue("repair", '{"reply": "x"}')
    result, _ = await run(_reader(tmp_path), stub, PlanRequest(brief=BRIEF, workspace=WS, now=NOW))
    assert stub.kinds == ["read", "repair"]
    assert result.planner == OfflinePlanner.name
    assert result.plan is not None and "could not answer" in result.notes[0]


async def test_a_choice_the_playbooks_cannot_follow_is_not_claimed(tmp_path: Path) -> None:
    # The winter sale ended on 7 February: a plan made in March carries no offer, so the note names
    # the moment the model chose but not that offer, and says the offer was not carried.
    brief = "win back customers who have not ordered in six months"
    stub = StubLLM().queue("read", _choices(moment="winback", offer="winter_sale"))
    march = datetime(2027, 3, 10, 9, tzinfo=UTC)
    result, _ = await run(_reader(tmp_path), stub, PlanRequest(brief=brief, workspace=WS, now=march))
    assert result.plan is not None and (result.plan.goal, result.plan.offers) == ("winback", [])
    assert result.notes[0].startswith("Model-answered (gpt-4o-mini): the reply, and moment winback. ")
    assert "The model also chose offer winter_sale, which the plan does not carry." in result.notes
