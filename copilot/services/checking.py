"""The one checking path every plan takes: validate -> size -> lint -> guard (storing is the caller's).

The chat, ``copilot plan``, ``copilot segments size``, the sizing API, the review UI and the evals
all check plans here, so a plan is judged the same way wherever it comes from. Who the plan
is sized on is an ``Audience``: the workspace's contacts in the database, or a fixed list of
sample contacts (evals, ``copilot guard --samples``), which gives findings but no sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, select

from copilot.errors import PlanValidationError
from copilot.models import Contact
from copilot.plan import Plan, Variant
from copilot.segments import LintWarning, SizingReport, lint_plan, size_plan
from copilot.services.workspaces import get_workspace_record
from copilot.validation import PlanProblem, parse_plan, validate_plan
from copilot.workspace import Workspace
from guards import Finding, has_blocking, run_plan, run_variant

__all__ = ["Audience", "DatabaseAudience", "SampleAudience", "CheckedPlan", "check", "check_variant", "size_in_workspace",
           "contact_sample", "contacts_by_id"]

# A contact's own columns that copy may merge (besides its catalog attributes).
_CONTACT_COLUMNS = ("id", "email", "first_name", "last_name", "city", "country", "locale", "timezone", "consent",
                    "signed_up_at")


def contact_sample(contact: Contact) -> dict[str, Any]:
    """A contact as the guards and renderer read it: catalog attributes plus its own columns."""
    data: dict[str, Any] = dict(contact.attributes or {})
    for name in _CONTACT_COLUMNS:
        data[name] = getattr(contact, name)
    return data


def contacts_by_id(session: Session, ids: Sequence[int], limit: int | None = None) -> list[dict[str, Any]]:
    """Contacts as plain dicts (``contact_sample``), in the order of ``ids``; at most ``limit``."""
    wanted = list(ids[:limit] if limit is not None else ids)
    if not wanted:
        return []
    rows = {c.id: c for c in session.exec(select(Contact).where(Contact.id.in_(wanted)))}  # type: ignore[union-attr]
    return [contact_sample(rows[i]) for i in wanted if i in rows]


class Audience(Protocol):
    """Who a plan is checked against: a sizing report (or None) and a few contacts per segment."""

    def size(self, plan: Plan, workspace: Workspace, now: datetime | None
             ) -> tuple[SizingReport | None, dict[str, list[dict[str, Any]]]]: ...


@dataclass
class DatabaseAudience:
    """The workspace's contacts in the database: real sizes, and real members as guard samples."""

    session: Session
    workspace_id: int
    sample: int = 5

    def size(self, plan: Plan, workspace: Workspace, now: datetime | None
             ) -> tuple[SizingReport | None, dict[str, list[dict[str, Any]]]]:
        report = size_plan(self.session, workspace, self.workspace_id, plan, now=now, sample=self.sample)
        samples = {seg.name: contacts_by_id(self.session, seg.sample_ids) for seg in report.segments
                   if seg.sample_ids}
        return report, samples


@dataclass
class SampleAudience:
    """A fixed list of contacts used as every segment's sample; nothing is sized."""

    contacts: Sequence[Mapping[str, Any]] = ()

    def size(self, plan: Plan, workspace: Workspace, now: datetime | None
             ) -> tuple[SizingReport | None, dict[str, list[dict[str, Any]]]]:
        return None, {s.name: [dict(c) for c in self.contacts] for s in plan.segments}


@dataclass
class CheckedPlan:
    """A plan and everything the checks found; ``problems`` non-empty means it was not sized or guarded."""

    plan: Plan | None
    problems: list[PlanProblem] = field(default_factory=list)
    sizing: SizingReport | None = None
    lint: list[LintWarning] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.plan is not None and not self.problems

    @property
    def blocked(self) -> bool:
        return has_blocking(self.findings)

    def sizing_dict(self) -> dict[str, Any] | None:
        """The sizing report as stored with a revision, with the lint's warnings beside it."""
        if self.sizing is None:
            return None
        return {**self.sizing.to_dict(), "warnings": [w.to_dict() for w in self.lint]}

    def raise_for_problems(self) -> Plan:
        """The plan, or PlanValidationError listing every problem by path."""
        if self.plan is None or self.problems:
            first = self.problems[0] if self.problems else PlanProblem("(plan)", "no plan")
            raise PlanValidationError(f"the plan is invalid: {first}",
                                      problems=[p.to_dict() for p in self.problems])
        return self.plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.model_dump(mode="json") if self.plan is not None else None,
            "problems": [p.to_dict() for p in self.problems],
            "sizing": self.sizing_dict(),
            "lint": [w.to_dict() for w in self.lint],
            "findings": [f.to_dict() for f in self.findings],
            "blocked": self.blocked,
        }


def check_variant(variant: Variant, plan: Plan, workspace: Workspace, *,
                  samples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> list[Finding]:
    """The guards on one edited, unsaved variant (the live check while someone types)."""
    return run_variant(variant, plan, workspace, samples=samples)


def check(plan: Plan | Mapping[str, Any] | str | bytes, workspace: Workspace, *, audience: Audience | None = None,
          now: datetime | None = None, guard: bool = True, strict: bool = False) -> CheckedPlan:
    """Validate ``plan`` against ``workspace``, size it on ``audience``, lint it and run the guards.

    An invalid plan stops after validation (its problems listed by path); ``strict`` raises
    PlanValidationError instead. With no ``audience`` nothing is sized and the guards get no
    samples; ``guard=False`` sizes and lints only (the sizing API and ``copilot segments size``).
    """
    if isinstance(plan, Plan):
        parsed = plan
    else:
        try:
            parsed = parse_plan(dict(plan) if isinstance(plan, Mapping) else plan)
        except PlanValidationError as exc:
            if strict:
                raise
            problems = [PlanProblem(p.get("path", "(plan)"), p.get("message", ""), p.get("code", "schema"))
                        for p in exc.context.get("problems") or [{"path": "(plan)", "message": exc.message}]]
            return CheckedPlan(plan=None, problems=problems)
    result = CheckedPlan(plan=parsed, problems=validate_plan(parsed, workspace))
    if result.problems:
        if strict:
            result.raise_for_problems()
        return result
    if audience is not None:
        result.sizing, result.samples = audience.size(parsed, workspace, now)
    result.lint = lint_plan(parsed, workspace, result.sizing)
    if guard:
        from copilot.planner.clock import planning_now

        # The planner's clock (fixed in tests and evals): a plan is never checked against a different "now"
        # than the one it was made at.
        result.findings = run_plan(parsed, workspace, samples=result.samples, now=planning_now(workspace, now))
    return result


def size_in_workspace(session: Session, workspace: Workspace, plan: Plan | Mapping[str, Any] | str | bytes, *,
                      now: datetime | None = None, sample: int = 5) -> CheckedPlan:
    """Validate (PlanValidationError lists every problem), size and lint a plan on the workspace's
    stored audience, without the guards: ``copilot segments size`` and the sizing API."""
    record = get_workspace_record(session, workspace.slug)
    return check(plan, workspace, audience=DatabaseAudience(session, record.id or 0, sample), now=now,
                 guard=False, strict=True)
