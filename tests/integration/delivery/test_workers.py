"""Real worker processes: `copilot worker` killed with SIGKILL mid-send and finished by
`copilot worker --until-idle` (nothing lost, nothing twice), and two workers on PostgreSQL + Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from support.smtp import Mailbox, smtp_server

from copilot.models import utcnow
from copilot.runtime import Runtime
from copilot.settings import Settings

from .support import add_contacts, ledger, outbox_messages, plan_data, review_state, schedule_campaign

REDIS_URL = os.environ.get("COPILOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("COPILOT_REQUIRE_REDIS", "0") == "1"
pytestmark = pytest.mark.slow


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=settings.database_url, COPILOT_DATA_DIR=str(settings.data_dir),
               COPILOT_SECRET_KEY=settings.secret_key or "", COPILOT_CONTROL_PERCENT="0", **extra)
    return env


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from copilot.cli import main; main()", "worker", *args],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and the processes it forked: no clean-up runs anywhere."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _until_idle(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", "from copilot.cli import main; main()", "worker", "--until-idle"],
                          env=env, capture_output=True, text=True, timeout=300, check=True)
    return done.stdout


def test_a_worker_killed_mid_send_loses_and_duplicates_nothing(runtime: Runtime) -> None:
    people = 3000
    add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(people)])
    review_id = schedule_campaign(runtime, plan_data(), at=utcnow() + timedelta(seconds=2))
    env = _env(runtime.settings)
    outbox = runtime.settings.outbox_path
    proc = _worker(env, "--workers", "1")
    try:
        _wait(lambda: outbox.exists() and sum(1 for _ in outbox.rglob("*.eml")) >= 300, 120, "the first sends")
    finally:
        _kill(proc)
    cut = sum(1 for _ in outbox.rglob("*.eml"))
    assert cut < people, "the worker finished before it could be killed; make the audience bigger"
    out = _until_idle(env)
    assert "idle after" in out
    files = outbox_messages(outbox)
    ids = Counter(m["Message-ID"] for m in files.values())
    rows = ledger(runtime, review_id)
    assert len(rows) == people and {r.status for r in rows} == {"sent"}
    assert len(files) == people and max(ids.values()) == 1  # every decision delivered, none twice
    assert set(ids) == {r.message_id for r in rows}
    assert review_state(runtime, review_id) == "sent"


def test_a_worker_killed_mid_send_over_smtp_resends_only_what_was_in_flight(runtime: Runtime) -> None:
    people = 1500
    add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(people)])
    with smtp_server(Mailbox(keep_bodies=False)) as (host, port, box):
        env = _env(runtime.settings, COPILOT_TRANSPORT="smtp", COPILOT_SMTP_HOST=host, COPILOT_SMTP_PORT=str(port),
                   COPILOT_SMTP_SECURITY="none")
        review_id = schedule_campaign(runtime, plan_data(), at=utcnow() + timedelta(seconds=2))
        proc = _worker(env, "--workers", "1")
        try:
            _wait(lambda: box.count >= 200, 120, "the first sends")
        finally:
            _kill(proc)
        assert box.count < people
        _until_idle(env)
        rows = ledger(runtime, review_id)
    assert {r.status for r in rows} == {"sent"}
    assert set(box.ids) == {r.message_id for r in rows}  # nothing lost
    # SMTP cannot be exactly-once against a server that keeps duplicates: only the message whose 250
    # came back in the instant before the kill may go twice (with the same Message-ID).
    assert box.duplicates() <= 1


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis unreachable at {REDIS_URL} (COPILOT_REQUIRE_REDIS=1): {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    yield REDIS_URL
    client.close()


@pytest.mark.postgres
def test_two_workers_on_postgres_and_redis_share_a_campaign_and_send_it_once(
        postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    from copilot.delivery.jobs import get_huey

    engine = sa.create_engine(postgres_url)
    tables = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as conn:  # the session's database, emptied as the db_url fixture does
        conn.execute(sa.text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, workspace_dir=None,
                        secret_key="test-secret-key-0123456789abcdef0123456789", redis_url=redis_url)
    runtime = Runtime.start(settings)
    huey = get_huey(settings)
    huey.flush()
    try:
        people = 3000
        add_contacts(runtime, [{"first_name": f"P{i}"} for i in range(people)])
        review_id = schedule_campaign(runtime, plan_data(), at=utcnow() + timedelta(seconds=2))
        env = _env(settings, REDIS_URL=redis_url, COPILOT_SEND_CONNECTIONS="2")
        workers = [_worker(env, "--workers", "1"), _worker(env, "--workers", "1")]
        try:
            _wait(lambda: review_state(runtime, review_id) == "sent", 180, "the campaign to finish")
        finally:
            for w in workers:
                _kill(w)
        rows = ledger(runtime, review_id)
        files = outbox_messages(settings.outbox_path)
        assert len(rows) == people and {r.status for r in rows} == {"sent"}
        assert len(files) == people and len({m["Message-ID"] for m in files.values()}) == people
        senders = {r.claimed_by.split(":")[1] for r in rows if r.claimed_by}
        assert len(senders) == 2, f"both workers should have sent part of it, got {senders}"
    finally:
        huey.flush()
        runtime.close()
