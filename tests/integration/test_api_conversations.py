"""The copilot's JSON API: bearer-token auth, a chat turn streamed over SSE, revisions, diff, restore, edits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select
from support.fakes import demo_plan
from support.openai_stub import StubLLM, answering, llm_settings, planning_answer, serving

from copilot.app import create_app
from copilot.models import Message, User
from copilot.planner.llm import LLMPlanner
from copilot.services.api_tokens import issue_token, revoke_token
from copilot.tokens import estimate_cost, prepare_tiktoken_cache


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


@pytest.fixture
def api(runtime, tmp_path):  # type: ignore[no-untyped-def]
    """An app whose model planner talks to a stubbed API (answering with the demo plan unless a test
    queues other answers), and tokens for two marketers and a reviewer."""
    tokens: dict[str, str] = {}
    with runtime.session() as session:
        for name, role in (("mia", "marketer"), ("max", "marketer"), ("rex", "reviewer")):
            user = User(username=name, role=role, password_hash="-")
            session.add(user)
            session.flush()
            tokens[name] = issue_token(session, user.id, label="tests")[1]
        session.commit()
    stub = StubLLM(answering(demo_plan()))
    app = create_app(runtime=runtime, plugins=[])
    app.state["planner"] = LLMPlanner(llm_settings(tmp_path / "data"))
    with serving(stub), TestClient(app) as client:
        yield client, tokens, stub


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
    client, tokens, stub = api
    first = demo_plan()
    second = first.model_copy(update={"segments": first.segments[1:], "variants": first.variants[1:]})
    stub.queue("plan", planning_answer(first, reply="Two segments with the come-back offer."))
    stub.queue("revise", planning_answer(second, reply="Dropped the VIP segment.", copy_to_write=[]))
    created = client.post("/api/conversations", json={"title": "Spring winback"}, headers=auth(tokens["mia"]))
    assert created.status_code == 201
    conv = created.json()["id"]

    events = sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"}
    assert "".join(d["text"] for k, d in events if k == "token").strip() == "Two segments with the come-back offer."
    done = events[-1][1]
    assert done["planner"] == "llm:gpt-4o-mini" and done["revision"]["number"] == 1
    prompt_tokens, completion_tokens = stub.billed()  # what the API billed for the turn's calls
    assert stub.kinds == ["plan", "copy", "copy"] and prompt_tokens > 0
    assert (done["message"]["prompt_tokens"], done["message"]["completion_tokens"]) == (prompt_tokens,
                                                                                        completion_tokens)
    prices = client.app.state["planner"].settings
    assert done["conversation_usage"]["cost_usd"] == pytest.approx(estimate_cost(
        prompt_tokens, completion_tokens, prompt_per_mtok=prices.price_prompt_per_mtok,
        completion_per_mtok=prices.price_completion_per_mtok), abs=1e-6)
    sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "drop the VIP segment")
    assert stub.kinds[3:] == ["revise"]  # the kept segment's copy is not rewritten

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
    assert detail["latest_revision"] == 3 and detail["usage"]["prompt_tokens"] == stub.billed()[0]
    assert client.get(f"/api/conversations/{conv}/revisions/9", headers=auth(tokens["mia"])).status_code == 404


def test_a_bad_message_is_refused_before_any_stream_and_nothing_is_stored(api, runtime) -> None:  # type: ignore[no-untyped-def]
    client, tokens, stub = api
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    response = client.post(f"/api/conversations/{conv}/messages", json={"text": "   "}, headers=auth(tokens["mia"]))
    assert response.status_code == 422 and response.json()["error"] == "BriefError"
    assert stub.bodies == []  # the model was never asked
    with runtime.session() as session:
        assert session.exec(select(Message).where(Message.conversation_id == conv)).all() == []


def test_other_marketers_cannot_read_or_write_a_conversation_and_reviewers_read_it_once_submitted(api, runtime) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    assert sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")[-1][0] == "done"
    assert client.get(f"/api/conversations/{conv}", headers=auth(tokens["max"])).status_code == 403
    assert client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["max"])).status_code == 403
    posted = client.post(f"/api/conversations/{conv}/messages", json={"text": "mine now"}, headers=auth(tokens["max"]))
    assert posted.status_code == 403
    # Nobody but its author reads a draft before it is submitted; then reviewers read it, and never write.
    assert client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["rex"])).status_code == 403
    assert client.post(f"/api/conversations/{conv}/submit", headers=auth(tokens["mia"])).status_code == 200
    assert client.post(f"/api/conversations/{conv}/revisions/1/restore",
                       headers=auth(tokens["rex"])).status_code == 403
    assert client.get(f"/api/conversations/{conv}/revisions/1", headers=auth(tokens["rex"])).status_code == 200
    with runtime.session() as session:
        assert [m.content for m in session.exec(select(Message).where(Message.role == "user"))] == [
            "win back lapsed runners"]


def test_editing_copy_over_the_api_makes_a_revision_and_a_stale_edit_is_a_409(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    assert sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")[-1][0] == "done"
    body = {"base_number": 1, "segment": "Lapsed customers", "changes": {"subject": "Come back for 15% off"}}
    edited = client.post(f"/api/conversations/{conv}/variants", json=body, headers=auth(tokens["mia"]))
    assert edited.status_code == 201 and edited.json()["number"] == 2
    assert edited.json()["changes"]["copy_changes"][0]["after"] == "Come back for 15% off"
    stale = client.post(f"/api/conversations/{conv}/variants", json=body, headers=auth(tokens["mia"]))
    assert stale.status_code == 409 and stale.json()["error"] == "StaleRevisionError"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("change, field, text", [
    ({"segment": "Nobody"}, "segment", "the plan has no segment 'Nobody' with copy"),
    ({"message": "email_9"}, "message", "segment 'Lapsed customers' has no email 'email_9'"),
    ({"key": "Z"}, "key", "has no arm 'Z'"),
])
def test_a_variant_edit_naming_what_the_plan_lacks_is_a_422_saying_which_part(api, change, field, text) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    conv = client.post("/api/conversations", json={}, headers=auth(tokens["mia"])).json()["id"]
    assert sse(client, f"/api/conversations/{conv}/messages", tokens["mia"], "win back lapsed runners")[-1][0] == "done"
    body = {"base_number": 1, "segment": "Lapsed customers", "changes": {"subject": "Come back"}, **change}
    response = client.post(f"/api/conversations/{conv}/variants", json=body, headers=auth(tokens["mia"]))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "PlanValidationError" and text in response.json()["message"]
    assert response.json()["problems"][0]["path"] == field
    assert client.get(f"/api/conversations/{conv}/revisions", headers=auth(tokens["mia"])).json()[-1]["number"] == 1
