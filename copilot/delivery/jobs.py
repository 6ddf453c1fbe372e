"""Delivery jobs on Huey: SQLite storage in the data folder by default, Redis when REDIS_URL is set.

Two tasks do the work and both are safe to run twice or concurrently (the database decides, not the
queue): ``tick`` starts scheduled campaigns whose time has come and pumps every running delivery
(freeze, journey entries, due steps); ``send`` sends one delivery's due messages. A periodic tick
every minute, and one at every worker start, pick up whatever a killed worker left: the queue may
lose a task, the ledger never loses a decision.

``run_until_idle`` does every due job in-process and returns (``copilot worker --until-idle``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from huey import Huey, RedisHuey, SqliteHuey, crontab

from copilot.delivery import engine
from copilot.delivery.sender import Sender, release_dead_claims
from copilot.delivery.tokens import signer_for
from copilot.delivery.transports import make_transport
from copilot.models import utcnow
from copilot.settings import Settings, get_settings

__all__ = ["make_huey", "get_huey", "notify", "run_until_idle", "tick_once", "send_once", "IdleReport",
           "queue_name"]

log = logging.getLogger("copilot.delivery")

_lock = threading.Lock()
_hueys: dict[tuple[str, str | None, str], Huey] = {}
_runtimes: dict[tuple[int, str], Any] = {}


def queue_name(settings: Settings) -> str:
    """One queue per database, so two installations (or two test databases) never share jobs."""
    return "copilot-" + hashlib.sha256(settings.database_url.encode()).hexdigest()[:10]


def make_huey(settings: Settings) -> Huey:
    """A Huey for these settings with the delivery tasks registered on it (``huey.copilot_tasks``)."""
    name = queue_name(settings)
    if settings.redis_url:
        huey: Huey = RedisHuey(name, url=settings.redis_url, results=False, utc=True)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name, filename=str(settings.data_dir / "jobs.db"), results=False, utc=True)

    def tick() -> None:
        _tick(settings)

    def send(delivery_id: int) -> None:
        _send(settings, delivery_id)

    def heartbeat() -> None:
        _tick(settings)

    tasks = {"tick": huey.task(retries=0)(tick), "send": huey.task(retries=0)(send)}
    huey.periodic_task(crontab(minute="*"))(heartbeat)
    huey.on_startup()(lambda: huey.enqueue(tasks["tick"].s()))
    huey.copilot_tasks = tasks  # type: ignore[attr-defined]
    return huey


def get_huey(settings: Settings | None = None) -> Huey:
    settings = settings or get_settings()
    key = (settings.database_url, settings.redis_url, str(settings.data_dir))
    with _lock:
        if key not in _hueys:
            _hueys[key] = make_huey(settings)
        return _hueys[key]


def _task(huey: Huey, name: str, *args: Any) -> Any:
    return huey.copilot_tasks[name].s(*args)  # type: ignore[attr-defined]


def notify(settings: Settings, *, eta: datetime | None = None) -> None:
    """Ask the workers to look now (or at ``eta``): a review was scheduled or resumed, events arrived.
    Best effort: without it the minute's heartbeat looks anyway."""
    try:
        huey = get_huey(settings)
        task = _task(huey, "tick")
        if eta is not None and eta > utcnow():
            task.eta = eta.replace(tzinfo=None) if huey.utc else eta
            huey.add_schedule(task)
        else:
            huey.enqueue(task)
    except Exception as exc:  # noqa: BLE001 - a queue hiccup must not fail the request that caused it
        log.warning("could not notify delivery workers: %s", exc)


# -- the work, with a runtime per process -------------------------------------------------

def _runtime(settings: Settings) -> Any:
    from copilot.runtime import Runtime

    key = (os.getpid(), settings.database_url)
    with _lock:
        if key not in _runtimes:
            _runtimes[key] = Runtime.start(settings, migrate=False)
        return _runtimes[key]


@dataclass
class TickReport:
    started: list[int] = field(default_factory=list)
    released: int = 0
    entered: int = 0
    decided: int = 0
    due: list[int] = field(default_factory=list)  # deliveries with queued rows due now
    more: list[int] = field(default_factory=list)  # deliveries whose pump ran out of time
    next_at: datetime | None = None
    finished: list[int] = field(default_factory=list)


