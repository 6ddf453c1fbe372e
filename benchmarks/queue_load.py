"""Review queue under load: the product's /review page beside the floor of its stack.

Builds a SQLite database with DRAFTS drafts in review (10,000 by default), serves

* the product: ``create_app()`` with the review UI (sessions, CSRF, auth, SQLAlchemy Core
  queries, the Jinja template), and
* the floor: a one-route Litestar app that runs the same SQL through raw ``sqlite3`` and
  renders the same compiled template with the same data,

each with uvicorn on 127.0.0.1 in its own process (``gc.freeze()`` after start-up, as
``copilot serve`` does), and loads each from a second process with CONCURRENCY keep-alive
connections asking for queue pages of 50. Prints requests per second and latency
percentiles for both, and the product's share of the floor's rate.
Targets: at least 50% of the floor's rate, p99 at most 50 ms.

    python benchmarks/queue_load.py [--drafts 10000] [--seconds 10] [--concurrency 16] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_PAGE = 50
PAGES = 20  # requests rotate over the first PAGES pages (deeper pages cost more OFFSET)
TARGET_SHARE = 0.5
TARGET_P99_MS = 50.0


# -- data --------------------------------------------------------------------------------------

SAMPLE_PLAN: dict[str, Any] = {
    "title": "Win back lapsed runners", "brief": "win back lapsed runners", "goal": "winback",
    "segments": [{"name": "Lapsed buyers", "priority": 1,
                  "rule": {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180},
                  "hypothesis": {"attribute": "last order", "tactic": "offer", "metric": "reactivation_rate",
                                 "expected_change": "+2 points"}}],
    "trigger": {"kind": "schedule", "send_at": "2030-03-01T09:00:00Z", "steps": [{"type": "send", "message": "email_1"}]},
    "variants": [{"segment": "Lapsed buyers", "subject": "We saved you a spring offer", "body": "Hi {{ first_name }}.",
                  "cta_text": "Shop now", "cta_url": "https://example.com/",
                  "merge_fields": [{"name": "first_name", "fallback": "runner"}]}],
}

def build(db_path: Path, drafts: int) -> None:
    """A migrated database with one workspace, a few authors, a reviewer and ``drafts`` drafts in review."""
    import sqlalchemy as sa

    from copilot import db
    from copilot.models import Conversation, PlanRevision, Review, User
    from copilot.plan import Plan
    from copilot.security import hash_password
    from copilot.services.workspaces import register_workspace
    from copilot.workspace import load_workspace

    engine = db.make_engine(f"sqlite:///{db_path}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        ws_id = register_workspace(session, load_workspace()).id
    pw = hash_password("bench-pw")
    now = datetime.now(UTC)
    plan = Plan.model_validate(SAMPLE_PLAN).model_dump(mode="json")
    digest = Plan.model_validate(plan).content_hash()
    with engine.begin() as conn:
        conn.execute(sa.insert(User.__table__), [  # type: ignore[attr-defined]
            {"username": name, "display_name": name.title(), "password_hash": pw, "role": role,
             "is_active": True, "created_at": now}
            for name, role in [("reviewer", "reviewer"), *[(f"marketer{i}", "marketer") for i in range(8)]]])
        authors = [row[0] for row in conn.execute(sa.text("SELECT id FROM users WHERE role = 'marketer'"))]
        conn.execute(sa.insert(Conversation.__table__), [  # type: ignore[attr-defined]
            {"id": i + 1, "workspace_id": ws_id, "author_id": authors[i % len(authors)],
             "title": f"Campaign draft {i + 1}", "created_at": now, "updated_at": now} for i in range(drafts)])
        conn.execute(sa.insert(PlanRevision.__table__), [  # type: ignore[attr-defined]
            {"id": i + 1, "conversation_id": i + 1, "number": 1, "plan": plan, "content_hash": digest,
             "planner": "bench", "prompt_versions": {}, "note": "", "created_at": now} for i in range(drafts)])
        conn.execute(sa.insert(Review.__table__), [  # type: ignore[attr-defined]
            {"conversation_id": i + 1, "workspace_id": ws_id, "author_id": authors[i % len(authors)],
             "state": "in_review", "version": 2, "revision_id": i + 1, "revision_hash": digest,
             "block_count": i % 3, "warn_count": i % 5,
             "submitted_at": now - timedelta(minutes=drafts - i), "created_at": now, "updated_at": now}
            for i in range(drafts)])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


# -- the two servers (run in their own processes) --------------------------------------------------

def serve_product(db_path: Path, data_dir: Path, port: int) -> None:
    os.environ.update(DATABASE_URL=f"sqlite:///{db_path}", COPILOT_DATA_DIR=str(data_dir),
                      COPILOT_SECRET_KEY="benchmark-secret-key-0123456789abcdef")
    import uvicorn

    from copilot.app import create_app

    app = create_app()
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def floor_app(db_path: Path) -> Any:
    """The floor: raw sqlite3, the same SQL and the same compiled template; nothing else."""
    import sqlite3
    import threading
    from types import SimpleNamespace

    from litestar import Litestar, MediaType, Request, get
    from litestar.params import FromQuery
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from copilot.services import review_queue as rq
    from copilot.services.review import TRANSITIONS
    from review_ui.rendering import make_environment

    env = make_environment()
    env.globals["csrf_token"] = lambda: "floor"
    template = env.get_template("review_queue.html")
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(str(db_path), check_same_thread=False)
            local.conn.execute("PRAGMA journal_mode=WAL")
        return local.conn

    # The product's own statements, compiled once (with literal values) to plain SQL for sqlite3.
    def sql(statement: Any) -> str:
        return str(statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))

    workspace_id = connection().execute("SELECT id FROM workspaces").fetchone()[0]
    statements = {}
    for number in range(1, PAGES + 1):
        f = rq.QueueFilter(status="in_review", sort="age", page=number, workspace_id=workspace_id)
        page_stmt, count_stmt = rq.queue_statements(f)
        statements[number] = (f, sql(page_stmt), sql(count_stmt))
    authors_sql = sql(rq.authors_statement(workspace_id))
    user = SimpleNamespace(id=0, display_name="Reviewer", role="reviewer", is_active=True)

    def when(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None

    @get("/review", sync_to_thread=True, media_type=MediaType.HTML)
    def queue(request: Request, page_number: FromQuery[int] = 1) -> str:  # type: ignore[type-arg]
        conn = connection()
        f, page_sql, count_sql = statements[page_number]
        rows = [rq.QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], when(r[8]), when(r[9]))
                for r in conn.execute(page_sql)]
        total = conn.execute(count_sql).fetchone()[0]
        authors = conn.execute(authors_sql).fetchall()
        q = rq.QueuePage(rows=rows, total=total, filter=f)
        return template.render(q=q, user=user,
                               states=("all", *TRANSITIONS), authors=authors,
                               request=SimpleNamespace(url=SimpleNamespace(path="/review")),
                               csrf_input='<input type="hidden" name="_csrf_token" value="floor" />')

    return Litestar(route_handlers=[queue])


def serve_floor(db_path: Path, port: int) -> None:
    import uvicorn

    app = floor_app(db_path)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load generator (its own process) ---------------------------------------------------------

async def _worker(port: int, paths: list[bytes], cookie: str, deadline: float, warmup_end: float,
                  latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return
            path = paths[i % len(paths)]
            i += 1
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie.encode()
                         + b"\r\nConnection: keep-alive\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            done = time.perf_counter()
            if status != b"200":
                errors.append(status.decode())
            elif now >= warmup_end:
                latencies.append(done - now)
    finally:
        writer.close()


async def _load(port: int, cookie: str, seconds: float, warmup: float, concurrency: int) -> dict[str, Any]:
    paths = [f"/review?page_number={p}".encode() for p in range(1, PAGES + 1)]
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    warmup_end = start + warmup
    deadline = warmup_end + seconds
    await asyncio.gather(*[_worker(port, paths[k:] + paths[:k], cookie, deadline, warmup_end, latencies, errors)
                           for k in range(concurrency)])
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else 0.0

    return {"requests": len(latencies), "errors": len(errors), "rps": round(len(latencies) / seconds, 1),
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


# -- orchestration --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _login(port: int) -> str:
    """Log in as the reviewer the way a browser does; returns the Cookie header value."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        page = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        answer = client.post("/login", data={"username": "reviewer", "password": "bench-pw", "_csrf_token": token})
        assert answer.status_code == 303, answer.status_code
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _run_server(kind: str, db_path: Path, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, __file__, "--serve", kind, "--db", str(db_path), "--data-dir", str(data_dir),
           "--port", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT)


