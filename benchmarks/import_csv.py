"""Benchmark the CSV importer on a realistic file: rows per second and peak memory.

    .venv/bin/python benchmarks/import_csv.py [--mb 200] [--json] [--database-url URL]

Writes the synthetic demo audience as import files (contacts.csv and an events.csv
of about --mb megabytes of narrow, realistic rows) into a temporary folder, then
runs `copilot import contacts` and `copilot import events` on them, each in a
fresh interpreter so its peak resident memory is its own. The database is a
temporary SQLite file unless --database-url is given (it must hold no contacts of
the demo workspace yet). Prints seconds, rows per second, CPU time (the machine may
be shared) and peak RSS per import;
the last line is JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.audience import write_audience_csv  # noqa: E402
from copilot.workspace import load_workspace  # noqa: E402

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Bytes of events CSV per contact (about 10.7 events of about 92 bytes), measured on the demo brand.
_EVENT_BYTES_PER_CONTACT = 990

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


def _run_import(kind: str, path: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    done = subprocess.run([sys.executable, "-c", _CHILD, "import", kind, str(path)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"import {kind} failed:\n{done.stderr}")
    seconds, rss_kib, cpu = done.stderr.rsplit("FIGURES", 1)[1].split()[:3]
    return float(seconds), int(rss_kib) / 1024, float(cpu), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="target size of events.csv in megabytes")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="copilot-import-bench-") as tmp:
        folder = Path(tmp)
        contacts_csv, events_csv = folder / "contacts.csv", folder / "events.csv"
        contacts = max(100, int(args.mb * 1e6 / _EVENT_BYTES_PER_CONTACT))
        started = time.perf_counter()
        _, events = write_audience_csv(load_workspace(), contacts_csv, events_csv, contacts=contacts, now=NOW)
        written = time.perf_counter() - started
        env = {**os.environ, "COPILOT_DATA_DIR": str(folder / "data"),
               "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'data' / 'bench.db'}"}
        env.pop("COPILOT_WORKSPACE_DIR", None)
        c_seconds, c_rss, c_cpu, c_out = _run_import("contacts", contacts_csv, env)
        e_seconds, e_rss, e_cpu, e_out = _run_import("events", events_csv, env)
        figures = {
            "benchmark": "import_csv",
            "database": "postgresql" if args.database_url and "postgresql" in args.database_url else "sqlite",
            "contacts_file_mb": round(contacts_csv.stat().st_size / 1e6, 1),
            "events_file_mb": round(events_csv.stat().st_size / 1e6, 1),
            "contacts": contacts,
            "events": events,
            "contacts_seconds": round(c_seconds, 2),
            "contacts_per_second": round(contacts / c_seconds),
            "contacts_peak_rss_mib": round(c_rss, 1),
            "contacts_cpu_seconds": round(c_cpu, 2),
            "events_seconds": round(e_seconds, 2),
            "events_per_second": round(events / e_seconds),
            "events_peak_rss_mib": round(e_rss, 1),
            "events_cpu_seconds": round(e_cpu, 2),
            "files_written_seconds": round(written, 2),
        }
    print(c_out)
    print(e_out)
    print(f"contacts.csv {figures['contacts_file_mb']} MB: {figures['contacts_per_second']:,} rows/s, "
          f"CPU {c_cpu:.0f} s, peak RSS {c_rss:.0f} MiB")
    print(f"events.csv {figures['events_file_mb']} MB: {figures['events_per_second']:,} rows/s, "
          f"CPU {e_cpu:.0f} s, peak RSS {e_rss:.0f} MiB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
