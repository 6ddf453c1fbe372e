"""Benchmark delivery: rendering speed, SMTP throughput, memory at scale, and a crash test.

    .venv/bin/python benchmarks/delivery.py [--json] [--render N] [--smtp N] [--memory N] [--crash N]
                                            [--kills K] [--processes P] [--pool C] [--skip PART ...]

Everything runs on a fresh SQLite file in a temporary folder (deleted afterwards), on the product's own
code paths, and prints, side by side:

- render: messages rendered per second by ``copilot.delivery.message.Composer`` for distinct contacts
  (subject, CSS-inlined HTML document and text part), per wall-clock second and per CPU second of the
  process (the machine is shared), and fully composed (MIME bytes with headers); target at least 20,000
  rendered per second. One core.
- smtp: messages per second to a local aiosmtpd server (its own process, offering PIPELINING) for a
  scheduled campaign of N recipients: freeze, then P send processes (1) each keeping C SMTP connections
  busy (4, ``COPILOT_SMTP_POOL``), from the first message to the last ledger row recorded; target at
  least 2,000. With it, the CPU time per message of the product (the send processes: render, MIME, ledger,
  SMTP client) and of the server, and beside it the same server's floor: a trivial client sending one
  prepared message over as many connections (no database, no rendering).
- memory: resident memory (RSS) of one worker process freezing and sending a campaign to N recipients
  (1,000,000 by default) through the outbox: idle after start-up, the highest seen (sampled every
  second), and at 25/50/75/100% of the send; target flat, under 200 MB above idle.
- crash: a ``copilot worker`` process killed with SIGKILL K times (20) at random moments during an
  N-recipient send (100,000) to the outbox, restarted each time, then ``copilot worker --until-idle``;
  duplicates (a Message-ID in two files) and losses (a decided send with no file, or a row left
  unsent); target 0 and 0. The same over SMTP counts what the server received.

With --json the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from copilot.delivery.jobs import send_once, tick_once  # noqa: E402
from copilot.delivery.message import Composer  # noqa: E402
from copilot.models import Contact, SendRecord, utcnow  # noqa: E402
from copilot.plan import Variant  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from copilot.settings import Settings  # noqa: E402
from copilot.workspace import load_workspace  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
VARIANT = {
    "segment": "Subscribers", "message": "email_1", "key": "A",
    "subject": "{{ first_name }}, your next run starts here",
    "preheader": "New trail shoes for {{ city }}, and 15% off until Sunday",
    "body": ("Hi {{ first_name }},\n\nIt has been a while since your last run with us. The **Ridgeline Trail 3** "
             "is back in every size, and this week it is 15% off with the code `SPRING15`.\n\n"
             "- Grippy on wet rock\n- 280 g in a size 9\n- Free returns for 60 days\n\n"
             "[See the Ridgeline](https://northpeak.example/ridgeline?city={{ city }})\n\nSee you out there,\n"
             "the team"),
    "cta_text": "Shop the Ridgeline", "cta_url": "https://northpeak.example/shop?utm_campaign=spring",
    "merge_fields": [{"name": "first_name", "fallback": "runner"}, {"name": "city", "fallback": "your city"}],
}
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Inés", "Jonas", "", None, "Zoë"]
CITIES = ["Portland", "Berlin", "Madrid", "São Paulo", "Tokyo", None, "Austin"]


def _mib(n: float) -> float:
    return round(n / 1024 / 1024, 1)


# -- render -------------------------------------------------------------------------------------

def bench_render(n: int) -> dict[str, Any]:
    workspace = load_workspace()
    composer = Composer(workspace, Variant.model_validate(VARIANT))
    people = [{"first_name": (f"{FIRST[i % len(FIRST)]}{i}" if FIRST[i % len(FIRST)] else FIRST[i % len(FIRST)]),
               "city": CITIES[i % len(CITIES)], "email": f"p{i}@example.com"} for i in range(n)]
    unsub = "https://mail.example/unsubscribe/" + "x" * 80
    composer.render(people[0], unsubscribe_url=unsub)  # warm the caches once, as a worker has them
    start, cpu = time.perf_counter(), time.process_time()
    for p in people:
        composer.render(p, unsubscribe_url=unsub)
    rendered = n / (time.perf_counter() - start)
    rendered_cpu = n / (time.process_time() - cpu)
    start = time.perf_counter()
    size = 0
    for i, p in enumerate(people):
        size += len(composer.compose(p, to=str(p["email"]), message_id=f"<1.{i}.ab@northpeak.example>",
                                     date="Mon, 01 Mar 2027 09:00:00 +0000", unsubscribe_url=unsub,
                                     unsubscribe_mailto="mailto:unsubscribe@northpeak.example?subject=x").data)
    composed = n / (time.perf_counter() - start)
    return {"messages": n, "rendered_per_s": round(rendered), "rendered_per_cpu_s": round(rendered_cpu),
            "composed_per_s": round(composed),
            "mean_message_bytes": round(size / n), "target_rendered_per_s": 20000}


# -- the SMTP server, in its own process --------------------------------------------------------

def _server(conn: Any, port: int) -> None:
    from support.smtp import Mailbox, smtp_server  # noqa: PLC0415

    box = Mailbox(keep_bodies=False)
    with smtp_server(box) as (_host, real_port, _box):
        conn.send(real_port)
        while True:
            cmd = conn.recv()
            if cmd == "stop":
                break
            if cmd == "count":
                conn.send(box.count)
            elif cmd == "ids":
                conn.send((box.count, dict(box.ids)))
            elif cmd == "first_last":
                conn.send((box.count,))


class Server:
    def __init__(self) -> None:
        self.parent, child = mp.Pipe()
        self.proc = mp.get_context("spawn").Process(target=_server, args=(child, 0), daemon=True)
        self.proc.start()
        self.port = self.parent.recv()

    def count(self) -> int:
        self.parent.send("count")
        return int(self.parent.recv())

    def ids(self) -> tuple[int, dict[str, int]]:
        self.parent.send("ids")
        return self.parent.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.parent.send("stop")
        self.proc.join(timeout=10)


# -- a campaign on a fresh database -------------------------------------------------------------

def _settings(tmp: Path, **changes: Any) -> Settings:
    return Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'bench.db'}", workspace_dir=None,
                    secret_key=SECRET, control_percent=0.0, public_url="https://mail.example", **changes)


def _audience(runtime: Runtime, n: int) -> None:
    """N contacts, written in bulk (no events: the plan's segment is everyone with an address)."""
    from copilot.services.workspaces import get_workspace_record

    with runtime.session() as s:
        wid = get_workspace_record(s, runtime.default_workspace.slug).id
    table = Contact.__table__  # type: ignore[attr-defined]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
    with runtime.engine.begin() as conn:
        for start in range(0, n, 50_000):
            conn.execute(sa.insert(table), [
                {"workspace_id": wid, "email": f"p{i}@example.com", "first_name": FIRST[i % len(FIRST)],
                 "city": CITIES[i % len(CITIES)], "locale": "en", "timezone": zones[i % len(zones)],
                 "consent": "subscribed", "created_at": now, "updated_at": now, "attributes": {}}
                for i in range(start, min(n, start + 50_000))])


def _campaign(runtime: Runtime, at: datetime) -> int:
    from integration.delivery.support import plan_data, schedule_campaign  # noqa: PLC0415

    plan = plan_data(variants=[VARIANT], suppression={"frequency_cap": None, "quiet_hours": None})
    return schedule_campaign(runtime, plan, at=at)


def _counts(runtime: Runtime) -> Counter[str]:
    ledger = SendRecord.__table__  # type: ignore[attr-defined]
    with runtime.engine.connect() as conn:
        return Counter({s: n for s, n in conn.execute(sa.select(ledger.c.status, sa.func.count())
                                                      .group_by(ledger.c.status))})


def _freeze(runtime: Runtime) -> float:
    start = time.perf_counter()
    while True:
        report = tick_once(runtime)
        if report.due and not report.more:
            break
    return time.perf_counter() - start


def _send_process(settings: Settings) -> None:
    runtime = Runtime.start(settings, migrate=False)
    with runtime.session() as s:
        from copilot.delivery.engine import running_deliveries

        ids = running_deliveries(s)
    for delivery_id in ids:
        while send_once(runtime, delivery_id, budget=600).more_due:
            pass
    runtime.close()


def bench_smtp(n: int, processes: int, pool: int) -> dict[str, Any]:
    server = Server()
    server_cpu = psutil.Process(server.proc.pid)
    try:
        with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
            settings = _settings(Path(tmp), transport="smtp", smtp_host="127.0.0.1", smtp_port=server.port,
                                 smtp_security="none", smtp_pool=pool)
            runtime = Runtime.start(settings)
            _audience(runtime, n)
            _campaign(runtime, utcnow() + timedelta(seconds=1))
            time.sleep(1.1)
            freeze = _freeze(runtime)
            ctx = mp.get_context("fork")
            runtime.engine.dispose()
            before, s_before = os.times(), _cpu(server_cpu)
            start = time.perf_counter()
            procs = [ctx.Process(target=_send_process, args=(settings,)) for _ in range(processes)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            elapsed = time.perf_counter() - start
            after, s_after = os.times(), _cpu(server_cpu)
            received, ids = server.ids()
            counts = _counts(runtime)
            runtime.close()
        floor = _raw_smtp(server, min(n, 4000), processes * pool)
    finally:
        server.stop()
    client_cpu = (after.children_user + after.children_system - before.children_user - before.children_system)
    return {"recipients": n, "processes": processes, "pool": pool, "connections": processes * pool,
            "freeze_s": round(freeze, 1), "send_s": round(elapsed, 1), "messages_per_s": round(received / elapsed),
            "received": received, "sent_rows": counts["sent"], "duplicates": sum(v - 1 for v in ids.values() if v > 1),
            "product_cpu_us_per_message": round(client_cpu / received * 1e6),
            "server_cpu_us_per_message": round((s_after - s_before) / received * 1e6),
            "floor": floor, "target_messages_per_s": 2000}


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _raw_smtp(server: Server, n: int, connections: int) -> dict[str, Any]:
    """The same server with a trivial client: one prepared message handed to the product's SMTP transport
    (the same protocol: pipelined when offered) over the same number of connections, from threads of one
    process; no database, no rendering. What the server can take is read against this."""
    from copilot.delivery.transports import Envelope, SmtpTransport

    data = Composer(load_workspace(), Variant.model_validate(VARIANT)).compose(
        {"first_name": "Ana"}, to="x@example.com", message_id="<raw@northpeak.example>",
        date="Mon, 01 Mar 2027 09:00:00 +0000", unsubscribe_url="https://mail.example/u/x",
        unsubscribe_mailto=None).data
    each = max(1, n // connections)

    def client() -> None:
        transport = SmtpTransport(host="127.0.0.1", port=server.port, security="none")
        for i in range(each):
            transport.send(Envelope("hello@northpeak.example", f"raw{i}@example.com", data, "raw", "raw"))
        transport.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    cpu, s_cpu = time.process_time(), _cpu(psutil.Process(server.proc.pid))
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    sent = each * connections
    return {"messages_per_s": round(sent / elapsed), "connections": connections,
            "client_cpu_us_per_message": round((time.process_time() - cpu) / sent * 1e6),
            "server_cpu_us_per_message": round((_cpu(psutil.Process(server.proc.pid)) - s_cpu) / sent * 1e6)}


# -- memory at scale ------------------------------------------------------------------------------

def bench_memory(n: int) -> dict[str, Any]:
    """One worker process freezing and sending to N recipients through the outbox (the default transport)."""
    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        settings = _settings(Path(tmp))
        runtime = Runtime.start(settings)
        _audience(runtime, n)
        _campaign(runtime, utcnow() + timedelta(seconds=1))
        time.sleep(1.1)
        me = psutil.Process()
        idle = me.memory_info().rss
        samples: list[tuple[float, int, int]] = []
        stop = threading.Event()
        ledger = SendRecord.__table__  # type: ignore[attr-defined]
        reader = sa.create_engine(settings.database_url)

        def sample() -> None:
            while not stop.is_set():
                with reader.connect() as conn:
                    sent = conn.execute(sa.select(sa.func.count()).select_from(ledger)
                                        .where(ledger.c.status == "sent")).scalar_one()
                samples.append((time.perf_counter(), me.memory_info().rss, int(sent)))
                if progress and int(sent) >= progress[0] * n / 10:
                    print(f"  memory: {int(sent):,} sent, RSS {_mib(samples[-1][1])} MiB (idle {_mib(idle)} MiB)",
                          flush=True)
                    while progress[0] * n / 10 <= int(sent):
                        progress[0] += 1
                stop.wait(1.0)

        progress = [1]
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        freeze = _freeze(runtime)
        print(f"  memory: froze {n:,} recipients in {time.perf_counter() - start:.0f} s, RSS "
              f"{_mib(me.memory_info().rss)} MiB (peak so far {_mib(max(r for _, r, _ in samples))} MiB)", flush=True)
        with runtime.session() as s:
            from copilot.delivery.engine import running_deliveries

            delivery_id = running_deliveries(s)[0]
        send_start = time.perf_counter()
        while send_once(runtime, delivery_id, budget=600).more_due:
            pass
        elapsed = time.perf_counter() - start
        send_s = time.perf_counter() - send_start
        stop.set()
        sampler.join()
        samples.append((time.perf_counter(), me.memory_info().rss, n))
        peak = max(r for _, r, _ in samples)
        at = {}
        for share in (25, 50, 75, 100):
            at[f"{share}%"] = _mib(next((r for _, r, c in samples if c >= n * share / 100), samples[-1][1]))
        sent = _counts(runtime)["sent"]
        runtime.close()
        reader.dispose()
    return {"recipients": n, "sent": sent, "transport": "outbox", "freeze_s": round(freeze, 1),
            "send_s": round(send_s, 1), "total_s": round(elapsed, 1), "idle_mib": _mib(idle), "peak_mib": _mib(peak),
            "peak_over_idle_mib": _mib(peak - idle), "rss_during_send_mib": at, "target_over_idle_mib": 200}


# -- the crash test -------------------------------------------------------------------------------

def _worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=settings.database_url, COPILOT_DATA_DIR=str(settings.data_dir), COPILOT_SECRET_KEY=SECRET,
               COPILOT_CONTROL_PERCENT="0", COPILOT_PUBLIC_URL="https://mail.example", **extra)
    return env


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from copilot.cli import main; main()", "worker", *args],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _crash_run(n: int, kills: int, smtp: bool, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    server = Server() if smtp else None
    try:
        with tempfile.TemporaryDirectory(prefix="copilot-crash-") as tmp:
            extra = {"COPILOT_TRANSPORT": "smtp", "COPILOT_SMTP_HOST": "127.0.0.1",
                     "COPILOT_SMTP_PORT": str(server.port), "COPILOT_SMTP_SECURITY": "none"} if server else {}
            settings = _settings(Path(tmp))
            runtime = Runtime.start(settings)
            _audience(runtime, n)
            _campaign(runtime, utcnow() + timedelta(seconds=1))
            env = _worker_env(settings, **extra)
            outbox = settings.outbox_path
            done = 0
            start = time.perf_counter()
            for _ in range(kills):
                proc = _spawn(env, "--workers", "1")
                time.sleep(rnd.uniform(1.5, 4.0))  # start-up takes about a second: kills land mid-freeze and mid-send
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                done += 1
            subprocess.run([sys.executable, "-c", "from copilot.cli import main; main()", "worker", "--until-idle"],
                           env=env, check=True, capture_output=True, timeout=3600)
            elapsed = time.perf_counter() - start
            ledger = SendRecord.__table__  # type: ignore[attr-defined]
            with runtime.engine.connect() as conn:
                rows = conn.execute(sa.select(ledger.c.status, ledger.c.message_id)).all()
            decided = len(rows)
            unsent = sum(1 for s, _ in rows if s != "sent")
            expected = {m for s, m in rows if s == "sent"}
            if server is None:
                seen: Counter[str] = Counter()
                for path in outbox.rglob("*.eml"):
                    with open(path, "rb") as fh:
                        for line in fh:
                            if line[:11].lower() == b"message-id:":
                                seen[line[11:].strip().decode()] += 1
                                break
            else:
                _, ids = server.ids()
                seen = Counter(ids)
            runtime.close()
    finally:
        if server is not None:
            server.stop()
    return {"transport": "smtp" if smtp else "outbox", "recipients": n, "kills": done, "decided": decided,
            "sent_rows": len(expected), "unsent_rows": unsent,
            "duplicates": sum(v - 1 for v in seen.values() if v > 1),
            "losses": len(expected - set(seen)) + (n - decided) + unsent,
            "delivered": len(seen), "seconds": round(elapsed, 1), "target": "0 duplicates, 0 losses"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", type=int, default=50_000, help="contacts to render for")
    parser.add_argument("--smtp", type=int, default=20_000, help="recipients of the SMTP throughput run")
    parser.add_argument("--processes", type=int, default=1, help="parallel send processes of the SMTP run")
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections per send process (COPILOT_SMTP_POOL)")
    parser.add_argument("--memory", type=int, default=1_000_000, help="recipients of the memory run")
    parser.add_argument("--crash", type=int, default=100_000, help="recipients of the crash test")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--skip", nargs="*", default=[], choices=["render", "smtp", "memory", "crash", "crash-smtp"])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if "render" not in args.skip:
        figures["render"] = bench_render(args.render)
        f = figures["render"]
        print(f"render: {f['rendered_per_s']:,} messages rendered/s ({f['rendered_per_cpu_s']:,} per CPU second), "
              f"{f['composed_per_s']:,} composed (MIME)/s (target >= 20,000 rendered/s)", flush=True)
    if "smtp" not in args.skip:
        figures["smtp"] = bench_smtp(args.smtp, args.processes, args.pool)
        f = figures["smtp"]
        print(f"smtp: {f['messages_per_s']:,} messages/s to aiosmtpd ({f['received']:,} in {f['send_s']} s, "
              f"{f['processes']} process(es) x {f['pool']} connections; freeze {f['freeze_s']} s) (target >= 2,000); "
              f"CPU per message: the product {f['product_cpu_us_per_message']} us, the server "
              f"{f['server_cpu_us_per_message']} us", flush=True)
        r = f["floor"]
        print(f"smtp floor: the same server with a trivial client (one prepared message, {r['connections']} "
              f"connections): {r['messages_per_s']:,} messages/s; CPU per message: client "
              f"{r['client_cpu_us_per_message']} us, server {r['server_cpu_us_per_message']} us", flush=True)
    if "crash" not in args.skip:
        figures["crash"] = _crash_run(args.crash, args.kills, smtp=False, seed=7)
        f = figures["crash"]
        print(f"crash (outbox): {f['kills']} SIGKILLs during a {f['recipients']:,}-recipient send: "
              f"{f['duplicates']} duplicates, {f['losses']} losses (target 0 and 0)", flush=True)
    if "crash-smtp" not in args.skip:
        figures["crash_smtp"] = _crash_run(args.crash, args.kills, smtp=True, seed=7)
        f = figures["crash_smtp"]
        print(f"crash (smtp): {f['kills']} SIGKILLs during a {f['recipients']:,}-recipient send: "
              f"{f['duplicates']} duplicates, {f['losses']} losses", flush=True)
    if "memory" not in args.skip:
        figures["memory"] = bench_memory(args.memory)
        f = figures["memory"]
        print(f"memory: sending to {f['recipients']:,}: idle {f['idle_mib']} MiB, peak {f['peak_mib']} MiB "
              f"(+{f['peak_over_idle_mib']} MiB; target < 200), during the send {f['rss_during_send_mib']}", flush=True)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
