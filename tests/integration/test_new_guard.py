"""A new guard is one module plus one registry line: a toy guard added that way reports through the
chat's JSON API and through ``copilot guard``, with nothing else changed."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from copilot.app import create_app
from copilot.cli import cli
from copilot.models import User
from copilot.planner.offline import OfflinePlanner
from copilot.services.api_tokens import issue_token
from guards import registry

TOY = textwrap.dedent('''
    """A toy guard: it counts the words of every subject (a note, never a problem)."""
    from guards.finding import Code, Guard

    WORDS = Code("TOYWORDS_SUBJECT", "toywords", "info", "How many words the subject has")


    def check_variant(ctx):
        words = len(ctx.variant.subject.split())
        yield ctx.finding(WORDS, field="subject", message=f"the subject has {words} words",
                          evidence={"words": words})


    GUARD = Guard(name="toywords", description="Counts subject words.", codes=(WORDS,),
                  check_variant=check_variant)
''')


@pytest.fixture
def toy_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "toywords_guard.py").write_text(TOY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "GUARD_MODULES", (*registry.GUARD_MODULES, "toywords_guard"))  # the one line
    yield "TOYWORDS_SUBJECT"
    sys.modules.pop("toywords_guard", None)


def test_a_registered_toy_guard_reports_through_the_json_api(runtime, toy_guard: str) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as session:
        user = User(username="mia", role="marketer", password_hash="-")
        session.add(user)
        session.flush()
        token = issue_token(session, user.id, label="tests")[1]
        session.commit()
    app = create_app(runtime=runtime, plugins=[])
    app.state["planner"] = OfflinePlanner()
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        cid = client.post("/api/conversations", json={}, headers=headers).json()["id"]
        with client.stream("POST", f"/api/conversations/{cid}/messages", json={"text": "win back lapsed customers"},
                           headers=headers) as response:
            assert response.status_code == 200
            list(response.iter_lines())
        revision = client.get(f"/api/conversations/{cid}/revisions/1", headers=headers).json()
    plan = revision["plan"]
    toy = [f for f in revision["findings"] if f["code"] == toy_guard]
    assert len(toy) == len(plan["variants"])
    first = plan["variants"][0]
    mine = next(f for f in toy if (f["segment"], f["message_key"], f["variant"]) ==
                (first["segment"], first["message"], first["key"]))
    assert mine["guard"] == "toywords" and mine["evidence"] == {"words": len(first["subject"].split())}


def test_a_registered_toy_guard_reports_through_the_cli(toy_guard: str) -> None:
    plan_file = Path(__file__).parents[1] / "data" / "plans" / "winback.json"
    result = CliRunner().invoke(cli, ["guard", str(plan_file), "--json"], catch_exceptions=False)
    report = json.loads(result.stdout)
    plan = json.loads(plan_file.read_text())
    toy = [f for f in report["findings"] if f["code"] == toy_guard]
    assert len(toy) == len(plan["variants"])
    assert toy[0]["label"].endswith("· subject")
