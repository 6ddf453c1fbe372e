"""The planner's notion of "now" when the caller gives none: a date read from the workspace.

Plans must be reproducible (same brief + same workspace -> byte-identical plan), so the
offline planner never reads the wall clock. Without ``PlanRequest.now`` it plans as of the
workspace's reference date: the latest offer start on or before the fact sheet's first
calendar moment (2026-11-01 for the demo brand), i.e. the point where the fact sheet's
offers and its upcoming moments are all current.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from copilot.workspace import Workspace

__all__ = ["reference_now", "FALLBACK_DATE"]

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
