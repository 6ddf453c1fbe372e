"""The review gate's state machine on SQLite and PostgreSQL: roles, authorship, hash-bound
approval, blocking findings, acknowledgements, optimistic concurrency, schedule, audit."""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from review_factory import World, finding, plan_dict
from sqlmodel import Session, select

from copilot.errors import PermissionDeniedError, ReviewStateError, StaleRevisionError
from copilot.models import AuditLog, Conversation, FindingOverride, FindingRow, PlanRevision, Review, User
from copilot.services import review as gate

FUTURE = datetime(2031, 5, 4, 9, 30)


def audit(session: Session, review: Review) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).where(AuditLog.entity_id == review.id).order_by(AuditLog.id)))


def approved(world: World, findings: list | None = None) -> Review:
    u = world.users
    review = world.submitted(u["mara"], findings)
    return gate.approve(world.session, review, u["rita"], review.version)


def test_first_revision_opens_a_draft_with_its_finding_counts(world: World) -> None:
    review = world.draft(world.users["mara"], [finding("FACT_PRICE"), finding("TONE_CAPS", "warn")])
    assert (review.state, review.block_count, review.warn_count, review.version) == ("draft", 1, 1, 1)
    [entry] = audit(world.session, review)
    assert (entry.action, entry.from_state, entry.to_state) == ("created", None, "draft")


def test_author_submits_and_the_audit_log_records_who_from_to_and_hash(world: World) -> None:
    u = world.users
    review = world.draft(u["mara"])
    gate.submit(world.session, review, u["mara"], review.version, comment="ready")
    entry = audit(world.session, review)[-1]
    assert (review.state, review.version) == ("in_review", 2)
    assert (entry.actor_id, entry.action, entry.from_state, entry.to_state, entry.comment) == (
        u["mara"].id, "submitted", "draft", "in_review", "ready")
    assert entry.revision_hash == review.revision_hash and entry.at.tzinfo is not None


def test_submit_from_a_conversation_creates_the_review(world: World) -> None:
    u = world.users
    conv = world.conversation(u["mara"])
    with pytest.raises(ReviewStateError, match="no plan yet"):
        gate.submit(world.session, conv, u["mara"])
    world.revise(conv)
    review = gate.submit(world.session, conv, u["mara"])
    assert review.state == "in_review" and review.conversation_id == conv.id


def test_another_marketer_cannot_submit_someone_elses_draft(world: World) -> None:
    review = world.draft(world.users["mara"])
    with pytest.raises(PermissionDeniedError, match="author"):
        gate.submit(world.session, review, world.users["mo"], review.version)
    assert gate.get_review(world.session, review.id).state == "draft"


def test_author_cannot_approve_their_own_draft_even_as_admin(world: World) -> None:
    u = world.users
    review = world.submitted(u["ada"])
    with pytest.raises(PermissionDeniedError, match="author of a draft cannot approve"):
        gate.approve(world.session, review, u["ada"], review.version)
    assert gate.get_review(world.session, review.id).state == "in_review"


def test_database_refuses_self_approval_written_around_the_service(world: World) -> None:
    review = world.submitted(world.users["mara"])
    world.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        world.session.exec(sa.update(Review).where(Review.id == review.id).values(
            state="approved", approved_hash=review.revision_hash, approved_by_id=review.author_id))
    world.session.rollback()


def test_marketer_cannot_approve(world: World) -> None:
    review = world.submitted(world.users["mara"])
    with pytest.raises(PermissionDeniedError, match="only a reviewer or an admin may approve"):
        gate.approve(world.session, review, world.users["mo"], review.version)


def test_approval_is_bound_to_the_exact_revision_hash(world: World) -> None:
    review = approved(world)
    rev = world.session.get(PlanRevision, review.revision_id)
    assert review.state == "approved" and review.approved_hash == rev.content_hash == review.revision_hash
    assert review.approved_by_id == world.users["rita"].id and review.approved_at is not None


