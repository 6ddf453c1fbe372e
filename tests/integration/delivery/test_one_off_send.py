"""A scheduled one-off campaign reaches the outbox once per person, with the right people left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from copilot.delivery.jobs import run_until_idle
from copilot.runtime import Runtime

from .support import add_contacts, ledger, outbox_messages, plan_data, review_state, schedule_campaign

AT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def test_scheduled_campaign_sends_once_to_subscribed_people_and_holds_out_a_control_group(runtime: Runtime) -> None:
    people = [{"first_name": f"Ann{i}"} for i in range(60)]
    people += [{"first_name": "Gone", "consent": "unsubscribed"}, {"first_name": "Bouncy", "consent": "bounced"}]
    add_contacts(runtime, people)
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    early = run_until_idle(runtime, now=AT - timedelta(minutes=5))
    assert early.started == 0 and review_state(runtime, review_id) == "scheduled"
    report = run_until_idle(runtime, now=AT + timedelta(seconds=5))
    rows = ledger(runtime, review_id)
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    files = outbox_messages(runtime.settings.outbox_path)
    assert by_status.get("sent", 0) == len(files) == report.sent
    assert by_status["sent"] + by_status.get("held_out", 0) == 60
    assert 1 <= by_status.get("held_out", 0) <= 15
    assert sorted(r.reason for r in rows if r.status == "suppressed") == ["bounced", "unsubscribed"]
    assert review_state(runtime, review_id) == "sent"
    again = run_until_idle(runtime, now=AT + timedelta(hours=1))
    assert again.sent == 0 and len(outbox_messages(runtime.settings.outbox_path)) == len(files)


def test_local_time_send_reaches_each_recipient_at_nine_on_their_own_clock(runtime: Runtime) -> None:
    zones = ["Pacific/Auckland", "Europe/Berlin", "America/New_York", "America/Los_Angeles"]
    add_contacts(runtime, [{"first_name": z, "timezone": z} for z in zones] * 5)
    plan = plan_data(trigger={"kind": "schedule", "send_at": "2030-03-01T09:00:00Z", "recipient_local_time": True,
                              "steps": [{"type": "send", "message": "email_1"}]})
    review_id = schedule_campaign(runtime, plan, at="2030-03-01T09:00", timezone="Europe/Berlin")
    # 09:00 in Auckland (UTC+13) comes first: the campaign starts then, and only Auckland is due.
    auckland_nine = datetime(2030, 2, 28, 20, 0, tzinfo=UTC)
    first = run_until_idle(runtime, now=auckland_nine + timedelta(minutes=1))
    assert first.started == 1
    due = {(r.contact_id, r.status, r.due_at.replace(tzinfo=UTC)) for r in ledger(runtime, review_id)}
    expected = {"Pacific/Auckland": auckland_nine, "Europe/Berlin": datetime(2030, 3, 1, 8, 0, tzinfo=UTC),
                "America/New_York": datetime(2030, 3, 1, 14, 0, tzinfo=UTC),
                "America/Los_Angeles": datetime(2030, 3, 1, 17, 0, tzinfo=UTC)}
    from copilot.models import Contact
    with runtime.session() as s:
        zone_of = {c.id: c.timezone for c in s.exec(__import__("sqlmodel").select(Contact))}
    assert {at for cid, status, at in due if status != "suppressed"} <= set(expected.values())
    for cid, _status, at in due:
        assert at == expected[zone_of[cid]]
    sent_now = {zone_of[r.contact_id] for r in ledger(runtime, review_id) if r.status == "sent"}
    assert sent_now == {"Pacific/Auckland"}
    run_until_idle(runtime, now=datetime(2030, 3, 1, 17, 1, tzinfo=UTC))
    statuses = {r.status for r in ledger(runtime, review_id)}
    assert statuses <= {"sent", "held_out"} and review_state(runtime, review_id) == "sent"


def test_quiet_hours_move_a_send_to_the_morning_or_skip_it_as_the_plan_says(runtime: Runtime) -> None:
    add_contacts(runtime, [{"first_name": "Night", "timezone": "Asia/Tokyo"}, {"first_name": "Day", "timezone": "UTC"}])
    for fallback, review_at in (("next_allowed", AT), ("skip", AT + timedelta(days=1))):
        plan = plan_data(suppression={"frequency_cap": None,
                                      "quiet_hours": {"start": "21:00", "end": "08:00", "fallback": fallback}},
                         title=f"quiet {fallback}")
        review_id = schedule_campaign(runtime, plan, at=review_at)  # 09:00 UTC = 18:00 in Tokyo: fine
        run_until_idle(runtime, now=review_at + timedelta(minutes=1))
        rows = {r.contact_id: r for r in ledger(runtime, review_id)}
        assert all(r.status in {"sent", "held_out"} for r in rows.values())
    late = plan_data(suppression={"frequency_cap": None, "quiet_hours": {"start": "21:00", "end": "08:00",
                                                                         "fallback": "next_allowed"}}, title="late")
    late_at = datetime(2030, 3, 5, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    review_id = schedule_campaign(runtime, late, at=late_at)
    run_until_idle(runtime, now=late_at + timedelta(minutes=1))
    night = [r for r in ledger(runtime, review_id) if r.contact_id == 1][0]
    if night.status != "held_out":
        assert night.status == "queued" and night.due_at.replace(tzinfo=UTC) == datetime(2030, 3, 5, 23, 0, tzinfo=UTC)
    skip = plan_data(suppression={"frequency_cap": None, "quiet_hours": {"start": "21:00", "end": "08:00",
                                                                         "fallback": "skip"}}, title="skip late")
    review_id = schedule_campaign(runtime, skip, at=late_at + timedelta(days=1))
    run_until_idle(runtime, now=late_at + timedelta(days=1, minutes=1))
    night = [r for r in ledger(runtime, review_id) if r.contact_id == 1][0]
    assert (night.status, night.reason) in {("suppressed", "quiet_hours"), ("held_out", "control_group")}


def test_control_group_and_ab_arms_are_stable_per_contact_and_recorded(runtime: Runtime) -> None:
    add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(400)])
    base = plan_data()
    variants = base["variants"] + [{**base["variants"][0], "key": "B", "subject": "Hello {{ first_name }}"}]
    review_id = schedule_campaign(runtime, plan_data(variants=variants), at=AT)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    rows = ledger(runtime, review_id)
    held = [r for r in rows if r.status == "held_out"]
    assert 20 <= len(held) <= 60 and all(r.reason == "control_group" for r in held)  # about 10% of 400
    arms = {r.arm for r in rows if r.status == "sent"}
    assert arms == {"A", "B"}
    subjects = {m["To"]: m["Subject"] for m in outbox_messages(runtime.settings.outbox_path).values()}
    arm_of = {r.contact_id: r.arm for r in rows}
    from copilot.delivery.engine import stable_bucket
    # The arm is a pure function of the campaign and the contact: recomputing it gives the same answer.
    with runtime.session() as s:
        from copilot.models import Review
        review = s.get(Review, review_id)
    salt = f"arm:{review.id}:{review.snapshot_hash}"
    assert all(arm_of[cid] == "AB"[stable_bucket(salt, cid, 2)] for cid in arm_of)
    assert sum(1 for s in subjects.values() if s.startswith("Hello")) == sum(
        1 for r in rows if r.status == "sent" and r.arm == "B")


def test_suppression_list_exclusions_and_frequency_caps_are_rechecked_when_the_campaign_starts(runtime: Runtime) -> None:
    from copilot.delivery.suppression import suppress_addresses

    from .support import add_event, workspace_id

    ids = add_contacts(runtime, [{"first_name": "Listed"}, {"first_name": "Busy"}, {"first_name": "Buyer"},
                                 {"first_name": "Fine"}])
    plan = plan_data(suppression={"frequency_cap": {"max_emails": 2, "per_days": 7}, "quiet_hours": None,
                                  "exclusions": [{"type": "event", "event": "order_placed",
                                                  "window": {"kind": "within_days", "days": 7}}]})
    review_id = schedule_campaign(runtime, plan, at=AT)
    # After approval and scheduling, the world changes: the send must see it.
    with runtime.session() as s:
        suppress_addresses(s, workspace_id(runtime), ["runner0@example.com"], reason="complaint")
        s.commit()
    for days in (1, 2):
        add_event(runtime, ids[1], "email_sent", AT - timedelta(days=days), campaign="other")
    add_event(runtime, ids[2], "order_placed", AT - timedelta(days=2), category="running_shoes", value=90.0)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    reasons = {r.contact_id: (r.status, r.reason) for r in ledger(runtime, review_id)}
    assert reasons[ids[0]] == ("suppressed", "suppressed")
    assert reasons[ids[1]] == ("suppressed", "frequency_capped")
    assert reasons[ids[2]] == ("suppressed", "excluded")
    assert reasons[ids[3]][0] in {"sent", "held_out"}


def test_a_plan_changed_after_approval_never_sends(runtime: Runtime) -> None:
    import sqlalchemy as sa

    from copilot.models import Review

    add_contacts(runtime, [{"first_name": "A"}])
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    reviews = Review.__table__  # type: ignore[attr-defined]
    tamper = sa.update(reviews).where(reviews.c.id == review_id).values(snapshot=plan_data(title="Tampered"))
    with runtime.engine.begin() as conn:
        # Someone edits the scheduled snapshot behind the gate's back (its trigger switched off to do it).
        if runtime.settings.is_sqlite:
            conn.execute(sa.text("DROP TRIGGER reviews_gate_snapshot"))
            conn.execute(tamper)
        else:
            conn.execute(sa.text("ALTER TABLE reviews DISABLE TRIGGER review_gate"))
            conn.execute(tamper)
            conn.execute(sa.text("ALTER TABLE reviews ENABLE TRIGGER review_gate"))
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    assert review_state(runtime, review_id) == "cancelled"
    assert ledger(runtime, review_id) == [] and outbox_messages(runtime.settings.outbox_path) == {}


def test_a_recurring_plan_sends_each_run_once_and_branches_on_the_contact(runtime: Runtime) -> None:
    ids = add_contacts(runtime, [{"first_name": "Vip", "loyalty_tier": "vip"}, {"first_name": "Member",
                                                                                 "loyalty_tier": "member"}])
    base = plan_data()
    vip_rule = {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"}
    plan = plan_data(
        title="Daily digest", goal="newsletter",
        trigger={"kind": "recurring", "cron": "0 9 * * *", "timezone": "UTC",
                 "steps": [{"type": "branch", "rule": vip_rule,
                            "then_steps": [{"type": "send", "message": "vip_news"}],
                            "else_steps": [{"type": "send", "message": "email_1"}]}]},
        variants=base["variants"] + [{**base["variants"][0], "message": "vip_news", "subject": "For VIPs"}])
    review_id = schedule_campaign(runtime, plan, at=AT - timedelta(minutes=30))
    run_until_idle(runtime, now=AT - timedelta(minutes=10))
    assert ledger(runtime, review_id) == []  # activated, first run at 09:00
    run_until_idle(runtime, now=AT + timedelta(minutes=1))
    run_until_idle(runtime, now=AT + timedelta(minutes=2))  # same run again: nothing new
    first = {(r.contact_id, r.message, r.entry_no) for r in ledger(runtime, review_id)}
    assert first == {(ids[0], "vip_news", 1), (ids[1], "email_1", 1)}
    run_until_idle(runtime, now=AT + timedelta(days=1, minutes=1))
    rows = ledger(runtime, review_id)
    assert {(r.contact_id, r.message, r.entry_no) for r in rows} == first | {(ids[0], "vip_news", 2),
                                                                             (ids[1], "email_1", 2)}
    assert review_state(runtime, review_id) == "sending"  # a recurring plan runs until cancelled
