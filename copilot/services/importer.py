"""CSV import of contacts and events against a workspace's catalog, through the database's bulk path.

One pass over the file inside one transaction: batches of records are checked column
by column (``import_batch``; a bad row gets the per-row check's message) and the good
rows go into a temporary staging table (COPY on PostgreSQL, executemany on SQLite).
Checks that need every row or the stored contacts run in SQL on the staging table:
duplicates within the file (a window over the row's identity) and, per batch, events
whose contact is unknown. Then one statement per step moves the rows into place
(UPDATE ... FROM and INSERT ... SELECT for contacts, INSERT ... SELECT joined to
contacts for events), so no row and no contact id passes back through Python.

A file with bad rows imports nothing unless ``skip_invalid``: the transaction rolls
back, staging table and all, so nothing is ever half-written. Memory stays flat
whatever the file size: Python holds one batch, the database holds the rest.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from copilot.audience.aggregates import add_events_from, aggregate_insert
from copilot.audience.bulk import deferred_indexes, insert_rows
from copilot.audience.partitions import ensure_event_partitions
from copilot.audience.values import sql_timestamp
from copilot.errors import ImportDataError
from copilot.models import ContactAggregate, Event, utcnow
from copilot.services.import_batch import CONTACT_STAGE, EVENT_STAGE, BatchChecker
from copilot.services.import_rows import ContactSchema, EventSchema, RowProblem
from copilot.workspace import Workspace

__all__ = ["ImportResult", "import_contacts", "import_events", "RowProblem", "MAX_LISTED"]

CHUNK = 5_000  # records per batch
CHUNK_CHARS = 4_000_000
# Problems kept for the report; beyond this only the count grows (a file of a
# million bad rows must not need a million messages in memory).
MAX_LISTED = 10_000
_OPTED_OUT = ("unsubscribed", "bounced")

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    """What an import did. ``skipped`` lists the first MAX_LISTED skipped rows, by line."""

    kind: str
    file: str
    rows: int = 0
    imported: int = 0
    created: int = 0
    updated: int = 0
    kept_opted_out: int = 0
    skipped_count: int = 0
    skipped: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.kind == "contacts":
            text = (f"{self.file}: imported {self.imported:,} contacts ({self.created:,} new, "
                    f"{self.updated:,} updated) in {self.seconds:.1f} s")
        else:
            text = f"{self.file}: imported {self.imported:,} events in {self.seconds:.1f} s"
        if self.skipped_count:
            text += f"; skipped {self.skipped_count:,} bad rows"
        if self.kept_opted_out:
            text += (f"; kept {self.kept_opted_out:,} contacts unsubscribed or bounced although the file says "
                     "subscribed (an import never re-subscribes anyone)")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "rows": self.rows, "imported": self.imported,
            "created": self.created, "updated": self.updated, "kept_opted_out": self.kept_opted_out,
            "skipped_count": self.skipped_count, "skipped": [p.to_dict() for p in self.skipped],
            "seconds": round(self.seconds, 3),
        }


def import_contacts(engine: Engine, workspace: Workspace, workspace_id: int, path: str | Path, *,
                    skip_invalid: bool = False, progress: Progress | None = None,
                    now: datetime | None = None) -> ImportResult:
    """Upsert contacts from a CSV (columns: email, consent, then any catalog fields).

    Email is the identity (case-insensitive): a known contact is updated, blank
    cells leave stored values alone, attributes are merged, and consent never goes
    from unsubscribed or bounced back to subscribed.
    """
    return _Import(engine, workspace, workspace_id, Path(path), "contacts", skip_invalid, progress, now).run()


def import_events(engine: Engine, workspace: Workspace, workspace_id: int, path: str | Path, *,
                  skip_invalid: bool = False, progress: Progress | None = None,
                  now: datetime | None = None) -> ImportResult:
    """Append events from a CSV (columns: email, event, occurred_at, then event properties).

    Each row names its contact by email; the contact must already exist.
    """
    return _Import(engine, workspace, workspace_id, Path(path), "events", skip_invalid, progress, now).run()


_STAGE = "import_stage"
# Staging columns' types on PostgreSQL (SQLite takes the text and numbers as they come).
_PG_TYPES = {"line": "bigint", "signed_up_at": "timestamptz", "attributes": "jsonb", "occurred_at": "timestamptz",
             "value": "double precision", "properties": "jsonb"}
_UPDATABLE = ("first_name", "last_name", "city", "country", "locale", "timezone", "signed_up_at")


class _Import:
    def __init__(self, engine: Engine, workspace: Workspace, workspace_id: int, path: Path, kind: str,
                 skip_invalid: bool, progress: Progress | None, now: datetime | None) -> None:
        self.engine = engine
        self.workspace = workspace
        self.workspace_id = workspace_id
        self.path = path
        self.kind = kind
        self.skip_invalid = skip_invalid
        self.progress = progress
        self.now = now or utcnow()
        self.dialect = engine.dialect.name
        self.result = ImportResult(kind=kind, file=path.name)
        self.problems: list[RowProblem] = []
        self.stage_columns = ("line", *(CONTACT_STAGE if kind == "contacts" else EVENT_STAGE))

    # -- reading -------------------------------------------------------------------------

    def _fail(self, message: str, **context: Any) -> ImportDataError:
        return ImportDataError(f"{self.path.name}: {message}", file=str(self.path), **context)

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(first line, fields) for the header and every non-blank record, streamed."""
        try:
            raw = open(self.path, "rb")  # noqa: SIM115 - closed in finally
        except OSError as exc:
            raise self._fail(f"cannot read the file ({exc.strerror})") from None
        line = 0
        reported = 0
        try:
            # surrogateescape keeps undecodable bytes so the row check can name their line.
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.reader(text, strict=True)
            for count, fields in enumerate(reader):
                start, line = line + 1, reader.line_num
                # Blank records are skipped; the first cell (the email) nearly always settles it.
                if fields and (fields[0].strip() or "".join(fields).strip()):
                    yield start, fields
                if self.progress is not None and count % 4096 == 4095:
                    position = raw.tell()
                    self.progress(position - reported)
                    reported = position
            if self.progress is not None:
                self.progress(os.fstat(raw.fileno()).st_size - reported)
        except csv.Error as exc:
            raise self._fail(f"line {line + 1}: malformed CSV ({exc})") from None
        finally:
            raw.close()

    def _batches(self) -> tuple[ContactSchema | EventSchema, Iterator[list[tuple[int, list[str]]]]]:
        """The schema built from the header, and batches of (line, fields)."""
        records = self._records()
        first = next(records, None)
        schema_type = ContactSchema if self.kind == "contacts" else EventSchema
        if first is None:
            if self.path.stat().st_size == 0:
                raise self._fail("the file is empty (0 bytes); expected a header line with at least: "
                                 + ", ".join(schema_type.required))
            raise self._fail("the file has no header line")
        schema = schema_type(self.workspace, first[1], now=self.now)
        if schema.header_problems:
            problems = schema.header_problems
            raise self._fail("bad header: " + "; ".join(p.message for p in problems),
                             problems=[p.to_dict() for p in problems], line=1)

        def batches() -> Iterator[list[tuple[int, list[str]]]]:
            # A batch ends at CHUNK rows or CHUNK_CHARS characters, whichever comes first,
            # so wide rows cannot make one batch big.
            batch: list[tuple[int, list[str]]] = []
            chars = 0
            for record in records:
                batch.append(record)
                chars += sum(map(len, record[1]))
                if len(batch) == CHUNK or chars >= CHUNK_CHARS:
                    yield batch
                    batch, chars = [], 0
            if batch:
                yield batch

        return schema, batches()

    def _flag(self, problem: RowProblem) -> None:
        self.result.skipped_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    # -- the import ------------------------------------------------------------------------

    def run(self) -> ImportResult:
        started = time.perf_counter()
        schema, batches = self._batches()
        checker = BatchChecker(schema, self.dialect)
        # A batch is some hundred thousand short-lived strings and lists, none in a cycle: the
        # cyclic collector would only rescan them again and again (a third of the checking time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._run(checker, batches)
        finally:
            if collecting:
                gc.enable()
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _run(self, checker: BatchChecker, batches: Iterator[list[tuple[int, list[str]]]]) -> None:
        # Reads of stored contacts during the pass go through their own connection: on SQLite a
        # transaction that read the main database early could not write to it after a concurrent
        # change, and the staging writes touch only the temporary database.
        with self.engine.connect() as conn, self.engine.connect() as reader:
            self._create_stage(conn)
            try:
                for batch in batches:
                    self.result.rows += len(batch)
                    good, problems = checker.check(batch)
                    for problem in problems:
                        self._flag(problem)
                    if self.kind == "events" and good:
                        good = self._known_contacts(reader, good)
                    insert_rows(conn, _STAGE, self.stage_columns, good)
                self._duplicates(conn)
                self.problems.sort(key=lambda p: p.line)
                if self.result.skipped_count and not self.skip_invalid:
                    count = self.result.skipped_count
                    more = f" (and {count - 1:,} more)" if count > 1 else ""
                    raise self._fail(f"{count:,} bad row{'s' if count != 1 else ''}, nothing imported "
                                     f"(--skip-invalid imports the rest); {self.problems[0]}{more}",
                                     problems=[p.to_dict() for p in self.problems], bad_rows=count)
                self.result.skipped = self.problems
                if self.kind == "contacts":
                    self._write_contacts(conn)
                else:
                    self._write_events(conn)
                self._drop_stage(conn)
                conn.commit()
            except BaseException:
                conn.rollback()
                try:  # on SQLite the staging table outlives a rollback; never mask the first error
                    self._drop_stage(conn)
                    conn.commit()
                except sa.exc.DBAPIError:
                    pass
                raise

    def _create_stage(self, conn: sa.Connection) -> None:
        self._drop_stage(conn)
        conn.commit()
        if self.dialect == "postgresql":
            columns = ", ".join(f"{name} {_PG_TYPES.get(name, 'text')}" for name in self.stage_columns)
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_STAGE} ({columns})")
        else:
            # line is the rowid: batches arrive in line order, so appending stays cheap.
            columns = ", ".join(("line INTEGER PRIMARY KEY", *self.stage_columns[1:]))
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_STAGE} ({columns})")

    @staticmethod
    def _drop_stage(conn: sa.Connection) -> None:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")

    def _known_contacts(self, reader: sa.Connection, rows: list[tuple]) -> list[tuple]:  # type: ignore[type-arg]
        """The batch's rows whose contact exists; the others are flagged. Only emails travel."""
        emails = sorted({row[1] for row in rows})
        if self.dialect == "postgresql":
            query = sa.text("SELECT e FROM unnest(CAST(:emails AS text[])) AS e WHERE NOT EXISTS "
                            "(SELECT 1 FROM contacts c WHERE c.workspace_id = :w AND c.email = e)")
            unknown = {e for (e,) in reader.execute(query, {"emails": emails, "w": self.workspace_id})}
        else:
            query = sa.text("SELECT value FROM json_each(:emails) WHERE NOT EXISTS "
                            "(SELECT 1 FROM contacts c WHERE c.workspace_id = :w AND c.email = value)")
            unknown = {e for (e,) in reader.execute(query, {"emails": json.dumps(emails), "w": self.workspace_id})}
        reader.rollback()  # end the read: the next batch sees contacts as they are then
        if not unknown:
            return rows
        for row in rows:
            if row[1] in unknown:
                self._flag(RowProblem(row[0], f"no contact with email {row[1]!r} in workspace "
                                              f"{self.workspace.slug!r} (import contacts first)", "email"))
        return [row for row in rows if row[1] not in unknown]

    def _duplicates(self, conn: sa.Connection) -> None:
        """Flag (and unstage) every repeat of an earlier row: same email, or for events same everything."""
        key = "email" if self.kind == "contacts" else ", ".join(EVENT_STAGE)
        what = "same email" if self.kind == "contacts" else "same contact, event, time and properties"
        repeats = (f"SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY {key}) AS first "
                   f"FROM {_STAGE}) AS d WHERE line <> first")
        count = int(conn.exec_driver_sql(f"SELECT count(*) FROM ({repeats}) AS r").scalar_one())
        if not count:
            return
        listed = conn.exec_driver_sql(f"{repeats} ORDER BY line LIMIT {MAX_LISTED}").all()
        for line, first in listed:
            self._flag(RowProblem(line, f"duplicate of line {first} ({what})"))
        self.result.skipped_count += count - len(listed)
        conn.exec_driver_sql(f"DELETE FROM {_STAGE} WHERE line IN (SELECT line FROM ({repeats}) AS r)")

    # -- writing: set-based statements from the staging table ---------------------------------

    def _stamp(self) -> Any:
        return sql_timestamp(self.now, "sqlite") if self.dialect == "sqlite" else self.now

    def _write_contacts(self, conn: sa.Connection) -> None:
        params = {"w": self.workspace_id, "now": self._stamp(), "locale": self.workspace.brand.default_locale}
        known = f"FROM {_STAGE} AS s JOIN contacts AS c ON c.workspace_id = :w AND c.email = s.email"
        self.result.kept_opted_out = int(conn.execute(sa.text(
            f"SELECT count(*) {known} WHERE c.consent <> 'subscribed' AND s.consent = 'subscribed'"),
            params).scalar_one())
        # An import never re-subscribes someone who unsubscribed or bounced (the check constraint
        # allows three states, so "not subscribed" is exactly those two); blank cells keep what is stored.
        consent = "CASE WHEN contacts.consent <> 'subscribed' AND s.consent = 'subscribed' " \
                  "THEN contacts.consent ELSE s.consent END"
        merged = "contacts.attributes || s.attributes" if self.dialect == "postgresql" \
            else "json_patch(contacts.attributes, s.attributes)"
        sets = [f"{name} = coalesce(s.{name}, contacts.{name})" for name in _UPDATABLE]
        sets += [f"consent_updated_at = CASE WHEN ({consent}) <> contacts.consent THEN :now "
                 "ELSE contacts.consent_updated_at END",
                 f"consent = {consent}", f"attributes = {merged}", "updated_at = :now"]
        updated = conn.execute(sa.text(
            f"UPDATE contacts SET {', '.join(sets)} FROM {_STAGE} AS s "
            "WHERE contacts.workspace_id = :w AND contacts.email = s.email"), params)
        self.result.updated = updated.rowcount
        created = conn.execute(sa.text(
            "INSERT INTO contacts (workspace_id, email, first_name, last_name, city, country, locale, timezone, "
            "consent, consent_updated_at, signed_up_at, created_at, updated_at, attributes) "
            "SELECT :w, s.email, s.first_name, s.last_name, s.city, s.country, coalesce(s.locale, :locale), "
            "coalesce(s.timezone, 'UTC'), s.consent, :now, s.signed_up_at, :now, :now, s.attributes "
            f"FROM {_STAGE} AS s WHERE NOT EXISTS "
            "(SELECT 1 FROM contacts AS c WHERE c.workspace_id = :w AND c.email = s.email) ORDER BY s.line"), params)
        self.result.created = created.rowcount
        self.result.imported = self.result.created + self.result.updated

    def _write_events(self, conn: sa.Connection) -> None:
        staged = int(conn.exec_driver_sql(f"SELECT count(*) FROM {_STAGE}").scalar_one())
        params = {"w": self.workspace_id}
        if self.dialect == "postgresql":  # a monthly partition for every month the file reaches (migration 0014)
            ensure_event_partitions(conn, [month for (month,) in conn.exec_driver_sql(
                f"SELECT DISTINCT CAST(date_trunc('month', occurred_at AT TIME ZONE 'UTC') AS date) FROM {_STAGE}")])
        insert = ("INSERT INTO events (workspace_id, contact_id, name, occurred_at, category, product, value, "
                  "properties) SELECT :w, c.id, s.name, s.occurred_at, s.category, s.product, s.value, s.properties "
                  f"FROM {_STAGE} AS s JOIN contacts AS c ON c.workspace_id = :w AND c.email = s.email")
        with deferred_indexes(conn, Event.__table__, rows_coming=staged), \
                deferred_indexes(conn, ContactAggregate.__table__, rows_coming=staged):
            if self.dialect == "postgresql":
                # One statement: the inserted events feed the per-contact aggregates as they come back.
                inserted = int(conn.execute(sa.text(
                    f"WITH ins AS ({insert} RETURNING workspace_id, contact_id, name, category, occurred_at, value), "
                    f"agg AS ({aggregate_insert('ins AS src', self.dialect)}) SELECT count(*) FROM ins"),
                    params).scalar_one())
            else:
                inserted = conn.execute(sa.text(insert), params).rowcount
            if inserted != staged:
                [gone] = conn.execute(sa.text(
                    f"SELECT s.email FROM {_STAGE} AS s WHERE NOT EXISTS (SELECT 1 FROM contacts AS c "
                    "WHERE c.workspace_id = :w AND c.email = s.email) ORDER BY s.line LIMIT 1"), params).one()
                raise self._fail(f"contact {gone!r} disappeared during the import; nothing imported")
            if self.dialect != "postgresql":
                # The per-contact aggregates segment rules read, from the same staged rows. CROSS JOIN:
                # SQLite keeps the staged rows outside and looks each contact up by its unique
                # (workspace_id, email) index (left to itself it scanned the stage once per contact).
                add_events_from(conn, "(SELECT c.workspace_id, c.id AS contact_id, s.name, s.category, "
                                      f"s.occurred_at, s.value FROM {_STAGE} AS s CROSS JOIN contacts AS c "
                                      "WHERE c.workspace_id = :w AND c.email = s.email) AS src", params)
        self.result.imported = staged
