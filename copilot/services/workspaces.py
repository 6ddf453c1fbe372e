"""Workspaces in the database: register a loaded brand folder, read counts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from copilot.errors import NotFoundError
from copilot.models import Contact, Event, WorkspaceRecord, utcnow
from copilot.segments.indexes import ensure_attribute_indexes
from copilot.workspace import Workspace

__all__ = ["register_workspace", "get_workspace_record", "list_workspace_records", "audience_counts"]


def register_workspace(session: Session, workspace: Workspace) -> WorkspaceRecord:
    """Insert or refresh the row for a loaded brand folder (keyed by slug)."""
    record = session.exec(select(WorkspaceRecord).where(WorkspaceRecord.slug == workspace.slug)).first()
    if record is None:
        record = WorkspaceRecord(slug=workspace.slug, name=workspace.name, source_dir=str(workspace.path),
                                 content_hash=workspace.content_hash)
        session.add(record)
    else:
        record.name = workspace.name
        record.source_dir = str(workspace.path)
        record.content_hash = workspace.content_hash
        record.loaded_at = utcnow()
    # The gate reads the policy beside the review row (it has no loaded Workspace at hand).
    record.policy = workspace.brand.review_policy.model_dump(mode="json")
    session.flush()
    # Catalog-dependent expression indexes for the segment engine (no-op once they exist).
    ensure_attribute_indexes(session.connection(), workspace)
    return record


def get_workspace_record(session: Session, slug: str) -> WorkspaceRecord:
    record = session.exec(select(WorkspaceRecord).where(WorkspaceRecord.slug == slug)).first()
    if record is None:
        raise NotFoundError(f"no workspace {slug!r}", workspace=slug)
    return record


def list_workspace_records(session: Session) -> list[WorkspaceRecord]:
    return list(session.exec(select(WorkspaceRecord).order_by(WorkspaceRecord.slug)))


def audience_counts(session: Session, workspace_id: int) -> dict[str, int]:
    """Contacts by consent state, plus the number of events."""
    rows = session.exec(
        select(Contact.consent, sa.func.count()).where(Contact.workspace_id == workspace_id).group_by(Contact.consent)
    ).all()
    counts = {state: 0 for state in ("subscribed", "unsubscribed", "bounced")}
    counts.update({state: int(n) for state, n in rows})
    counts["contacts"] = sum(counts[s] for s in ("subscribed", "unsubscribed", "bounced"))
    counts["events"] = int(
        session.exec(select(sa.func.count()).select_from(Event).where(Event.workspace_id == workspace_id)).one()
    )
    return counts
