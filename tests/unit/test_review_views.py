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
