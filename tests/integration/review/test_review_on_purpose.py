"""Issue 20 over HTTP: approving on purpose (a confirmation bound to the revision, Approve held while
findings stand, an override needs a written reason) and time that is right (the schedule form starts
from now in the brand's zone, a past time is a form error naming its field, local-time sending and
quiet hours survive scheduling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from review_factory import finding, plan_dict
from sqlmodel import select
from ui_support import UI, soup

from copilot.delivery.program import local_time_on
from copilot.models import AuditLog, FindingOverride, Review
from copilot.services import review as gate

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

BRAND_ZONE = ZoneInfo("America/Los_Angeles")  # the bundled demo brand's brand.yaml timezone


def submitted(ui: UI, findings: list[dict[str, Any]] | None = None, **kw: Any) -> Review:
    review = ui.world.submitted(ui.world.users["mara"], findings, **kw)
    ui.world.session.commit()
    return review


def current(ui: UI, review_id: int) -> Review:
    with ui.runtime.session() as s:
        return gate.get_review(s, review_id)


def approved(ui: UI, **kw: Any) -> Review:
    review = submitted(ui, **kw)
    gate.approve(ui.world.session, review, ui.world.users["rob"], review.version)
    ui.world.session.commit()
    return current(ui, review.id)


# -- approving on purpose ---------------------------------------------------------------------------

def test_the_confirmation_names_the_revision_and_approving_through_it_works(ui: UI) -> None:
    review = submitted(ui, title="Autumn restock")
    b = ui.browser("rita")
    page = soup(b.get(f"/review/{review.id}"))
    opener = page.select_one("#approve-open")
    assert opener.get_text(strip=True) == "Approve…" and not opener.has_attr("disabled")
    assert opener["aria-haspopup"] == "dialog"
    dialog = page.select_one("dialog#approve-dialog")
    assert not dialog.has_attr("open")  # nothing asks until the reviewer asks to approve
    assert "Autumn restock" in dialog.select_one("#approve-title").get_text()
    assert review.revision_hash[:10] in dialog.get_text()
    assert dialog.select_one("input[name=confirm]")["value"] == review.revision_hash
    assert [x.get_text(strip=True) for x in dialog.select("button, a")] == ["Yes, approve", "Not now"]
    # Without script, the Approve button's GET shows the same confirmation open.
    assert soup(b.get(f"/review/{review.id}?action=approve")).select_one("dialog#approve-dialog").has_attr("open")
    form = {i["name"]: i.get("value", "") for i in dialog.select("input[name]")}
    response = b.post(f"/review/{review.id}/approve", {**form, "comment": "fine"}, htmx=True)
    assert response.status_code == 200 and soup(response).select_one("#review-state").get_text(strip=True) == \
        "Approved"


def test_approving_without_the_confirmation_or_with_another_revisions_hash_changes_nothing(ui: UI) -> None:
    review = submitted(ui)
    b = ui.browser("rita")
    missing = b.post(f"/review/{review.id}/approve", {"version": review.version})
    assert missing.status_code == 422 and "approving needs confirmation" in soup(missing).get_text()
    assert soup(missing).select_one("h1").get_text(strip=True) == "Check what you entered"
    other = b.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": "0" * 64})
    assert other.status_code == 409 and "the revision you confirmed is not the current one" in soup(other).get_text()
    assert current(ui, review.id).state == "in_review"
    with ui.runtime.session() as s:
        assert "approved" not in [e.action for e in s.exec(select(AuditLog).where(AuditLog.entity_id == review.id))]


@pytest.mark.parametrize("kind", ["block", "needs_ack"])
def test_approve_is_disabled_and_refused_while_findings_stand(ui: UI, kind: str) -> None:
    f = finding("FACT_PRICE") if kind == "block" else finding("PROV_UNEXPECTED", "warn", needs_ack=True)
    review = submitted(ui, [f])
    b = ui.browser("rita")
    page = soup(b.get(f"/review/{review.id}"))
    opener = page.select_one("#approve-open")
    assert opener.has_attr("disabled") and opener["aria-describedby"] == "gate-reasons"
    assert "Approve stays disabled" in page.select_one("#gate-reasons").get_text()
    assert not page.select("#approve-dialog, #approve-form")  # nothing to confirm while findings stand
    refused = b.post(f"/review/{review.id}/approve", {"version": review.version, "confirm": review.revision_hash})
    assert refused.status_code == 409 and current(ui, review.id).state == "in_review"
    assert ("blocking finding" if kind == "block" else "need acknowledgement") in soup(refused).get_text()


@pytest.mark.parametrize("reason", ["", "   \n\t "])
def test_an_override_needs_a_written_reason(ui: UI, reason: str) -> None:
    review = submitted(ui, [finding("FACT_PRICE")])
    b = ui.browser("rita")
    page = soup(b.get(f"/review/{review.id}"))
    field = page.select_one("form.override textarea[name=reason]")
    assert field.has_attr("required") and "required" in page.select_one(f"label[for={field['id']}]").get_text()
    fid = gate.gate_status(ui.world.session, review).blocking[0].id
    response = b.post(f"/review/{review.id}/findings/{fid}/override", {"version": review.version, "reason": reason},
                      htmx=True)
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#flash"
    assert "reason is required" in soup(response).get_text()
    with ui.runtime.session() as s:
        assert s.exec(select(FindingOverride).where(FindingOverride.review_id == review.id)).all() == []
        assert gate.get_review(s, review.id).version == review.version


# -- time that is right -----------------------------------------------------------------------------

def test_schedule_form_starts_from_now_in_the_brands_zone_when_the_plans_time_has_passed(ui: UI) -> None:
    plan = plan_dict(trigger={"kind": "schedule", "send_at": "2020-03-01T09:00:00Z",
                              "steps": [{"type": "send", "message": "email_1"}]})
    review = approved(ui, plan=plan)
    before = datetime.now(BRAND_ZONE).replace(tzinfo=None)
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    at = page.select_one("#schedule-at")
    start = datetime.fromisoformat(at["value"])
    assert before < start <= before + timedelta(minutes=30)  # ahead of now, in the brand's zone
    assert start.minute % 15 == 0 and at["min"] == at["value"]
    assert page.select_one("#schedule-tz")["value"] == "America/Los_Angeles"
    help_text = page.select_one("#schedule-at-help").get_text(" ", strip=True)
    assert "The plan proposed 2020-03-01 01:00, which has passed; this form starts from now." in help_text
    assert "The brand plans in America/Los_Angeles." in page.select_one("#schedule-tz-help").get_text()


def test_schedule_form_follows_the_planners_clock(ui: UI, monkeypatch: pytest.MonkeyPatch) -> None:
    """COPILOT_NOW (the planner's fixed moment) moves the form's start too, read in the brand's zone."""
    monkeypatch.setenv("COPILOT_NOW", "2031-06-01T12:00:00Z")
    review = approved(ui)  # the plan's own time (2030) is before that moment
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    # 12:00 UTC is 05:00 in Los Angeles in June; ten minutes to read the form, then the next quarter hour.
    assert page.select_one("#schedule-at")["value"] == "2031-06-01T05:15"


@pytest.mark.parametrize("htmx", [False, True])
def test_a_past_send_time_is_a_form_error_naming_the_field(ui: UI, htmx: bool) -> None:
    review = approved(ui)
    b = ui.browser("rita")
    response = b.post(f"/review/{review.id}/schedule", {"version": review.version, "at": "2020-05-04T09:30",
                                                        "timezone": "Europe/Berlin"}, htmx=htmx)
    page = soup(response)
    assert response.status_code == 422 and "HX-Retarget" not in response.headers
    assert "This draft changed" not in page.get_text()
    error = page.select_one("#schedule-at-error").get_text(" ", strip=True)
    assert error.startswith("the send time 2020-05-04 09:30 Europe/Berlin is in the past: it is now ")
    at = page.select_one("#schedule-at")
    assert at["aria-invalid"] == "true" and "schedule-at-error" in at["aria-describedby"].split()
    assert page.select_one("#schedule-tz")["value"] == "Europe/Berlin"  # what was typed stays
    stored = current(ui, review.id)
    assert (stored.state, stored.version, stored.scheduled_for) == ("approved", review.version, None)


def test_an_unknown_time_zone_is_a_form_error_on_the_zone_field(ui: UI) -> None:
    review = approved(ui)
    response = ui.browser("rita").post(f"/review/{review.id}/schedule", {
        "version": review.version, "at": "2031-05-04T09:30", "timezone": "Mars/Olympus"})
    page = soup(response)
    assert response.status_code == 422 and page.select_one("#schedule-tz")["aria-invalid"] == "true"
    assert "unknown time zone 'Mars/Olympus'" in page.select_one("#schedule-tz-error").get_text()
    assert not page.select("#schedule-at-error")


def test_the_api_answers_422_with_the_field_for_a_past_send_time(ui: UI) -> None:
    review = approved(ui)
    from copilot.services.api_tokens import issue_token

    with ui.runtime.session() as s:
        token = issue_token(s, ui.world.users["rita"].id or 0)[1]
        s.commit()
    response = ui.client.post(f"/api/reviews/{review.id}/schedule", headers={"Authorization": f"Bearer {token}"},
                              json={"version": review.version, "at": "2020-05-04T09:30", "timezone": "UTC"})
    assert response.status_code == 422
    assert response.json()["error"] == "ReviewInputError" and response.json()["field"] == "at"


def test_local_time_sending_and_quiet_hours_survive_scheduling(ui: UI) -> None:
    plan = plan_dict(
        trigger={"kind": "schedule", "send_at": "2031-02-03T09:00:00", "recipient_local_time": True,
                 "steps": [{"type": "send", "message": "email_1"}]},
        suppression={"quiet_hours": {"start": "22:00", "end": "07:00", "fallback": "skip"}})
    review = approved(ui, plan=plan)
    b = ui.browser("rita")
    page = soup(b.get(f"/review/{review.id}"))
    # A wall-clock time: the plan's 09:00 is shown as 09:00, whatever the zone field says.
    assert page.select_one("#schedule-at")["value"] == "2031-02-03T09:00"
    assert "on each recipient's own clock" in page.select_one("#schedule-at-help").get_text()
    assert "Quiet hours 22:00–07:00 on each recipient's clock still apply (sends then are skipped)" in \
        page.select_one("#schedule-tz-help").get_text(" ", strip=True)
    assert b.post(f"/review/{review.id}/schedule", {"version": review.version, "at": "2031-02-03T09:00",
                                                    "timezone": "America/Los_Angeles"}).status_code == 303
    stored = current(ui, review.id)
    assert stored.state == "scheduled" and stored.schedule_timezone == "America/Los_Angeles"
    assert stored.snapshot["trigger"]["recipient_local_time"] is True
    assert stored.snapshot["suppression"]["quiet_hours"] == {"start": "22:00", "end": "07:00", "fallback": "skip"}
    # Delivery reads the wall clock back in the stored zone and sends at it on each recipient's clock.
    wall = stored.scheduled_for.replace(tzinfo=stored.scheduled_for.tzinfo or UTC).astimezone(
        ZoneInfo(stored.schedule_timezone))
    assert f"{wall:%H:%M}" == "09:00"
    for zone in ("Asia/Tokyo", "Europe/Berlin"):
        assert f"{local_time_on(wall, ZoneInfo(zone)).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}" == "2031-02-03 09:00"


# -- reading a plan -------------------------------------------------------------------------------

def _html(fragment: str) -> str:
    """HTML as BeautifulSoup writes it back, so two serialisations of one tree compare equal."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(fragment, "html.parser").decode().strip()


def test_body_copy_is_the_html_the_email_gets_not_raw_markdown(ui: UI) -> None:
    from copilot.render import render_variant

    body = "It has been a **while**, see [the new shoes](https://example.com/s).\n\n- light\n- <b>fast</b>"
    plan = plan_dict()
    plan["variants"][1]["body"] = body
    review = submitted(ui, plan=plan)
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    shown = page.select_one("#variant-1 .field-body .md")
    assert shown.select_one("strong").get_text() == "while" and "**" not in shown.get_text()
    assert shown.select_one("a")["href"] == "https://example.com/s"
    assert [li.get_text() for li in shown.select("li")] == ["light", "<b>fast</b>"]  # raw HTML stays text
    assert not shown.select("b")
    # Exactly the e-mail's body HTML (this body has no merge fields, so every contact gets the same).
    from copilot.plan import Plan

    variant = Plan.model_validate(plan).variants[1]
    email = render_variant(variant, {"first_name": "Ann", "email": "ann@example.com"},
                           workspace=ui.runtime.default_workspace)
    assert _html(shown.decode_contents()) == _html(email.body_html)
    # The source stays one click away (closed: no finding marks in it).
    source = page.select_one("#variant-1 .field-body details.md-source")
    assert not source.has_attr("open") and "**while**" in source.select_one(".source").get_text()


def test_a_body_finding_opens_the_marked_source_under_the_rendered_copy(ui: UI) -> None:
    review = submitted(ui, [finding("TONE_BANNED_PHRASE", "warn", field_name="body", span=(3, 19))])
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    source = page.select_one("#variant-0 .field-body details.md-source")
    assert source.has_attr("open") and source.select_one("mark.sev-warn").contents[0] == "{{ first_name }}"


def test_zero_contact_segments_and_empty_variants_are_flagged(ui: UI) -> None:
    plan = plan_dict()
    plan["variants"][1]["subject"] = " "
    plan["variants"][1]["body"] = ""
    review = submitted(ui, plan=plan)
    with ui.runtime.session() as s:
        from copilot.models import PlanRevision

        rev = s.get(PlanRevision, review.revision_id)
        rev.sizing = {"segments": [{"name": "Lapsed buyers", "size": 0, "raw_size": 4},
                                   {"name": "Everyone else", "size": 120, "raw_size": 120}], "total": 120}
        s.add(rev)
        s.commit()
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    flags = [li.get_text(" ", strip=True) for li in page.select(".plan-flags > li")]
    assert flags == ["0 contacts Segment Lapsed buyers has no contacts: nobody gets its copy.",
                     "empty Everyone else · variant A has no subject and body."]
    rows = page.select("table.segments tbody tr")
    assert rows[0].get("class") == ["empty-segment"] and "nobody" in rows[0].get_text()
    assert not rows[1].get("class")
    assert page.select_one("#variant-0 .flag-nobody").get_text(strip=True) == "0 contacts"
    assert not page.select("#variant-1 .flag-nobody") and not page.select("#variant-0 .flag-empty")
    assert page.select_one("#variant-1 .flag-empty").get_text(strip=True) == "Empty: Subject, Body"


def test_a_clean_plan_has_no_flags(ui: UI) -> None:
    review = submitted(ui)
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    assert not page.select(".plan-flags, .flag-nobody, .flag-empty, .plan-note")


def test_the_locale_note_shows_once_per_plan_naming_each_variant(ui: UI) -> None:
    def locale(segment: str, n: int) -> dict[str, Any]:
        return {**finding("FB_LOCALE_DEFAULT", "warn", field_name="body", span=None, variant_segment=segment,
                          message=f"{n} of 20 sample contacts of {segment!r} read de, not 'en'",
                          fix="Add a variant per language, or restrict the segment by locale.")}

    review = submitted(ui, [locale("Lapsed buyers", 3), locale("Everyone else", 5)])
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    [note] = page.select(".plan-flags .plan-note")  # once, at the top, among what needs attention
    assert note["data-code"] == "FB_LOCALE_DEFAULT"
    assert [li.get_text(" ", strip=True) for li in note.select("li")] == [
        "Lapsed buyers · variant A 3 of 20 sample contacts of 'Lapsed buyers' read de, not 'en'",
        "Everyone else · variant A 5 of 20 sample contacts of 'Everyone else' read de, not 'en'"]
    assert note.select(".fix") and len(note.select(".fix")) == 1
    assert not page.select(".plan .variant li.finding[data-code=FB_LOCALE_DEFAULT]")


# -- the loop back to the marketer, and the reviewer's diff -----------------------------------------

def test_changes_requested_returns_the_draft_to_the_marketer_with_the_comment_in_the_chat(ui: UI) -> None:
    review = submitted(ui)
    rita = ui.browser("rita")
    assert rita.post(f"/review/{review.id}/request-changes",
                     {"version": review.version, "comment": "Name the offer's end date, please"}).status_code == 303
    mara = ui.browser("mara")
    page = soup(mara.get(f"/chat/{review.conversation_id}"))
    [note] = page.select("#messages .msg.review-note")
    assert "note-changes_requested" in note["class"]
    assert note.select_one(".who").get_text(strip=True) == "Rita · requested changes"
    assert note.select_one(".text").get_text(strip=True) == "Name the offer's end date, please"
    panel = page.select_one("#submit-panel")
    assert panel.select_one(".state").get_text(strip=True) == "Changes requested"
    assert "asked for changes" in panel.get_text() and panel.select_one("button").get_text() == "Submit for review"
    # A later comment follows it in time order, and the marketer can send the draft back.
    assert rita.post(f"/review/{review.id}/comment", {"comment": "And a shorter subject"}).status_code == 303
    notes = [n.select_one(".text").get_text(strip=True) for n in
             soup(mara.get(f"/chat/{review.conversation_id}")).select("#messages .msg.review-note")]
    assert notes == ["Name the offer's end date, please", "And a shorter subject"]
    assert mara.post(f"/chat/{review.conversation_id}/submit").status_code == 303
    assert current(ui, review.id).state == "in_review"


def test_another_marketer_never_sees_the_review_comments(ui: UI) -> None:
    review = submitted(ui)
    ui.browser("rita").post(f"/review/{review.id}/request-changes",
                            {"version": review.version, "comment": "secret remark"})
    response = ui.browser("mo").get(f"/chat/{review.conversation_id}")
    assert response.status_code in (403, 404) and "secret remark" not in response.text


def test_the_reviewers_diff_is_word_level(ui: UI) -> None:
    w = ui.world
    review = w.draft(w.users["mara"])
    conv = w.session.get(__import__("copilot.models", fromlist=["Conversation"]).Conversation, review.conversation_id)
    changed = plan_dict()
    changed["variants"][0]["body"] = "Hi {{ first_name }}, it has been a long while."
    w.revise(conv, changed)
    gate.submit(w.session, review.id, w.users["mara"], gate.get_review(w.session, review.id).version)
    w.session.commit()
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    [row] = [r for r in page.select(".copy-diff tbody tr") if r.select("td")[1].get_text() == "body"]
    before, after = row.select_one("td.before"), row.select_one("td.after")
    assert [d.get_text() for d in before.select("del")] == [] and [i.get_text() for i in after.select("ins")] == [
        "long "]
    assert before.get_text() == "Hi {{ first_name }}, it has been a while."
    assert after.get_text() == "Hi {{ first_name }}, it has been a long while."

