"""The Scheduled page while campaigns send: live counts per campaign, pause and resume for reviewers
and admins (not for other marketers), cancel that stops a sending campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration.delivery.support import add_contacts, plan_data, schedule_campaign  # type: ignore[import-not-found]
from ui_support import UI, soup

from copilot.delivery.jobs import run_until_idle

AT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
TWO_STEPS = {"kind": "schedule", "send_at": "2030-03-01T09:00:00Z",
             "steps": [{"type": "send", "message": "email_1"},
                       {"type": "wait", "event": "email_clicked", "timeout_hours": 72, "on_event": "exit"},
                       {"type": "send", "message": "email_2"}]}


def _sending(ui: UI) -> int:
    add_contacts(ui.runtime, [{"first_name": f"P{i}"} for i in range(30)] + [{"first_name": "U", "consent": "unsubscribed"}])
    base = plan_data()
    plan = plan_data(trigger=TWO_STEPS, variants=base["variants"] + [{**base["variants"][0], "message": "email_2"}])
    review_id = schedule_campaign(ui.runtime, plan, at=AT)
    run_until_idle(ui.runtime, now=AT + timedelta(seconds=1))  # email_1 out; email_2 waits three days
    return review_id


def test_scheduled_page_shows_live_counts_and_polls_them_while_sending(ui: UI) -> None:
    review_id = _sending(ui)
    page = soup(ui.browser("rita").get("/scheduled"))
    row = page.select_one(f"#scheduled-{review_id}")
    assert row["data-state"] == "sending"
    counts = {dd["data-count"]: int(dd.get_text().replace(",", "")) for dd in row.select("dd[data-count]")}
    assert counts["sent"] + counts["held_out"] == 30 and counts["suppressed"] == 1 and counts["failed"] == 0
    cell = row.select_one(f"#counts-{review_id}")
    assert cell["hx-get"] == f"/scheduled/{review_id}/counts" and cell["hx-trigger"] == "every 1s"
    fragment = soup(ui.browser("rita").get(f"/scheduled/{review_id}/counts"))
    assert int(fragment.select_one("dd[data-count=sent]").get_text()) == counts["sent"]


def test_reviewers_pause_and_resume_a_sending_campaign_other_marketers_cannot(ui: UI) -> None:
    review_id = _sending(ui)
    # Another marketer (not the draft's author) does not even see the campaign (docs/access.md).
    assert soup(ui.browser("mara").get("/scheduled")).select_one(f"#scheduled-{review_id}") is None
    hidden = ui.browser("mara").post(f"/review/{review_id}/pause", {"version": 0, "view": "scheduled"})
    assert hidden.status_code == 403
    rita = ui.browser("rita")
    form = soup(rita.get("/scheduled")).select_one(f"#scheduled-{review_id} form.row-pause")
    assert form["action"] == f"/review/{review_id}/pause"
    version = form.select_one("input[name=version]")["value"]
    response = rita.post(form["action"], {"version": version, "view": "scheduled"}, htmx=True)
    row = soup(response).select_one(f"#scheduled-{review_id}")
    assert row["data-delivery"] == "paused" and row.select(f"form[action='/review/{review_id}/resume']")
    version = row.select_one("form.row-resume input[name=version]")["value"]
    response = rita.post(f"/review/{review_id}/resume", {"version": version, "view": "scheduled"}, htmx=True)
    assert soup(response).select_one(f"#scheduled-{review_id}")["data-delivery"] == "running"


def test_a_sending_campaign_can_be_cancelled_from_its_review_page_by_a_reviewer(ui: UI) -> None:
    review_id = _sending(ui)
    assert not soup(ui.browser("mara").get(f"/review/{review_id}")).select(f"form[action='/review/{review_id}/cancel']")
    rita = ui.browser("rita")
    form = soup(rita.get(f"/review/{review_id}")).select_one(f"form[action='/review/{review_id}/cancel']")
    version = form.select_one("input[name=version]")["value"]
    assert rita.post(f"/review/{review_id}/cancel", {"version": version, "reason": "wrong offer"}).status_code == 303
    row = soup(rita.get("/scheduled")).select_one(f"#scheduled-{review_id}")
    assert row is None or row["data-delivery"] == "cancelled"
