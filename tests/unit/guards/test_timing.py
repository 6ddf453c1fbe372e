"""The timing guard: a send in the past and an offer that ends before an email carrying it go out
block; the present is the caller's (no clock), and the checking service passes the planner's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copilot.services.checking import check
from guards import run_plan

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def codes(findings, guard="timing"):  # type: ignore[no-untyped-def]
    return sorted(f.code for f in findings if f.guard == guard)


def test_a_send_time_in_the_past_blocks_only_against_a_given_now(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(plan={"trigger": {"kind": "schedule", "send_at": "2027-01-20T15:00:00Z",
                                       "steps": [{"type": "send", "message": "email_1"}]},
                           "send_window": {"start": "2027-01-20", "end": "2027-01-22"}})
    [past] = [f for f in run_plan(plan, demo_workspace, now=NOW) if f.guard == "timing"]
    assert past.code == "TIME_SEND_IN_PAST" and past.severity == "block"
    assert "2027-01-20" in past.message and past.evidence["now"] == NOW.isoformat()
    assert codes(run_plan(plan, demo_workspace)) == []  # guards read no clock
    assert codes(run_plan(make_plan(), demo_workspace, now=NOW)) == []  # the base plan sends on Feb 10


def test_an_event_plan_whose_window_has_ended_is_in_the_past(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    trigger = {"kind": "event", "entry_event": "cart_abandoned", "steps": [{"type": "send", "message": "email_1"}]}
    ended = make_plan(plan={"trigger": trigger, "send_window": {"start": "2027-01-05", "end": "2027-01-25"}})
    running = make_plan(plan={"trigger": trigger, "send_window": {"start": "2027-01-25", "end": "2027-02-25"}})
    assert codes(run_plan(ended, demo_workspace, now=NOW)) == ["TIME_SEND_IN_PAST"]
    assert codes(run_plan(running, demo_workspace, now=NOW)) == []


def _two_emails(make_plan, second_body: str):  # type: ignore[no-untyped-def]
    first = make_plan().variants[0].model_dump()
    second = dict(first, message="email_2", subject="One more thing", preheader="A short note", body=second_body,
                  cta_text="See what's new")
    return make_plan(plan={"trigger": {"kind": "schedule", "send_at": "2027-03-15T15:00:00Z",
                                       "steps": [{"type": "send", "message": "email_1"}, {"type": "delay", "hours": 168},
                                                 {"type": "send", "message": "email_2"}]},
                           "send_window": {"start": "2027-03-15", "end": "2027-03-15"},
                           "variants": [first, second]})


def test_an_email_that_makes_an_offer_after_it_ends_blocks(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    late = _two_emails(make_plan, "Hi {{ first_name }},\n\nYour 15% off with code COMEBACK15 is still waiting.")
    [ended] = [f for f in run_plan(late, demo_workspace) if f.guard == "timing"]
    assert ended.code == "TIME_OFFER_ENDED" and ended.severity == "block"
    assert ended.evidence == {"message": "email_2", "offer": "winback15", "send_date": "2027-03-22",
                              "offer_ends": "2027-03-19"}
    no_offer = _two_emails(make_plan, "Hi {{ first_name }},\n\nThe new trail colors are in.")
    assert codes(run_plan(no_offer, demo_workspace)) == []  # a follow-up that does not make the offer


def test_the_first_send_after_the_offer_ends_blocks_whatever_the_window_says(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(plan={"trigger": {"kind": "schedule", "send_at": "2027-03-22T15:00:00Z",
                                       "steps": [{"type": "send", "message": "email_1"}]}})
    assert codes(run_plan(plan, demo_workspace)) == ["TIME_OFFER_ENDED"]
    last_day = make_plan(plan={"trigger": {"kind": "schedule", "send_at": "2027-03-19T15:00:00Z",
                                           "recipient_local_time": True, "steps": [{"type": "send", "message": "email_1"}]},
                               "send_window": {"start": "2027-03-19", "end": "2027-03-19"}})
    assert codes(run_plan(last_day, demo_workspace)) == []


def test_the_checking_service_uses_the_planners_clock(make_plan, demo_workspace,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    plan = make_plan()  # sends 2027-02-10
    monkeypatch.setenv("COPILOT_NOW", "2027-03-01T00:00:00Z")
    assert codes(check(plan, demo_workspace).findings) == ["TIME_SEND_IN_PAST"]
    assert codes(check(plan, demo_workspace, now=NOW).findings) == []  # a caller's fixed now wins
    monkeypatch.setenv("COPILOT_NOW", "2027-02-01T00:00:00Z")
    assert codes(check(plan, demo_workspace).findings) == []
