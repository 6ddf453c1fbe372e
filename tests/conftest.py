"""Shared fixtures: a migrated database on SQLite and on the local PostgreSQL server.

``db_url`` is parametrized over both databases. PostgreSQL tests skip when the
server is unreachable, except with COPILOT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot import db
from copilot.runtime import Runtime
from copilot.settings import Settings
from copilot.workspace import Workspace, load_workspace

PG_URL = os.environ.get("COPILOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("COPILOT_REQUIRE_POSTGRES", "0") == "1"

# Tables in dependency order (children first) for truncation between tests.
TABLES = [
    "notifications", "section_approvals",
    "send_ledger", "delivery_entries", "deliveries", "suppression_list", "login_throttle", "api_tokens", "audit_log",
    "finding_overrides", "findings", "answer_claims", "messages", "reviews", "plan_revisions",
    "conversations", "contact_aggregates", "events", "contacts", "workspaces", "users",
]


def _pg_admin_url(dbname: str) -> str:
    return sa.engine.make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL unreachable at {PG_URL}: {exc.__class__.__name__}"
        if REQUIRE_PG:
            pytest.fail(message + " (COPILOT_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"copilot_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_admin_url(name)
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database URL; runs the test once per database."""
    if request.param == "sqlite":
        path = tmp_path / "copilot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def demo_workspace() -> Workspace:
    return load_workspace()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, workspace_dir=None,
                    secret_key="test-secret-key-0123456789abcdef0123456789")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.start(settings)
    yield rt
    rt.close()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[Settings]:
    """Environment for ``copilot`` commands run in-process: this test's database and data folder."""
    from copilot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COPILOT_WORKSPACE_DIR", raising=False)
    monkeypatch.delenv("COPILOT_DEMO_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def row_count(db_url: str) -> Iterator[object]:
    """``row_count(Model)``: rows in that table of this test's database, read on a fresh connection."""
    engine = db.make_engine(db_url)

    def count(model: type) -> int:
        with Session(engine) as s:
            return int(s.exec(sa.select(sa.func.count()).select_from(model)).scalar_one())

    yield count
    engine.dispose()