def test_draft_cannot_be_approved_before_submission(world: World) -> None:
    review = world.draft(world.users["mara"])
    with pytest.raises(ReviewStateError, match="cannot approve a review that is draft"):
        gate.approve(world.session, review, world.users["rita"], review.version)


def test_blocking_finding_stops_approval_until_overridden_with_a_reason(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"], [finding("FACT_PRICE"), finding("TONE_CAPS", "warn")])
    with pytest.raises(ReviewStateError, match="1 blocking finding.*FACT_PRICE"):
        gate.approve(s, review, u["rita"], review.version)
    block = s.exec(select(FindingRow).where(FindingRow.code == "FACT_PRICE")).one()
    with pytest.raises(ReviewStateError, match="reason is required"):
        gate.override_finding(s, review, u["rita"], review.version, finding_id=block.id, reason="   ")
    mark = gate.override_finding(s, review, u["rita"], review.version, finding_id=block.id,
                                 reason="price confirmed by the pricing team")
    assert (mark.kind, mark.revision_hash, mark.fingerprint) == ("override", review.revision_hash, block.fingerprint)
    entry = audit(s, review)[-1]
    assert (entry.action, entry.comment, entry.data["code"]) == (
        "finding_overridden", "price confirmed by the pricing team", "FACT_PRICE")
    gate.approve(s, review, u["rita"], review.version)
    assert review.state == "approved"


@pytest.mark.parametrize("author, who, severity, error, match", [
    ("mara", "mo", "block", PermissionDeniedError, "only a reviewer or an admin may override a finding"),
    ("ada", "ada", "block", PermissionDeniedError, "author of a draft cannot override a finding on it"),
    ("mara", "rita", "warn", ReviewStateError, "not a block"),
])
def test_override_refusals(world: World, author: str, who: str, severity: str, error: type, match: str) -> None:
    s = world.session
    review = world.submitted(world.users[author], [finding("X_ONE", severity)])
    row = s.exec(select(FindingRow)).one()
    with pytest.raises(error, match=match):
        gate.override_finding(s, review, world.users[who], review.version, finding_id=row.id, reason="because")
    assert s.exec(select(FindingOverride)).all() == []


def test_warning_that_needs_acknowledgement_stops_approval_until_acknowledged(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"], [finding("PROV_UNEXPECTED", "warn", needs_ack=True),
                                         finding("TONE_CAPS", "warn")])
    with pytest.raises(ReviewStateError, match="need acknowledgement.*PROV_UNEXPECTED"):
        gate.approve(s, review, u["rita"], review.version)
    plain = s.exec(select(FindingRow).where(FindingRow.code == "TONE_CAPS")).one()
    with pytest.raises(ReviewStateError, match="does not need acknowledgement"):
        gate.acknowledge_finding(s, review, u["rita"], review.version, finding_id=plain.id)
    ack = s.exec(select(FindingRow).where(FindingRow.code == "PROV_UNEXPECTED")).one()
    gate.acknowledge_finding(s, review, u["rita"], review.version, finding_id=ack.id)
    assert gate.gate_status(s, review).clear
    gate.approve(s, review, u["rita"], review.version)


