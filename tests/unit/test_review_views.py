"""The review UI's plan view: what a reviewer reads about when a scheduled campaign goes out."""

from __future__ import annotations

from typing import Any

import pytest
from support.fakes import demo_plan

from review_ui.views import plan_view


def _entry(trigger: dict[str, Any]) -> str:
    view = plan_view(demo_plan(trigger=trigger), None, [])
    first = view.timeline[0]
    assert first["kind"] == "entry"
    return str(first["label"])


@pytest.mark.parametrize(("trigger", "expected"), [
    ({"kind": "schedule", "send_at": "2026-11-02T10:00:00+00:00", "recipient_local_time": True},
     "One send on Monday, November 2, 2026 at 10:00 in each recipient's local time"),
    ({"kind": "schedule", "send_at": "2026-11-02T09:00:00+00:00", "timezone": "Europe/Berlin"},
     "One send on Monday, November 2, 2026 at 10:00 Europe/Berlin (09:00 UTC)"),
    ({"kind": "schedule", "send_at": "2026-11-02T23:30:00+00:00", "timezone": "America/New_York"},
     "One send on Monday, November 2, 2026 at 18:30 America/New_York (23:30 UTC)"),
    ({"kind": "schedule", "send_at": "2026-11-02T09:00:00+00:00", "timezone": "UTC"},
     "One send on Monday, November 2, 2026 at 09:00 UTC"),
])
def test_a_one_off_send_reads_as_a_day_and_a_wall_clock_time(trigger: dict[str, Any], expected: str) -> None:
    trigger["steps"] = [{"type": "send", "message": "email_1"}]
    assert _entry(trigger) == expected


def test_each_send_is_dated_in_the_brands_zone_and_the_frame_says_so() -> None:
    from copilot.workspace import load_workspace

    workspace = load_workspace()
    trigger = {"kind": "schedule", "send_at": "2030-03-01T09:00:00Z", "timezone": "UTC",
               "steps": [{"type": "send", "message": "email_1"}, {"type": "delay", "hours": 72},
                         {"type": "send", "message": "email_2"}]}
    view = plan_view(demo_plan(trigger=trigger), None, [], workspace=workspace)
    sends = [(s["message"], s["at"]) for s in view.timeline if s["kind"] == "send"]
    assert workspace.brand.timezone == "America/Los_Angeles"  # 09:00 UTC is 01:00 there, in March
    assert sends == [("email_1", "Fri 1 Mar 2030, 01:00"), ("email_2", "Mon 4 Mar 2030, 01:00")]
    assert view.timeline_frame == "America/Los_Angeles"
    assert view.timeline[0]["label"].startswith("One send on Friday, March 1, 2030 at 01:00 America/Los_Angeles")


def test_a_journey_counts_from_entry_and_a_wait_makes_later_sends_at_the_latest() -> None:
    trigger = {"kind": "event", "entry_event": "cart_abandoned",
               "steps": [{"type": "delay", "hours": 2}, {"type": "send", "message": "email_1"},
                         {"type": "wait", "event": "order_placed", "timeout_hours": 48},
                         {"type": "send", "message": "email_2"}]}
    view = plan_view(demo_plan(trigger=trigger), None, [])
    assert [s["at"] for s in view.timeline if s["kind"] == "send"] == ["+2 h", "by +2 days 2 h"]
    assert view.timeline_frame == "time since a contact enters"


def test_the_audience_summary_names_overlaps_and_scales_bars_to_the_largest() -> None:
    plan = demo_plan()
    names = [s.name for s in sorted(plan.segments, key=lambda s: s.priority)]
    first, second = names[0], names[1]
    sizing = {"segments": [{"name": first, "size": 400}, {"name": second, "size": 0}],
              "overlaps": {first: {first: 400, second: 25}, second: {first: 25, second: 30}}}
    view = plan_view(plan, sizing, [])
    rows = {r["name"]: r for r in view.audience}
    assert rows[first]["share"] == 100 and rows[second]["share"] == 0
    assert rows[first]["shared"] == [(second, 25)] and rows[second]["shared"] == [(first, 25)]
    assert view.empty_segments == [second]
