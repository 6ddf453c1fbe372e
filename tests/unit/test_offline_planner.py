"""The offline playbook planner: playbook choice, honesty rules, determinism, follow-up edits."""

from __future__ import annotations

import asyncio

import pytest

from copilot.errors import BriefError
from copilot.plan import Plan
from copilot.planner.base import PlanRequest, Turn
from copilot.planner.factory import get_planner
from copilot.planner.offline import OfflinePlanner
from copilot.settings import Settings
from copilot.validation import validate_plan
from copilot.workspace import Workspace


def _plan(ws: Workspace, brief: str, **kw):  # type: ignore[no-untyped-def]
    return OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=ws, **kw))


def test_factory_returns_offline_planner_without_a_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", workspace_dir=None)
    planner = get_planner(settings)
    assert isinstance(planner, OfflinePlanner)
    assert planner.name == "offline-playbook"


def test_ditched_carts_and_cart_abandoners_land_on_the_same_moment(demo_workspace: Workspace) -> None:
    a = _plan(demo_workspace, "folks who ditched their carts")
    b = _plan(demo_workspace, "cart abandoners")
    assert a.plan is not None and b.plan is not None
    assert a.plan.goal == b.plan.goal == "cart_abandonment"
    assert a.plan.trigger.entry_event == "cart_abandoned"
    assert validate_plan(a.plan, demo_workspace) == []


def test_plan_streams_its_reply_through_on_token(demo_workspace: Workspace) -> None:
    tokens: list[str] = []

    async def collect(token: str) -> None:
        tokens.append(token)

    result = asyncio.run(OfflinePlanner().plan(PlanRequest(brief="cart abandoners", workspace=demo_workspace),
                                               on_token=collect))
    assert "".join(tokens) == result.reply
    assert len(tokens) > 1


def test_same_brief_gives_byte_identical_plan_json(demo_workspace: Workspace) -> None:
    one = _plan(demo_workspace, "cart abandoners, free shipping").plan
    two = _plan(demo_workspace, "cart abandoners, free shipping").plan
    assert one is not None and two is not None
    assert one.model_dump_json() == two.model_dump_json()


@pytest.mark.parametrize("brief", ["", "   \n"])
def test_empty_brief_is_refused(demo_workspace: Workspace, brief: str) -> None:
    with pytest.raises(BriefError, match="empty"):
        _plan(demo_workspace, brief)


def test_brief_over_4000_characters_is_refused(demo_workspace: Workspace) -> None:
    with pytest.raises(BriefError, match="4,000"):
        _plan(demo_workspace, "cart abandoners " * 300)


def test_brief_with_no_moment_gets_a_question_not_a_plan(demo_workspace: Workspace) -> None:
    result = _plan(demo_workspace, "hey, can you do something nice?")
    assert result.plan is None
    assert result.questions and "moment" in result.questions[0]


def test_answer_to_the_question_completes_the_earlier_brief(demo_workspace: Workspace) -> None:
    history = [Turn("user", "something for next week please, 10% off"), Turn("assistant", "Which moment?")]
    result = _plan(demo_workspace, "the cart abandoners", history=history)
    assert result.plan is not None and result.plan.goal == "cart_abandonment"


def test_plan_round_trips_through_json(demo_workspace: Workspace) -> None:
    plan = _plan(demo_workspace, "cart abandoners").plan
    assert plan is not None
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_announcing_a_product_the_fact_sheet_lacks_is_a_question_not_the_nearest_product(
        demo_workspace: Workspace) -> None:
    # "Cloudstride 4" is 92% like "Cloudstride 3": announcing the old shoe as the new one would be a false claim.
    result = OfflinePlanner().plan_now(PlanRequest(brief="launch: the Cloudstride 4 is here, tell everyone",
                                                   workspace=demo_workspace))
    assert result.plan is None
    assert result.questions == [
        "Cloudstride 4 is not on the fact sheet (the closest product it lists is Cloudstride 3), so the copy cannot "
        "name it, price it or link to it. Add it to facts.yaml and ask again, or name a product the fact sheet lists."]
    winback = OfflinePlanner().plan_now(PlanRequest(brief="win back lapsed Ridgeline Trail 2 buyers",
                                                    workspace=demo_workspace))
    assert winback.plan is not None  # a win-back needs no product: it goes ahead and says what it left out
    assert any(n.startswith("Ridgeline Trail 2 is not on the fact sheet") for n in winback.notes)
    assert all("Ridgeline Trail 2" not in v.body for v in winback.plan.variants)


def test_a_segment_the_brief_excludes_outright_is_left_out_with_a_note(demo_workspace: Workspace) -> None:
    result = OfflinePlanner().plan_now(PlanRequest(brief="cart recovery with free shipping, but not for VIPs",
                                                   workspace=demo_workspace))
    plan = result.plan
    assert plan is not None
    assert [s.name for s in plan.segments] == ["First-time shoppers", "Returning customers"]
    assert {v.segment for v in plan.variants} == {"First-time shoppers", "Returning customers"}
    assert "I left out the VIP members segment: the brief excludes VIP members." in result.notes
    assert validate_plan(plan, demo_workspace) == []


@pytest.mark.parametrize("brief", ["re-engage people who haven't opened anything in 90 days, then sunset them",
                                   "re-engage subscribers inactive for 90 days"])
def test_the_briefs_quiet_window_replaces_the_playbooks_in_rules_and_words(demo_workspace: Workspace,
                                                                           brief: str) -> None:
    plan = OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=demo_workspace)).plan
    assert plan is not None and plan.goal == "reengagement"
    dumped = plan.model_dump_json()
    assert '"days":90' in dumped and '"value":90' in dumped and "120" not in dumped
    assert all("90 days" in s.hypothesis.attribute for s in plan.segments)
    # "re-engage subscribers" is not "engaged subscribers": no "clicked in the last 90 days" condition
    assert "within_days" not in dumped
    assert validate_plan(plan, demo_workspace) == []
