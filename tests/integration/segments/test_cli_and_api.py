"""``copilot segments size`` and ``POST /api/workspaces/{slug}/segments/size`` on a small demo audience."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from copilot.app import create_app
from copilot.audience import build_demo_audience
from copilot.cli import cli
from copilot.models import User
from copilot.runtime import Runtime
from copilot.services.api_tokens import issue_token
from copilot.services.checking import size_in_workspace
from copilot.services.workspaces import get_workspace_record
from copilot.settings import get_settings

from .audience import NOW

PLAN_FILE = Path(__file__).parents[2] / "data" / "plans" / "winback.json"


@pytest.fixture
def audience(runtime: Runtime) -> Runtime:
    with runtime.session() as session:
        workspace_id = get_workspace_record(session, runtime.default_workspace.slug).id
    build_demo_audience(runtime.engine, runtime.default_workspace, workspace_id or 0, contacts=400, now=NOW)
    return runtime


@pytest.fixture
def client(audience: Runtime) -> Iterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[type-arg]
    with audience.session() as session:
        user = User(username="mia", role="marketer", password_hash="-")
        session.add(user)
        session.flush()
        token = issue_token(session, user.id, label="tests")[1]
        session.commit()
    with TestClient(create_app(runtime=audience, plugins=[])) as c:
        yield c, {"Authorization": f"Bearer {token}"}


def test_api_sizes_a_plan_like_the_service(client: tuple[TestClient, dict[str, str]], audience: Runtime) -> None:  # type: ignore[type-arg]
    http, auth = client
    plan = json.loads(PLAN_FILE.read_text())
    response = http.post("/api/workspaces/northpeak/segments/size", params={"now": NOW.isoformat(), "sample": 3},
                         json=plan, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    with audience.session() as session:
        expected = size_in_workspace(session, audience.default_workspace, plan, now=NOW, sample=3).sizing_dict()
    assert body == json.loads(json.dumps(expected))
    assert [s["name"] for s in body["segments"]] == ["Lapsed VIPs", "Lapsed shoe buyers"]
    assert body["audience"] == 400
    assert body["total"] == sum(s["size"] for s in body["segments"]) > 0
    assert body["segments"][1]["english"].startswith("contacts who placed an order with category running_shoes")


def test_api_refuses_an_invalid_plan_with_every_path(client: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    http, auth = client
    plan: dict[str, Any] = json.loads(PLAN_FILE.read_text())
    plan["segments"][0]["rule"]["rules"][0]["field"] = "loyalty_level"
    plan["variants"][0]["segment"] = "VIPs"
    response = http.post("/api/workspaces/northpeak/segments/size", json=plan, headers=auth)
    assert response.status_code == 422
    paths = [p["path"] for p in response.json()["problems"]]
    assert paths == ["segments[0].rule.rules[0].field", "variants[0].segment"]


def test_api_needs_a_token_and_a_known_workspace(client: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    http, auth = client
    plan = json.loads(PLAN_FILE.read_text())
    assert http.post("/api/workspaces/northpeak/segments/size", json=plan).status_code == 401
    assert http.post("/api/workspaces/nope/segments/size", json=plan, headers=auth).status_code == 404


@pytest.fixture
def run(audience: Runtime, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COPILOT_DATA_DIR", str(audience.settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", audience.settings.database_url)
    get_settings.cache_clear()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def test_cli_prints_sizes_overlaps_suppression_and_english(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    as_json = run("segments", "size", str(PLAN_FILE), "--json", "--now", NOW.isoformat())
    assert as_json.exit_code == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    human = run("segments", "size", str(PLAN_FILE), "--now", NOW.isoformat(), "--workspace", "northpeak")
    assert human.exit_code == 0, human.stderr
    lines = human.stdout.splitlines()
    header = next(line for line in lines if line.startswith("priority"))
    assert header.split()[:4] == ["priority", "segment", "send", "to"]
    vip = next(line for line in lines if line.lstrip().startswith("1  Lapsed VIPs"))
    assert vip.split()[3] == f"{report['segments'][0]['size']:,}"
    assert f"  Lapsed shoe buyers: {report['segments'][1]['english']}" in lines
    assert f"Total: {report['total']:,} contacts would get it." in lines
    assert any(line.startswith("Suppressed: ") for line in lines)


def test_cli_reports_plan_problems_on_stderr_with_exit_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    plan = json.loads(PLAN_FILE.read_text())
    plan["trigger"]["steps"][0]["message"] = "email_9"
    bad.write_text(json.dumps(plan))
    result = run("segments", "size", str(bad))
    assert result.exit_code == 2
    assert "trigger.steps[0].message: no variant has message 'email_9'" in result.stderr
    assert result.stdout == ""
