"""Review pages under load: the product's review queue and plan page beside the floor of its stack.

Builds a SQLite database with DRAFTS drafts in review (10,000 by default; PLAN_REVIEWS of them hold a
five-segment plan with ten emails, sizing, sample contacts and findings), serves

* the product: ``create_app()`` with the review UI (sessions, CSRF, auth, SQLAlchemy queries, the
  Jinja templates), and
* the floor: a Litestar app that runs the same reads through raw ``sqlite3`` and renders the same
  compiled templates with the same data (the plan page's view of a revision, immutable once stored,
  is built once, as the product keeps it),

each with uvicorn on 127.0.0.1 in its own process (``gc.freeze()`` after start-up, as
``copilot serve`` does), and loads each from a second process with CONCURRENCY keep-alive
connections: queue pages of 50 (``/review?page_number=N``) and plan pages (``/review/<id>``).
Prints requests per second and latency percentiles for both, the product's share of the floor's
rate and its p99 over the floor's, measured side by side (alternating rounds, medians).
Targets: at least 80% of the floor's rate, p99 at most 1.3x the floor's.

    python benchmarks/queue_load.py [--pages queue,plan] [--drafts 10000] [--seconds 10] [--concurrency 16] [--json]
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
sys.path.insert(0, str(ROOT / "tests" / "integration" / "review"))  # the tests' five-segment plan

PER_PAGE = 50
PAGES = 20  # requests rotate over the first PAGES pages (deeper pages cost more OFFSET)
CSRF_INPUT = '<input type="hidden" name="_csrf_token" value="floor" />'
PLAN_REVIEWS = 20  # plan-page requests rotate over this many five-segment drafts
TARGET_SHARE = 0.8
TARGET_P99_RATIO = 1.3


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
    _plan_reviews(engine, ws_id, authors, now)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _plan_reviews(engine: Any, ws_id: int, authors: list[int], now: datetime) -> None:
    """PLAN_REVIEWS drafts in review with the five-segment plan: sizing with sample contacts, a few
    findings on the copy (highlighted spans, one plan-wide locale note) and the audit rows submitting makes."""
    import hashlib

    import sqlalchemy as sa
    from review_factory import five_segment_plan, five_segment_sizing

    from copilot.models import AuditLog, Contact, Conversation, FindingRow, PlanRevision, Review
    from copilot.plan import Plan

    plan = five_segment_plan()
    digest = Plan.model_validate(plan).content_hash()
    with engine.begin() as conn:
        base = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM conversations")).scalar_one()
        conn.execute(sa.insert(Contact.__table__), [  # type: ignore[attr-defined]
            {"workspace_id": ws_id, "email": f"sample{i}@example.org", "first_name": name, "city": "Lyon",
             "locale": "en", "timezone": "Europe/Paris", "consent": "subscribed", "attributes": {},
             "created_at": now, "updated_at": now} for i, name in enumerate(("Ines", "Marek", "Aiyana"))])
        sample_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM contacts ORDER BY id LIMIT 3"))]
        sizing = five_segment_sizing(sample_ids)
        for k in range(PLAN_REVIEWS):
            cid = base + k + 1
            conn.execute(sa.insert(Conversation.__table__), {  # type: ignore[attr-defined]
                "id": cid, "workspace_id": ws_id, "author_id": authors[k % len(authors)],
                "title": f"Five-segment draft {k + 1}", "created_at": now, "updated_at": now})
            conn.execute(sa.insert(PlanRevision.__table__), {  # type: ignore[attr-defined]
                "id": cid, "conversation_id": cid, "number": 1, "plan": plan, "content_hash": digest,
                "planner": "bench", "prompt_versions": {}, "note": "", "created_at": now, "sizing": sizing})
            findings = [
                ("tone", "TONE_ALL_CAPS", "warn", "Lapsed VIPs", "subject", (0, 10), "shouted in capitals", None),
                ("fact", "FACT_PRICE", "block", "Lapsed repeat buyers", "body", (40, 49), "15% off is not an offer", None),
                *[("fallbacks", "FB_LOCALE_DEFAULT", "warn", seg, "body", None,
                   f"3 of 20 sample contacts of {seg!r} read de, not 'en'", None)
                  for seg in ("Lapsed VIPs", "Lapsed one-time buyers", "Everyone else")]]
            conn.execute(sa.insert(FindingRow.__table__), [  # type: ignore[attr-defined]
                {"revision_id": cid, "guard": g, "code": code, "severity": sev, "segment": seg, "variant": "A",
                 "message_key": "email_1", "locale": None, "field": field,
                 "span_start": span[0] if span else None, "span_end": span[1] if span else None,
                 "message": msg, "evidence": {}, "fix": "Fix it.",
                 "fingerprint": hashlib.sha256(f"{cid}:{code}:{seg}".encode()).hexdigest()}
                for g, code, sev, seg, field, span, msg, _ in findings])
            conn.execute(sa.insert(Review.__table__), {  # type: ignore[attr-defined]
                "conversation_id": cid, "workspace_id": ws_id, "author_id": authors[k % len(authors)],
                "state": "in_review", "version": 2, "revision_id": cid, "revision_hash": digest,
                "block_count": 1, "warn_count": 4, "submitted_at": now, "created_at": now, "updated_at": now})
            rid = conn.execute(sa.text("SELECT id FROM reviews WHERE conversation_id = :c"), {"c": cid}).scalar_one()
            conn.execute(sa.insert(AuditLog.__table__), [  # type: ignore[attr-defined]
                {"at": now, "actor_id": authors[k % len(authors)], "workspace_id": ws_id, "entity_type": "review",
                 "entity_id": rid, "action": action, "from_state": a, "to_state": b, "revision_hash": digest,
                 "data": {}} for action, a, b in (("created", None, "draft"), ("submitted", "draft", "in_review"))])


def plan_review_ids(db_path: Path) -> list[int]:
    import sqlite3

    with sqlite3.connect(str(db_path)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT r.id FROM reviews r JOIN conversations c ON c.id = r.conversation_id "
            "WHERE c.title LIKE 'Five-segment draft %' ORDER BY r.id")]


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
    # the layout's notification badge: the same count, through raw sqlite3
    env.globals["unread_notifications"] = lambda request, user: connection().execute(
        "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL", (user.id,)).fetchone()[0]
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

    plan_page = _plan_floor(db_path, env, connection, sql, when)
    return Litestar(route_handlers=[queue, plan_page], debug=bool(os.environ.get("FLOOR_DEBUG")))


def _plan_floor(db_path: Path, env: Any, connection: Any, sql: Any, when: Any) -> Any:
    """The plan page's floor: the review, its revision, findings, overrides and history read with raw
    sqlite3, the gate and the viewer's actions worked out by the product's own pure functions, and
    ``review_detail.html`` rendered with them. The plan view of each revision is built once at start-up
    (the product builds it once per revision too)."""
    import json as _json
    from types import SimpleNamespace

    from litestar import MediaType, get
    from litestar.params import FromPath
    from sqlmodel import Session

    from copilot import db
    from copilot.models import PlanRevision, utcnow
    from copilot.plan import Plan
    from copilot.services import review_queue as rq
    from copilot.services.access import Draft, permitted_actions
    from copilot.services.copy_check import segment_samples
    from copilot.services.findings import list_findings
    from copilot.services.anchors import anchor_options
    from copilot.services.review import (
        GateStatus,
        SectionState,
        needs_acknowledgement,
        possible_actions,
        schedule_proposal,
    )
    from copilot.services.sections import SECTION_LABELS, SECTIONS, finding_section, section_hashes
    from review_ui.pages import NOTE_ACTIONS, anchored_notes
    from copilot.workspace import load_workspace
    from guards import Finding
    from review_ui.views import plan_view

    if not os.environ.get("FLOOR_KEEPS_PLAN_HTML"):
        # The floor renders every page whole from its compiled templates: the plan's HTML too, each time
        # (the product keeps it per revision; --floor-keeps-plan-html gives the floor that cache as well).
        plan_template = env.get_template("_plan.html")

        def plan_html(plan: Any, revision: Any, *, editable: bool, conversation_id: int | None,
                      anchored: Any = None) -> Any:
            from markupsafe import Markup
            return Markup(plan_template.render(plan=plan, revision=revision, editable=editable, anchored=anchored,
                                               conversation_id=conversation_id, csrf_input=CSRF_INPUT))

        env.globals["plan_html"] = plan_html
    template = env.get_template("review_detail.html")
    workspace = load_workspace()
    zone = workspace.brand.timezone
    ids = plan_review_ids(db_path)
    views: dict[int, Any] = {}
    engine = db.make_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        for rid in ids:
            revision_id = connection().execute("SELECT revision_id FROM reviews WHERE id = ?", (rid,)).fetchone()[0]
            revision = session.get(PlanRevision, revision_id)
            assert revision is not None
            views[revision_id] = plan_view(Plan.model_validate(revision.plan), revision.sizing,
                                           list_findings(session, revision_id), workspace=workspace,
                                           samples=segment_samples(session, revision))
    engine.dispose()
    # per revision, fixed: its section hashes and the parts a comment may point at
    fixed = {rid: (section_hashes(v.plan), anchor_options(v.plan)) for rid, v in views.items()}
    reviewer = connection().execute("SELECT id, display_name, role FROM users WHERE username = 'reviewer'").fetchone()
    user = SimpleNamespace(id=reviewer[0], display_name=reviewer[1], role=reviewer[2], is_active=True)
    history_sql = sql(rq.audit_statement(0)).replace("= 0", "= ?") if hasattr(rq, "audit_statement") else (
        "SELECT a.at, u.display_name, a.action, a.from_state, a.to_state, a.revision_hash, a.comment, a.data "
        "FROM audit_log a LEFT OUTER JOIN users u ON u.id = a.actor_id "
        "WHERE a.entity_type = 'review' AND a.entity_id = ? ORDER BY a.id")
    dates = ("submitted_at", "created_at", "updated_at", "scheduled_for", "paused_at", "approved_at")

    def row(cursor: Any) -> Any:
        values = cursor.fetchone()
        if values is None:
            return None
        out = dict(zip([d[0] for d in cursor.description], values, strict=True))
        for key in dates:
            if key in out and isinstance(out[key], str):
                out[key] = when(out[key])
        return SimpleNamespace(**out)

    @get("/review/{review_id:int}", sync_to_thread=True, media_type=MediaType.HTML)
    def detail(review_id: FromPath[int]) -> str:
        conn = connection()
        review = row(conn.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)))
        policy = _json.loads(conn.execute("SELECT policy FROM workspaces WHERE id = ?",
                                          (review.workspace_id,)).fetchone()[0] or "{}")
        draft = Draft(id=review.id, author_id=review.author_id, submitted=review.submitted_at is not None,
                      policy=policy)
        conversation = row(conn.execute("SELECT id, title, author_id FROM conversations WHERE id = ?",
                                        (review.conversation_id,)))
        author = row(conn.execute("SELECT id, display_name FROM users WHERE id = ?", (review.author_id,)))
        revision = row(conn.execute("SELECT id, number, content_hash, planner, parent_number FROM plan_revisions "
                                    "WHERE id = ?", (review.revision_id,)))
        findings = []
        for f in conn.execute("SELECT id, guard, code, severity, segment, variant, message_key, locale, field, "
                              "span_start, span_end, message, evidence, fix, fingerprint FROM findings "
                              "WHERE revision_id = ? ORDER BY id", (revision.id,)):
            span = (f[9], f[10]) if f[9] is not None and f[10] is not None else None
            findings.append(Finding(id=f[0], guard=f[1], code=f[2], severity=f[3], segment=f[4], variant=f[5],
                                    message_key=f[6], locale=f[7], field=f[8], span=span, message=f[11],
                                    evidence=_json.loads(f[12] or "{}"), fix=f[13], fingerprint=f[14]))
        marks = [SimpleNamespace(fingerprint=m[0], kind=m[1], reason=m[2], revision_hash=m[3]) for m in conn.execute(
            "SELECT fingerprint, kind, reason, revision_hash FROM finding_overrides WHERE review_id = ? ORDER BY id",
            (review.id,))]
        current = [m for m in marks if m.revision_hash == review.revision_hash]
        overridden = {m.fingerprint: m for m in current if m.kind == "override"}
        acknowledged = {m.fingerprint: m for m in current if m.kind == "acknowledge"}
        gate = GateStatus(blocking=[f for f in findings if f.severity == "block" and f.fingerprint not in overridden],
                          unacknowledged=[f for f in findings if needs_acknowledgement(f)
                                          and f.fingerprint not in acknowledged],
                          overridden=overridden, acknowledged=acknowledged)
        history = [rq.AuditEntry(at=when(h[0]), actor=h[1], action=h[2], from_state=h[3], to_state=h[4],
                                 revision_hash=h[5], comment=h[6], data=_json.loads(h[7] or "{}"))
                   for h in conn.execute(history_sql, (review.id,))]
        actions = possible_actions(review.state, paused=review.paused_at is not None) & \
            permitted_actions(user, draft)  # type: ignore[arg-type]
        d = rq.ReviewDetail(review=review, conversation=conversation, author=author, revision=revision,
                            previous=None, findings=findings, gate=gate, overrides=marks, history=history,
                            approver=None, actions=actions)
        view = views[revision.id]
        hashes, choices = fixed[revision.id]
        standing = {a[0]: SimpleNamespace(section=a[0], section_hash=a[1], actor_id=a[2]) for a in conn.execute(
            "SELECT section, section_hash, actor_id FROM section_approvals WHERE review_id = ? AND voided_at IS NULL "
            "ORDER BY id", (review.id,)) if a[1] == hashes.get(a[0])}
        held = [*gate.blocking, *gate.unacknowledged]
        names = {u[0]: u[1] for u in conn.execute("SELECT id, display_name FROM users")} if standing else {}
        sections = [{"section": sec, "label": SECTION_LABELS[sec], "hash": hashes[sec], "approval": standing.get(sec),
                     "approved_by": names.get(standing[sec].actor_id) if sec in standing else None,
                     "held_by": SectionState(sec, hashes[sec], None,
                                             [f for f in held if finding_section(f) in (sec, None)]).held_by}
                    for sec in SECTIONS]
        anchored = anchored_notes([e for e in history if e.comment and e.action in NOTE_ACTIONS])
        return template.render(
            d=d, plan=view, diff=None, sections=sections, anchored=anchored, anchor_choices=choices, needs_ack={f.id for f in findings if needs_acknowledgement(f)},
            start=schedule_proposal(view.plan, zone, utcnow()), schedule_error={}, user=user, focus=None,
            request=SimpleNamespace(url=SimpleNamespace(path=f"/review/{review_id}")),
            csrf_input=CSRF_INPUT)

    return detail


def serve_floor(db_path: Path, port: int) -> None:
    import uvicorn

    app = floor_app(db_path)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load generator (its own process) ---------------------------------------------------------

async def _worker(port: int, paths: list[bytes], cookie: str, deadline: float, warmup_end: float,
                  latencies: list[float], errors: list[str], *, once: bool = False) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline or (once and i >= len(paths)):
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


async def _load(port: int, cookie: str, seconds: float, warmup: float, concurrency: int,
                paths: list[bytes]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    # Every page once before the clock starts: what either server builds once per revision is built.
    await _worker(port, paths, cookie, time.perf_counter() + 30, float("inf"), [], errors, once=True)
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


def _run_server(kind: str, db_path: Path, data_dir: Path, port: int, *,
                floor_keeps_plan_html: bool = False) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, __file__, "--serve", kind, "--db", str(db_path), "--data-dir", str(data_dir),
           "--port", str(port)] + (["--floor-keeps-plan-html"] if floor_keeps_plan_html else [])
    return subprocess.Popen(cmd, cwd=ROOT)


def _paths(page: str, db_path: Path) -> list[str]:
    if page == "plan":
        return [f"/review/{rid}" for rid in plan_review_ids(db_path)]
    return [f"/review?page_number={p}" for p in range(1, PAGES + 1)]


def _measure(kind: str, page: str, db_path: Path, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    server = _run_server(kind, db_path, data_dir, port, floor_keeps_plan_html=args.floor_keeps_plan_html)
    try:
        _wait(port)
        cookie = _login(port) if kind == "product" else "none=1"
        out = subprocess.run([sys.executable, __file__, "--load", str(port), "--cookie", cookie,
                              "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                              "--concurrency", str(args.concurrency), "--paths", ",".join(_paths(page, db_path))],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="queue,plan", help="which pages to measure: queue, plan or both")
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating product/floor rounds (medians)")
    parser.add_argument("--floor-keeps-plan-html", action="store_true",
                        help="the floor reuses the plan's rendered HTML per revision, as the product does "
                             "(then the gap is the product's request overhead alone)")
    parser.add_argument("--json", action="store_true", help="last line: the figures as one JSON object")
    parser.add_argument("--serve", choices=["product", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--paths", default="", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", default="", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "product":
        serve_product(args.db, args.data_dir, args.port)
        return
    if args.serve == "floor":
        if args.floor_keeps_plan_html:
            os.environ["FLOOR_KEEPS_PLAN_HTML"] = "1"
        serve_floor(args.db, args.port)
        return
    if args.load:
        paths = [p.encode() for p in args.paths.split(",") if p]
        result = asyncio.run(_load(args.load, args.cookie, args.seconds, args.warmup, args.concurrency, paths))
        print(json.dumps(result))
        return

    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    summary: dict[str, Any] = {"drafts": args.drafts, "per_page": PER_PAGE, "concurrency": args.concurrency,
                               "seconds": args.seconds, "rounds": args.rounds,
                               "floor_keeps_plan_html": args.floor_keeps_plan_html}
    with tempfile.TemporaryDirectory(prefix="queue_load_") as tmp:
        data_dir = Path(tmp)
        db_path = data_dir / "copilot.db"
        t0 = time.perf_counter()
        build(db_path, args.drafts)
        print(f"built {args.drafts:,} drafts (+{PLAN_REVIEWS} five-segment plans) in {time.perf_counter() - t0:.1f} s")
        for page in pages:
            runs: dict[str, list[dict[str, Any]]] = {"product": [], "floor": []}
            for r in range(args.rounds):
                for kind in ("product", "floor"):
                    result = _measure(kind, page, db_path, data_dir, args)
                    runs[kind].append(result)
                    print(f"{page:5s} round {r + 1} {kind:7s}: {result['rps']:7.1f} req/s  p50 {result['p50_ms']:6.2f} ms"
                          f"  p99 {result['p99_ms']:6.2f} ms  max {result['max_ms']:6.2f} ms  errors {result['errors']}")

            def med(kind: str, key: str, runs: dict[str, list[dict[str, Any]]] = runs) -> float:
                return round(statistics.median(x[key] for x in runs[kind]), 2)

            figures = {
                "product_rps": med("product", "rps"), "product_p50_ms": med("product", "p50_ms"),
                "product_p99_ms": med("product", "p99_ms"), "floor_rps": med("floor", "rps"),
                "floor_p50_ms": med("floor", "p50_ms"), "floor_p99_ms": med("floor", "p99_ms"),
                "errors": sum(x["errors"] for k in runs for x in runs[k]),
            }
            figures["share_of_floor"] = round(figures["product_rps"] / figures["floor_rps"], 3) \
                if figures["floor_rps"] else 0
            figures["p99_ratio"] = round(figures["product_p99_ms"] / figures["floor_p99_ms"], 2) \
                if figures["floor_p99_ms"] else 0
            figures["meets_share_target"] = figures["share_of_floor"] >= TARGET_SHARE
            figures["meets_p99_target"] = 0 < figures["p99_ratio"] <= TARGET_P99_RATIO
            summary[page] = figures
            print(f"{page}: product {figures['product_rps']} req/s (p99 {figures['product_p99_ms']} ms) = "
                  f"{figures['share_of_floor']:.0%} of the floor's {figures['floor_rps']} req/s "
                  f"(p99 {figures['floor_p99_ms']} ms, ratio {figures['p99_ratio']}x); "
                  f"targets: >= {TARGET_SHARE:.0%}, p99 <= {TARGET_P99_RATIO:g}x")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
