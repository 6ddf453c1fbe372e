"""The web UI's routes on SQLite and PostgreSQL: accounts, every page, every action as a plain
form POST and as an htmx request, the authorization matrix, CSRF, escaping of hostile text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from review_factory import finding, plan_dict
from sqlmodel import select
from support.fakes import demo_plan
from support.openai_stub import planning_answer
from ui_support import UI, Browser, csrf_of, soup

from copilot.models import AuditLog, Message, PlanRevision, Review
from copilot.services import review as gate

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
# Accounts, roles, CSRF, escaping and chat plumbing live in the web layer, not in SQL: they run
# on SQLite only. The gate's database behaviour runs on both databases in test_review_gate.py, and
# the tests here that exercise the queue's SQL, the actions and the schedule run on both.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def state_of(ui: UI, review_id: int) -> str:
    with ui.runtime.session() as s:
        return gate.get_review(s, review_id).state


def version_of(ui: UI, review_id: int) -> int:
    with ui.runtime.session() as s:
        return gate.get_review(s, review_id).version


def submitted(ui: UI, findings: list[dict] | None = None, author: str = "mara", **kw: Any) -> Review:
    review = ui.world.submitted(ui.world.users[author], findings, **kw)
    ui.world.session.commit()
    return review


@sqlite_only
# -- accounts -----------------------------------------------------------------------------------

def test_login_page_has_labelled_fields_and_a_log_in_button(ui: UI) -> None:
    page = soup(ui.browser().get("/login"))
    labels = {label.get_text(strip=True): label["for"] for label in page.select("form label")}
    assert labels == {"Username": "username", "Password": "password"}
    assert page.select_one("#password")["type"] == "password"
    assert [b.get_text(strip=True) for b in page.select("form button")] == ["Log in"]


@sqlite_only
def test_login_sets_a_server_side_session_cookie_that_is_httponly_and_lax(ui: UI) -> None:
    b = ui.browser()
    b.get("/login")
    response = b.post("/login", {"username": "rita", "password": "secret-pw"})
    assert response.status_code == 303 and response.headers["location"] == "/review"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("copilot_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert len(session_id) == 64 and "rita" not in cookie  # only a random id travels; data stays on the server


@sqlite_only
def test_secure_cookies_setting_marks_session_and_csrf_cookies_secure(runtime, world) -> None:  # type: ignore[no-untyped-def]
    from copilot.app import create_app
    from review_ui import ReviewUIPlugin

    runtime.settings = runtime.settings.replace(secure_cookies=True)
    b = Browser(create_app(runtime=runtime, plugins=[ReviewUIPlugin()]))
    first = b.client.get("/login")
    assert all("Secure" in c for c in first.headers.get_list("set-cookie"))
    b.token = b.token or csrf_of(first.text)
    response = b.post("/login", {"username": "rita", "password": "secret-pw"})
    assert all("Secure" in c for c in response.headers.get_list("set-cookie") if c.startswith("copilot_session"))


@sqlite_only
def test_login_replaces_a_planted_session_id(ui: UI) -> None:
    b = ui.browser()
    b.get("/login")
    b.client.cookies.set("copilot_session", "a" * 64, domain="testserver.local")
    response = b.post("/login", {"username": "mara", "password": "secret-pw"})
    new_id = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("copilot_session=")).split(";")[0].split("=", 1)[1]
    assert new_id != "a" * 64


@sqlite_only
def test_wrong_password_is_refused_without_saying_which_part_was_wrong(ui: UI) -> None:
    b = ui.browser()
    b.get("/login")
    response = b.post("/login", {"username": "mara", "password": "nope"})
    assert response.status_code == 401
    assert soup(response).select_one(".login [role=alert]").get_text(strip=True) == "Wrong username or password."
    assert b.get("/chat", follow_redirects=False).status_code == 303


@sqlite_only
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_never_redirects_off_site(ui: UI, target: str) -> None:
    b = ui.browser()
    b.get("/login")
    response = b.post("/login", {"username": "mara", "password": "secret-pw", "next": target})
    assert response.headers["location"] == "/chat"


@sqlite_only
def test_logout_ends_the_session(ui: UI) -> None:
    b = ui.browser("mara")
    assert [btn.get_text(strip=True) for btn in soup(b.get("/logout")).select("main form button")] == [
        "Log out", "Log out everywhere"]
    assert b.post("/logout").headers["location"] == "/login"
    response = b.get("/chat", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@sqlite_only
@pytest.mark.parametrize("path", ["/chat", "/review", "/scheduled", "/review/1", "/chat/1"])
def test_pages_need_a_login(ui: UI, path: str) -> None:
    response = ui.browser().get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


@sqlite_only
def test_htmx_request_without_session_is_told_to_redirect(ui: UI) -> None:
    response = ui.browser().client.get("/review", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login?next=/review"


@sqlite_only
def test_pages_send_a_content_security_policy_without_inline_scripts(ui: UI) -> None:
    response = ui.browser("rita").get("/review")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    scripts = soup(response).select("script")
    assert scripts and all(s.get("src", "").startswith("/static/") and not s.string for s in scripts)


@sqlite_only
def test_vendored_htmx_and_sse_extension_are_served_locally(ui: UI) -> None:
    b = ui.browser()
    htmx = b.get("/static/htmx.min.js")
    sse = b.get("/static/sse.min.js")
    assert htmx.status_code == 200 and 'version:"2.0.11"' in htmx.text.replace(" ", "")
    assert sse.status_code == 200 and 'defineExtension("sse"' in sse.text


# -- authorization (every cell of docs/access.md is walked in test_access_matrix.py) -------------------------------------------------------------------

def _prepare(ui: UI, action: str, author: str) -> tuple[Review, str, dict[str, Any]]:
    """A review in the state the action needs, the URL to post to and the form."""
    w, s = ui.world, ui.world.session
    if action == "submit":
        review = w.draft(w.users[author])
        s.commit()
        return review, f"/chat/{review.conversation_id}/submit", {}
    if action in ("override", "acknowledge"):
        f = finding("FACT_PRICE") if action == "override" else finding("PROV_UNEXPECTED", "warn", needs_ack=True)
        review = submitted(ui, [f], author=author)
        fid = gate.gate_status(s, review).blocking or gate.gate_status(s, review).unacknowledged
        return review, f"/review/{review.id}/findings/{fid[0].id}/{action}", {"version": review.version,
                                                                              "reason": "checked with legal"}
    review = submitted(ui, author=author)
    if action in ("schedule", "cancel"):
        gate.approve(s, review, w.users["rob"] if author != "rob" else w.users["rita"], review.version)
        if action == "cancel":
            gate.schedule(s, review, w.users["rob"], review.version, at="2031-06-01T09:00", timezone="UTC")
        s.commit()
    form: dict[str, Any] = {"version": review.version, "comment": "please fix", "reason": "not now"}
    if action == "schedule":
        form.update(at="2031-06-01T09:00", timezone="Europe/Berlin")
    path = {"approve": "approve", "request_changes": "request-changes", "reject": "reject", "schedule": "schedule",
            "cancel": "cancel"}[action]
    return review, f"/review/{review.id}/{path}", form


EXPECTED_STATE = {"submit": "in_review", "approve": "approved", "request_changes": "changes_requested",
                  "reject": "rejected", "override": "in_review", "acknowledge": "in_review",
                  "schedule": "scheduled", "cancel": "cancelled"}


@sqlite_only
@pytest.mark.parametrize("action", ["approve", "request_changes", "reject", "override"])
def test_an_admin_author_cannot_decide_on_their_own_draft(ui: UI, action: str) -> None:
    review, path, form = _prepare(ui, action, "ada")
    response = ui.browser("ada").post(path, form)
    assert response.status_code == 403
    assert "author of a draft cannot" in soup(response).select_one("main .flash").get_text()
    assert state_of(ui, review.id) == "in_review"


@sqlite_only
@pytest.mark.parametrize("action", sorted(EXPECTED_STATE))
@pytest.mark.parametrize("how", ["form", "htmx"])
def test_missing_csrf_token_is_refused_and_changes_nothing(ui: UI, action: str, how: str) -> None:
    review, path, form = _prepare(ui, action, "mara")
    before = (state_of(ui, review.id), version_of(ui, review.id))
    actor = "mara" if action in ("submit", "cancel") else "rita"
    response = ui.browser(actor).post(path, form, csrf=False, htmx=how == "htmx")
    assert response.status_code == 403
    assert (state_of(ui, review.id), version_of(ui, review.id)) == before


@sqlite_only
def test_logout_and_login_need_csrf_too(ui: UI) -> None:
    b = ui.browser("mara")
    assert b.post("/logout", csrf=False).status_code == 403
    assert b.get("/chat", follow_redirects=False).status_code == 200
    assert ui.browser().post("/login", {"username": "mara", "password": "secret-pw"}, csrf=False).status_code == 403


# -- review queue --------------------------------------------------------------------------------

def _queue_titles(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.get_text(strip=True) for a in soup(response).select("tr.queue-row td:first-child a")]


def test_queue_lists_drafts_in_review_oldest_first_with_risk_counts(ui: UI) -> None:
    submitted(ui, title="First")
    submitted(ui, [finding("FACT_PRICE"), finding("TONE_CAPS", "warn")], title="Risky")
    ui.world.draft(ui.world.users["mara"], title="Not submitted")
    ui.world.session.commit()
    response = ui.browser("rita").get("/review")
    assert _queue_titles(response) == ["First", "Risky"]
    risky = soup(response).select("tr.queue-row")[1]
    assert [td.get_text(strip=True) for td in risky.select("td")[3:5]] == ["1", "1"]


def test_queue_filters_by_status_author_and_risk_and_sorts_by_risk(ui: UI) -> None:
    submitted(ui, title="Clean one")
    submitted(ui, [finding("TONE_CAPS", "warn")], title="Warn one")
    submitted(ui, [finding("FACT_PRICE")], title="Block one", author="mo")
    rejected = submitted(ui, title="Rejected one")
    gate.reject(ui.world.session, rejected, ui.world.users["rita"], rejected.version, reason="no")
    ui.world.session.commit()
    b = ui.browser("rita")
    assert _queue_titles(b.get("/review?sort=risk")) == ["Block one", "Warn one", "Clean one"]
    assert _queue_titles(b.get("/review?risk=block")) == ["Block one"]
    assert _queue_titles(b.get("/review?risk=clean")) == ["Clean one"]
    assert _queue_titles(b.get("/review?risk=warn")) == ["Warn one"]
    assert _queue_titles(b.get(f"/review?author={ui.world.users['mo'].id}")) == ["Block one"]
    assert _queue_titles(b.get("/review?status=rejected")) == ["Rejected one"]
    assert len(_queue_titles(b.get("/review?status=all"))) == 4


def test_queue_pages_fifty_at_a_time(ui: UI) -> None:
    for i in range(53):
        submitted(ui, title=f"Draft {i:02d}")
    b = ui.browser("rita")
    first, second = b.get("/review"), b.get("/review?page_number=2")
    assert len(_queue_titles(first)) == 50 and _queue_titles(second) == ["Draft 50", "Draft 51", "Draft 52"]
    assert soup(first).select_one("caption").get_text(strip=True) == "53 drafts · page 1 of 2"
    assert soup(first).select_one("a[rel=next]")["href"].endswith("page_number=2")


@sqlite_only
def test_htmx_filter_returns_only_the_queue_fragment(ui: UI) -> None:
    submitted(ui, title="Only one")
    response = ui.browser("rita").client.get("/review?status=in_review", headers={"HX-Request": "true"})
    page = soup(response)
    assert page.select_one("html") is None and page.select_one("div#queue table")
    assert _queue_titles(response) == ["Only one"]


@sqlite_only
def test_bad_queue_filter_is_a_clear_error(ui: UI) -> None:
    response = ui.browser("rita").get("/review?sort=sideways")
    assert response.status_code == 400
    assert "sort must be one of age, newest, risk" in soup(response).get_text()


def test_queue_rows_carry_no_approve_form_and_an_unconfirmed_approve_is_refused(ui: UI) -> None:
    """Approving happens on the open draft after a confirmation, never from the queue list (issue 20)."""
    review = submitted(ui, title="Quick")
    b = ui.browser("rita")
    queue = soup(b.get("/review"))
    assert queue.select_one(f"#row-{review.id}") and not queue.select("#queue form")
    for form in ({"version": review.version}, {"version": review.version, "confirm": " "}):
        response = b.post(f"/review/{review.id}/approve", form, htmx=True)
        assert response.status_code == 422 and "approving needs confirmation" in soup(response).get_text()
    assert state_of(ui, review.id) == "in_review"


# -- review detail and actions --------------------------------------------------------------------

def test_detail_shows_plan_findings_diff_and_history(ui: UI) -> None:
    w = ui.world
    review = w.draft(w.users["mara"], [finding("FACT_PRICE", span=(8, 11), message="15% is not the offer",
                                               fix="Say 10%")])
    conv = w.session.get(__import__("copilot.models", fromlist=["Conversation"]).Conversation, review.conversation_id)
    changed = plan_dict()
    changed["variants"][0]["subject"] = "We saved 15% for you"
    w.revise(conv, changed, [finding("FACT_PRICE", span=(9, 12), message="15% is not the offer", fix="Say 10%")])
    gate.submit(w.session, review.id, w.users["mara"], gate.get_review(w.session, review.id).version)
    w.session.commit()
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    assert page.select_one("#review-state").get_text(strip=True) == "In review"
    assert page.select_one(".gate-blocked").get_text(strip=True).startswith("1 blocking finding")
    [mark] = page.select(".field-subject mark.sev-block")
    assert mark.contents[0] == "15%" and "15% is not the offer" in mark.select_one("[role=tooltip]").get_text()
    assert mark["tabindex"] == "0"  # message and fix show on focus, not only on hover
    diff = page.select(".copy-diff tbody tr")
    assert [td.get_text() for td in diff[0].select("td")] == [
        "Lapsed buyers / A", "subject", "We saved you 15% for spring", "We saved 15% for you"]
    # Word-level: only the words that moved are struck and added, not the whole subject.
    assert [d.get_text() for d in diff[0].select("del")] == [" you", "spring"]
    assert [i.get_text() for i in diff[0].select("ins")] == ["you"]
    assert [li.select_one("b").get_text() for li in page.select(".audit-log li")] == ["system", "system", "Mara"]
    assert [s.get_text(strip=True) for s in page.select("table.segments th[scope=row]")] == [
        "Lapsed buyers", "Everyone else"]
    assert [b.get_text(strip=True) for b in page.select(".actions button")] == [
        "Approve…", "Request changes", "Reject", "Add comment"]
    assert page.select_one("#approve-open").has_attr("disabled") and not page.select("#approve-dialog")
    assert page.select_one("form.override button").get_text(strip=True) == "Override"
    assert page.select_one(".review-findings .where").get_text(strip=True) == "Lapsed buyers · arm A · subject"


def test_approve_is_refused_while_a_block_stands_then_override_and_approve(ui: UI) -> None:
    review = submitted(ui, [finding("FACT_PRICE")])
    b = ui.browser("rita")
    refused = b.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash})
    assert refused.status_code == 409 and "FACT_PRICE" in soup(refused).get_text()
    fid = gate.gate_status(ui.world.session, review).blocking[0].id
    no_reason = b.post(f"/review/{review.id}/findings/{fid}/override", {"version": review.version, "reason": ""})
    assert no_reason.status_code == 422 and "reason is required" in soup(no_reason).get_text()
    ok = b.post(f"/review/{review.id}/findings/{fid}/override", {"version": review.version,
                                                                "reason": "10% is right; guard misread"},
                htmx=True)
    main = soup(ok)
    assert ok.status_code == 200 and main.select_one("#review-main .resolved").get_text(strip=True) == \
        "Overridden: 10% is right; guard misread"
    version = int(main.select_one("#approve-form input[name=version]")["value"])
    confirm = main.select_one("#approve-form input[name=confirm]")["value"]
    approved = b.post(f"/review/{review.id}/approve", {"version": version, "comment": "ok", "confirm": confirm},
                      htmx=True)
    assert soup(approved).select_one("#review-state").get_text(strip=True) == "Approved"
    with ui.runtime.session() as s:
        entries = s.exec(select(AuditLog).where(AuditLog.entity_id == review.id)).all()
        assert [e.action for e in entries][-2:] == ["finding_overridden", "approved"]


def test_stale_form_gets_this_draft_changed_and_nothing_is_overwritten(ui: UI) -> None:
    review = submitted(ui)
    rita, rob = ui.browser("rita"), ui.browser("rob")
    assert rob.post(f"/review/{review.id}/reject", {"version": review.version, "reason": "off-brand"}).status_code == 303
    response = rita.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash})
    assert response.status_code == 409 and "this draft changed" in soup(response).get_text()
    assert state_of(ui, review.id) == "rejected"
    htmx = rita.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash},
                     htmx=True)
    assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "#flash"
    assert "this draft changed" in soup(htmx).select_one(".flash-stale").get_text()


@sqlite_only
def test_request_changes_needs_a_comment_and_reject_a_reason(ui: UI) -> None:
    review = submitted(ui)
    b = ui.browser("rita")
    empty = b.post(f"/review/{review.id}/request-changes", {"version": review.version, "comment": " "})
    assert empty.status_code == 422 and "comment explaining the changes is required" in soup(empty).get_text()
    assert b.post(f"/review/{review.id}/request-changes",
                  {"version": review.version, "comment": "name the end date"}).status_code == 303
    assert state_of(ui, review.id) == "changes_requested"


def test_acknowledge_a_warning_that_needs_it(ui: UI) -> None:
    review = submitted(ui, [finding("PROV_UNEXPECTED", "warn", needs_ack=True)])
    b = ui.browser("rita")
    page = soup(b.get(f"/review/{review.id}"))
    assert page.select_one(".gate-ack") and page.select_one("form.acknowledge button").get_text() == "Acknowledge"
    fid = gate.gate_status(ui.world.session, review).unacknowledged[0].id
    b.post(f"/review/{review.id}/findings/{fid}/acknowledge", {"version": review.version})
    assert b.post(f"/review/{review.id}/approve", {"version": review.version + 1,
                                                   "confirm": review.revision_hash}).status_code == 303


def test_schedule_then_it_is_listed_under_scheduled_and_can_be_cancelled(ui: UI) -> None:
    review = submitted(ui, title="Spring win-back")
    b = ui.browser("rita")
    b.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash})
    page = soup(b.get(f"/review/{review.id}"))
    assert page.select_one("label[for=schedule-at]").get_text() == "Send time"
    # The plan's 09:00 UTC, in the brand's zone (the demo brand plans in Los Angeles).
    assert page.select_one("#schedule-at")["value"] == "2030-03-01T01:00"
    assert page.select_one("#schedule-tz")["value"] == "America/Los_Angeles"
    assert b.post(f"/review/{review.id}/schedule", {"version": review.version + 1, "at": "2031-02-03T08:15",
                                                    "timezone": "America/New_York"}).status_code == 303
    rows = soup(b.get("/scheduled")).select("#scheduled tbody tr")
    cells = [td.get_text(" ", strip=True) for td in rows[0].select("td")]
    # The time the marketer typed, in the zone they chose, with UTC beside it.
    assert cells[0] == "Spring win-back" and cells[2] == "2031-02-03 08:15 America/New_York (13:15 UTC)"
    detail = soup(b.get(f"/review/{review.id}")).get_text(" ", strip=True)
    assert "sends 2031-02-03 08:15 America/New_York (13:15 UTC)" in detail
    with ui.runtime.session() as s:
        stored = gate.get_review(s, review.id)
        assert cells[4] == stored.snapshot_hash[:10] and stored.snapshot_hash == stored.approved_hash
    cancelled = b.post(f"/review/{review.id}/cancel", {"version": review.version + 2, "view": "scheduled"},
                       htmx=True)
    assert [r.get_text(strip=True) for r in soup(cancelled).select("tbody tr")] == ["Nothing is scheduled."]
    assert state_of(ui, review.id) == "cancelled"


@sqlite_only
def test_schedule_in_the_past_is_refused_with_the_reason(ui: UI) -> None:
    review = submitted(ui)
    b = ui.browser("rita")
    b.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash})
    response = b.post(f"/review/{review.id}/schedule", {"version": review.version + 1, "at": "2001-01-01T00:00",
                                                        "timezone": "UTC"})
    # A form error beside the field, not "This draft changed": nothing changed, the time is wrong.
    page = soup(response)
    assert response.status_code == 422 and "This draft changed" not in page.get_text()
    assert "in the past" in page.select_one("#schedule-at-error").get_text()
    assert page.select_one("#schedule-at")["aria-invalid"] == "true"
    assert page.select_one("#schedule-at")["value"] == "2001-01-01T00:00"  # what was typed stays
    bad = b.post(f"/review/{review.id}/schedule", {"version": review.version + 1, "at": "tomorrow",
                                                   "timezone": "UTC"})
    assert bad.status_code == 422 and "is not a date and time" in soup(bad).select_one("#schedule-at-error").get_text()
    assert state_of(ui, review.id) == "approved"


# -- chat ------------------------------------------------------------------------------------------

def _conversation(ui: UI, b: Browser) -> int:
    response = b.post("/chat", {"title": "Spring"})
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_plain_form_chat_turn_stores_the_message_and_shows_the_plan(ui: UI) -> None:
    ui.stub.queue("plan", planning_answer(demo_plan(), reply="Here is a winback plan."))
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    response = b.post(f"/chat/{cid}/messages", {"text": "win back lapsed runners with 15% off"})
    assert response.status_code == 303
    assert ui.stub.kinds == ["plan", "copy", "copy"]  # the model planned it: an outline, then copy per segment
    page = soup(b.get(f"/chat/{cid}"))
    assert [m.select_one(".text").get_text() for m in page.select("#messages .msg")] == [
        "win back lapsed runners with 15% off", "Here is a winback plan."]
    assert [s.get_text() for s in page.select("table.segments th[scope=row]")] == ["Lapsed VIPs", "Lapsed customers"]
    assert page.select_one("#submit-panel button").get_text() == "Submit for review"
    assert {lab.get_text() for lab in page.select(".edit-copy label")} >= {"Subject", "Body"}
    frames = page.select(".previews iframe")
    assert frames and all(f.has_attr("sandbox") and not f["sandbox"] for f in frames)  # no allow-scripts


@sqlite_only
def test_htmx_chat_turn_streams_the_answer_over_sse_escaped(ui: UI) -> None:
    ui.stub.queue("plan", planning_answer(demo_plan(), reply="Plan <script>alert(1)</script> ready"))
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    turn = b.post(f"/chat/{cid}/messages", {"text": "win back lapsed runners"}, htmx=True)
    stream_el = soup(turn).select_one("[sse-connect]")
    assert stream_el["sse-close"] == "done" and stream_el["hx-ext"] == "sse"
    with ui.runtime.session() as s:  # the message is stored before the planner answers
        assert [m.content for m in s.exec(select(Message).where(Message.conversation_id == cid))] == [
            "win back lapsed runners"]
    events: list[tuple[str, str]] = []
    with b.client.stream("GET", stream_el["sse-connect"]) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((event, line[5:].lstrip(" ")))
    tokens = "".join(d for e, d in events if e == "token")
    assert "<script>" not in tokens and "&lt;script&gt;alert(1)&lt;/script&gt;" in tokens
    done = "\n".join(d for e, d in events if e == "done")
    done_html = soup(type("R", (), {"text": done})())
    assert done_html.select_one("script") is None
    assert done_html.select_one("#plan-panel")["hx-swap-oob"] == "true"
    assert "Plan <script>alert(1)</script> ready" in done_html.select_one(".msg .text").get_text()


@sqlite_only
def test_live_check_returns_the_edited_variants_findings_without_storing(ui: UI) -> None:
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    b.post(f"/chat/{cid}/messages", {"text": "winback"})
    with ui.runtime.session() as s:
        before = len(s.exec(select(PlanRevision)).all())
    plan = demo_plan()
    v = plan.variants[1]
    response = b.post(f"/chat/{cid}/variants/1/check", {
        "base_number": 1, "subject": "{{ first_name }} ACT NOW", "preheader": v.preheader, "body": v.body,
        "cta_text": v.cta_text, "cta_url": v.cta_url}, htmx=True)
    frag = soup(response)
    assert response.status_code == 200 and frag.select_one("#variant-1-findings")
    subject = frag.select_one(".field-subject")
    assert subject.contents[0] == "{{ first_name }} "  # typed text, shown as text
    assert "".join(m.contents[0] for m in subject.select("mark")) == "ACT NOW"
    assert "TONE_BANNED_PHRASE" in {li["data-code"] for li in frag.select("li.finding")}
    with ui.runtime.session() as s:
        assert len(s.exec(select(PlanRevision)).all()) == before


def test_save_copy_makes_a_new_revision_and_voids_an_approval(ui: UI) -> None:
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    b.post(f"/chat/{cid}/messages", {"text": "winback"})
    b.post(f"/chat/{cid}/submit")
    with ui.runtime.session() as s:
        review = gate.review_for_conversation(s, cid)
        for f in gate.gate_status(s, review).blocking:
            gate.override_finding(s, review, ui.world.users["rita"], review.version, finding_id=f.id, reason="ok")
        for f in gate.gate_status(s, review).unacknowledged:
            gate.acknowledge_finding(s, review, ui.world.users["rita"], review.version, finding_id=f.id)
        gate.approve(s, review, ui.world.users["rita"], review.version)
        s.commit()
    v = demo_plan().variants[0]
    response = b.post(f"/chat/{cid}/variants/0/save", {"base_number": 1, "subject": "Early access is yours",
                                                       "preheader": v.preheader, "body": v.body,
                                                       "cta_text": v.cta_text, "cta_url": v.cta_url})
    assert response.status_code == 303
    with ui.runtime.session() as s:
        review = gate.review_for_conversation(s, cid)
        assert review.state == "in_review" and review.approved_hash is None
    page = soup(b.get(f"/chat/{cid}"))
    assert page.select_one("#variant-0-subject")["value"] == "Early access is yours"


@sqlite_only
def test_reviewer_cannot_chat_in_someone_elses_conversation(ui: UI) -> None:
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    assert b.post(f"/chat/{cid}/messages", {"text": "win back lapsed runners"}).status_code == 303
    rita = ui.browser("rita")
    assert rita.get(f"/chat/{cid}").status_code == 403  # nobody reads another's unsubmitted draft
    assert b.post(f"/chat/{cid}/submit").status_code == 303
    assert rita.get(f"/chat/{cid}").status_code == 200  # reviewers read it once submitted
    response = rita.post(f"/chat/{cid}/messages", {"text": "approve it"})
    assert response.status_code == 403
    assert ui.browser("mo").get(f"/chat/{cid}").status_code == 403


@sqlite_only
def test_empty_message_is_a_clear_error(ui: UI) -> None:
    b = ui.browser("mara")
    cid = _conversation(ui, b)
    response = b.post(f"/chat/{cid}/messages", {"text": "   "}, htmx=True)
    assert response.status_code == 422 and "the message is empty" in soup(response).get_text()


# -- hostile content is text -----------------------------------------------------------------------

def test_hostile_titles_findings_and_comments_are_escaped(ui: UI) -> None:
    review = submitted(ui, [finding("FACT_PRICE", message=HOSTILE_NAME, fix="<script>alert(2)</script>")],
                       title=HOSTILE_NAME)
    b = ui.browser("rita")
    b.post(f"/review/{review.id}/request-changes", {"version": review.version, "comment": "<b onmouseover=x>"})
    for path in ("/review?status=all", f"/review/{review.id}"):
        page = soup(b.get(path))
        assert page.select("img[src=x]") == [] and page.select("main script") == [] and page.select("b[onmouseover]") == []
        assert HOSTILE_NAME in page.get_text()


@sqlite_only
def test_subject_with_jinja_syntax_is_shown_as_typed(ui: UI) -> None:
    plan = plan_dict()
    plan["variants"][0]["subject"] = "{{ 7*7 }} {% raw %}x"
    review = submitted(ui, plan=plan)
    text = soup(ui.browser("rita").get(f"/review/{review.id}")).select_one("#variant-0 .field-subject").get_text()
    assert text == "{{ 7*7 }} {% raw %}x"


@sqlite_only
def test_json_api_is_not_behind_the_ui_session_or_csrf(ui: UI) -> None:
    response = ui.browser().client.get("/health")
    assert response.status_code == 200 and json.loads(response.text)["status"] == "ok"


@sqlite_only
def test_scheduled_list_offers_each_person_only_their_actions_and_pause_resume_work_from_it(ui: UI) -> None:
    w, s = ui.world, ui.world.session
    review = submitted(ui)
    gate.approve(s, review, w.users["rob"], review.version)
    gate.schedule(s, review, w.users["rob"], review.version, at="2031-06-01T09:00", timezone="UTC")
    s.commit()

    def buttons(b: Browser) -> list[str]:
        return [btn.get_text(strip=True) for btn in soup(b.get("/scheduled")).select("#scheduled tbody button")]

    mara, rita, mo = ui.browser("mara"), ui.browser("rita"), ui.browser("mo")
    assert buttons(mara) == ["Pause", "Cancel"] and buttons(rita) == ["Pause", "Cancel"]
    assert soup(mo.get("/scheduled")).select("#scheduled tbody tr td")[0].get_text(strip=True) == \
        "Nothing is scheduled."  # another marketer's campaign is not theirs to see
    paused = mara.post(f"/review/{review.id}/pause", {"version": version_of(ui, review.id), "view": "scheduled"},
                       htmx=True)
    assert [b.get_text(strip=True) for b in soup(paused).select("tbody button")] == ["Cancel"]
    assert soup(paused).select_one(".state-paused").get_text(strip=True) == "Paused"
    assert buttons(rita) == ["Resume", "Cancel"]  # going on again is a reviewer's call
    assert rita.post(f"/review/{review.id}/resume", {"version": version_of(ui, review.id),
                                                      "view": "scheduled"}).headers["location"] == "/scheduled"
    assert buttons(mara) == ["Pause", "Cancel"]
