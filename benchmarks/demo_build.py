"""Benchmark the demo audience build: time, rows per second and peak memory.

    .venv/bin/python benchmarks/demo_build.py --contacts 1000000 [--json] [--database-url URL] [--seed N]

Builds N synthetic contacts with their events (about 10 each) into a fresh SQLite
file in a temporary folder (deleted afterwards), or into --database-url (any
workspace audience already there is replaced). Prints wall time and this process's
CPU time (the machine may be shared; CPU time shows the work itself), contacts,
events and all rows per second, and the peak resident memory of the process
(resource.getrusage), next to the resident memory before the build started. The
last line is JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot import db  # noqa: E402
from copilot.audience import build_demo_audience  # noqa: E402
from copilot.services.workspaces import register_workspace  # noqa: E402
from copilot.workspace import load_workspace  # noqa: E402

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        workspace = load_workspace()
        with db.session_scope(engine) as session:
            workspace_id = register_workspace(session, workspace).id
        assert workspace_id is not None
        rss_before = _rss_mib()
        cpu = time.process_time()
        stats = build_demo_audience(engine, workspace, workspace_id, contacts=args.contacts, seed=args.seed,
                                    now=NOW, replace=True)
        cpu = time.process_time() - cpu
        peak = _rss_mib()
        size_mib = None
        if url.startswith("sqlite"):
            path = Path(engine.url.database or "")
            size_mib = round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
        engine.dispose()

    figures = {
        "benchmark": "demo_build",
        "database": stats.database,
        "contacts": stats.contacts,
        "events": stats.events,
        "events_per_contact": round(stats.events / max(stats.contacts, 1), 2),
        "seconds": round(stats.seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "contacts_per_second": round(stats.contacts_per_second),
        "events_per_second": round(stats.events_per_second),
        "rows_per_second": round(stats.rows_per_second),
        "peak_rss_mib": round(peak, 1),
        "rss_before_build_mib": round(rss_before, 1),
        "database_mib": size_mib,
    }
    print(f"built {stats.summary()} on {stats.database}")
    print(f"  {figures['rows_per_second']:,} rows/s; CPU time {cpu:.1f} s (wall {stats.seconds:.1f} s)")
    print(f"  peak RSS {peak:.0f} MiB (before the build: {rss_before:.0f} MiB)"
          + (f"; database files {size_mib} MiB" if size_mib is not None else ""))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
