"""Migrations: empty database to head, previous revision to head, models match the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import copilot.models  # noqa: F401
from copilot import db
from copilot.migrations.env_filters import include_name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = "copilot_mig_" + tmp_path.name[-20:].lower().replace("-", "_")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_empty_database_to_head(empty_url: str) -> None:
    engine = db.make_engine(empty_url)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert {"users", "contacts", "events", "reviews", "audit_log"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_from_previous_revision_keeps_data(empty_url: str) -> None:
    engine = db.make_engine(empty_url)
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (username, display_name, password_hash, role, is_active, created_at) "
            "VALUES ('old', 'Old', 'x', 'admin', true, CURRENT_TIMESTAMP)"
        ))
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT username FROM users")).scalar_one() == "old"
    engine.dispose()


def test_models_match_migrations(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        # The segment engine's per-catalog attribute indexes are created at run time, not by migrations.
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    # Server defaults and index naming are not compared; tables, columns and types are.
    assert diff == []


def test_audit_log_is_append_only(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_log (at, entity_type, action, data) VALUES (CURRENT_TIMESTAMP, 'review', 'created', '{}')"
        ))
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT action FROM audit_log")).scalar_one() == "created"


def test_0009_goes_down_and_up_again_and_the_review_gate_triggers_survive(empty_url: str) -> None:
    engine = db.make_engine(empty_url)
    db.upgrade(engine)

    def triggers() -> list[str]:
        query = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if engine.dialect.name == "sqlite"
                 else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        with engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(sa.text(query)))

    before = triggers()
    db.downgrade(engine, "0007")
    assert "login_throttle" not in sa.inspect(engine).get_table_names()
    assert "paused_at" not in {c["name"] for c in sa.inspect(engine).get_columns("reviews")}
    assert triggers() == before
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision() and triggers() == before
    engine.dispose()
