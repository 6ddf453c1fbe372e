"""Plans start from today in the brand's time zone; a fixed moment is an explicit choice; a date
already past is a question, never a send in the past."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from copilot.planner.base import PlanRequest
from copilot.planner.clock import NOW_ENV, local_date, planning_now, reference_now
from copilot.planner.offline import OfflinePlanner
from copilot.workspace import Workspace


def _plan(ws: Workspace, brief: str, **kw):  # type: ignore[no-untyped-def]
    return OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=ws, **kw))


def test_without_a_fixed_moment_a_plan_starts_from_today(demo_workspace: Workspace,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NOW_ENV, raising=False)
    plan = _plan(demo_workspace, "win back customers who haven't ordered in six months").plan
    assert plan is not None and plan.trigger.send_at is not None
    today = local_date(datetime.now(UTC), demo_workspace)
    assert plan.trigger.send_at.date() > today  # the first send is tomorrow at the earliest
    assert plan.send_window is not None and plan.send_window.start > today


def test_a_fixed_moment_is_an_explicit_choice(demo_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOW_ENV, "reference")
    assert planning_now(demo_workspace) == reference_now(demo_workspace)
    monkeypatch.setenv(NOW_ENV, "2027-01-10T12:00:00Z")
    assert planning_now(demo_workspace) == datetime(2027, 1, 10, 12, tzinfo=UTC)
    given = datetime(2026, 12, 1, tzinfo=UTC)
    assert planning_now(demo_workspace, given) == given  # the caller's moment wins


def test_today_is_the_brands_calendar_day() -> None:
    from copilot.workspace import load_workspace

    ws = load_workspace()
    late_evening_in_portland = datetime(2027, 1, 10, 5, 0, tzinfo=UTC)  # 21:00 on January 9 there
    assert ws.brand.timezone == "America/Los_Angeles"
    assert local_date(late_evening_in_portland, ws) == date(2027, 1, 9)


def test_a_date_already_past_is_a_question(demo_workspace: Workspace) -> None:
    now = datetime(2027, 2, 1, 12, tzinfo=UTC)
    result = _plan(demo_workspace, "announce the sale on January 5, 2027", now=now)
    assert result.plan is None
    assert any("January 5, 2027" in q and "has already passed" in q for q in result.questions)


def test_no_send_is_ever_before_the_planning_moment(demo_workspace: Workspace) -> None:
    now = datetime(2027, 2, 1, 12, tzinfo=UTC)
    for brief in ("win back lapsed customers", "announce the spring sale", "vip reward for our best customers",
                  "monthly newsletter", "re-engage inactive subscribers"):
        plan = _plan(demo_workspace, brief, now=now).plan
        assert plan is not None, brief
        if plan.trigger.send_at is not None:
            assert plan.trigger.send_at >= now - timedelta(hours=24), brief
        if plan.send_window is not None:
            assert plan.send_window.start >= local_date(now, demo_workspace), brief
