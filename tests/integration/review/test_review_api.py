"""The review gate through the JSON API: a whole review by bearer tokens, the same refusals as the
pages, stale versions, findings named by segment, email and arm (in the API and on the review page),
and ids that cannot exist."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from litestar.testing import TestClient
from review_factory import SAMPLE_PLAN, finding, plan_dict
from ui_support import UI, soup

from copilot.services.api_tokens import issue_token

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def api(ui: UI) -> tuple[TestClient, dict[str, dict[str, str]]]:  # type: ignore[type-arg]
    w = ui.world
    headers = {name: {"Authorization": f"Bearer {issue_token(w.session, user.id or 0, label='t')[1]}"}
               for name, user in w.users.items()}
    w.session.commit()
    return ui.browser().client, headers


def test_a_whole_review_over_the_api(ui: UI, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    w = ui.world
    review = w.draft(w.users["mara"], [finding("FACT_PRICE")])
    w.session.commit()
    assert client.get("/api/reviews", headers=h["rita"]).json()["total"] == 0  # drafts are not listed
    submitted = client.post(f"/api/conversations/{review.conversation_id}/submit", headers=h["mara"], json={})
    assert submitted.status_code == 200 and submitted.json()["state"] == "in_review"
    queue = client.get("/api/reviews", headers=h["rita"]).json()
    assert [r["id"] for r in queue["reviews"]] == [review.id] and queue["reviews"][0]["block_count"] == 1
    detail = client.get(f"/api/reviews/{review.id}", headers=h["rita"]).json()
    assert set(detail["actions"]) >= {"approve", "reject", "request_changes", "override", "comment"}
    assert detail["gate"]["clear"] is False and detail["findings"][0]["resolution"] == "needs_override"
    version, fid = detail["version"], detail["findings"][0]["id"]
    refused = client.post(f"/api/reviews/{review.id}/approve", headers=h["rita"], json={"version": version})
    assert refused.status_code == 409 and "blocking finding" in refused.json()["message"]
    mine = client.post(f"/api/reviews/{review.id}/findings/{fid}/override", headers=h["mara"],
                       json={"version": version, "reason": "fine"})
    assert mine.status_code == 403 and mine.json()["message"] == "the author of a draft cannot override a finding on it"
    overridden = client.post(f"/api/reviews/{review.id}/findings/{fid}/override", headers=h["rita"],
                             json={"version": version, "reason": "price confirmed"})
    assert overridden.status_code == 200
    approved = client.post(f"/api/reviews/{review.id}/approve", headers=h["rita"],
                           json={"version": overridden.json()["version"], "comment": "good"}).json()
    assert approved["state"] == "approved" and approved["approved_hash"] == approved["revision_hash"]
    assert "schedule" not in client.get(f"/api/reviews/{review.id}", headers=h["mara"]).json()["actions"]
    scheduled = client.post(f"/api/reviews/{review.id}/schedule", headers=h["rob"],
                            json={"version": approved["version"], "at": "2031-05-04T09:30",
                                  "timezone": "Europe/Berlin"}).json()
    assert scheduled["state"] == "scheduled" and scheduled["scheduled_for"] == "2031-05-04T07:30:00+00:00"
    paused = client.post(f"/api/reviews/{review.id}/pause", headers=h["mara"],
                         json={"version": scheduled["version"], "reason": "stock"}).json()
    assert paused["paused"] is True and "resume" not in paused["actions"]
    resumed = client.post(f"/api/reviews/{review.id}/resume", headers=h["rita"],
                          json={"version": paused["version"]}).json()
    assert resumed["paused"] is False
    listed = client.get("/api/scheduled", headers=h["mara"]).json()
    assert [r["id"] for r in listed] == [review.id] and client.get("/api/scheduled", headers=h["mo"]).json() == []
    comment = client.post(f"/api/reviews/{review.id}/comments", headers=h["mo"], json={"text": "hi"})
    assert comment.status_code == 403
    assert client.post(f"/api/reviews/{review.id}/comments", headers=h["rita"],
                       json={"text": "ship it"}).status_code == 201
    cancelled = client.post(f"/api/reviews/{review.id}/cancel", headers=h["mara"],
                            json={"version": resumed["version"], "reason": "date moved"}).json()
    assert cancelled["state"] == "cancelled"
    history = [e["action"] for e in client.get(f"/api/reviews/{review.id}", headers=h["mara"]).json()["history"]]
    assert history == ["created", "submitted", "finding_overridden", "approved", "scheduled", "paused",
                       "resumed", "commented", "cancelled"]


def test_a_stale_version_is_a_409_and_changes_nothing(ui: UI, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    review = ui.world.submitted(ui.world.users["mara"])
    ui.world.session.commit()
    first = client.post(f"/api/reviews/{review.id}/request-changes", headers=h["rita"],
                        json={"version": review.version, "comment": "tone"})
    assert first.status_code == 200
    second = client.post(f"/api/reviews/{review.id}/approve", headers=h["rob"], json={"version": review.version})
    assert second.status_code == 409 and second.json()["error"] == "StaleRevisionError"
    assert client.get(f"/api/reviews/{review.id}", headers=h["rob"]).json()["state"] == "changes_requested"


def test_bad_bodies_and_filters_are_400s_that_name_the_problem(ui: UI, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    review = ui.world.submitted(ui.world.users["mara"])
    ui.world.session.commit()
    missing = client.post(f"/api/reviews/{review.id}/approve", headers=h["rita"], json={})
    assert missing.status_code == 400 and "version" in missing.json()["message"]
    bad = client.get("/api/reviews?status=sideways", headers=h["rita"])
    assert bad.status_code == 400 and "status must be 'all' or one of" in bad.json()["message"]
    empty = client.post(f"/api/reviews/{review.id}/reject", headers=h["rita"], json={"version": review.version})
    assert empty.status_code == 422 and empty.json()["message"] == "reason for rejecting is required"


@pytest.mark.parametrize("path", ["/api/reviews/2147483648", "/api/reviews/99999999999999999999999",
                                  "/api/conversations/9223372036854775808", "/api/conversations/1/revisions/2147483648",
                                  "/api/conversations/1/diff?before=1&after=99999999999"])
def test_ids_that_cannot_exist_are_404_not_500(ui: UI, api, path: str) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    ui.world.draft(ui.world.users["mara"])
    ui.world.session.commit()
    response = client.get(path, headers=h["mara"])
    assert response.status_code == 404, response.text
    assert response.json()["error"] in ("NotFoundError", "NotFound")


@sqlite_only
@pytest.mark.parametrize("path", ["/review/2147483648", "/chat/9223372036854775808", "/review/99999999999/approve"])
def test_pages_with_ids_that_cannot_exist_are_404(ui: UI, path: str) -> None:
    b = ui.browser("rita")
    response = b.post(path, {"version": 1}) if path.endswith("approve") else b.get(path)
    assert response.status_code == 404


def _two_email_plan() -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE_PLAN)
    data["trigger"]["steps"] = [{"type": "send", "message": "email_1"}, {"type": "delay", "hours": 48},
                                {"type": "send", "message": "email_2"}]
    for v in list(data["variants"]):
        data["variants"].append({**v, "message": "email_2", "subject": v["subject"] + " (reminder)"})
    return plan_dict(**data)


def test_findings_are_named_by_segment_email_and_arm_in_the_api_and_on_the_review_page(ui: UI, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    found = []
    for email in ("email_1", "email_2"):
        f = finding("TONE_CAPS", "warn", message="ALL CAPS")
        f["message_key"] = email  # the finding's email (findings.message_key)
        found.append(f)
    review = ui.world.submitted(ui.world.users["mara"], found, plan=_two_email_plan())
    ui.world.session.commit()
    findings = client.get(f"/api/reviews/{review.id}", headers=h["rita"]).json()["findings"]
    assert sorted((f["segment"], f["message_key"], f["variant"]) for f in findings) == [
        ("Lapsed buyers", "email_1", "A"), ("Lapsed buyers", "email_2", "A")]
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    assert sorted(w.get_text(strip=True) for w in page.select(".review-findings .where")) == [
        "Lapsed buyers · email_1 · arm A · subject", "Lapsed buyers · email_2 · arm A · subject"]
    # In the plan, each email's variant lists its own finding only.
    labels = [ul["aria-label"] for ul in page.select(".variant ul.findings") if ul.select(".finding")]
    assert labels == ["Findings for Lapsed buyers email_1 variant A", "Findings for Lapsed buyers email_2 variant A"]


def test_accounts_over_the_api_are_for_admins_and_never_lock_anyone_out(ui: UI, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    assert client.get("/api/users", headers=h["rita"]).status_code == 403
    made = client.post("/api/users", headers=h["ada"], json={"username": "nia", "password": "long-enough",
                                                              "role": "reviewer"})
    assert made.status_code == 201 and made.json()["role"] == "reviewer"
    again = client.post("/api/users", headers=h["ada"], json={"username": "nia", "password": "long-enough"})
    assert again.status_code == 400 and again.json()["message"] == "user 'nia' already exists"
    me = client.get("/api/users/me", headers=h["ada"]).json()
    selfish = client.patch(f"/api/users/{me['id']}", headers=h["ada"], json={"role": "marketer"})
    assert selfish.status_code == 409 and selfish.json()["error"] == "AccountStateError"
    off = client.patch(f"/api/users/{made.json()['id']}", headers=h["ada"], json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.patch("/api/users/999999", headers=h["ada"], json={"role": "admin"}).status_code == 404


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/conversations", {"title": "Spring\u0000sale"}),
    ("POST", "/api/conversations", {"workspace": "north\u0000peak"}),
    ("GET", "/api/workspaces/north%00peak", None),
    ("GET", "/api/reviews?status=in%00review", None),
])
def test_a_nul_character_anywhere_is_a_400_naming_where_not_a_500(ui: UI, api, method, path, body) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store U+0000; found by schemathesis as a 500 there."""
    client, h = api
    response = client.request(method, path, json=body, headers=h["mara"])
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidRequestError" and "NUL character" in response.json()["message"]


def test_a_nul_character_in_a_page_form_is_a_400_page_and_nothing_is_stored(ui: UI) -> None:
    b = ui.browser("mara")
    response = b.post("/chat", {"title": "Spring\u0000sale"})
    assert response.status_code == 400
    assert "the form field 'title' holds a NUL character" in soup(response).get_text()
    assert "Spring" not in soup(b.get("/chat")).get_text()
