"""The copilot service: chat turns become stored revisions; diffs, restores and edits; nothing is lost on failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from support.fakes import ScriptedPlanner, add_users, demo_plan, plan_result

from copilot.errors import (
    BriefError,
    PermissionDeniedError,
    PlannerError,
    PlanValidationError,
    StaleRevisionError,
)
from copilot.models import Contact, Event, FindingRow, Message, PlanRevision
from copilot.plan import content_hash
from copilot.services import conversations as svc
from copilot.services.workspaces import get_workspace_record

NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)


@pytest.fixture
def world(runtime):  # type: ignore[no-untyped-def]
    """The demo workspace with a marketer, a reviewer and three contacts with a few events."""
    with runtime.session() as session:
        ws_id = get_workspace_record(session, runtime.default_workspace.slug).id
        marketer, reviewer = add_users(session, ("mia", "marketer"), ("rex", "reviewer"))
        people = [
            Contact(workspace_id=ws_id, email="ada.lovelace@example.org", first_name="Ada", last_name="Lovelace",
                    city="Portland", attributes={"loyalty_tier": "vip", "shoe_size": 8.5}),
            Contact(workspace_id=ws_id, email="grace.hopper@example.org", first_name="Grace", last_name="Hopper",
                    city="Arlington", attributes={"loyalty_tier": "member"}),
            Contact(workspace_id=ws_id, email="linus.t@example.org", first_name="Linus", consent="unsubscribed",
                    attributes={}),
        ]
        session.add_all(people)
        session.flush()
        for i, person in enumerate(people[:2]):
            session.add(Event(workspace_id=ws_id, contact_id=person.id, name="order_placed",
                              occurred_at=NOW - timedelta(days=200 + i), product="NP-TEMPO-FLY", value=160.0))
        session.add(Event(workspace_id=ws_id, contact_id=people[0].id, name="product_viewed",
                          occurred_at=NOW - timedelta(days=3), product="NP-CLOUDSTRIDE-3"))
        session.commit()
        ids = {"workspace": ws_id, "marketer": marketer.id, "reviewer": reviewer.id}
    return runtime, ids


def _conversation(session: Session, ids: dict[str, int]) -> int:
    return svc.create_conversation(session, workspace_id=ids["workspace"], author_id=ids["marketer"]).id or 0


async def test_marketer_message_is_committed_before_the_planner_is_called(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    seen: list[list[str]] = []

    def answer(request):  # type: ignore[no-untyped-def]
        with Session(runtime.engine) as other:  # a different connection sees only committed rows
            seen.append([m.content for m in other.exec(select(Message))])
        return plan_result(demo_plan())

    with runtime.session() as session:
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back lapsed runners",
                               workspace=runtime.default_workspace, planner=ScriptedPlanner(answer), now=NOW)
    assert seen == [["win back lapsed runners"]]


async def test_turn_stores_revision_findings_and_answer_with_usage(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    plan = demo_plan()
    planner = ScriptedPlanner(plan_result(plan, prompt_tokens=1200, completion_tokens=300, cost_usd=0.00036,
                                          prompt_versions={"system": "3", "plan": "2"}))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"],
                                         text="win back lapsed runners", workspace=runtime.default_workspace,
                                         planner=planner, now=NOW)
    with runtime.session() as session:
        revisions = svc.list_revisions(session, conv)
        messages = svc.list_messages(session, conv)
        findings = session.exec(select(FindingRow).where(FindingRow.revision_id == revisions[0].id)).all()
        conversation = svc.get_conversation(session, conv)
    assert [r.number for r in revisions] == [1]
    assert revisions[0].content_hash == content_hash(plan)
    assert revisions[0].planner == "scripted"
    assert revisions[0].prompt_versions == {"system": "3", "plan": "2"}
    assert revisions[0].created_by_id == ids["marketer"]
    assert [(m.role, m.status) for m in messages] == [("user", "ok"), ("assistant", "ok")]
    answer = messages[1]
    assert (answer.planner, answer.revision_id) == ("scripted", revisions[0].id)
    assert (answer.prompt_tokens, answer.completion_tokens) == (1200, 300)
    assert answer.cost_usd == pytest.approx(0.00036)
    assert conversation.title == plan.title
    assert len(findings) == len(outcome.revision.findings)
    assert outcome.to_dict()["conversation_usage"]["prompt_tokens"] == 1200


async def test_followup_revises_the_current_plan_with_the_history(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    first = demo_plan()
    second = demo_plan(segments=first.model_dump(mode="json")["segments"][1:],
                       variants=first.model_dump(mode="json")["variants"][1:])
    planner = ScriptedPlanner(plan_result(first, prompt_tokens=100, completion_tokens=10),
                              plan_result(second, reply="Dropped the VIP segment.", prompt_tokens=150,
                                          completion_tokens=20))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        for text in ("win back lapsed runners", "drop the VIP segment"):
            outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                             workspace=runtime.default_workspace, planner=planner, now=NOW)
    followup = planner.history[1]
    assert followup.current_plan == first
    assert [(t.role, t.content) for t in followup.history][0] == ("user", "win back lapsed runners")
    assert followup.history[1].role == "assistant"
    assert followup.brief == "drop the VIP segment"
    assert outcome.revision is not None
    assert (outcome.revision.revision.number, outcome.revision.revision.parent_number) == (2, 1)
    assert outcome.revision.changes is not None and outcome.revision.changes.segments_removed == ["Lapsed VIPs"]
    assert (outcome.totals.prompt_tokens, outcome.totals.completion_tokens, outcome.totals.calls) == (250, 30, 2)


async def test_planner_sees_aggregate_counts_and_no_contact_values(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    planner = ScriptedPlanner(plan_result(demo_plan()))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back runners",
                               workspace=runtime.default_workspace, planner=planner, now=NOW)
    audience = planner.history[0].audience
    assert (audience.contacts, audience.subscribed) == (3, 2)
    assert audience.event_contacts == {"order_placed": 2, "product_viewed": 1}
    assert audience.field_filled["loyalty_tier"] == 2 and audience.field_filled["email"] == 3
    assert audience.field_filled["shoe_size"] == 1 and audience.field_filled["hometown"] == 0
    dumped = repr(planner.history[0].audience) + repr(planner.history[0].history) + planner.history[0].brief
    for value in ("ada.lovelace@example.org", "Lovelace", "Grace", "Portland", "Arlington"):
        assert value not in dumped


async def test_planner_failure_keeps_the_message_and_stores_an_error_answer(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    planner = ScriptedPlanner(PlannerError("the model is down"))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        with pytest.raises(PlannerError):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back runners",
                                   workspace=runtime.default_workspace, planner=planner, now=NOW)
    with runtime.session() as session:
        messages = svc.list_messages(session, conv)
        assert svc.list_revisions(session, conv) == []
    assert [(m.role, m.status) for m in messages] == [("user", "ok"), ("assistant", "error")]
    assert messages[0].content == "win back runners"
    assert "the model is down" in messages[1].content


async def test_unexpected_planner_crash_becomes_a_planner_error(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    with runtime.session() as session:
        conv = _conversation(session, ids)
        with pytest.raises(PlannerError, match="ZeroDivisionError"):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back",
                                   workspace=runtime.default_workspace, planner=ScriptedPlanner(ZeroDivisionError()))
        assert [m.role for m in svc.list_messages(session, conv)] == ["user", "assistant"]


async def test_questions_only_answer_makes_no_revision(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    planner = ScriptedPlanner(plan_result(None, reply="A few questions first.",
                                          questions=["Which offer should the email carry?"]))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="an email",
                                         workspace=runtime.default_workspace, planner=planner)
        assert svc.list_revisions(session, conv) == []
    assert outcome.revision is None
    assert "Which offer should the email carry?" in outcome.assistant_message.content


@pytest.mark.parametrize("text", ["", "   ", "x" * (svc.MAX_MESSAGE_CHARS + 1)])
async def test_empty_or_oversized_message_is_refused_and_nothing_stored(world, text: str) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    planner = ScriptedPlanner()
    with runtime.session() as session:
        conv = _conversation(session, ids)
        with pytest.raises(BriefError):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                   workspace=runtime.default_workspace, planner=planner)
        assert svc.list_messages(session, conv) == []
    assert planner.history == []


async def test_only_the_author_can_post_restore_or_edit(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    with runtime.session() as session:
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back",
                               workspace=runtime.default_workspace, planner=ScriptedPlanner(plan_result(demo_plan())))
        with pytest.raises(PermissionDeniedError):
            svc.start_turn(session, conversation_id=conv, actor_id=ids["reviewer"], text="approve it")
        with pytest.raises(PermissionDeniedError):
            svc.restore_revision(session, conversation_id=conv, number=1, actor_id=ids["reviewer"],
                                 workspace=runtime.default_workspace)
        with pytest.raises(PermissionDeniedError):
            svc.edit_variant(session, conversation_id=conv, actor_id=ids["reviewer"],
                             workspace=runtime.default_workspace, base_number=1, segment="Lapsed VIPs",
                             changes={"subject": "Mine now"})
        assert len(svc.list_revisions(session, conv)) == 1


async def test_stream_yields_reply_tokens_then_the_revision(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    planner = ScriptedPlanner(plan_result(demo_plan(), reply="Two segments, one offer."))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        message = svc.start_turn(session, conversation_id=conv, actor_id=ids["marketer"], text="win back")
        events = [e async for e in svc.stream_turn(session, message, workspace=runtime.default_workspace,
                                                   planner=planner, now=NOW)]
    kinds = [e.event for e in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"} and len(kinds) > 2
    assert "".join(e.data for e in events[:-1]).strip() == "Two segments, one offer."
    assert events[-1].data["revision"]["number"] == 1
    assert events[-1].data["planner"] == "scripted"


async def test_stream_ends_with_an_error_event_when_planning_fails(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    with runtime.session() as session:
        conv = _conversation(session, ids)
        message = svc.start_turn(session, conversation_id=conv, actor_id=ids["marketer"], text="win back")
        events = [e async for e in svc.stream_turn(session, message, workspace=runtime.default_workspace,
                                                   planner=ScriptedPlanner(PlannerError("no model")))]
    assert [e.event for e in events] == ["error"]
    assert events[0].data["error"] == "PlannerError"


async def _two_revisions(runtime, ids):  # type: ignore[no-untyped-def]
    first = demo_plan()
    data = first.model_dump(mode="json")
    data["segments"] = data["segments"][1:] + [{
        **data["segments"][0], "name": "Recent browsers", "priority": 3,
        "rule": {"type": "event", "event": "product_viewed", "window": {"kind": "within_days", "days": 14}},
    }]
    data["segments"][0]["priority"] = 1
    data["variants"] = [
        {**data["variants"][1], "subject": "15% off, this week only"},
        {**data["variants"][0], "segment": "Recent browsers"},
    ]
    second = type(first).model_validate(data)
    planner = ScriptedPlanner(plan_result(first), plan_result(second))
    with runtime.session() as session:
        conv = _conversation(session, ids)
        for text in ("win back", "swap VIPs for recent browsers"):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                   workspace=runtime.default_workspace, planner=planner, now=NOW)
    return conv, first, second


async def test_diff_lists_segments_added_removed_changed_and_copy_changes(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    conv, _, _ = await _two_revisions(runtime, ids)
    with runtime.session() as session:
        diff = svc.diff_revisions(session, conv, 1, 2)
    assert diff.segments_added == ["Recent browsers"]
    assert diff.segments_removed == ["Lapsed VIPs"]
    assert [(c.name, c.parts) for c in diff.segments_changed] == [("Lapsed customers", ["priority"])]
    assert [(c.variant.segment, c.field, c.after) for c in diff.copy_changes] == [
        ("Lapsed customers", "subject", "15% off, this week only")]
    assert [r.segment for r in diff.variants_added] == ["Recent browsers"]
    assert [r.segment for r in diff.variants_removed] == ["Lapsed VIPs"]
    with runtime.session() as session:
        assert svc.diff_revisions(session, conv, 2, 2).is_empty


async def test_restore_makes_a_new_revision_with_the_old_content(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    conv, first, _ = await _two_revisions(runtime, ids)
    with runtime.session() as session:
        outcome = svc.restore_revision(session, conversation_id=conv, number=1, actor_id=ids["marketer"],
                                       workspace=runtime.default_workspace, now=NOW)
    with runtime.session() as session:
        revisions = svc.list_revisions(session, conv)
        last_message = svc.list_messages(session, conv)[-1]
    assert [r.number for r in revisions] == [1, 2, 3]
    assert revisions[2].content_hash == revisions[0].content_hash == content_hash(first)
    assert revisions[2].parent_number == 2 and "Restored revision 1" in revisions[2].note
    assert outcome.changes is not None and outcome.changes.segments_added == ["Lapsed VIPs"]
    assert (last_message.role, last_message.revision_id) == ("system", revisions[2].id)


async def test_edit_variant_makes_a_new_revision_and_refuses_stale_or_bad_edits(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    ws = runtime.default_workspace
    with runtime.session() as session:
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back",
                               workspace=ws, planner=ScriptedPlanner(plan_result(demo_plan())), now=NOW)
        outcome = svc.edit_variant(session, conversation_id=conv, actor_id=ids["marketer"], workspace=ws,
                                   base_number=1, segment="Lapsed customers",
                                   changes={"subject": "Come back: 15% off one order"}, now=NOW)
        assert outcome.created and outcome.revision.number == 2
        assert [(c.field, c.after) for c in outcome.changes.copy_changes] == [
            ("subject", "Come back: 15% off one order")]
        assert outcome.revision.planner == svc.MANUAL_EDIT
        with pytest.raises(StaleRevisionError):
            svc.edit_variant(session, conversation_id=conv, actor_id=ids["marketer"], workspace=ws, base_number=1,
                             segment="Lapsed customers", changes={"subject": "Older base"})
        with pytest.raises(PlanValidationError) as bad_field:
            svc.edit_variant(session, conversation_id=conv, actor_id=ids["marketer"], workspace=ws, base_number=2,
                             segment="Lapsed customers", changes={"segment": "Lapsed VIPs"})
        assert bad_field.value.context["problems"][0]["path"] == "variants[1].segment"
        with pytest.raises(PlanValidationError) as bad_value:
            svc.edit_variant(session, conversation_id=conv, actor_id=ids["marketer"], workspace=ws, base_number=2,
                             segment="Lapsed customers", changes={"merge_fields": [{"name": "first_name"}]})
        assert bad_value.value.context["problems"][0]["path"] == "variants[1].merge_fields[0].fallback"
        same = svc.edit_variant(session, conversation_id=conv, actor_id=ids["marketer"], workspace=ws, base_number=2,
                                segment="Lapsed customers", changes={"subject": "Come back: 15% off one order"})
        assert not same.created and same.revision.number == 2
    with runtime.session() as session:
        assert session.exec(select(PlanRevision.number).where(PlanRevision.conversation_id == conv)).all() == [1, 2]
