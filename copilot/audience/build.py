"""Build the demo audience into the database in one transaction, and the demo users."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from copilot import db
from copilot.audience.bulk import (
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    analyze,
    deferred_indexes,
    fast_sqlite_writes,
    insert_rows,
)
from copilot.audience.aggregates import rebuild_aggregates
from copilot.audience.generator import AudienceChunk, generate_audience
from copilot.audience.partitions import ensure_event_partitions, months_between
from copilot.audience.values import sql_timestamps
from copilot.errors import WorkspaceError
from copilot.models import ContactAggregate, Event, utcnow
from copilot.services.users import ensure_user
from copilot.services.workspaces import get_workspace_record
from copilot.workspace import Workspace

if TYPE_CHECKING:
    from copilot.runtime import Runtime

__all__ = ["BuildStats", "build_demo_audience", "ensure_demo", "ensure_demo_users", "DEMO_USERS",
           "audience_size"]

DEMO_USERS = (("marketer", "marketer"), ("reviewer", "reviewer"), ("admin", "admin"))


@dataclass(frozen=True)
class BuildStats:
    """What a build wrote and how fast."""

    contacts: int
    events: int
    seconds: float
    database: str
    seed: int

    @property
    def contacts_per_second(self) -> float:
        return self.contacts / self.seconds if self.seconds else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def rows_per_second(self) -> float:
        return (self.contacts + self.events) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(contacts_per_second=round(self.contacts_per_second), events_per_second=round(
            self.events_per_second), rows_per_second=round(self.rows_per_second), seconds=round(self.seconds, 3))
        return data

    def summary(self) -> str:
        return (f"{self.contacts:,} contacts and {self.events:,} events in {self.seconds:.1f} s "
                f"({self.contacts_per_second:,.0f} contacts/s, {self.events_per_second:,.0f} events/s)")


def audience_size(conn: sa.Connection, workspace_id: int) -> int:
    return int(conn.execute(sa.text("SELECT COUNT(*) FROM contacts WHERE workspace_id = :w"),
                            {"w": workspace_id}).scalar_one())


def build_demo_audience(engine: Engine, workspace: Workspace, workspace_id: int, *, contacts: int,
                        seed: int = 7, now: datetime | None = None,
                        progress: Callable[[int], None] | None = None, replace: bool = False) -> BuildStats:
    """Generate ``contacts`` synthetic contacts with their events and write them in one transaction.

    The same seed and ``now`` give the same rows. ``progress`` is called with the number
    of contacts just written (an increment). A workspace that already has contacts is
    refused unless ``replace`` is true, which deletes its contacts and events first
    (in the same transaction, so a failed rebuild leaves the old audience in place).
    """
    if contacts < 0:
        raise WorkspaceError(f"contacts must be 0 or more, got {contacts}", workspace=workspace.slug)
    now = now or utcnow()
    started = time.perf_counter()
    with engine.connect() as conn:
        with fast_sqlite_writes(conn), conn.begin():
            events = _replace_audience(conn, workspace, workspace_id, contacts=contacts, seed=seed, now=now,
                                       progress=progress, replace=replace)
        if conn.dialect.name == "sqlite":
            # The build went through the WAL file; fold it back so it does not stay gigabytes big.
            # fast_sqlite_writes has restored synchronous=NORMAL by now, so this checkpoint is synced.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
    return BuildStats(contacts=contacts, events=events, seconds=time.perf_counter() - started,
                      database=engine.dialect.name, seed=seed)


def _replace_audience(conn: sa.Connection, workspace: Workspace, workspace_id: int, *, contacts: int, seed: int,
                      now: datetime, progress: Callable[[int], None] | None, replace: bool) -> int:
    """The build's transaction body; returns the number of events written."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # Explicit ids below: keep other writers out until the sequence is moved past them.
        conn.exec_driver_sql("LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE")
    existing = audience_size(conn, workspace_id)
    if existing and not replace:
        raise WorkspaceError(f"workspace {workspace.slug!r} already has {existing:,} contacts; "
                             "rebuild to replace them (copilot demo --rebuild)",
                             workspace=workspace.slug, contacts=existing)
    if existing:
        conn.execute(sa.text("DELETE FROM contact_aggregates WHERE workspace_id = :w"), {"w": workspace_id})
        conn.execute(sa.text("DELETE FROM events WHERE workspace_id = :w"), {"w": workspace_id})
        conn.execute(sa.text("DELETE FROM contacts WHERE workspace_id = :w"), {"w": workspace_id})
    # Ids are assigned here so events can point at their contact without a round trip.
    base = int(conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM contacts")).scalar_one()) + 1
    stamp = sql_timestamps(np.array([int(now.timestamp())]), dialect)[0]
    # Generated histories reach about four years back (the longest tenure is 1,500 days).
    ensure_event_partitions(conn, months_between((now - timedelta(days=5 * 366)).date(), now.date()))
    with deferred_indexes(conn, Event.__table__, rows_coming=contacts * 10):
        events = _write(conn, workspace, workspace_id, contacts=contacts, seed=seed, now=now, base=base,
                        stamp=stamp, progress=progress)
    # The per-contact aggregates of everything just written, in one grouped pass over the events.
    with deferred_indexes(conn, ContactAggregate.__table__, rows_coming=contacts * 5):
        rebuild_aggregates(conn, workspace_id)
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
                             "(SELECT COALESCE(MAX(id), 1) FROM contacts))")
    analyze(conn, ("contacts", "events", "contact_aggregates"))
    return events


