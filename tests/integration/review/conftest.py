"""Fixtures for the review gate and review UI tests: a workspace row and named users."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).parent))

from review_factory import World, make_world  # noqa: E402


@pytest.fixture
def world(session: Session) -> World:
    w = make_world(session)
    w.user("mara", "marketer")
    w.user("mo", "marketer")
    w.user("rita", "reviewer")
    w.user("rob", "reviewer")
    w.user("ada", "admin")
    session.commit()
    return w


# -- the web UI -------------------------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402

from support.fakes import ScriptedPlanner  # noqa: E402
from ui_support import UI  # noqa: E402

from copilot.app import create_app  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from review_ui import ReviewUIPlugin  # noqa: E402


@pytest.fixture
def ui(runtime: Runtime, world: World) -> Iterator[UI]:
    planner = ScriptedPlanner()
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin(planner=planner, login_attempts_per_minute=1000)])
    # Clients are never entered as context managers: that would run the app's shutdown
    # (closing the shared runtime) once per person.
    yield UI(app, world, runtime, planner)
