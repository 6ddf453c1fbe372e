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

from support.fakes import demo_plan  # noqa: E402
from support.openai_stub import StubLLM, answering, llm_settings, serving  # noqa: E402
from ui_support import UI  # noqa: E402

from copilot.app import create_app  # noqa: E402
from copilot.planner.llm import LLMPlanner  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from copilot.tokens import prepare_tiktoken_cache  # noqa: E402
from review_ui import ReviewUIPlugin  # noqa: E402


@pytest.fixture(scope="session")
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


@pytest.fixture
def ui(runtime: Runtime, world: World, tmp_path: Path, _tiktoken_offline: None) -> Iterator[UI]:
    """The app with the review UI, planning with the model planner against a stubbed API that answers
    with the demo plan (``ui.stub``: queue other answers, read what the model was sent)."""
    stub = StubLLM(answering(demo_plan()))
    planner = LLMPlanner(llm_settings(tmp_path / "data"))
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin(planner=planner)])
    # One client runs the app (one event loop, one start-up and shut-down) for every person of the
    # test; each person has their own cookies (see Browser).
    with serving(stub):
        ui = UI(app, world, runtime, stub)
        try:
            yield ui
        finally:
            ui.close()
