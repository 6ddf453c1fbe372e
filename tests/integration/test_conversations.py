"""The copilot service: chat turns become stored revisions; diffs, restores and edits; nothing is lost on failure.

The planners are the product's own: the model planner talks to a stubbed chat completions
API (respx) where a test needs a particular answer, the offline planner answers otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from support.fakes import add_users, demo_plan
from support.openai_stub import StubLLM, answering, llm_settings, planning_answer, serving

from copilot.audience.aggregates import rebuild_aggregates
from copilot.errors import (
    BriefError,
    PermissionDeniedError,
    PlannerError,
    PlanValidationError,
    StaleRevisionError,
)
from copilot.models import Contact, Event, FindingRow, Message, PlanRevision
from copilot.plan import content_hash
from copilot.planner.context import plan_json
from copilot.planner.llm import LLMPlanner
from copilot.planner.offline import OfflinePlanner
from copilot.prompts import load_prompt
from copilot.services import conversations as svc
from copilot.services.workspaces import get_workspace_record
from copilot.tokens import estimate_cost, prepare_tiktoken_cache

NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)
MODEL = "llm:gpt-4o-mini"


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


def model_planner(tmp_path: Path, **settings: Any) -> LLMPlanner:
    """The product's model planner, pointed at the stubbed API."""
    return LLMPlanner(llm_settings(tmp_path / "data", **settings))


