"""Aggregate audience counts for planner prompts: how many contacts, who did which event, which fields are filled.

Only counts leave this module (invariant 3): never a row, a value or an id.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from copilot.models import Contact, Event
from copilot.planner.base import AudienceStats
from copilot.workspace import Workspace

__all__ = ["audience_stats", "fresh_audience_stats", "clear_audience_stats_cache"]

# Counting distinct contacts per event scans the events index (about 0.1 s for
# 500k events); planning a turn should not pay that each time, so results are
# kept until the audience visibly changes (count, newest contact update, newest event).
# Even that check scans the contacts, so for FRESH_SECONDS a result is reused unchecked:
# counts in a prompt a few seconds old are as good, and the first streamed token comes sooner.
FRESH_SECONDS = 30.0
# Keyed by the engine object itself (weakly), so a disposed engine's entries go with it and a
# new engine at the same URL (a recreated test database) never sees them.
_cache: weakref.WeakKeyDictionary[Engine, dict[int, tuple[tuple[Any, ...], float, AudienceStats]]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()


def clear_audience_stats_cache() -> None:
    with _lock:
        _cache.clear()


def _fingerprint(session: Session, workspace_id: int) -> tuple[Any, ...]:
    contacts = session.exec(
        select(sa.func.count(), sa.func.max(Contact.id), sa.func.max(Contact.updated_at))
        .where(Contact.workspace_id == workspace_id)
    ).one()
    newest_event = session.exec(select(sa.func.max(Event.id)).where(Event.workspace_id == workspace_id)).one()
    return (*tuple(contacts), newest_event)


def _filled_expr(workspace: Workspace, name: str) -> sa.ColumnElement[int]:
    if workspace.is_column(name):
        column = getattr(Contact, name)
        return sa.func.count(column)
    value = Contact.attributes[name].as_string()  # type: ignore[index]
    return sa.func.count(sa.case((sa.and_(value.is_not(None), value != ""), 1)))


def _compute(session: Session, workspace: Workspace, workspace_id: int) -> AudienceStats:
    names = [f.name for f in workspace.catalog.fields]
    row = session.exec(
        select(
            sa.func.count(),
            sa.func.count(sa.case((Contact.consent == "subscribed", 1))),
            *[_filled_expr(workspace, n) for n in names],
        ).where(Contact.workspace_id == workspace_id)
    ).one()
    events = session.exec(
        select(Event.name, sa.func.count(sa.distinct(Event.contact_id)))
        .where(Event.workspace_id == workspace_id)
        .group_by(Event.name)
    ).all()
    known = set(workspace.events_by_name)
    return AudienceStats(
        contacts=int(row[0]),
        subscribed=int(row[1]),
        event_contacts={name: int(n) for name, n in events if name in known},
        field_filled={name: int(n) for name, n in zip(names, row[2:], strict=True)},
    )


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def fresh_audience_stats(session: Session, workspace: Workspace, workspace_id: int) -> AudienceStats | None:
    """The cached counts if they are fresh enough to use without asking the database, else None."""
    with _lock:
        cached = _cache.get(_engine(session), {}).get(workspace_id)
    if cached is not None and cached[0][0] == workspace.content_hash and time.monotonic() - cached[1] < FRESH_SECONDS:
        return cached[2]
    return None


def audience_stats(session: Session, workspace: Workspace, workspace_id: int) -> AudienceStats:
    """Counts over the workspace's audience, cached until the audience changes."""
    engine = _engine(session)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(engine, {}).get(workspace_id)
    if cached is not None and cached[0][0] == workspace.content_hash and now - cached[1] < FRESH_SECONDS:
        return cached[2]
    fingerprint = (workspace.content_hash, *_fingerprint(session, workspace_id))
    if cached is not None and cached[0] == fingerprint:
        stats = cached[2]
    else:
        stats = _compute(session, workspace, workspace_id)
    with _lock:
        _cache.setdefault(engine, {})[workspace_id] = (fingerprint, now, stats)
    return stats
