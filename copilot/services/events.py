"""Record events sent to the JSON API (``POST /api/events``), checked like an imported CSV row.

Each event is checked against the workspace catalog with the importer's own row checker
(``copilot.services.import_rows.EventSchema``); one bad event refuses the whole request, with every
problem listed by index, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from copilot.audience.aggregates import add_event_rows
from copilot.errors import ImportDataError
from copilot.models import Contact, Event, utcnow
from copilot.services.import_rows import EventRow, EventSchema, RowError
from copilot.workspace import Workspace

__all__ = ["record_events", "MAX_EVENTS"]

MAX_EVENTS = 1000
_contacts: sa.Table = Contact.__table__  # type: ignore[attr-defined]
_events: sa.Table = Event.__table__  # type: ignore[attr-defined]


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _row(workspace: Workspace, item: Any, now: datetime) -> EventRow:
    if not isinstance(item, Mapping):
        raise RowError(None, "each event must be an object with email, event, occurred_at and properties")
    props = item.get("properties") or {}
    if not isinstance(props, Mapping):
        raise RowError("properties", "properties must be an object")
    unknown = sorted(set(item) - {"email", "event", "occurred_at", "properties"})
    if unknown:
        raise RowError(unknown[0], f"unknown key {unknown[0]!r}; event properties go under 'properties'")
    header = ["email", "event", "occurred_at", *props]
    fields = [_cell(item.get("email")), _cell(item.get("event")), _cell(item.get("occurred_at") or now.isoformat()),
              *(_cell(v) for v in props.values())]
    schema = EventSchema(workspace, header, now=now)
    if schema.header_problems:
        first = schema.header_problems[0]
        raise RowError(first.column, "; ".join(p.message.replace("column", "property", 1)
                                               for p in schema.header_problems))
    return schema.row(fields)


def record_events(session: Session, workspace: Workspace, workspace_id: int, items: Sequence[Any], *,
                  now: datetime | None = None) -> int:
    """Check every event, then write them all in the session's transaction; returns how many."""
    now = now or utcnow()
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or not items:
        raise ImportDataError("send {\"events\": [...]} with at least one event")
    if len(items) > MAX_EVENTS:
        raise ImportDataError(f"at most {MAX_EVENTS} events per request, got {len(items)}")
    problems: list[dict[str, Any]] = []
    rows: list[tuple[int, EventRow]] = []
    for index, item in enumerate(items):
        try:
            rows.append((index, _row(workspace, item, now)))
        except RowError as exc:
            problems.append({"path": f"events[{index}]" + (f".{exc.column}" if exc.column else ""),
                             "message": exc.message})
    ids: dict[str, int] = {}
    if rows:
        found = session.connection().execute(sa.select(_contacts.c.email, _contacts.c.id).where(
            _contacts.c.workspace_id == workspace_id, _contacts.c.email.in_(sorted({r.email for _, r in rows}))))
        ids = {email: cid for email, cid in found}
        for index, row in rows:
            if row.email not in ids:
                problems.append({"path": f"events[{index}].email",
                                 "message": f"no contact {row.email!r} in workspace {workspace.slug!r}"})
    if problems:
        problems.sort(key=lambda p: int(p["path"].split("[")[1].split("]")[0]))
        raise ImportDataError(f"{len(problems)} event(s) refused; nothing recorded: "
                              f"{problems[0]['path']}: {problems[0]['message']}", problems=problems)
    written = [{"workspace_id": workspace_id, "contact_id": ids[r.email], "name": r.name, "occurred_at": r.occurred_at,
                "category": r.category, "product": r.product, "value": r.value, "properties": r.properties}
               for _, r in rows]
    conn = session.connection()
    conn.execute(sa.insert(_events), written)
    add_event_rows(conn, written)
    return len(rows)
