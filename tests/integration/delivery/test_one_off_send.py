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
