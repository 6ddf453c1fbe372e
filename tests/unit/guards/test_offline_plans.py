"""The guards on plans from the offline planner: they run clean where the planner is right and
name the real problems where it is not (never a crash)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copilot.planner.base import PlanRequest
from copilot.planner.offline import OfflinePlanner
from evals.pipeline import load_contacts
from guards import run_plan

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
BRIEFS = [
    "win back runners who haven't bought in six months with 15% off before the spring sale",
    "remind people who abandoned their cart in the last day, free shipping",
    "welcome new subscribers with 10% off their first order",
    "ask for a review 10 days after delivery",
    "reactivate inactive subscribers, ask if they want to stay",
]


@pytest.mark.parametrize("brief", BRIEFS)
def test_offline_plans_pass_every_fast_guard_without_blocking(demo_workspace, brief) -> None:  # type: ignore[no-untyped-def]
    result = OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=demo_workspace, now=NOW))
    assert result.plan is not None
    contacts = load_contacts("demo")
    findings = run_plan(result.plan, demo_workspace, samples={s.name: contacts for s in result.plan.segments})
    assert [f.message for f in findings if f.severity == "block"] == []
    assert all(f.guard != "pipeline" for f in findings)
