"""Benchmark the offline planner: median time per plan over the planner_briefs suite, planning alone
and planning plus sizing every segment on the demo audience (50,000 contacts by default).

    .venv/bin/python benchmarks/planner.py [--json] [--contacts N] [--db URL] [--rounds N]

The audience is built once into --db (default: a SQLite file under ./data/bench/) with a fixed
"now" and seed, and reused while it has the asked-for number of contacts. Plans use the same
fixed "now", so the figures measure the same plans every run. The last line is JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.audience import audience_size, build_demo_audience  # noqa: E402
from copilot.planner.base import PlanRequest  # noqa: E402
from copilot.planner.offline import OfflinePlanner  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from copilot.segments import size_plan  # noqa: E402
from copilot.services.workspaces import get_workspace_record  # noqa: E402
from copilot.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _briefs() -> list[str]:
    suite = yaml.safe_load((ROOT / "evals" / "suites" / "planner_briefs.yaml").read_text(encoding="utf-8"))
    return [t["brief"] for t in suite["tests"] if "brief" in t]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite under ./data/bench/)")
    parser.add_argument("--rounds", type=int, default=1, help="times each brief is planned and sized")
    args = parser.parse_args()

    data_dir = ROOT / "data" / "bench"
    url = args.db or f"sqlite:///{data_dir / f'planner-{args.contacts}.db'}"
    runtime = Runtime.start(Settings(data_dir=data_dir, database_url=url, workspace_dir=None))
    ws = runtime.default_workspace
    with runtime.session() as session:
        ws_id = get_workspace_record(session, ws.slug).id
    with runtime.engine.connect() as conn:
        have = audience_size(conn, ws_id)
    build_s = 0.0
    if have != args.contacts:
        print(f"building the demo audience: {args.contacts:,} contacts (once; reused afterwards) ...", flush=True)
        started = time.perf_counter()
        build_demo_audience(runtime.engine, ws, ws_id, contacts=args.contacts, now=NOW, replace=have > 0)
        build_s = time.perf_counter() - started
        print(f"  built in {build_s:.1f} s")

    planner = OfflinePlanner()
    plan_ms: list[float] = []
    total_ms: list[float] = []
    sizing_ms: list[float] = []
    plans = questions = 0
    for _ in range(args.rounds):
        for brief in _briefs():
            started = time.perf_counter()
            result = planner.plan_now(PlanRequest(brief=brief, workspace=ws, now=NOW))
            planned = time.perf_counter()
            plan_ms.append((planned - started) * 1000)
            if result.plan is None:
                questions += 1
                total_ms.append(plan_ms[-1])
                continue
            plans += 1
            with runtime.session() as session:
                size_plan(session, ws, ws_id, result.plan, now=NOW)
            done = time.perf_counter()
            sizing_ms.append((done - planned) * 1000)
            total_ms.append((done - started) * 1000)
    runtime.close()

    figures: dict[str, Any] = {
        "benchmark": "planner",
        "database": url.split(":", 1)[0],
        "contacts": args.contacts,
        "briefs": len(plan_ms),
        "plans": plans,
        "questions": questions,
        "median_plan_ms": round(statistics.median(plan_ms), 2),
        "p90_plan_ms": round(_quantile(plan_ms, 0.9), 2),
        "median_sizing_ms": round(statistics.median(sizing_ms), 1) if sizing_ms else None,
        "median_plan_and_size_ms": round(statistics.median(total_ms), 1),
        "p90_plan_and_size_ms": round(_quantile(total_ms, 0.9), 1),
        "build_s": round(build_s, 1),
    }
    print(f"{figures['briefs']} briefs ({plans} plans, {questions} questions) on {args.contacts:,} contacts "
          f"({figures['database']})")
    print(f"  planning alone:        median {figures['median_plan_ms']} ms, p90 {figures['p90_plan_ms']} ms")
    print(f"  sizing (segment SQL):  median {figures['median_sizing_ms']} ms")
    print(f"  planning + sizing:     median {figures['median_plan_and_size_ms']} ms, "
          f"p90 {figures['p90_plan_and_size_ms']} ms")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
