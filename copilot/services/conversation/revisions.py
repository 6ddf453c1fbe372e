"""Plan revisions: store a checked plan as the conversation's next revision, read, diff and restore them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import NotFoundError
from copilot.models import Conversation, PlanRevision, User
from copilot.plan import Plan, content_hash
from copilot.services.checking import DatabaseAudience, check
from copilot.services.conversation.threads import get_conversation, owned_conversation, system_message
from copilot.services.findings import list_findings, store_findings
from copilot.services.plan_diff import PlanDiff, diff_plans
from copilot.services.review import on_revision_changed
from copilot.workspace import Workspace
from guards import Finding

__all__ = [
    "RevisionOutcome",
    "revision_to_dict",
    "store_revision",
    "list_revisions",
    "RevisionSummary",
    "revision_summaries",
    "latest_revision",
    "get_revision",
    "revision_plan",
    "list_findings",
    "diff_revisions",
    "restore_revision",
]


@dataclass
class RevisionOutcome:
    """A stored revision, its findings, and what changed from the revision before it."""

    revision: PlanRevision
    findings: list[Finding]
    changes: PlanDiff | None = None
    created: bool = True  # False when an edit changed nothing and no revision was made

    def to_dict(self) -> dict[str, Any]:
        data = revision_to_dict(self.revision, self.findings)
        data["changes"] = self.changes.to_dict() if self.changes is not None else None
        data["created"] = self.created
        return data


def revision_to_dict(revision: PlanRevision, findings: Sequence[Finding] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": revision.id,
        "conversation_id": revision.conversation_id,
        "number": revision.number,
        "parent_number": revision.parent_number,
        "content_hash": revision.content_hash,
        "planner": revision.planner,
        "prompt_versions": revision.prompt_versions,
        "note": revision.note,
        "created_by_id": revision.created_by_id,
        "created_at": revision.created_at.isoformat(),
        "plan": revision.plan,
        "sizing": revision.sizing,
    }
    if findings is not None:
        data["findings"] = [f.to_dict() for f in findings]
    return data


def list_revisions(session: Session, conversation_id: int) -> list[PlanRevision]:
    get_conversation(session, conversation_id)
    return list(session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id)
        .order_by(PlanRevision.number)  # type: ignore[arg-type]
    ))


@dataclass(frozen=True)
class RevisionSummary:
    """A revision as a history lists it: no plan, no sizing (a long history stays cheap to show)."""

    number: int
    parent_number: int | None
    content_hash: str
    planner: str
    note: str
    created_at: datetime


def revision_summaries(session: Session, conversation_id: int) -> list[RevisionSummary]:
    """The conversation's revisions, oldest first, without their plans."""
    rows = session.exec(
        select(PlanRevision.number, PlanRevision.parent_number, PlanRevision.content_hash, PlanRevision.planner,
               PlanRevision.note, PlanRevision.created_at)
        .where(PlanRevision.conversation_id == conversation_id).order_by(PlanRevision.number)  # type: ignore[arg-type]
    ).all()
    return [RevisionSummary(*row) for row in rows]


def latest_revision(session: Session, conversation_id: int) -> PlanRevision | None:
    return session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id)
        .order_by(PlanRevision.number.desc()).limit(1)  # type: ignore[attr-defined]
    ).first()


def get_revision(session: Session, conversation_id: int, number: int) -> PlanRevision:
    revision = session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id, PlanRevision.number == number)
    ).first() if fits_id(conversation_id) and fits_id(number) else None
    if revision is None:
        get_conversation(session, conversation_id)
        raise NotFoundError(f"conversation {conversation_id} has no revision {number}",
                            conversation_id=conversation_id, number=number)
    return revision


def revision_plan(revision: PlanRevision) -> Plan:
    return Plan.model_validate(revision.plan)


def diff_revisions(session: Session, conversation_id: int, before: int, after: int) -> PlanDiff:
    """Segments added, removed or changed and copy changes per variant field, from ``before`` to ``after``."""
    old = get_revision(session, conversation_id, before)
    new = get_revision(session, conversation_id, after)
    return diff_plans(revision_plan(old), revision_plan(new))


def restore_revision(session: Session, *, conversation_id: int, number: int, actor_id: int, workspace: Workspace,
                     now: datetime | None = None) -> RevisionOutcome:
    """Make revision ``number``'s plan current again, as a new revision (history is never rewritten)."""
    conversation = owned_conversation(session, conversation_id, actor_id)
    source = get_revision(session, conversation_id, number)
    note = f"Restored revision {number}."
    outcome = store_revision(
        session, conversation, revision_plan(source), workspace=workspace, planner_name=source.planner,
        prompt_versions=source.prompt_versions, note=note, actor_id=actor_id, now=now,
    )
    system_message(session, conversation, outcome.revision, note)
    session.commit()
    return outcome


def _notify_revision_changed(session: Session, conversation_id: int, revision: PlanRevision,
                             actor_id: int | None) -> None:
    """Tell the review state machine a new revision is current, so an approval of the old one is voided.

    Runs inside the revision's transaction: if the review refuses (ReviewStateError, e.g.
    the campaign is sending), the revision is not stored.
    """
    actor = session.get(User, actor_id) if actor_id is not None else None
    on_revision_changed(session, conversation_id=conversation_id, revision=revision, actor=actor)


def store_revision(session: Session, conversation: Conversation, plan: Plan, *, workspace: Workspace,
                   planner_name: str, prompt_versions: Mapping[str, Any], note: str, actor_id: int | None,
                   now: datetime | None) -> RevisionOutcome:
    """Check ``plan`` (validate, size, lint, guard) and store it as the conversation's next revision (not committed).

    An invalid plan raises PlanValidationError and nothing is stored.
    """
    checked = check(plan, workspace, audience=DatabaseAudience(session, conversation.workspace_id), now=now,
                    strict=True)
    # Lock the conversation row so two writers cannot both take the same revision number.
    session.exec(select(Conversation.id).where(Conversation.id == conversation.id).with_for_update()).first()
    previous = latest_revision(session, conversation.id or 0)
    revision = PlanRevision(
        conversation_id=conversation.id or 0,
        number=(previous.number + 1) if previous else 1,
        parent_number=previous.number if previous else None,
        plan=plan.model_dump(mode="json"),
        content_hash=content_hash(plan),
        planner=planner_name,
        prompt_versions=dict(prompt_versions),
        note=note,
        sizing=checked.sizing_dict() or {},
        created_by_id=actor_id,
    )
    session.add(revision)
    session.flush()
    findings = store_findings(session, revision.id or 0, checked.findings)
    _notify_revision_changed(session, conversation.id or 0, revision, actor_id)
    changes = diff_plans(revision_plan(previous), plan) if previous is not None else None
    return RevisionOutcome(revision=revision, findings=findings, changes=changes)
