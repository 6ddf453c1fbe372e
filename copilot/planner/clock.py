"""The planner's notion of "now": today in the brand's time zone, unless the caller fixes a moment.

Plans start from now (a plan made today never proposes a send in the past). For repeatable
plans (tests, evals, demos) the caller fixes the moment: ``PlanRequest.now``, ``copilot plan
--now ISO``, or ``COPILOT_NOW`` (an ISO date-time, or ``reference`` for the workspace's reference
date: the latest offer start on or before the fact sheet's first calendar moment, the point
where its offers and upcoming moments are all current).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copilot.workspace import Workspace

__all__ = ["reference_now", "planning_now", "local_date", "FALLBACK_DATE", "NOW_ENV"]

NOW_ENV = "COPILOT_NOW"

FALLBACK_DATE = date(2026, 1, 1)


def reference_now(workspace: Workspace) -> datetime:
    facts = workspace.facts
    starts = sorted(o.starts for o in facts.offers)
    first_moment = min((c.starts for c in facts.calendar), default=None)
    if starts and first_moment is not None:
        before = [s for s in starts if s <= first_moment]
        day = before[-1] if before else starts[0]
    elif starts:
        day = starts[-1]
    else:
        day = FALLBACK_DATE
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def planning_now(workspace: Workspace, now: datetime | None = None) -> datetime:
    """The moment a plan is made as: ``now`` if given, else COPILOT_NOW, else the wall clock (UTC)."""
    if now is not None:
        return now
    fixed = os.environ.get(NOW_ENV, "").strip()
    if fixed == "reference":
        return reference_now(workspace)
    if fixed:
        when = datetime.fromisoformat(fixed)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return datetime.now(UTC).replace(microsecond=0)


def local_date(moment: datetime, workspace: Workspace) -> date:
    """The calendar day ``moment`` falls on in the brand's time zone (brand.yaml ``timezone``)."""
    try:
        zone = ZoneInfo(workspace.brand.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()
