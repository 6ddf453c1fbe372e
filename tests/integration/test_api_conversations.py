"""The copilot's JSON API: bearer-token auth, a chat turn streamed over SSE, revisions, diff, restore, edits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select
from support.fakes import ScriptedPlanner, demo_plan, plan_result

from copilot.app import create_app
from copilot.models import Message, User
from copilot.services.api_tokens import issue_token, revoke_token


@pytest.fixture
def api(runtime):  # type: ignore[no-untyped-def]
    """An app with a scripted planner, and tokens for two marketers and a reviewer."""
    tokens: dict[str, str] = {}
    with runtime.session() as session:
        for name, role in (("mia", "marketer"), ("max", "marketer"), ("rex", "reviewer")):
            user = User(username=name, role=role, password_hash="-")
            session.add(user)
            session.flush()
            tokens[name] = issue_token(session, user.id, label="tests")[1]
        session.commit()
    planner = ScriptedPlanner()
    app = create_app(runtime=runtime, plugins=[])
    app.state["planner"] = planner
    with TestClient(app) as client:
        yield client, tokens, planner


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sse(client: TestClient, url: str, token: str, text: str) -> list[tuple[str, Any]]:  # type: ignore[type-arg]
    events: list[tuple[str, Any]] = []
    with client.stream("POST", url, json={"text": text}, headers=auth(token)) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
    return events


def test_every_conversation_route_needs_a_valid_token(api, runtime) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    missing = client.post("/api/conversations", json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/conversations", headers=auth("cpt_not-a-real-token")).status_code == 401
    assert client.post("/api/conversations/1/messages", json={"text": "hi"}).status_code == 401
    with runtime.session() as session:
        user = session.exec(select(User).where(User.username == "mia")).one()
        row, token = issue_token(session, user.id, label="short-lived")
        revoke_token(session, row.id)
        session.commit()
    assert client.get("/api/conversations", headers=auth(token)).status_code == 401
    assert client.get("/api/conversations", headers=auth(tokens["mia"])).status_code == 200


def test_a_chat_turn_streams_tokens_then_the_revision_and_revisions_can_be_compared(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, planner = api
    first = demo_plan()
    second = first.model_copy(update={"segments": first.segments[1:], "variants": first.variants[1:]})
    planner.enqueue(plan_result(first, reply="Two segments with the come-back offer.", prompt_tokens=900,
                                completion_tokens=200, cost_usd=0.00026),
                    plan_result(second, reply="Dropped the VIP segment."))
    created = client.post("/api/conversations", json={"title": "Spring winback"}, headers=auth(tokens["mia"]))
    assert created.status_code == 201
    conv = created.json()["id"]

    events = sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"}
    assert "".join(d["text"] for k, d in events if k == "token").strip() == "Two segments with the come-back offer."
    done = events[-1][1]
    assert done["planner"] == "scripted" and done["revision"]["number"] == 1
    assert done["message"]["prompt_tokens"] == 900 and done["conversation_usage"]["cost_usd"] == pytest.approx(0.00026)
    sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "drop the VIP segment")

    listed = client.get(f"/api/conversations/{conv}/revisions", headers=auth(tokens["mia"])).json()
    assert [(r["number"], r["segments"]) for r in listed] == [
        (1, ["Lapsed VIPs", "Lapsed customers"]), (2, ["Lapsed customers"])]
    one = client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["mia"])).json()
    assert one["plan"]["title"] == first.title and isinstance(one["findings"], list)
    diff = client.get(f"/api/conversations/{conv}/diff", params={"before": 1, "after": 2},
                      headers=auth(tokens["mia"])).json()
    assert diff["segments_removed"] == ["Lapsed VIPs"] and diff["segments_added"] == []
    restored = client.post(f"/api/conversations/{conv}/revisions/1/restore", headers=auth(tokens["mia"]))
    assert restored.status_code == 201 and restored.json()["number"] == 3
    assert restored.json()["content_hash"] == one["content_hash"]
    detail = client.get(f"/api/conversations/{conv}", headers=auth(tokens["mia"])).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant", "system"]
    assert detail["latest_revision"] == 3 and detail["usage"]["prompt_tokens"] == 900
    assert client.get(f"/api/conversations/{conv}/revisions/9", headers=auth(tokens["mia"])).status_code == 404


def test_a_bad_message_is_refused_before_any_stream_and_nothing_is_stored(api, runtime) -> None:  # type: ignore[no-untyped-def]
    client, tokens, planner = api
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    response = client.post(f"/api/conversations/{conv}/messages", json={"text": "   "}, headers=auth(tokens["mia"]))
    assert response.status_code == 422 and response.json()["error"] == "BriefError"
    assert planner.history == []
    with runtime.session() as session:
        assert session.exec(select(Message).where(Message.conversation_id == conv)).all() == []


def test_other_marketers_cannot_read_or_write_a_conversation_but_reviewers_can_read(api, runtime) -> None:  # type: ignore[no-untyped-def]
    client, tokens, planner = api
    planner.enqueue(plan_result(demo_plan()))
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")
    assert client.get(f"/api/conversations/{conv}", headers=auth(tokens["max"])).status_code == 403
    assert client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["max"])).status_code == 403
    posted = client.post(f"/api/conversations/{conv}/messages", json={"text": "mine now"}, headers=auth(tokens["max"]))
    assert posted.status_code == 403
    assert client.post(f"/api/conversations/{conv}/revisions/1/restore",
                       headers=auth(tokens["rex"])).status_code == 403  # reviewers read, never author
    assert client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["rex"])).status_code == 200
    with runtime.session() as session:
        assert [m.content for m in session.exec(select(Message).where(Message.role == "user"))] == [
            "win back lapsed runners"]


def test_editing_copy_over_the_api_makes_a_revision_and_a_stale_edit_is_a_409(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, planner = api
    planner.enqueue(plan_result(demo_plan()))
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")
    body = {"base_number": 1, "segment": "Lapsed customers", "changes": {"subject": "Come back for 15% off"}}
    edited = client.post(f"/api/conversations/{conv}/variants", json=body, headers=auth(tokens["mia"]))
    assert edited.status_code == 201 and edited.json()["number"] == 2
    assert edited.json()["changes"]["copy_changes"][0]["after"] == "Come back for 15% off"
    stale = client.post(f"/api/conversations/{conv}/variants", json=body, headers=auth(tokens["mia"]))
    assert stale.status_code == 409 and stale.json()["error"] == "StaleRevisionError"