def test_edit_after_approval_voids_it_and_overrides_do_not_carry_over(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"], [finding("FACT_PRICE")])
    block = s.exec(select(FindingRow)).one()
    gate.override_finding(s, review, u["rita"], review.version, finding_id=block.id, reason="checked")
    gate.approve(s, review, u["rita"], review.version)
    old_hash = review.revision_hash
    conv_id = review.conversation_id
    world.revise(_conv(world, conv_id), plan_dict(title="Win back lapsed runners, warmer"), [finding("FACT_PRICE")], actor=u["mara"])
    review = gate.get_review(s, review.id)
    assert review.state == "in_review" and review.approved_hash is None and review.approved_by_id is None
    assert review.revision_hash != old_hash
    entry = audit(s, review)[-1]
    assert (entry.action, entry.from_state, entry.to_state, entry.data["previous_hash"]) == (
        "approval_voided", "approved", "in_review", old_hash)
    with pytest.raises(ReviewStateError, match="blocking"):
        gate.approve(s, review, u["rita"], review.version)


def _conv(world: World, conversation_id: int) -> Conversation:
    conv = world.session.get(Conversation, conversation_id)
    assert conv is not None
    return conv


def test_stale_action_is_refused_and_nothing_is_overwritten(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"])
    seen = review.version
    gate.request_changes(s, review, u["rob"], seen, comment="tighten the subject")
    before = len(audit(s, review))
    with pytest.raises(StaleRevisionError, match="this draft changed"):
        gate.approve(s, review, u["rita"], seen)
    review = gate.get_review(s, review.id)
    assert review.state == "changes_requested" and review.approved_hash is None
    assert len(audit(s, review)) == before


def test_request_changes_needs_a_comment_and_reject_a_reason(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"])
    with pytest.raises(ReviewStateError, match="comment explaining the changes is required"):
        gate.request_changes(s, review, u["rita"], review.version, comment="")
    with pytest.raises(ReviewStateError, match="reason for rejecting is required"):
        gate.reject(s, review, u["rita"], review.version, reason=" ")
    gate.request_changes(s, review, u["rita"], review.version, comment="name the offer's end date")
    gate.submit(s, review, u["mara"], review.version)
    gate.reject(s, review, u["rita"], review.version, reason="off-season")
    assert [e.action for e in audit(s, review)] == [
        "created", "submitted", "changes_requested", "submitted", "rejected"]


def test_rejected_is_final(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"])
    gate.reject(s, review, u["rita"], review.version, reason="not this season")
    with pytest.raises(ReviewStateError, match="cannot submit a review that is rejected"):
        gate.submit(s, review, u["mara"], review.version)
    world.revise(_conv(world, review.conversation_id), plan_dict(title="Try again"))
    assert gate.get_review(s, review.id).state == "rejected"


def test_schedule_stores_the_approved_snapshot_with_its_hash(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    gate.schedule(s, review, u["rob"], review.version, at=FUTURE, timezone="Europe/Berlin")
    rev = s.get(PlanRevision, review.revision_id)
    assert review.state == "scheduled" and review.snapshot == rev.plan
    assert review.snapshot_hash == review.approved_hash == rev.content_hash
    # 09:30 in Berlin in May is 07:30 UTC.
    assert review.scheduled_for == datetime(2031, 5, 4, 7, 30, tzinfo=UTC)
    assert review.schedule_timezone == "Europe/Berlin"
    entry = audit(s, review)[-1]
    assert (entry.action, entry.to_state, entry.data["mode"]) == ("scheduled", "scheduled", "send")


@pytest.mark.parametrize("kwargs, match", [
    ({"at": datetime(2020, 1, 1, 9, 0), "timezone": "UTC"}, "in the past"),
    ({"at": FUTURE, "timezone": "Mars/Olympus"}, "unknown time zone"),
])
def test_schedule_refuses_bad_times(world: World, kwargs: dict, match: str) -> None:
    review = approved(world)
    with pytest.raises(ReviewStateError, match=match):
        gate.schedule(world.session, review, world.users["rob"], review.version, **kwargs)
    assert gate.get_review(world.session, review.id).state == "approved"


def test_only_an_approved_draft_can_be_scheduled(world: World) -> None:
    review = world.submitted(world.users["mara"])
    with pytest.raises(ReviewStateError, match="cannot schedule a review that is in review"):
        gate.schedule(world.session, review, world.users["rob"], review.version, at=FUTURE, timezone="UTC")


def test_another_marketer_cannot_schedule(world: World) -> None:
    review = approved(world)
    with pytest.raises(PermissionDeniedError):
        gate.schedule(world.session, review, world.users["mo"], review.version, at=FUTURE, timezone="UTC")


def test_cancel_before_send_keeps_the_snapshot_for_the_record(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    gate.schedule(s, review, u["rob"], review.version, at=FUTURE, timezone="UTC")
    snapshot_hash = review.snapshot_hash
    gate.cancel(s, review, u["rita"], review.version, reason="date moved")
    assert review.state == "cancelled" and review.snapshot_hash == snapshot_hash
    with pytest.raises(ReviewStateError, match="only a scheduled or sending campaign can be cancelled"):
        gate.cancel(s, review, u["rita"], review.version)


def test_edit_of_a_scheduled_plan_voids_the_schedule(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    gate.schedule(s, review, u["rob"], review.version, at=FUTURE, timezone="UTC")
    world.revise(_conv(world, review.conversation_id), plan_dict(title="Changed after scheduling"))
    review = gate.get_review(s, review.id)
    assert review.state == "in_review" and review.approved_hash is None and review.scheduled_for is None
    assert audit(s, review)[-1].action == "schedule_voided"


def test_tampered_plan_cannot_be_approved(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"])
    s.exec(sa.update(PlanRevision).where(PlanRevision.id == review.revision_id).values(
        plan=plan_dict(title="Swapped behind the reviewer's back")))
    with pytest.raises(ReviewStateError, match="does not match its content hash"):
        gate.approve(s, review, u["rita"], review.version)


# -- the database's own guard rails (migration 0004) ------------------------------------

def _direct(session: Session, review: Review, **values: object) -> None:
    session.commit()
    try:
        with pytest.raises(sa.exc.DatabaseError, match=r"review gate|append-only|reason"):
            session.exec(sa.update(Review).where(Review.id == review.id).values(**values))
            session.flush()
    finally:
        session.rollback()


def test_database_refuses_a_transition_the_state_machine_does_not_have(world: World) -> None:
    review = world.draft(world.users["mara"])
    _direct(world.session, review, state="approved", approved_hash=review.revision_hash,
            approved_by_id=world.users["rita"].id)


def test_database_refuses_approval_over_an_unresolved_block(world: World) -> None:
    review = world.submitted(world.users["mara"], [finding("FACT_PRICE")])
    _direct(world.session, review, state="approved", approved_hash=review.revision_hash,
            approved_by_id=world.users["rita"].id)


def test_database_refuses_approval_bound_to_another_hash(world: World) -> None:
    review = world.submitted(world.users["mara"])
    _direct(world.session, review, state="approved", approved_hash="0" * 64, approved_by_id=world.users["rita"].id)


def test_database_keeps_the_scheduled_snapshot_immutable(world: World) -> None:
    review = approved(world)
    gate.schedule(world.session, review, world.users["rob"], review.version, at=FUTURE, timezone="UTC")
    _direct(world.session, review, snapshot={"forged": True})


def test_database_keeps_overrides_append_only(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"], [finding("FACT_PRICE")])
    row = s.exec(select(FindingRow)).one()
    gate.override_finding(s, review, u["rita"], review.version, finding_id=row.id, reason="checked")
    s.commit()
    for statement in (sa.update(FindingOverride).values(reason="rewritten"), sa.delete(FindingOverride)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            s.exec(statement)
        s.rollback()


def test_transitions_match_the_database_triggers() -> None:
    # The newest migration that sets the list (0004 made it; 0010 added sending -> cancelled).
    migration = importlib.import_module("copilot.migrations.versions.0010_delivery")
    pairs = {f"{a}>{b}" for a, targets in gate.TRANSITIONS.items() for b in targets}
    assert pairs == set(migration.ALLOWED)


# -- two reviewers at once ---------------------------------------------------------------

def _act(engine: sa.Engine, review_id: int, actor_name: str, action: str, version: int,
         results: dict, barrier: threading.Barrier, hold: float = 0.0) -> None:
    with Session(engine, expire_on_commit=False) as s:
        actor = s.exec(select(User).where(User.username == actor_name)).one()
        barrier.wait()
        try:
            if action == "approve":
                gate.approve(s, review_id, actor, version, comment="fine")
            else:
                gate.reject(s, review_id, actor, version, reason="no")
            if hold:
                threading.Event().wait(hold)  # keep the write open while the other one tries
            s.commit()
            results[actor_name] = "won"
        except StaleRevisionError as exc:
            s.rollback()
            results[actor_name] = exc.message


def test_two_reviewers_acting_at_once_exactly_one_wins(world: World, engine: sa.Engine) -> None:
    review = world.submitted(world.users["mara"])
    world.session.commit()
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_act, args=(engine, review.id, "rita", "approve", review.version,
                                                   results, barrier, 0.2)),
               threading.Thread(target=_act, args=(engine, review.id, "rob", "reject", review.version,
                                                   results, barrier, 0.2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results.values()).count("won") == 1
    loser = next(v for v in results.values() if v != "won")
    assert "this draft changed" in loser
    with Session(engine) as s:
        final = s.get(Review, review.id)
        decisions = s.exec(select(AuditLog).where(AuditLog.entity_id == review.id,
                                                  AuditLog.action.in_(["approved", "rejected"]))).all()
    assert len(decisions) == 1
    assert final.version == review.version + 1
    assert final.state == ("approved" if results["rita"] == "won" else "rejected")


def test_conditional_update_refuses_the_second_writer_who_read_before_the_first_committed(
        world: World, engine: sa.Engine) -> None:
    """The second reviewer passes every read-time check (the first has not committed yet);
    only the conditional UPDATE ... WHERE version = :expected stops them."""
    review = world.submitted(world.users["mara"])
    world.session.commit()
    results: dict[str, str] = {}
    first_wrote = threading.Event()

    def first() -> None:
        with Session(engine, expire_on_commit=False) as s:
            actor = s.exec(select(User).where(User.username == "rita")).one()
            gate.approve(s, review.id, actor, review.version)
            first_wrote.set()
            threading.Event().wait(0.5)
            s.commit()
            results["rita"] = "won"

    def second() -> None:
        first_wrote.wait(10)
        with Session(engine, expire_on_commit=False) as s:
            actor = s.exec(select(User).where(User.username == "rob")).one()
            # Reads the committed state (still in_review, same version): the checks pass.
            assert gate.get_review(s, review.id).version == review.version
            try:
                gate.reject(s, review.id, actor, review.version, reason="no")
                s.commit()
                results["rob"] = "won"
            except StaleRevisionError as exc:
                s.rollback()
                results["rob"] = exc.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results["rita"] == "won" and "this draft changed" in results["rob"]
    with Session(engine) as s:
        assert s.get(Review, review.id).state == "approved"


def test_schedule_time_is_stored_in_utc(world: World) -> None:
    review = approved(world)
    at = datetime.now(UTC) + timedelta(days=2)
    gate.schedule(world.session, review, world.users["rita"], review.version, at=at, timezone="America/New_York")
    assert review.scheduled_for == at.replace(microsecond=review.scheduled_for.microsecond)


# -- the access matrix in the gate (docs/access.md; the HTTP walk is in test_access_matrix.py) --------

def _set_policy(world: World, **policy: bool) -> None:
    from copilot.models import WorkspaceRecord

    record = world.session.get(WorkspaceRecord, world.workspace_id)
    record.policy = dict(policy)
    world.session.add(record)
    world.session.flush()


def test_the_author_schedules_their_approved_draft_only_when_the_workspace_policy_allows(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    with pytest.raises(PermissionDeniedError, match="review_policy.authors_may_schedule is off"):
        gate.schedule(s, review, u["mara"], review.version, at=FUTURE, timezone="UTC")
    assert gate.get_review(s, review.id).state == "approved"
    _set_policy(world, authors_may_schedule=True)
    gate.schedule(s, review, u["mara"], review.version, at=FUTURE, timezone="UTC")
    assert review.state == "scheduled"
    with pytest.raises(PermissionDeniedError):  # the policy is for the author, not every marketer
        gate.pause(s, review, u["mo"], review.version)


def test_pause_holds_a_scheduled_campaign_until_resumed_and_is_audited(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    gate.schedule(s, review, u["rob"], review.version, at=FUTURE, timezone="UTC")
    gate.pause(s, review, u["mara"], review.version, reason="stock count is off")  # the author may stop it
    assert review.paused_at is not None and review.paused_by_id == u["mara"].id and review.state == "scheduled"
    with pytest.raises(ReviewStateError, match="already paused"):
        gate.pause(s, review, u["rita"], review.version)
    with pytest.raises(PermissionDeniedError, match="review_policy.authors_may_schedule is off"):
        gate.resume(s, review, u["mara"], review.version)  # going on again is a reviewer's call
    gate.resume(s, review, u["rita"], review.version)
    assert review.paused_at is None and review.state == "scheduled"
    assert [(e.action, e.comment) for e in audit(s, review)[-2:]] == [("paused", "stock count is off"),
                                                                      ("resumed", None)]
    with pytest.raises(ReviewStateError, match="only a paused campaign can be resumed"):
        gate.resume(s, review, u["rita"], review.version)


def test_a_paused_campaign_can_be_cancelled_and_an_edit_voids_the_pause_with_the_schedule(world: World) -> None:
    u, s = world.users, world.session
    review = approved(world)
    gate.schedule(s, review, u["rob"], review.version, at=FUTURE, timezone="UTC")
    gate.pause(s, review, u["rob"], review.version)
    world.revise(_conv(world, review.conversation_id), plan_dict(title="Changed while paused"))
    review = gate.get_review(s, review.id)
    assert (review.state, review.paused_at, review.scheduled_for) == ("in_review", None, None)
    other = approved(world)
    gate.schedule(s, other, u["rob"], other.version, at=FUTURE, timezone="UTC")
    gate.pause(s, other, u["rob"], other.version)
    gate.cancel(s, other, u["mara"], other.version, reason="not this week")
    assert (other.state, other.paused_at) == ("cancelled", None)


def test_only_a_scheduled_or_sending_campaign_can_be_paused(world: World) -> None:
    review = approved(world)
    with pytest.raises(ReviewStateError, match="only a scheduled or sending campaign can be paused"):
        gate.pause(world.session, review, world.users["rita"], review.version)


def test_a_comment_joins_the_history_without_moving_the_version(world: World) -> None:
    u, s = world.users, world.session
    review = world.submitted(u["mara"])
    version = review.version
    gate.add_comment(s, review, u["rita"], text="Is the 15% confirmed?")
    gate.add_comment(s, review, u["mara"], text="Yes, by pricing.")
    assert gate.get_review(s, review.id).version == version
    assert [(e.action, e.actor_id, e.comment) for e in audit(s, review)[-2:]] == [
        ("commented", u["rita"].id, "Is the 15% confirmed?"), ("commented", u["mara"].id, "Yes, by pricing.")]
    with pytest.raises(ReviewStateError, match="comment text is required"):
        gate.add_comment(s, review, u["rita"], text="  ")
    with pytest.raises(PermissionDeniedError, match="only the draft's author, a reviewer or an admin may comment"):
        gate.add_comment(s, review, u["mo"], text="drive-by")


def test_nobody_but_the_author_submits_or_comments_on_an_unsubmitted_draft(world: World) -> None:
    u, s = world.users, world.session
    review = world.draft(u["mara"])
    for who in ("mo", "rita", "ada"):
        with pytest.raises(PermissionDeniedError):
            gate.submit(s, review, u[who], review.version)
    with pytest.raises(PermissionDeniedError, match="has not been submitted for review yet"):
        gate.add_comment(s, review, u["rita"], text="early look")
    assert gate.get_review(s, review.id).state == "draft"
