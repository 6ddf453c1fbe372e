"""Bulk writes of plain rows: executemany on SQLite, COPY on PostgreSQL.

Rows are tuples of str / int / float / None already in storage form (timestamps
as produced by ``values.sql_timestamps``, JSON as text), so no ORM objects and
no per-row type processing stand between a generator and the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

__all__ = ["CONTACT_COLUMNS", "EVENT_COLUMNS", "insert_rows", "fast_sqlite_writes", "deferred_indexes", "analyze"]

CONTACT_COLUMNS = (
    "id", "workspace_id", "email", "first_name", "last_name", "city", "country", "locale", "timezone",
    "consent", "consent_updated_at", "signed_up_at", "created_at", "updated_at", "attributes",
)
# Smallest bulk load for which dropping and rebuilding indexes pays off.
DEFER_FROM_ROWS = 50_000

EVENT_COLUMNS = (
    "workspace_id", "contact_id", "name", "occurred_at", "category", "product", "value", "properties",
)


def insert_rows(conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:  # type: ignore[type-arg]
    """Append ``rows`` to ``table`` inside the caller's transaction."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        # COPY streams rows through one statement: several times faster than INSERT batches.
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))  # type: ignore[arg-type]


@contextmanager
def fast_sqlite_writes(conn: sa.Connection) -> Iterator[None]:
    """For one big build on SQLite: no fsync per page and a bigger page cache, restored after.

    Safe because the whole build is one transaction: a crash loses the build, not
    earlier data (WAL keeps the database consistent).
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA synchronous=OFF")
    conn.exec_driver_sql("PRAGMA cache_size=-196608")  # 192 MiB
    conn.commit()  # end the autobegun (empty) transaction so the caller can begin its own
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        conn.exec_driver_sql("PRAGMA cache_size=-65536")
        conn.commit()


@contextmanager
def deferred_indexes(conn: sa.Connection, table: sa.Table, *, rows_coming: int) -> Iterator[None]:
    """Drop ``table``'s secondary indexes for a bulk load and build them again after it.

    Inserting millions of rows into several B-trees in random key order is much slower
    than sorting once at the end. Worth it only for a load of at least DEFER_FROM_ROWS
    rows that is at least as big as the table already is. Runs inside the caller's
    transaction: SQLite and PostgreSQL both roll DDL back, so an index is never left
    missing (on PostgreSQL the table is locked against readers until the load commits).
    """
    indexes: list[sa.Index] = []
    if rows_coming >= DEFER_FROM_ROWS:
        existing = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        indexes = list(table.indexes) if rows_coming >= existing else []
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)


def analyze(conn: sa.Connection, tables: Sequence[str]) -> None:
    """Refresh the planner's statistics after a bulk load (segment queries depend on them)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {table}")
