"""Small hand-made audiences for the segment tests: plain dicts in, rows written with Core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from copilot.audience.aggregates import add_event_rows
from copilot.models import Contact, Event, WorkspaceRecord
from copilot.workspace import CONTACT_COLUMNS, EVENT_COLUMNS, Workspace

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def add_workspace(engine: Engine, workspace: Workspace, slug: str | None = None) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.insert(WorkspaceRecord.__table__).values(  # type: ignore[attr-defined]
            slug=slug or workspace.slug, name=workspace.name, source_dir=str(workspace.path),
            content_hash=workspace.content_hash, loaded_at=NOW,
        ).returning(WorkspaceRecord.__table__.c.id)).scalar_one())  # type: ignore[attr-defined]


def add_audience(engine: Engine, workspace_id: int, people: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert contacts (column values + other catalog fields) and their ``events``; return the ids."""
    contacts, events = Contact.__table__, Event.__table__  # type: ignore[attr-defined]
    rows = []
    for i, person in enumerate(people):
        columns = {k: v for k, v in person.items() if k in CONTACT_COLUMNS}
        attributes = {k: v for k, v in person.items() if k not in CONTACT_COLUMNS and k not in {"events", "id"}}
        rows.append({"email": f"p{i}@example.com", "first_name": None, "last_name": None, "city": None,
                     "country": None, "locale": "en", "timezone": "UTC", "consent": "subscribed",
                     "signed_up_at": None, **columns, "workspace_id": workspace_id, "attributes": attributes,
                     "created_at": NOW, "updated_at": NOW})
    if not rows:
        return []
    with engine.begin() as conn:
        ids = [int(cid) for cid in conn.execute(
            sa.insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), rows).scalars()]
        event_rows = [
            {"workspace_id": workspace_id, "contact_id": cid, "name": ev["name"], "occurred_at": ev["occurred_at"],
             "category": ev.get("category"), "product": ev.get("product"), "value": ev.get("value"),
             "properties": {k: v for k, v in ev.items() if k not in EVENT_COLUMNS and k not in {"name", "occurred_at"}}}
            for cid, person in zip(ids, people, strict=True) for ev in person.get("events", [])
        ]
        if event_rows:
            conn.execute(sa.insert(events), event_rows)
            add_event_rows(conn, event_rows)  # as every writer of events does
    return ids