@pytest.fixture
def world(runtime):  # type: ignore[no-untyped-def]
    """The demo workspace with a marketer, a reviewer and three contacts with a few events.

    Names and cities are ones no workspace file or prompt contains, so finding one in a request is a leak.
    """
    with runtime.session() as session:
        ws_id = get_workspace_record(session, runtime.default_workspace.slug).id
        marketer, reviewer = add_users(session, ("mia", "marketer"), ("rex", "reviewer"))
        people = [
            Contact(workspace_id=ws_id, email="ada.lovelace@example.org", first_name="Ada", last_name="Lovelace",
                    city="Pocatello", attributes={"loyalty_tier": "vip", "shoe_size": 8.5}),
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
        session.flush()
        rebuild_aggregates(session.connection(), ws_id)  # as every writer of events keeps them
        session.commit()
        ids = {"workspace": ws_id, "marketer": marketer.id, "reviewer": reviewer.id}
    return runtime, ids


def _conversation(session: Session, ids: dict[str, int]) -> int:
    return svc.create_conversation(session, workspace_id=ids["workspace"], author_id=ids["marketer"]).id or 0


async def test_marketer_message_is_committed_before_the_planner_is_called(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    plan = demo_plan()
    seen: list[list[str]] = []

    def answer(body):  # type: ignore[no-untyped-def]
        with Session(runtime.engine) as other:  # a different connection sees only committed rows
            seen.append([m.content for m in other.exec(select(Message))])
        return planning_answer(plan)

    stub = StubLLM(answering(plan)).queue("plan", answer)
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"],
                                         text="win back lapsed runners", workspace=runtime.default_workspace,
                                         planner=model_planner(tmp_path), now=NOW)
    assert seen == [["win back lapsed runners"]]
    assert outcome.revision is not None


async def test_turn_stores_revision_findings_and_answer_with_usage(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    plan = demo_plan(brief="win back lapsed runners")  # the plan carries the brief it was made from
    stub = StubLLM(answering(plan))
    planner = model_planner(tmp_path)
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"],
                                         text="win back lapsed runners", workspace=runtime.default_workspace,
                                         planner=planner, now=NOW)
    with runtime.session() as session:
        revisions = svc.list_revisions(session, conv)
        messages = svc.list_messages(session, conv)
        findings = session.exec(select(FindingRow).where(FindingRow.revision_id == revisions[0].id)).all()
        conversation = svc.get_conversation(session, conv)
    assert stub.kinds == ["plan", "copy", "copy"]  # the outline, then one copy call per segment
    assert [r.number for r in revisions] == [1]
    assert revisions[0].content_hash == content_hash(plan)
    assert revisions[0].planner == planner.name == MODEL
    assert revisions[0].prompt_versions == {name: load_prompt(name).ref for name in ("system", "plan", "copy")}
    assert revisions[0].created_by_id == ids["marketer"]
    assert [(m.role, m.status) for m in messages] == [("user", "ok"), ("assistant", "ok")]
    answer = messages[1]
    assert (answer.planner, answer.revision_id) == (MODEL, revisions[0].id)
    # what the API billed for the turn's three calls, summed and priced with the configured prices
    prompt_tokens, completion_tokens = stub.billed()
    assert prompt_tokens > 0 and completion_tokens > 0 and len(stub.usages) == 3
    assert (answer.prompt_tokens, answer.completion_tokens) == (prompt_tokens, completion_tokens)
    s = planner.settings
    assert answer.cost_usd == pytest.approx(estimate_cost(
        prompt_tokens, completion_tokens, prompt_per_mtok=s.price_prompt_per_mtok,
        completion_per_mtok=s.price_completion_per_mtok))
    assert conversation.title == plan.title
    assert len(findings) == len(outcome.revision.findings)
    assert outcome.to_dict()["conversation_usage"]["prompt_tokens"] == prompt_tokens


async def test_followup_revises_the_current_plan_with_the_history(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    first = demo_plan(brief="win back lapsed runners")
    second = demo_plan(brief="win back lapsed runners\ndrop the VIP segment",
                       segments=first.model_dump(mode="json")["segments"][1:],
                       variants=first.model_dump(mode="json")["variants"][1:])
    # The revision keeps the remaining segment's copy: no copy call on the second turn.
    stub = StubLLM(answering(first)).queue(
        "plan", planning_answer(first, reply="Two segments with the come-back offer.")).queue(
        "revise", planning_answer(second, reply="Dropped the VIP segment.", copy_to_write=[]))
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        for text in ("win back lapsed runners", "drop the VIP segment"):
            outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                             workspace=runtime.default_workspace, planner=model_planner(tmp_path),
                                             now=NOW)
        revisions = svc.list_revisions(session, conv)
    assert stub.kinds == ["plan", "copy", "copy", "revise"]
    assert [r.content_hash for r in revisions] == [content_hash(first), content_hash(second)]
    # What the model saw for the follow-up: the current plan, the conversation so far, the new message.
    revise = stub.prompts_of("revise")[0]
    assert f"Current plan:\n{plan_json(first)}\n" in revise
    conversation = re.search(r"<conversation>\n(.*?)\n</conversation>", revise, flags=re.DOTALL)
    assert conversation is not None
    assert conversation.group(1).splitlines() == [
        "user: win back lapsed runners", "assistant: Two segments with the come-back offer."]
    assert revise.rstrip().endswith("<message>\ndrop the VIP segment\n</message>")
    assert outcome.revision is not None
    assert (outcome.revision.revision.number, outcome.revision.revision.parent_number) == (2, 1)
    assert outcome.revision.changes is not None and outcome.revision.changes.segments_removed == ["Lapsed VIPs"]
    assert (outcome.totals.prompt_tokens, outcome.totals.completion_tokens) == stub.billed()
    assert outcome.totals.calls == 2  # answered turns


async def test_planner_sees_aggregate_counts_and_no_contact_values(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    stub = StubLLM(answering(demo_plan()))
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back runners",
                               workspace=runtime.default_workspace, planner=model_planner(tmp_path), now=NOW)
    prompt = stub.prompts_of("plan")[0]
    assert "Audience: 3 contacts, 2 subscribed." in prompt
    events = re.search(r"^Contacts per event: (.*)$", prompt, flags=re.MULTILINE)
    sparse = re.search(r"^Sparse fields \(share of contacts with a value\): (.*)$", prompt, flags=re.MULTILINE)
    assert events and json.loads(events.group(1)) == {"order_placed": 2, "product_viewed": 1}
    # fields filled for under 90% of contacts, as shares; email (3 of 3) is not sparse
    assert sparse is not None
    shares = json.loads(sparse.group(1))
    assert (shares["hometown"], shares["loyalty_tier"], shares["shoe_size"]) == ("0%", "67%", "33%")
    assert "email" not in shares
    wire = json.dumps(stub.bodies, ensure_ascii=False)
    assert len(stub.bodies) == 3
    for value in ("ada.lovelace@example.org", "grace.hopper@example.org", "linus.t@example.org", "Lovelace",
                  "Hopper", "Grace", "Linus", "Pocatello", "Arlington"):
        assert value not in wire


async def test_planner_failure_keeps_the_message_and_stores_an_error_answer(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    stub = StubLLM().queue("plan", httpx.ConnectError("connection refused"))
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        with pytest.raises(PlannerError, match="could not reach the model's API"):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back runners",
                                   workspace=runtime.default_workspace,
                                   planner=model_planner(tmp_path, llm_fallback=False), now=NOW)
    with runtime.session() as session:
        messages = svc.list_messages(session, conv)
        assert svc.list_revisions(session, conv) == []
    assert stub.kinds == ["plan"]
    assert [(m.role, m.status) for m in messages] == [("user", "ok"), ("assistant", "error")]
    assert messages[0].content == "win back runners"
    assert messages[1].planner == MODEL
    assert "The model (gpt-4o-mini) could not answer: could not reach the model's API" in messages[1].content


@contextmanager
def table_gone(engine: sa.Engine, table: str) -> Iterator[None]:
    """``table`` renamed away for the block: statements on it fail in the database driver, as in an outage."""
    away = f"{table}_away"

    def rename(old: str, new: str) -> None:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # fail fast rather than wait on a lock some session holds
                conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            conn.execute(sa.text(f"ALTER TABLE {old} RENAME TO {new}"))

    rename(table, away)
    try:
        yield
    finally:
        rename(away, table)


async def test_unexpected_failure_during_a_turn_becomes_a_planner_error_and_stores_nothing_half_done(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    with runtime.session() as session:
        conv = _conversation(session, ids)
        # The plan is made, but its findings cannot be written: not a CopilotError, so it is wrapped.
        with table_gone(runtime.engine, "findings"), pytest.raises(
                PlannerError, match=r"^planning failed: (OperationalError|ProgrammingError): .*findings"):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"],
                                   text="win back lapsed runners with 15% off", workspace=runtime.default_workspace,
                                   planner=OfflinePlanner(), now=NOW)
        messages = svc.list_messages(session, conv)
        assert svc.list_revisions(session, conv) == []  # the revision written before the failure is rolled back
    assert [(m.role, m.status) for m in messages] == [("user", "ok"), ("assistant", "error")]
    assert messages[1].planner == OfflinePlanner().name
    assert "an unexpected error" in messages[1].content


async def test_questions_only_answer_makes_no_revision(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    # A message this thin is a clarifying round: the model may only ask.
    stub = StubLLM().queue("clarify", {"reply": "A few questions first.",
                                       "questions": ["Which offer should the email carry?"]})
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="an email",
                                         workspace=runtime.default_workspace, planner=model_planner(tmp_path))
        assert svc.list_revisions(session, conv) == []
    assert stub.kinds == ["clarify"]
    assert outcome.revision is None and outcome.assistant_message.status == "ok"
    assert outcome.assistant_message.content.startswith("A few questions first.")
    assert "Which offer should the email carry?" in outcome.assistant_message.content


@pytest.mark.parametrize("text", ["", "   ", "x" * (svc.MAX_MESSAGE_CHARS + 1)])
async def test_empty_or_oversized_message_is_refused_and_nothing_stored(world, text: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    stub = StubLLM()  # answers nothing: any request would fail the test
    with runtime.session() as session, serving(stub) as api:
        conv = _conversation(session, ids)
        with pytest.raises(BriefError):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                   workspace=runtime.default_workspace, planner=model_planner(tmp_path))
        assert svc.list_messages(session, conv) == []
    assert stub.bodies == [] and not api.calls


async def test_only_the_author_can_post_restore_or_edit(world) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    with runtime.session() as session:
        conv = _conversation(session, ids)
        await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back lapsed runners",
                               workspace=runtime.default_workspace, planner=OfflinePlanner(), now=NOW)
        segment = svc.revision_plan(svc.latest_revision(session, conv)).segments[0].name
        with pytest.raises(PermissionDeniedError):
            svc.start_turn(session, conversation_id=conv, actor_id=ids["reviewer"], text="approve it")
        with pytest.raises(PermissionDeniedError):
            svc.restore_revision(session, conversation_id=conv, number=1, actor_id=ids["reviewer"],
                                 workspace=runtime.default_workspace)
        with pytest.raises(PermissionDeniedError):
            svc.edit_variant(session, conversation_id=conv, actor_id=ids["reviewer"],
                             workspace=runtime.default_workspace, base_number=1, segment=segment,
                             changes={"subject": "Mine now"})
        assert len(svc.list_revisions(session, conv)) == 1


