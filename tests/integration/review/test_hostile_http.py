"""Hostile input over HTTP: a body larger than the server reads is a 413 with a clear message
(JSON API and pages alike), and a hostile template in the live check is a finding, not a 500."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from support.fakes import demo_plan
from ui_support import UI, soup

from copilot.services.api_tokens import issue_token

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _token(ui: UI, name: str) -> dict[str, str]:
    token = issue_token(ui.world.session, ui.world.users[name].id or 0, label="t")[1]
    ui.world.session.commit()
    return {"Authorization": f"Bearer {token}"}


@sqlite_only
def test_a_body_over_the_limit_is_a_413_naming_the_limit(ui: UI) -> None:
    limit = ui.runtime.settings.max_request_bytes
    client: TestClient = ui.browser().client  # type: ignore[type-arg]
    big = {"title": "x" * (limit + 1000)}
    response = client.post("/api/conversations", json=big, headers=_token(ui, "mara"))
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "RequestEntityTooLarge" and body["limit_bytes"] == limit
    assert f"{limit:,} bytes" in body["message"] and "COPILOT_MAX_REQUEST_BYTES" in body["message"]
    # Just under the limit is read (and refused or accepted for what it says, not for its size).
    fits = client.post("/api/conversations", json={"title": "x" * 50_000}, headers=_token(ui, "mara"))
    assert fits.status_code != 413


@sqlite_only
def test_a_page_form_over_the_limit_is_a_413_and_nothing_is_stored(ui: UI) -> None:
    b = ui.browser("mara")
    limit = ui.runtime.settings.max_request_bytes
    response = b.post("/chat", {"title": "Spring " + "x" * limit})
    assert response.status_code == 413
    assert "Spring" not in soup(b.get("/chat")).get_text()


@sqlite_only
@pytest.mark.parametrize("body, code", [
    ("{% if first_name %}" * 3000 + "Hi" + "{% endif %}" * 3000, "FB_TEMPLATE_LIMIT"),
    ("Hi {{ first_name }}, {{7+7}} reasons to come back.", "FB_NOT_A_MERGE_FIELD"),
])
def test_a_hostile_template_in_the_live_check_is_a_finding_not_a_500(ui: UI, body: str, code: str) -> None:
    b = ui.browser("mara")
    response = b.post("/chat", {"title": "Spring"})
    cid = int(response.headers["location"].rsplit("/", 1)[1])
    b.post(f"/chat/{cid}/messages", {"text": "winback"})
    v = demo_plan().variants[1]
    response = b.post(f"/chat/{cid}/variants/1/check", {
        "base_number": 1, "subject": v.subject, "preheader": v.preheader, "body": body,
        "cta_text": v.cta_text, "cta_url": v.cta_url}, htmx=True)
    assert response.status_code == 200, response.text[:500]
    assert code in {li["data-code"] for li in soup(response).select("li.finding")}
