"""Fixtures for the tests against a real model: llama.cpp's server on loopback.

The session starts one server through ``scripts/local_model.sh`` (its own run
folder, a free port) and stops it at the end. When the server is not installed
or cannot start, the tests skip with the reason, except with
COPILOT_REQUIRE_LOCAL_MODEL=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from .common import FIGURES, LocalServer
from .proxy import RecordingProxy

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local_model.sh"
REQUIRE = os.environ.get("COPILOT_REQUIRE_LOCAL_MODEL", "0") == "1"


def _unavailable(message: str) -> None:
    if REQUIRE:
        pytest.fail(message + " (COPILOT_REQUIRE_LOCAL_MODEL=1)")
    pytest.skip(message)


def _script(command: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COPILOT_LOCAL_MODEL_RUN_DIR": str(run_dir)}
    return subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=300)


def _status(run_dir: Path) -> dict[str, str]:
    lines = _script("status", run_dir).stdout.splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One llama-server for the whole session, stopped by its pid afterwards."""
    run_dir = tmp_path_factory.mktemp("local_model")
    if _status(run_dir).get("installed") != "1":
        _unavailable("local model not installed: run `bash scripts/local_model.sh install` (builds llama-server once)")
    started = _script("start", run_dir)
    if started.returncode != 0:
        _unavailable(f"local model server did not start: {started.stderr.strip()[-2000:]}")
    status = _status(run_dir)
    try:
        yield LocalServer(base_url=status["base_url"], port=int(status["port"]), pid=int(status["pid"]),
                          log=Path(status["log"]))
    finally:
        _script("stop", run_dir)


@pytest.fixture(scope="session")
def sync_client(local_server: LocalServer) -> Iterator[OpenAI]:
    # A plain httpx client, as the product uses (openai 3.x's default transport differs).
    with httpx.Client(timeout=120) as http:
        yield OpenAI(api_key="local", base_url=local_server.base_url, http_client=http, max_retries=0)


@pytest.fixture
async def async_client(local_server: LocalServer) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="local", base_url=local_server.base_url,
                       http_client=httpx.AsyncClient(timeout=120), max_retries=0)


@pytest.fixture
def recording_proxy(local_server: LocalServer) -> Iterator[RecordingProxy]:
    """A loopback TCP proxy in front of the server that keeps every request's bytes."""
    with RecordingProxy("127.0.0.1", local_server.port) as proxy:
        yield proxy


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "local model figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