async def test_stream_yields_reply_tokens_then_the_revision(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    stub = StubLLM(answering(demo_plan(), reply="Two segments with the come-back offer, VIPs first."))
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        message = svc.start_turn(session, conversation_id=conv, actor_id=ids["marketer"], text="win back")
        events = [e async for e in svc.stream_turn(session, message, workspace=runtime.default_workspace,
                                                   planner=model_planner(tmp_path), now=NOW)]
    kinds = [e.event for e in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"} and len(kinds) > 2
    assert "".join(e.data for e in events[:-1]).strip() == "Two segments with the come-back offer, VIPs first."
    assert events[-1].data["revision"]["number"] == 1
    assert events[-1].data["planner"] == MODEL


async def test_stream_ends_with_an_error_event_when_planning_fails(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    stub = StubLLM().queue("plan", httpx.Response(500, json={"error": {"message": "upstream trouble"}}))
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        message = svc.start_turn(session, conversation_id=conv, actor_id=ids["marketer"], text="win back")
        events = [e async for e in svc.stream_turn(session, message, workspace=runtime.default_workspace,
                                                   planner=model_planner(tmp_path, llm_fallback=False))]
    assert stub.kinds == ["plan"]
    assert [e.event for e in events] == ["error"]
    assert events[0].data["error"] == "PlannerError"
    assert "HTTP 500" in events[0].data["message"]


async def _two_revisions(runtime, ids, tmp_path):  # type: ignore[no-untyped-def]
    first = demo_plan(brief="win back")
    data = first.model_dump(mode="json")
    data["brief"] = "win back\nswap VIPs for recent browsers"
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
    stub = StubLLM()
    with runtime.session() as session, serving(stub):
        conv = _conversation(session, ids)
        for text, plan in (("win back", first), ("swap VIPs for recent browsers", second)):
            # the revision rewrites the changed segment's copy; the new segment gets copy anyway
            stub.default = answering(plan, copy_to_write=["Lapsed customers"])
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text=text,
                                   workspace=runtime.default_workspace, planner=model_planner(tmp_path), now=NOW)
        revisions = svc.list_revisions(session, conv)
    assert stub.kinds == ["plan", "copy", "copy", "revise", "copy", "copy"]
    assert [r.content_hash for r in revisions] == [content_hash(first), content_hash(second)]
    return conv, first, second


async def test_diff_lists_segments_added_removed_changed_and_copy_changes(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    conv, _, _ = await _two_revisions(runtime, ids, tmp_path)
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


async def test_restore_makes_a_new_revision_with_the_old_content(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    conv, first, _ = await _two_revisions(runtime, ids, tmp_path)
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


async def test_edit_variant_makes_a_new_revision_and_refuses_stale_or_bad_edits(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime, ids = world
    ws = runtime.default_workspace
    with runtime.session() as session:
        conv = _conversation(session, ids)
        with serving(StubLLM(answering(demo_plan()))):
            await svc.post_message(session, conversation_id=conv, actor_id=ids["marketer"], text="win back",
                                   workspace=ws, planner=model_planner(tmp_path), now=NOW)
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
