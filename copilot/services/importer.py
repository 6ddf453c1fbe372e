"""CSV import of contacts and events against a workspace's catalog.

Two passes: the first streams the file, checks every row (and finds duplicates
and, for events, unknown contacts) and spools the parsed rows to a temporary
file; the second writes them in chunks inside one transaction. A file with bad
rows imports nothing unless ``skip_invalid``, so nothing is ever half-written.
Memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

from copilot.audience.bulk import deferred_indexes, insert_rows
from copilot.audience.values import sql_timestamp
from copilot.errors import ImportDataError
from copilot.models import Contact, Event, utcnow
from copilot.services.import_rows import (
    ContactRow,
    ContactSchema,
    EventRow,
    EventSchema,
    RowError,
    RowProblem,
)
from copilot.workspace import Workspace

__all__ = ["ImportResult", "import_contacts", "import_events", "RowProblem", "MAX_LISTED"]

CHUNK = 5_000
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
        self.result = ImportResult(kind=kind, file=path.name)
        self.problems: list[RowProblem] = []
        self.bad = bytearray()  # one flag per record: 1 = do not write

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
                if fields and any(f.strip() for f in fields):
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

    def _chunks(self) -> tuple[Any, Iterator[list[tuple[int, int, list[str]]]]]:
        """The schema built from the header, and chunks of (record index, line, fields)."""
        records = self._records()
        first = next(records, None)
        if first is None:
            if self.path.stat().st_size == 0:
                raise self._fail("the file is empty (0 bytes); expected a header line with at least: "
                                 + ", ".join(self._schema_type().required))
            raise self._fail("the file has no header line")
        schema = self._schema_type()(self.workspace, first[1], now=self.now)
        if schema.header_problems:
            problems = schema.header_problems
            raise self._fail("bad header: " + "; ".join(p.message for p in problems),
                             problems=[p.to_dict() for p in problems], line=1)

        def chunks() -> Iterator[list[tuple[int, int, list[str]]]]:
            # A chunk ends at CHUNK rows or CHUNK_CHARS characters, whichever comes first,
            # so wide rows cannot make one chunk big.
            chunk: list[tuple[int, int, list[str]]] = []
            chars = 0
            for index, (line, fields) in enumerate(records):
                chunk.append((index, line, fields))
                chars += sum(map(len, fields))
                if len(chunk) == CHUNK or chars >= CHUNK_CHARS:
                    yield chunk
                    chunk, chars = [], 0
            if chunk:
                yield chunk

        return schema, chunks()

    def _schema_type(self) -> type[ContactSchema] | type[EventSchema]:
        return ContactSchema if self.kind == "contacts" else EventSchema

    def _flag(self, index: int, problem: RowProblem) -> None:
        if not self.bad[index]:
            self.bad[index] = 1
            self.result.skipped_count += 1
            if len(self.problems) < MAX_LISTED:
                self.problems.append(problem)

    # -- pass 1: check everything --------------------------------------------------------

    def run(self) -> ImportResult:
        started = time.perf_counter()
        with tempfile.TemporaryFile(prefix="copilot-import-") as spool:
            self._check(spool)
            self.problems.sort(key=lambda p: p.line)
            if self.result.skipped_count and not self.skip_invalid:
                count = self.result.skipped_count
                more = f" (and {count - 1:,} more)" if count > 1 else ""
                raise self._fail(f"{count:,} bad row{'s' if count != 1 else ''}, nothing imported "
                                 f"(--skip-invalid imports the rest); {self.problems[0]}{more}",
                                 problems=[p.to_dict() for p in self.problems], bad_rows=count)
            self.result.skipped = self.problems
            spool.seek(0)
            self._write(spool)
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _check(self, spool: BinaryIO) -> None:
        """Pass 1: check every row; spool the parsed good ones so pass 2 need not parse again."""
        digests: list[np.ndarray] = []
        schema, chunks = self._chunks()
        with self.engine.connect() as conn:
            for chunk in chunks:
                self.bad.extend(bytes(len(chunk)))
                good: list[tuple[int, int, Any]] = []
                for index, line, fields in chunk:
                    try:
                        good.append((index, line, schema.row(fields)))
                    except RowError as exc:
                        self._flag(index, RowProblem(line, exc.message, exc.column))
                if self.kind == "events":
                    known = self._contact_ids(conn, {row.email for _, _, row in good})
                    for index, line, row in good:
                        if row.email not in known:
                            self._flag(index, RowProblem(line, f"no contact with email {row.email!r} in workspace "
                                                               f"{self.workspace.slug!r} (import contacts first)",
                                                         "email"))
                kept = [(index, line, row) for index, line, row in good if not self.bad[index]]
                # An 8-byte digest of each row's identity, in the spool's order: duplicates are
                # found after the pass with 8 bytes per row in memory instead of the rows.
                blob = b"".join(hashlib.blake2b(row.key, digest_size=8).digest() for _, _, row in kept)
                digests.append(np.frombuffer(blob, dtype=np.uint64))
                pickle.dump(kept, spool, protocol=pickle.HIGHEST_PROTOCOL)
        self.result.rows = len(self.bad)
        all_digests = np.concatenate(digests) if digests else np.zeros(0, np.uint64)
        digests.clear()
        self._duplicates(all_digests, spool)

    def _duplicates(self, digests: np.ndarray, spool: BinaryIO) -> None:
        """Flag every repeat of an earlier row (same email for contacts, same everything for events).

        Equal digests only make rows candidates; their real keys, read back from the
        spool, decide, so a digest collision can never reject a good row.
        """
        order = np.argsort(digests, kind="stable")
        ordered = digests[order]
        at = np.flatnonzero(ordered[1:] == ordered[:-1])
        if not len(at):
            return
        candidates = set(order[at].tolist()) | set(order[at + 1].tolist())
        del order, ordered
        first_line: dict[bytes, int] = {}
        what = "same email" if self.kind == "contacts" else "same contact, event, time and properties"
        spool.seek(0)
        for ordinal, (index, line, row) in enumerate(_spooled(spool)):
            if ordinal in candidates:
                seen = first_line.setdefault(row.key, line)
                if seen != line:
                    self._flag(index, RowProblem(line, f"duplicate of line {seen} ({what})"))

    # -- pass 2: write everything in one transaction --------------------------------------

    def _write(self, spool: BinaryIO) -> None:
        """Pass 2: every good row, chunk by chunk, in one transaction (all or nothing)."""
        size = self.path.stat().st_size
        coming = self.result.rows - self.result.skipped_count if self.kind == "events" else 0
        with self.engine.begin() as conn, deferred_indexes(conn, Event.__table__, rows_coming=coming):
            for chunk in _spooled_chunks(spool):
                rows = [row for index, _, row in chunk if not self.bad[index]]
                if self.kind == "contacts":
                    self._upsert_contacts(conn, rows)
                else:
                    self._insert_events(conn, rows)
                self.result.imported += len(rows)
                if self.progress is not None and self.result.rows:
                    self.progress(round(size * len(chunk) / self.result.rows))

    def _contact_ids(self, conn: sa.Connection, emails: set[str]) -> dict[str, int]:
        if not emails:
            return {}
        c = Contact.__table__.c  # type: ignore[attr-defined]
        found = conn.execute(sa.select(c.email, c.id).where(c.workspace_id == self.workspace_id,
                                                            c.email.in_(sorted(emails))))
        return {email: cid for email, cid in found}

    def _insert_events(self, conn: sa.Connection, rows: list[EventRow]) -> None:
        ids = self._contact_ids(conn, {row.email for row in rows})
        missing = sorted({row.email for row in rows} - ids.keys())
        if missing:
            raise self._fail(f"contact {missing[0]!r} disappeared during the import; nothing imported")
        dialect = conn.dialect.name
        insert_rows(conn, "events", ("workspace_id", "contact_id", "name", "occurred_at", "category", "product",
                                     "value", "properties"), [
            (self.workspace_id, ids[r.email], r.name, sql_timestamp(r.occurred_at, dialect), r.category, r.product,
             r.value, json.dumps(r.properties)) for r in rows
        ])

    def _upsert_contacts(self, conn: sa.Connection, rows: list[ContactRow]) -> None:
        if not rows:
            return
        table = Contact.__table__  # type: ignore[attr-defined]
        c = table.c
        existing = dict(conn.execute(sa.select(c.email, c.consent).where(
            c.workspace_id == self.workspace_id, c.email.in_([r.email for r in rows]))).all())
        dialect = conn.dialect.name
        stamp = sql_timestamp(self.now, dialect)
        new = [r for r in rows if r.email not in existing]
        insert_rows(conn, "contacts", (
            "workspace_id", "email", "first_name", "last_name", "city", "country", "locale", "timezone", "consent",
            "consent_updated_at", "signed_up_at", "created_at", "updated_at", "attributes",
        ), [
            (self.workspace_id, r.email, r.columns.get("first_name"), r.columns.get("last_name"),
             r.columns.get("city"), r.columns.get("country"),
             r.columns.get("locale", self.workspace.brand.default_locale), r.columns.get("timezone", "UTC"),
             r.consent, stamp,
             sql_timestamp(r.columns["signed_up_at"], dialect) if "signed_up_at" in r.columns else None,
             stamp, stamp, json.dumps(r.attributes)) for r in new
        ])
        self.result.created += len(new)
        known = [r for r in rows if r.email in existing]
        if not known:
            return
        self.result.updated += len(known)
        self.result.kept_opted_out += sum(existing[r.email] in _OPTED_OUT and r.consent == "subscribed"
                                          for r in known)
        conn.execute(self._update_statement(table, dialect), [
            {"b_email": r.email, "b_consent": r.consent, "b_attrs": json.dumps(r.attributes), "b_now": self.now,
             **{f"b_{name}": r.columns.get(name) for name in _UPDATABLE}} for r in known
        ])

    def _update_statement(self, table: sa.Table, dialect: str) -> sa.Update:
        c = table.c
        consent = sa.case(
            # An import never re-subscribes someone who unsubscribed or bounced (the check
            # constraint allows only three states, so "not subscribed" is exactly those two).
            (sa.and_(c.consent != "subscribed", sa.bindparam("b_consent") == "subscribed"), c.consent),
            else_=sa.bindparam("b_consent"),
        )
        if dialect == "postgresql":
            attrs = c.attributes.op("||")(sa.cast(sa.bindparam("b_attrs", type_=sa.Text), JSONB))
        else:
            attrs = sa.func.json_patch(c.attributes, sa.bindparam("b_attrs", type_=sa.Text))
        now = sa.bindparam("b_now", type_=c.updated_at.type)
        values: dict[str, Any] = {
            # Blank cells arrive as NULL and keep what is stored.
            name: sa.func.coalesce(sa.bindparam(f"b_{name}", type_=c[name].type), c[name]) for name in _UPDATABLE
        }
        values.update(
            consent=consent,
            consent_updated_at=sa.case((consent != c.consent, now), else_=c.consent_updated_at),
            attributes=attrs,
            updated_at=now,
        )
        return (sa.update(table)
                .where(c.workspace_id == self.workspace_id, c.email == sa.bindparam("b_email"))
                .values(values))


def _spooled_chunks(spool: BinaryIO) -> Iterator[list[tuple[int, int, Any]]]:
    """The chunks pass 1 pickled: lists of (record index, line, parsed row)."""
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def _spooled(spool: BinaryIO) -> Iterator[tuple[int, int, Any]]:
    for chunk in _spooled_chunks(spool):
        yield from chunk


_UPDATABLE = ("first_name", "last_name", "city", "country", "locale", "timezone", "signed_up_at")
