"""Pause, resume and cancel while sending (a reviewer or admin; effective before the next messages),
live counts, the send log's "why", and the hand-off exports."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from support.smtp import Mailbox, smtp_server

from copilot.delivery import service as delivery
from copilot.delivery.jobs import run_until_idle, send_once, tick_once
from copilot.errors import PermissionDeniedError
from copilot.models import User, utcnow
from copilot.runtime import Runtime
from copilot.settings import Settings

from .support import _user, add_contacts, api_client, ledger, plan_data, review_state, schedule_campaign


@pytest.fixture
def slow_relay(settings: Settings) -> Iterator[tuple[Runtime, Mailbox]]:
    with smtp_server(Mailbox(delay=0.02, keep_bodies=False)) as (host, port, box):
        runtime = Runtime.start(settings.replace(transport="smtp", smtp_host=host, smtp_port=port,
                                                 smtp_security="none", control_percent=0.0))
        yield runtime, box
        runtime.close()


def _start_sending(runtime: Runtime, people: int) -> tuple[int, int]:
    add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(people)])
    review_id = schedule_campaign(runtime, plan_data(), at=utcnow() + timedelta(seconds=1))
    time.sleep(1.1)
    report = tick_once(runtime)
    assert report.due, "the campaign should have rows due"
    return review_id, report.due[0]


def _sender_thread(runtime: Runtime, delivery_id: int) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        result["outcome"] = send_once(runtime, delivery_id, budget=60)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _wait_for_mail(box: Mailbox, count: int, thread: threading.Thread, result: dict[str, Any]) -> None:
    """Waits until the relay holds `count` messages; fails (never hangs) when the sender stalls or stops."""
    deadline = time.monotonic() + 30
    while box.count < count:
        assert thread.is_alive() or box.count >= count, f"the sender stopped early: {result.get('outcome')!r}"
        assert time.monotonic() < deadline, f"only {box.count} of {count} messages reached the relay in 30 s"
        time.sleep(0.01)


def _actor(runtime: Runtime, name: str, role: str) -> User:
    with runtime.session() as s:
        user = _user(s, name, role)
        s.commit()
        return user


def test_pause_stops_sending_within_a_second_and_resume_finishes_without_duplicates(
        slow_relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = slow_relay
    review_id, delivery_id = _start_sending(runtime, 200)
    thread, result = _sender_thread(runtime, delivery_id)
    _wait_for_mail(box, 20, thread, result)
    admin = _actor(runtime, "ada", "admin")
    with runtime.session() as s:
        delivery.pause(s, review_id, admin, reason="wrong link")
        s.commit()
    paused_at = time.monotonic()
    thread.join(timeout=5)
    assert result["outcome"].stopped == "paused"
    stopped_after = time.monotonic() - paused_at
    count = box.count
    time.sleep(0.5)
    assert box.count == count and stopped_after < 1.0
    counts = delivery.counts(runtime.session(), review_id)
    assert counts["state"] == "paused" and counts["sent"] == count and counts["queued"] == 200 - count
    with runtime.session() as s:
        delivery.resume(s, review_id, admin)
        s.commit()
    run_until_idle(runtime)
    assert box.count == 200 and box.duplicates() == 0 and review_state(runtime, review_id) == "sent"


def test_cancel_while_sending_stops_it_and_nothing_queued_goes_out(slow_relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = slow_relay
    review_id, delivery_id = _start_sending(runtime, 150)
    thread, result = _sender_thread(runtime, delivery_id)
    _wait_for_mail(box, 10, thread, result)
    marketer = _actor(runtime, "mallory", "marketer")  # not the draft's author
    with runtime.session() as s, pytest.raises(PermissionDeniedError):
        delivery.cancel(s, review_id, marketer, reason="oops")
    with runtime.session() as s:
        delivery.cancel(s, review_id, _actor(runtime, "rita", "reviewer"), reason="price is wrong")
        s.commit()
    thread.join(timeout=5)
    assert result["outcome"].stopped == "cancelled"
    sent = box.count
    run_until_idle(runtime)
    assert box.count == sent and review_state(runtime, review_id) == "cancelled"
    statuses = {r.status for r in ledger(runtime, review_id)}
    assert statuses == {"sent", "cancelled"}
    assert delivery.counts(runtime.session(), review_id)["cancelled"] == 150 - sent


def test_why_names_the_segment_and_arm_or_the_rule_that_stopped_a_send(settings: Settings) -> None:
    runtime = Runtime.start(settings.replace(control_percent=50.0))
    try:
        at = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
        ids = add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(12)] + [{"first_name": "U", "consent": "unsubscribed"}])
        plan = plan_data(segments=[{"name": "Subscribers", "priority": 1,
                                    "rule": {"type": "field", "field": "first_name", "op": "ne", "value": "P0"},
                                    "hypothesis": {"attribute": "a", "tactic": "t", "metric": "conversion_rate",
                                                   "expected_change": "+1"}}])
        review_id = schedule_campaign(runtime, plan, at=at)
        run_until_idle(runtime, now=at + timedelta(seconds=1))
        rows = {r.contact_id: r for r in ledger(runtime, review_id)}
        sent_id = next(c for c, r in rows.items() if r.status == "sent")
        held_id = next(c for c, r in rows.items() if r.status == "held_out")
        client = api_client(runtime)
        answers = {cid: client.get(f"/api/campaigns/{review_id}/why", params={"contact": str(cid)}).json()["answer"]
                   for cid in (sent_id, held_id, ids[-1], ids[0])}
        assert any(line.startswith("Sent email_1 (variant A, segment 'Subscribers')") for line in answers[sent_id])
        assert any("control group" in line for line in answers[held_id])
        assert any("they had unsubscribed" in line for line in answers[ids[-1]])
        assert any("matched no segment" in line for line in answers[ids[0]])
        by_email = client.get(f"/api/campaigns/{review_id}/why", params={"contact": "runner1@example.com"}).json()
        assert by_email["contact"]["id"] == ids[1]
        status = client.get(f"/api/campaigns/{review_id}").json()
        assert status["sent"] + status["held_out"] == 11 and status["suppressed"] == 1
    finally:
        runtime.close()


def test_exports_give_listmonk_bodies_and_segment_sql_that_selects_the_same_people(runtime: Runtime) -> None:
    at = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(6)] + [{"first_name": "U", "consent": "unsubscribed"}])
    review_id = schedule_campaign(runtime, plan_data(), at=at)
    client = api_client(runtime)
    listmonk = client.get(f"/api/campaigns/{review_id}/export", params={"format": "listmonk"}).json()
    assert [lst["body"]["type"] for lst in listmonk["lists"]] == ["private"]
    body = listmonk["campaigns"][0]["body"]
    assert set(body) >= {"name", "subject", "lists", "from_email", "type", "content_type", "body", "send_at",
                         "messenger", "tags", "headers", "template_id"}
    assert body["subject"] == 'Hi {{ .Subscriber.Attribs.first_name | default "runner" }}'
    assert "{{ UnsubscribeURL }}" in body["body"] and body["content_type"] == "markdown"
    assert body["send_at"].startswith("2030-03-01T09:00:00")
    plain = client.get(f"/api/campaigns/{review_id}/export", params={"format": "json"}).json()
    assert plain["copy"]["Subscribers"]["email_1"]["A"]["en"]["subject"] == "Hi {{ first_name }}"
    sql = plain["segments"][0]["sql"]["sqlite" if runtime.settings.is_sqlite else "postgresql"]
    with runtime.engine.connect() as conn:
        chosen = sorted(cid for (cid,) in conn.execute(sa.text(sql)))
    assert len(chosen) == 6  # the unsubscribed contact is not in the sendable SQL
    assert client.get(f"/api/campaigns/{review_id}/export", params={"format": "csv"}).status_code == 400
