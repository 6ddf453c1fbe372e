"""Benchmark `copilot workspace draft` on the demo audience's export: rows per second and peak memory.

    nice -n 10 .venv/bin/python benchmarks/workspace_draft.py [--contacts 50000] [--json]

Writes the synthetic demo audience as import files (contacts.csv and events.csv) into a temporary
folder, drafts a workspace from them in a fresh interpreter (so its peak resident memory is its own),
and prints seconds, rows per second over both files, CPU time (the machine may be shared), peak RSS,
and how many of the demo catalog's roles the draft proposed for the same fields and events (the demo
names its fields as its roles in places, so this is an upper bound of what name guessing finds);
the last line is JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.audience import write_audience_csv  # noqa: E402
from copilot.workspace import load_workspace  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
_CHILD = """
import resource, sys, time
from copilot.workspace.draft import draft_workspace
started = time.perf_counter()
draft = draft_workspace(sys.argv[1], sys.argv[3], events=sys.argv[2], name="Benchmark")
usage = resource.getrusage(resource.RUSAGE_SELF)
print("FIGURES", time.perf_counter() - started, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    demo = load_workspace()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        contacts_csv, events_csv = folder / "contacts.csv", folder / "events.csv"
        contacts, events = write_audience_csv(demo, contacts_csv, events_csv, contacts=args.contacts, now=NOW)
        size_mb = (contacts_csv.stat().st_size + events_csv.stat().st_size) / 1e6
        out = subprocess.run([sys.executable, "-c", _CHILD, str(contacts_csv), str(events_csv), str(folder / "ws")],
                             capture_output=True, text=True, env={**os.environ}, check=False)
        if out.returncode != 0:
            sys.exit(f"draft failed:\n{out.stderr}")
        line = next(x for x in out.stderr.splitlines() if x.startswith("FIGURES"))
        seconds, rss_kb, cpu = (float(x) for x in line.split()[1:])
        drafted = load_workspace(folder / "ws")
        same = sum(1 for role, name in demo.roles.items() if drafted.roles.get(role) == name)
    figures = {"contacts": contacts, "events": events, "megabytes": round(size_mb, 1), "seconds": round(seconds, 2),
               "rows_per_second": round((contacts + events) / seconds), "cpu_seconds": round(cpu, 2),
               "peak_rss_mb": round(rss_kb / 1024, 1), "demo_roles": len(demo.roles), "roles_found": same}
    print(f"drafted from {contacts:,} contacts and {events:,} events ({size_mb:.1f} MB) in {seconds:.2f} s "
          f"({figures['rows_per_second']:,} rows/s, CPU {cpu:.2f} s), peak RSS {figures['peak_rss_mb']} MB; "
          f"{same} of the demo catalog's {len(demo.roles)} roles proposed on the same field or event")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