def tick_once(runtime: Any, *, now: datetime | None = None) -> TickReport:
    """Release dead claims, start due campaigns, pump every running delivery once."""
    now = now or utcnow()
    report = TickReport()
    with runtime.session() as session:
        report.released = release_dead_claims(session, now=now)
        report.started = engine.start_due(session, now=now, control_percent=runtime.settings.control_percent)
        workspace_for = engine.workspace_lookup(session, runtime)
        for delivery_id in engine.running_deliveries(session):
            result = engine.pump(session, workspace_for, delivery_id, now=now)
            report.entered += result.entered
            report.decided += result.decided
            if result.due_now:
                report.due.append(delivery_id)
            if result.more:
                report.more.append(delivery_id)
            if result.finished:
                report.finished.append(delivery_id)
            if result.next_at is not None and (report.next_at is None or result.next_at < report.next_at):
                report.next_at = result.next_at
    return report


def send_once(runtime: Any, delivery_id: int, *, now: datetime | None = None, budget: float = 30.0) -> Any:
    """Send one delivery's due rows for up to ``budget`` seconds (one outbox, or a pool of SMTP connections)."""
    settings = runtime.settings
    transport = make_transport(settings)
    # The outbox writes files in this thread; SMTP keeps a pool of connections busy at once.
    pool = [transport] + [make_transport(settings) for _ in range(settings.smtp_pool - 1)] \
        if not transport.idempotent else [transport]
    signer = signer_for(settings)
    try:
        with runtime.session() as session:
            sender = Sender(session, engine.workspace_lookup(session, runtime), delivery_id, pool, signer=signer,
                            base_url=settings.base_url, retries=settings.send_retries, backoff=settings.send_backoff,
                            batch=200 if transport.idempotent else 50 * len(pool))
            return sender.run(budget=budget, now_fn=(lambda: now) if now else utcnow)
    finally:
        for t in pool:
            t.close()


def _live_senders(runtime: Any, delivery_id: int, now: datetime) -> int:
    ledger = engine.ledger
    with runtime.session() as session:
        return int(session.connection().execute(sa.select(sa.func.count(sa.distinct(ledger.c.claimed_by))).where(
            ledger.c.delivery_id == delivery_id, ledger.c.status == "sending", ledger.c.lease_until > now)).scalar_one())


def _tick(settings: Settings) -> None:
    runtime = _runtime(settings)
    huey = get_huey(settings)
    now = utcnow()
    report = tick_once(runtime, now=now)
    for delivery_id in report.due:
        for _ in range(max(0, settings.send_connections - _live_senders(runtime, delivery_id, now))):
            huey.enqueue(_task(huey, "send", delivery_id))
    if report.more:
        huey.enqueue(_task(huey, "tick"))
    elif report.next_at is not None and report.next_at < now + timedelta(minutes=1):
        notify(settings, eta=report.next_at)  # sooner than the heartbeat: wake exactly then


def _send(settings: Settings, delivery_id: int) -> None:
    runtime = _runtime(settings)
    huey = get_huey(settings)
    outcome = send_once(runtime, delivery_id)
    if outcome.more_due:
        huey.enqueue(_task(huey, "send", delivery_id))
    elif outcome.stopped is None:
        huey.enqueue(_task(huey, "tick"))  # follow-ups, the end of the campaign


@dataclass
class IdleReport:
    ticks: int = 0
    started: int = 0
    entered: int = 0
    decided: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    already: int = 0


def run_until_idle(runtime: Any, *, huey: Huey | None = None, now: datetime | None = None,
                   max_rounds: int = 10_000) -> IdleReport:
    """Run every due job in this process until nothing is left to do now, then return.

    Jobs waiting in the queue are run first (with the real clock); then ticks and sends alternate
    until a round changes nothing. ``now`` pretends the clock (tests of journeys over days)."""
    report = IdleReport()
    if huey is not None and now is None:
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
    for _ in range(max_rounds):
        tick = tick_once(runtime, now=now)
        report.ticks += 1
        report.started += len(tick.started)
        report.entered += tick.entered
        report.decided += tick.decided
        progressed = bool(tick.started or tick.entered or tick.decided or tick.finished or tick.released or tick.more)
        for delivery_id in tick.due:
            while True:
                outcome = send_once(runtime, delivery_id, now=now)
                report.sent += outcome.sent
                report.failed += outcome.failed
                report.suppressed += outcome.suppressed
                report.already += outcome.already
                moved = outcome.sent + outcome.failed + outcome.suppressed + outcome.already + outcome.deferred
                progressed = progressed or moved > 0
                if not outcome.more_due or moved == 0:
                    break
        if not progressed:
            break
    return report

