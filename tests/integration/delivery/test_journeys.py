"""Event-triggered journeys: events posted to the API enter contacts; delays, waits and exits run as the
plan says; a follow-up goes only to those who did not convert, each step at most once per entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from copilot.delivery.jobs import run_until_idle
from copilot.models import DeliveryEntry, utcnow
from copilot.runtime import Runtime
from copilot.settings import Settings

from .support import add_contacts, api_client, ledger, plan_data, schedule_campaign

CART = {"kind": "event", "entry_event": "cart_abandoned", "match_property": "cart_id", "reentry": "after_days",
        "reentry_days": 14,
        "steps": [{"type": "delay", "hours": 2}, {"type": "send", "message": "email_1"},
                  {"type": "wait", "event": "order_placed", "timeout_hours": 21, "on_event": "exit"},
                  {"type": "send", "message": "email_2"}],
        "exit_conditions": [{"event": "order_placed"}]}


def journey_plan() -> dict:
    base = plan_data()
    first = base["variants"][0]
    return plan_data(title="Cart reminder", goal="cart_abandonment", trigger=CART,
                     variants=[first, {**first, "message": "email_2", "subject": "Still thinking it over?"}])


def post_events(client, *events: dict) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/events", json={"events": list(events)})
    assert response.status_code == 202, response.text


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def test_cart_journey_sends_the_follow_up_only_to_people_who_did_not_order(settings: Settings) -> None:
    runtime = Runtime.start(settings.replace(control_percent=0.0))
    try:
        ids = add_contacts(runtime, [{"first_name": n} for n in ("Ann", "Bo", "Cy", "Dee")])
        t0 = utcnow().replace(microsecond=0)
        review_id = schedule_campaign(runtime, journey_plan(), at=t0 + timedelta(seconds=1))
        run_until_idle(runtime, now=t0 + timedelta(seconds=2))
        client = api_client(runtime)
        left = t0 + timedelta(seconds=3)
        post_events(client, *[{"email": f"runner{i}@example.com", "event": "cart_abandoned", "occurred_at": _iso(left),
                               "properties": {"cart_id": f"cart-{i}", "value": 80}} for i in range(3)])
        run_until_idle(runtime, now=left + timedelta(minutes=1))
        assert ledger(runtime, review_id) == []  # the 2-hour delay holds the first email
        run_until_idle(runtime, now=left + timedelta(hours=2, minutes=1))
        first = ledger(runtime, review_id)
        assert [(r.contact_id, r.message, r.status) for r in first] == [
            (ids[i], "email_1", "sent") for i in range(3)]
        # Bo orders five hours in; Cy abandons the same cart again, and another one, within 14 days.
        post_events(client, {"email": "runner1@example.com", "event": "order_placed",
                             "occurred_at": _iso(left + timedelta(hours=5)), "properties": {"value": 80}},
                    {"email": "runner2@example.com", "event": "cart_abandoned",
                     "occurred_at": _iso(left + timedelta(hours=6)), "properties": {"cart_id": "cart-2"}},
                    {"email": "runner2@example.com", "event": "cart_abandoned",
                     "occurred_at": _iso(left + timedelta(hours=7)), "properties": {"cart_id": "cart-9"}})
        run_until_idle(runtime, now=left + timedelta(hours=8))
        run_until_idle(runtime, now=left + timedelta(hours=23, minutes=1))
        sends = [(r.contact_id, r.message) for r in ledger(runtime, review_id) if r.status == "sent"]
        assert sorted(sends) == sorted([(ids[0], "email_1"), (ids[1], "email_1"), (ids[2], "email_1"),
                                        (ids[0], "email_2"), (ids[2], "email_2")])
        with runtime.session() as s:
            entries = {e.contact_id: e for e in s.exec(select(DeliveryEntry))}
        assert len(entries) == 3 and ids[3] not in entries  # Dee never abandoned a cart
        assert entries[ids[1]].state == "exited" and entries[ids[1]].reason.startswith("order_placed")
        assert entries[ids[0]].state == entries[ids[2]].state == "done"
        # Later rounds send nothing again: each step went once per contact and entry.
        run_until_idle(runtime, now=left + timedelta(days=3))
        assert len([r for r in ledger(runtime, review_id) if r.status == "sent"]) == 5
    finally:
        runtime.close()


def test_events_that_do_not_fit_the_catalog_are_refused_whole_with_every_problem_listed(runtime: Runtime) -> None:
    add_contacts(runtime, [{"first_name": "Ann"}])
    client = api_client(runtime)
    response = client.post("/api/events", json={"events": [
        {"email": "runner0@example.com", "event": "cart_abandoned", "properties": {"cart_id": "c1"}},
        {"email": "runner0@example.com", "event": "cart_abandonned"},
        {"email": "nobody@example.com", "event": "order_placed"},
        {"email": "runner0@example.com", "event": "order_placed", "properties": {"colour": "red"}},
    ]})
    assert response.status_code == 422
    problems = {p["path"]: p["message"] for p in response.json()["problems"]}
    assert "unknown event 'cart_abandonned'" in problems["events[1].event"]
    assert problems["events[2].email"] == "no contact 'nobody@example.com' in workspace 'northpeak'"
    assert "colour" in problems["events[3].colour"]
    from copilot.models import Event
    with runtime.session() as s:
        assert s.exec(select(Event)).all() == []  # nothing half-written
