"""Benchmark the CSV importer against the database's raw bulk-insert floor: rows/s side by side.

    nice -n 10 .venv/bin/python benchmarks/import_csv.py --contacts 100000 --db sqlite
    nice -n 10 .venv/bin/python benchmarks/import_csv.py --contacts 1000000 --db postgres [--json]

Writes the synthetic demo audience as import files (contacts.csv, events.csv with about
10.7 events per contact) into a temporary folder, then:

- the project: ``copilot import contacts`` and ``copilot import events`` on them, each in a
  fresh interpreter so its peak resident memory is its own; the rate is rows over the
  import's own seconds (what its summary line prints: checks, staging, writing, commit);
- the floor: the same rows, already in storage form in memory (built from the generator
  that wrote the files, untimed), appended to the same empty tables with their indexes
  by the plainest bulk path, plain executemany on SQLite, plain COPY on PostgreSQL, in one
  transaction; only the insert calls and the commit are timed. The events table keeps its
  indexes live during that load; a second, tuned floor for events drops them first and
  builds them again after (timed), as the importer itself does for a big load
  (``audience.bulk.deferred_indexes``), and ``events_rate_vs_tuned_floor`` compares to it.

``rate_vs_floor`` is the project's rows/s divided by the floor's, for contacts and events.
The databases are fresh and dropped after: a SQLite file each, or two PostgreSQL databases
created through --database-url (an account that may CREATE DATABASE; default the local
server). Prints CPU time too (the machine may be shared); the last line is JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot import db  # noqa: E402
from copilot.audience import write_audience_csv  # noqa: E402
from copilot.audience.build import _contact_rows, _event_rows  # noqa: E402
from copilot.audience.bulk import CONTACT_COLUMNS, EVENT_COLUMNS, insert_rows  # noqa: E402
from copilot.audience.generator import generate_audience  # noqa: E402
from copilot.models import Event  # noqa: E402
from copilot.services.workspaces import register_workspace  # noqa: E402
from copilot.workspace import load_workspace  # noqa: E402

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

_CHILD = """
import resource, sys, time
from copilot.cli import cli
started = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="copilot")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
usage = resource.getrusage(resource.RUSAGE_SELF)
print("FIGURES", time.perf_counter() - started, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
sys.exit(code)
"""


@contextmanager
def _database(kind: str, admin_url: str | None, folder: Path, name: str) -> Iterator[str]:
    """A fresh, migrated database URL, dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / (name + '.db')}"
        _migrate(url)
        yield url
        return
    admin = sa.create_engine(admin_url or PG_DEFAULT, isolation_level="AUTOCOMMIT")
    dbname = f"bench_import_{name}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
    url = sa.engine.make_url(admin_url or PG_DEFAULT).set(database=dbname).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.dispose()


def _migrate(url: str) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()