def _write(conn: sa.Connection, workspace: Workspace, workspace_id: int, *, contacts: int, seed: int,
           now: datetime, base: int, stamp: str, progress: Callable[[int], None] | None) -> int:
    dialect = conn.dialect.name
    events = 0
    for chunk in generate_audience(workspace, contacts=contacts, seed=seed, now=now):
        insert_rows(conn, "contacts", CONTACT_COLUMNS, _contact_rows(chunk, base, workspace_id, stamp, dialect))
        insert_rows(conn, "events", EVENT_COLUMNS, _event_rows(chunk, base, workspace_id, dialect))
        events += len(chunk.events)
        if progress is not None:
            progress(len(chunk))
    return events


def _contact_rows(chunk: AudienceChunk, base: int, workspace_id: int, stamp: str,
                  dialect: str) -> list[tuple]:  # type: ignore[type-arg]
    first_id = base + chunk.start
    n = len(chunk)
    return list(zip(
        range(first_id, first_id + n), [workspace_id] * n, chunk.email, chunk.first_name, chunk.last_name,
        chunk.city, chunk.country, chunk.locale, chunk.timezone, chunk.consent,
        sql_timestamps(chunk.consent_updated_at, dialect), sql_timestamps(chunk.signed_up_at, dialect),
        [stamp] * n, [stamp] * n, chunk.attributes, strict=True,
    ))


def _event_rows(chunk: AudienceChunk, base: int, workspace_id: int, dialect: str) -> list[tuple]:  # type: ignore[type-arg]
    ev = chunk.events
    n = len(ev)
    return list(zip(
        [workspace_id] * n, (ev.contact + (base + chunk.start)).tolist(), ev.name,
        sql_timestamps(ev.occurred_at, dialect), ev.category, ev.product, ev.value, ev.properties, strict=True,
    ))


def ensure_demo_users(engine: Engine, password: str) -> None:
    """The demo accounts marketer, reviewer and admin (kept as they are when they exist)."""
    with db.session_scope(engine) as session:
        for username, role in DEMO_USERS:
            ensure_user(session, username, role=role, password=password)


def ensure_demo(runtime: Runtime, *, contacts: int = 50_000, seed: int = 7, rebuild: bool = False,
                progress: Callable[[int], None] | None = None) -> BuildStats | None:
    """Demo users plus the default workspace's synthetic audience.

    Returns None when the workspace already had contacts and ``rebuild`` is false
    (the existing audience is reused), else the build's figures.
    """
    ensure_demo_users(runtime.engine, runtime.settings.demo_password)
    workspace = runtime.default_workspace
    with runtime.session() as session:
        workspace_id = get_workspace_record(session, workspace.slug).id
    assert workspace_id is not None
    with runtime.engine.connect() as conn:
        if audience_size(conn, workspace_id) and not rebuild:
            return None
    return build_demo_audience(runtime.engine, workspace, workspace_id, contacts=contacts, seed=seed,
                               progress=progress, replace=rebuild)
