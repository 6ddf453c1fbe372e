"""Segment sizing as a service: parse and check a plan, size it on a workspace's audience, lint it.

The CLI (``copilot segments size``) and the JSON API call this; neither touches SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from copilot.plan import Plan
from copilot.segments import LintWarning, SizingReport, lint_plan, size_plan
from copilot.services.workspaces import get_workspace_record
from copilot.validation import check_plan, parse_plan
from copilot.workspace import Workspace

__all__ = ["PlanSizing", "size_plan_for_workspace"]


@dataclass
class PlanSizing:
    """A sized plan: the report plus the lint's warnings."""

    plan: Plan
    report: SizingReport
    warnings: list[LintWarning]

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "warnings": [w.to_dict() for w in self.warnings]}


def size_plan_for_workspace(session: Session, workspace: Workspace, plan: Plan | dict[str, Any] | str | bytes, *,
                            now: datetime | None = None, sample: int = 5) -> PlanSizing:
    """Validate ``plan`` against ``workspace`` (PlanValidationError lists every problem), size and lint it."""
    parsed = plan if isinstance(plan, Plan) else parse_plan(plan)
    check_plan(parsed, workspace)
    record = get_workspace_record(session, workspace.slug)
    report = size_plan(session, workspace, record.id or 0, parsed, now=now, sample=sample)
    return PlanSizing(parsed, report, lint_plan(parsed, workspace, report))