def _run_import(kind: str, path: Path, env: dict[str, str]) -> dict[str, float | str]:
    done = subprocess.run([sys.executable, "-c", _CHILD, "import", kind, str(path)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"import {kind} failed:\n{done.stderr}")
    wall, rss_kib, cpu = done.stderr.rsplit("FIGURES", 1)[1].split()[:3]
    summary = done.stdout.strip().splitlines()[0]
    seconds = float(re.search(r" in ([0-9.]+) s", summary).group(1))  # type: ignore[union-attr]
    return {"seconds": seconds, "wall": float(wall), "rss_mib": int(rss_kib) / 1024, "cpu": float(cpu),
            "summary": summary}


def _floor(url: str, contacts: int) -> tuple[float, float, float]:
    """Seconds to append the same contacts, then the same events, by the plain bulk path; then
    the events again into an emptied table with its indexes dropped first and rebuilt after."""
    workspace = load_workspace()
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            from sqlmodel import Session

            with Session(bind=conn) as session:
                workspace_id = register_workspace(session, workspace).id
                session.flush()
        dialect = engine.dialect.name
        stamp = "2026-11-20 09:00:00.000000" if dialect == "sqlite" else "2026-11-20T09:00:00+00"
        timed = []
        for table, deferred in (("contacts", False), ("events", False), ("events", True)):
            seconds = 0.0
            with engine.connect() as conn:
                conn.begin()  # COPY goes round SQLAlchemy: begin explicitly so commit() commits
                if deferred:
                    conn.exec_driver_sql("DELETE FROM events")
                    conn.commit()
                    conn.begin()
                    started = time.perf_counter()
                    for index in Event.__table__.indexes:  # type: ignore[attr-defined]
                        index.drop(conn)
                    seconds += time.perf_counter() - started
                for chunk in generate_audience(workspace, contacts=contacts, seed=7, now=NOW):
                    if table == "contacts":
                        rows = _contact_rows(chunk, 1, workspace_id, stamp, dialect)
                    else:
                        rows = _event_rows(chunk, 1, workspace_id, dialect)
                    started = time.perf_counter()
                    insert_rows(conn, table, CONTACT_COLUMNS if table == "contacts" else EVENT_COLUMNS, rows)
                    seconds += time.perf_counter() - started
                started = time.perf_counter()
                if deferred:
                    for index in Event.__table__.indexes:  # type: ignore[attr-defined]
                        index.create(conn)
                conn.commit()
                seconds += time.perf_counter() - started
            timed.append(seconds)
        return timed[0], timed[1], timed[2]
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts to import (events: about 10.7 each)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL for --db postgres (default: the local server)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="copilot-import-bench-") as tmp:
        folder = Path(tmp)
        contacts_csv, events_csv = folder / "contacts.csv", folder / "events.csv"
        started = time.perf_counter()
        contacts, events = write_audience_csv(load_workspace(), contacts_csv, events_csv, contacts=args.contacts,
                                              now=NOW)
        written = time.perf_counter() - started
        with _database(args.db, args.database_url, folder, "project") as url:
            env = {**os.environ, "COPILOT_DATA_DIR": str(folder / "data"), "DATABASE_URL": url}
            env.pop("COPILOT_WORKSPACE_DIR", None)
            c = _run_import("contacts", contacts_csv, env)
            e = _run_import("events", events_csv, env)
        with _database(args.db, args.database_url, folder, "floor") as url:
            floor_c, floor_e, tuned_e = _floor(url, contacts)
        contacts_rate, events_rate = contacts / float(c["seconds"]), events / float(e["seconds"])
        floor_c_rate, floor_e_rate = contacts / floor_c, events / floor_e
        figures = {
            "benchmark": "import_csv",
            "database": "postgresql" if args.db == "postgres" else "sqlite",
            "contacts": contacts,
            "events": events,
            "contacts_file_mb": round(contacts_csv.stat().st_size / 1e6, 1),
            "events_file_mb": round(events_csv.stat().st_size / 1e6, 1),
            "contacts_seconds": round(float(c["seconds"]), 2),
            "contacts_per_second": round(contacts_rate),
            "contacts_floor_per_second": round(floor_c_rate),
            "contacts_rate_vs_floor": round(contacts_rate / floor_c_rate, 3),
            "contacts_peak_rss_mib": round(float(c["rss_mib"]), 1),
            "contacts_cpu_seconds": round(float(c["cpu"]), 2),
            "events_seconds": round(float(e["seconds"]), 2),
            "events_per_second": round(events_rate),
            "events_floor_per_second": round(floor_e_rate),
            "events_rate_vs_floor": round(events_rate / floor_e_rate, 3),
            "events_tuned_floor_per_second": round(events / tuned_e),
            "events_rate_vs_tuned_floor": round(events_rate / (events / tuned_e), 3),
            "events_peak_rss_mib": round(float(e["rss_mib"]), 1),
            "events_cpu_seconds": round(float(e["cpu"]), 2),
            "rate_vs_floor": round((contacts + events) / (float(c["seconds"]) + float(e["seconds"]))
                                   / ((contacts + events) / (floor_c + floor_e)), 3),
            "files_written_seconds": round(written, 2),
        }
    print(c["summary"])
    print(e["summary"])
    print(f"{'':10} {'project rows/s':>15} {'floor rows/s':>13} {'rate_vs_floor':>14} {'peak RSS':>9}")
    for kind in ("contacts", "events"):
        print(f"{kind:10} {figures[f'{kind}_per_second']:>15,} {figures[f'{kind}_floor_per_second']:>13,} "
              f"{figures[f'{kind}_rate_vs_floor']:>14.3f} {figures[f'{kind}_peak_rss_mib']:>6.0f} MiB")
    print(f"{'events':10} {'':>15} {figures['events_tuned_floor_per_second']:>13,} "
          f"{figures['events_rate_vs_tuned_floor']:>14.3f}  (tuned floor: indexes dropped, rebuilt after)")
    print(f"rate_vs_floor (all rows) {figures['rate_vs_floor']:.3f} on {figures['database']}; "
          f"CPU seconds of the imports {c['cpu']:.1f} + {e['cpu']:.1f} (the machine may be shared: "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
