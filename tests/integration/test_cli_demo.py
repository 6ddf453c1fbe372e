"""``copilot demo``: builds once, reuses after, rebuilds on request, creates the demo users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from copilot import db
from copilot.cli import cli
from copilot.models import Contact, Event
from copilot.services.users import authenticate
from copilot.settings import Settings, get_settings


def test_demo_builds_then_reuses_then_rebuilds(cli_env: Settings, row_count: Callable[[type], int]) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--contacts", "300", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "built 300 contacts and" in first.output and "contacts/s" in first.output
    events = row_count(Event)
    assert row_count(Contact) == 300 and events > 2_000

    again = runner.invoke(cli, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "reusing the 300 contacts" in again.output
    assert (row_count(Contact), row_count(Event)) == (300, events)

    rebuilt = runner.invoke(cli, ["demo", "--contacts", "120", "--rebuild", "--no-serve", "--seed", "3"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert row_count(Contact) == 120


def test_demo_users_take_the_password_from_the_environment(cli_env: Settings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_DEMO_PASSWORD", "s3cret-pass")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["demo", "--contacts", "10", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.output
    engine = db.make_engine(cli_env.database_url)
    with Session(engine) as session:
        for name in ("marketer", "reviewer", "admin"):
            assert authenticate(session, name, "s3cret-pass") is not None
            assert authenticate(session, name, "demo") is None
    engine.dispose()


def test_demo_rejects_a_negative_size(cli_env: Settings) -> None:
    result = CliRunner().invoke(cli, ["demo", "--contacts", "-5", "--no-serve"])
    assert result.exit_code == 2
    assert "--contacts" in result.output
