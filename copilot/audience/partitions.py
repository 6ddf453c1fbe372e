"""Monthly partitions of ``events`` on PostgreSQL (migration 0014); nothing to do on SQLite.

A partition per calendar month (UTC) of ``occurred_at``, named ``events_pYYYY_MM``, and a
default partition ``events_default`` for any time outside them, so an insert never fails
for want of a partition. A month is only added while the default partition holds none of
its rows (PostgreSQL refuses otherwise); such rows simply stay in the default partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

import sqlalchemy as sa

__all__ = ["PARTITION_NAME", "create_month_partitions", "ensure_event_partitions", "month_partition", "months_between"]

PARTITION_NAME = re.compile(r"^events_(p\d{4}_\d{2}|default)$")
# Oldest month given its own partition when partitioning existing data; older rows go to the default.
_MAX_MONTHS_BACK = 120


def month_partition(month: date) -> str:
    return f"events_p{month.year:04d}_{month.month:02d}"


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s through ``last``'s."""
    out, month = [], date(first.year, first.month, 1)
    while month <= last:
        out.append(month)
        month = _next(month)
    return out


def _partitioned(conn: sa.Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.exec_driver_sql(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = 'events' AND c.relnamespace = current_schema()::regnamespace").first())


def ensure_event_partitions(conn: sa.Connection, months: Iterable[date]) -> list[str]:
    """Create the monthly partitions of ``months`` that are missing; returns the names created."""
    if not _partitioned(conn):
        return []
    existing = {name for (name,) in conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass")}
    created = []
    for month in sorted({date(m.year, m.month, 1) for m in months}):
        name = month_partition(month)
        if name in existing:
            continue
        start, end = month.isoformat() + " 00:00:00+00", _next(month).isoformat() + " 00:00:00+00"
        if "events_default" in existing and conn.exec_driver_sql(
                f"SELECT 1 FROM events_default WHERE occurred_at >= '{start}' AND occurred_at < '{end}' LIMIT 1").first():
            continue  # its rows already live in the default partition
        conn.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ('{start}') TO ('{end}')")
        created.append(name)
    return created


def create_month_partitions(conn: sa.Connection, *, months_ahead: int, since_table: str | None = None) -> None:
    """The default partition and one per month from the oldest row of ``since_table`` (at most
    ten years back) through ``months_ahead`` months after now."""
    now = datetime.now(UTC).date()
    first = now
    if since_table:
        oldest = conn.exec_driver_sql(f"SELECT min(occurred_at) FROM {since_table}").scalar()
        if oldest is not None:
            first = max(oldest.astimezone(UTC).date(), date(now.year - _MAX_MONTHS_BACK // 12, now.month, 1))
    last = date(now.year + (now.month - 1 + months_ahead) // 12, (now.month - 1 + months_ahead) % 12 + 1, 1)
    ensure_event_partitions(conn, months_between(first, last))
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT")
