"""Per-contact event aggregates (``contact_aggregates``, migration 0015), kept in step with ``events``.

Every writer of events adds what it wrote here in the same transaction: the importer (set-based,
from its staging table), ``POST /api/events`` and delivery's ``email_sent`` events (rows from
Python), the demo build (recomputed for the workspace). Segment rules read them
(``copilot.segments.sql``) so sizing never rescans a contact's whole history for "ever",
"before", "in the last N days" or "not in the last N days".

Per (contact, event name) one row with category '' totals every event of the name; one more row
per category the events carried. Counts, first and last times and summed values only grow,
so adding events is an upsert (``ON CONFLICT DO UPDATE``) on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from copilot.models import AGGREGATE_ALL_CATEGORIES, ContactAggregate

__all__ = ["TABLE", "add_event_rows", "add_events_from", "aggregate_insert", "rebuild_aggregates"]

TABLE = "contact_aggregates"
aggregates: sa.Table = ContactAggregate.__table__  # type: ignore[attr-defined]
_COLUMNS = "workspace_id, contact_id, name, category, event_count, first_at, last_at, value_sum"


def _merge(dialect: str) -> str:
    """The ON CONFLICT clause adding new totals to a stored row."""
    low, high = ("least", "greatest") if dialect == "postgresql" else ("min", "max")
    t = TABLE
    return (f" ON CONFLICT (contact_id, name, category) DO UPDATE SET "
            f"event_count = {t}.event_count + excluded.event_count, "
            f"first_at = {low}({t}.first_at, excluded.first_at), last_at = {high}({t}.last_at, excluded.last_at), "
            f"value_sum = {t}.value_sum + excluded.value_sum")


def _grouped(source: str) -> str:
    """SELECT of aggregate rows from ``source`` (a FROM item with workspace_id, contact_id, name,
    category, occurred_at, value): each event counted once under '' and once under its category."""
    return (
        f"SELECT src.workspace_id, src.contact_id, src.name, "
        f"CASE WHEN lv.k = 0 THEN '{AGGREGATE_ALL_CATEGORIES}' ELSE src.category END AS cat, "
        "count(*), min(src.occurred_at), max(src.occurred_at), coalesce(sum(src.value), 0) "
        f"FROM {source} CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) AS lv "
        "WHERE lv.k = 0 OR src.category IS NOT NULL "
        "GROUP BY src.workspace_id, src.contact_id, src.name, cat"
    )


def aggregate_insert(source: str, dialect: str) -> str:
    """The statement adding the events ``source`` yields (a FROM item aliased ``src`` with columns
    workspace_id, contact_id, name, category, occurred_at, value) to the aggregates."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_grouped(source)}{_merge(dialect)}"


def add_events_from(conn: sa.Connection, source: str, params: Mapping[str, Any] | None = None) -> None:
    """Add the events ``source`` yields (see ``aggregate_insert``) to the aggregates, in SQL."""
    conn.execute(sa.text(aggregate_insert(source, conn.dialect.name)), dict(params or {}))


def add_event_rows(conn: sa.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add events given as mappings (workspace_id, contact_id, name, category, occurred_at, value):
    what the API and delivery write a few at a time."""
    totals: dict[tuple[int, str, str], list[Any]] = {}
    for row in rows:
        keys = [AGGREGATE_ALL_CATEGORIES] + ([row["category"]] if row.get("category") is not None else [])
        for category in keys:
            key = (row["contact_id"], row["name"], category)
            at: datetime = row["occurred_at"]
            value = float(row.get("value") or 0.0)
            have = totals.get(key)
            if have is None:
                totals[key] = [row["workspace_id"], 1, at, at, value]
            else:
                have[1] += 1
                have[2], have[3] = min(have[2], at), max(have[3], at)
                have[4] += value
    if not totals:
        return
    # Sorted by key so two writers upserting the same contacts lock rows in the same order.
    items = [{"workspace_id": t[0], "contact_id": k[0], "name": k[1], "category": k[2], "event_count": t[1],
              "first_at": t[2], "last_at": t[3], "value_sum": t[4]} for k, t in sorted(totals.items())]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(aggregates)
    low, high = (sa.func.least, sa.func.greatest) if conn.dialect.name == "postgresql" else (sa.func.min, sa.func.max)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["contact_id", "name", "category"],
        set_={"event_count": aggregates.c.event_count + ex.event_count,
              "first_at": low(aggregates.c.first_at, ex.first_at), "last_at": high(aggregates.c.last_at, ex.last_at),
              "value_sum": aggregates.c.value_sum + ex.value_sum})
    conn.execute(stmt, items)


def rebuild_aggregates(conn: sa.Connection, workspace_id: int | None = None) -> None:
    """Recompute the aggregates from ``events`` (one workspace's, or all): the backfill and the demo build."""
    if conn.dialect.name == "postgresql":  # one big grouping: room to hash it in memory, this transaction only
        conn.execute(sa.select(sa.func.set_config("work_mem", "256MB", True)))
    where, params = ("WHERE workspace_id = :w", {"w": workspace_id}) if workspace_id is not None else ("", {})
    conn.execute(sa.text(f"DELETE FROM {TABLE} {where}"), params)
    source = ("(SELECT workspace_id, contact_id, name, category, occurred_at, value "
              f"FROM events {where}) AS src")
    conn.execute(sa.text(f"INSERT INTO {TABLE} ({_COLUMNS}) {_grouped(source)}"), params)