def _measure(kind: str, db_path: Path, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    server = _run_server(kind, db_path, data_dir, port)
    try:
        _wait(port)
        cookie = _login(port) if kind == "product" else "none=1"
        out = subprocess.run([sys.executable, __file__, "--load", str(port), "--cookie", cookie,
                              "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                              "--concurrency", str(args.concurrency)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating product/floor rounds (medians)")
    parser.add_argument("--json", action="store_true", help="last line: the figures as one JSON object")
    parser.add_argument("--serve", choices=["product", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cookie", default="", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "product":
        serve_product(args.db, args.data_dir, args.port)
        return
    if args.serve == "floor":
        serve_floor(args.db, args.port)
        return
    if args.load:
        result = asyncio.run(_load(args.load, args.cookie, args.seconds, args.warmup, args.concurrency))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="queue_load_") as tmp:
        data_dir = Path(tmp)
        db_path = data_dir / "copilot.db"
        t0 = time.perf_counter()
        build(db_path, args.drafts)
        print(f"built {args.drafts:,} drafts in {time.perf_counter() - t0:.1f} s")
        runs: dict[str, list[dict[str, Any]]] = {"product": [], "floor": []}
        for r in range(args.rounds):
            for kind in ("product", "floor"):
                result = _measure(kind, db_path, data_dir, args)
                runs[kind].append(result)
                print(f"round {r + 1} {kind:7s}: {result['rps']:7.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                      f"p99 {result['p99_ms']:6.2f} ms  max {result['max_ms']:6.2f} ms  errors {result['errors']}")

    def med(kind: str, key: str) -> float:
        return round(statistics.median(x[key] for x in runs[kind]), 2)

    summary = {
        "drafts": args.drafts, "per_page": PER_PAGE, "concurrency": args.concurrency, "seconds": args.seconds,
        "rounds": args.rounds,
        "product_rps": med("product", "rps"), "product_p50_ms": med("product", "p50_ms"),
        "product_p99_ms": med("product", "p99_ms"),
        "floor_rps": med("floor", "rps"), "floor_p50_ms": med("floor", "p50_ms"), "floor_p99_ms": med("floor", "p99_ms"),
        "errors": sum(x["errors"] for k in runs for x in runs[k]),
    }
    summary["share_of_floor"] = round(summary["product_rps"] / summary["floor_rps"], 3) if summary["floor_rps"] else 0
    summary["meets_share_target"] = summary["share_of_floor"] >= TARGET_SHARE
    summary["meets_p99_target"] = summary["product_p99_ms"] <= TARGET_P99_MS
    print(f"product {summary['product_rps']} req/s (p99 {summary['product_p99_ms']} ms) = "
          f"{summary['share_of_floor']:.0%} of the floor's {summary['floor_rps']} req/s "
          f"(p99 {summary['floor_p99_ms']} ms); targets: >= {TARGET_SHARE:.0%}, p99 <= {TARGET_P99_MS:g} ms")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
