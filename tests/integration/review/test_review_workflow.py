"""Issue 20's review workflow over HTTP: approving by section (audience, trigger, copy; the draft is
approved when every section is; a section's approval is void once that section changes), comments
anchored to a segment, variant or field (beside that part in the review and in the marketer's chat),
in-app notifications (badge, list, mark read, to the right people), and the revision history in the
chat (per-field word diff, restore as a new revision checked by the guards)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from review_factory import finding, plan_dict
from sqlmodel import select
from test_review_on_purpose import current, submitted
from ui_support import UI, Browser, soup

from copilot.models import AuditLog, Conversation, FindingRow, Notification, PlanRevision, Review, SectionApproval
from copilot.services import review as gate
from copilot.services.sections import section_hashes

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def section_form(page: Any, section: str) -> dict[str, str]:
    form = page.select_one(f"#section-{section} form")
    assert form is not None, f"no approve form for the {section}"
    return {i["name"]: i.get("value", "") for i in form.select("input[name]")}


def approve_section(b: Browser, review_id: int, section: str, **extra: str) -> Any:
    form = section_form(soup(b.get(f"/review/{review_id}")), section)
    return b.post(f"/review/{review_id}/sections/{section}/approve", {**form, **extra}, htmx=True)


def section_labels(page: Any) -> dict[str, str]:
    return {li["data-section"]: li.select_one(".section-state").get_text(strip=True)
            for li in page.select("#sections li.review-section")}


def revise(ui: UI, review: Review, plan: dict[str, Any], findings: list[dict[str, Any]] | None = None) -> Review:
    w = ui.world
    out = w.revise(w.session.get(Conversation, review.conversation_id), plan, findings)
    w.session.commit()
    return out


# -- approval by section ----------------------------------------------------------------------------

def test_two_reviewers_approve_sections_and_the_draft_is_approved_when_every_section_is(ui: UI) -> None:
    review = submitted(ui, title="Split review")
    rita, rob = ui.browser("rita"), ui.browser("rob")
    page = soup(rita.get(f"/review/{review.id}"))
    assert section_labels(page) == {"audience": "Not approved", "trigger": "Not approved", "copy": "Not approved"}
    # Each section's approval asks first: its form sits inside a closed details with the section hash.
    assert not page.select_one("#section-audience details").has_attr("open")
    assert section_form(page, "audience")["confirm"] == section_hashes(plan_dict())["audience"]

    response = approve_section(rita, review.id, "audience", comment="Segments look right")
    assert response.status_code == 200
    assert section_labels(soup(response))["audience"] == "Approved"
    assert current(ui, review.id).state == "in_review"
    assert approve_section(rob, review.id, "trigger").status_code == 200
    assert current(ui, review.id).state == "in_review"
    last = approve_section(rita, review.id, "copy")
    assert soup(last).select_one("#review-state").get_text(strip=True) == "Approved"
    done = current(ui, review.id)
    assert done.state == "approved" and done.approved_hash == done.revision_hash
    assert done.approved_by_id == ui.world.users["rita"].id
    page = soup(rob.get(f"/review/{review.id}"))
    assert set(section_labels(page).values()) == {"Approved"}
    assert "by Rita" in page.select_one("#section-audience").get_text() and \
        "Segments look right" in page.select_one("#section-audience").get_text()
    assert "by Rob" in page.select_one("#section-trigger").get_text()
    with ui.runtime.session() as s:
        actions = [e.action for e in s.exec(select(AuditLog).where(AuditLog.entity_id == review.id)
                                            .order_by(AuditLog.id))]
    assert actions[-4:] == ["section_approved", "section_approved", "section_approved", "approved"]


def test_a_section_approval_is_void_once_that_section_changes_and_stands_while_others_change(ui: UI) -> None:
    review = submitted(ui)
    rita = ui.browser("rita")
    for section in ("audience", "trigger"):
        assert approve_section(rita, review.id, section).status_code == 200
    copy_edit = plan_dict()
    copy_edit["variants"][0]["subject"] = "We kept 15% for you this spring"
    revise(ui, review, copy_edit)
    assert section_labels(soup(rita.get(f"/review/{review.id}"))) == {
        "audience": "Approved", "trigger": "Approved", "copy": "Not approved"}
    audience_edit = json.loads(json.dumps(copy_edit))
    audience_edit["segments"][0]["rule"]["days"] = 120
    revise(ui, review, audience_edit)
    assert section_labels(soup(rita.get(f"/review/{review.id}"))) == {
        "audience": "Not approved", "trigger": "Approved", "copy": "Not approved"}
    # What is stored is kept: the old approval row is still there, it no longer stands.
    with ui.runtime.session() as s:
        rows = s.exec(select(SectionApproval).where(SectionApproval.review_id == review.id)).all()
        assert sorted(r.section for r in rows) == ["audience", "trigger"]
    # An approval over a changed section is refused: the form's section hash is the old one.
    old = section_hashes(plan_dict())["copy"]
    stale = rita.post(f"/review/{review.id}/sections/copy/approve",
                      {"version": current(ui, review.id).version, "confirm": old})
    assert stale.status_code == 409 and "the copy changed since you loaded it" in soup(stale).get_text()


def test_a_section_approval_needs_its_confirmation_and_is_held_by_findings_about_it(ui: UI) -> None:
    review = submitted(ui, [finding("FACT_PRICE")])  # a blocking finding on a variant's subject: the copy
    rita = ui.browser("rita")
    page = soup(rita.get(f"/review/{review.id}"))
    assert section_labels(page) == {"audience": "Not approved", "trigger": "Not approved", "copy": "Held"}
    assert page.select_one("#section-copy form") is None and "FACT_PRICE" in page.select_one("#section-copy").get_text()
    version = current(ui, review.id).version
    blank = rita.post(f"/review/{review.id}/sections/audience/approve", {"version": version, "confirm": ""})
    assert blank.status_code == 422 and "needs confirmation" in soup(blank).get_text()
    held = rita.post(f"/review/{review.id}/sections/copy/approve",
                     {"version": version, "confirm": section_hashes(plan_dict())["copy"]})
    assert held.status_code == 409 and "FACT_PRICE" in soup(held).get_text()
    unknown = rita.post(f"/review/{review.id}/sections/offers/approve", {"version": version, "confirm": "x"})
    assert unknown.status_code == 422
    assert approve_section(rita, review.id, "audience").status_code == 200
    # The author decides on no section of their own draft.
    mara = ui.browser("mara")
    assert soup(mara.get(f"/review/{review.id}")).select("#sections form") == []
    own = mara.post(f"/review/{review.id}/sections/trigger/approve",
                    {"version": current(ui, review.id).version, "confirm": section_hashes(plan_dict())["trigger"]})
    assert own.status_code == 403
    with ui.runtime.session() as s:
        assert [r.section for r in s.exec(select(SectionApproval))] == ["audience"]


def test_one_click_approval_approves_every_section_and_requesting_changes_withdraws_them(ui: UI) -> None:
    review = submitted(ui)
    rita = ui.browser("rita")
    approve_section(rita, review.id, "trigger")
    dialog = soup(rita.get(f"/review/{review.id}")).select_one("dialog#approve-dialog")
    form = {i["name"]: i.get("value", "") for i in dialog.select("input[name]")}
    response = rita.post(f"/review/{review.id}/approve", form, htmx=True)
    assert set(section_labels(soup(response)).values()) == {"Approved"}
    assert current(ui, review.id).state == "approved"
    back = rita.post(f"/review/{review.id}/request-changes",
                     {"version": current(ui, review.id).version, "comment": "Hold on, the offer ends sooner"},
                     htmx=True)
    assert back.status_code == 200 and current(ui, review.id).state == "changes_requested"
    assert set(section_labels(soup(back)).values()) == {"Not approved"}


# -- anchored comments --------------------------------------------------------------------------------

def anchor_value(page: Any, select_id: str, label: str) -> str:
    options = {o.get_text(strip=True): o["value"] for o in page.select(f"#{select_id} option")}
    assert label in options, sorted(options)
    return options[label]


def test_comments_anchor_to_a_segment_variant_or_field_and_show_beside_it_in_review_and_chat(ui: UI) -> None:
    review = submitted(ui)
    rita = ui.browser("rita")
    page = soup(rita.get(f"/review/{review.id}"))
    field = anchor_value(page, "comment-anchor", "Lapsed buyers · variant A (email_1, en) · Subject")
    variant = anchor_value(page, "comment-anchor", "Everyone else · variant A (email_1, en)")
    segment = anchor_value(page, "changes-anchor", "segment Lapsed buyers")
    assert rita.post(f"/review/{review.id}/comment", {"comment": "Say which shoes", "anchor": field},
                     htmx=True).status_code == 200
    assert rita.post(f"/review/{review.id}/comment", {"comment": "Trail or road?", "anchor": variant},
                     htmx=True).status_code == 200
    response = rita.post(f"/review/{review.id}/request-changes",
                         {"version": current(ui, review.id).version, "comment": "Drop buyers of the last 30 days",
                          "anchor": segment}, htmx=True)
    assert response.status_code == 200
    page = soup(rita.get(f"/review/{review.id}"))
    lapsed = page.select_one("table.segments th[scope=row]")
    assert "Drop buyers of the last 30 days" in lapsed.select_one(".anchored-comments").get_text()
    assert page.select("table.segments th[scope=row]")[1].select(".anchored-comments") == []
    first, second = page.select_one("#variant-0 .anchored-comments"), page.select_one("#variant-1 .anchored-comments")
    assert "Say which shoes" in first.get_text() and "· Subject" in first.select_one(".anchor-label").get_text()
    assert "Trail or road?" in second.get_text() and "Say which shoes" not in second.get_text()
    with ui.runtime.session() as s:
        stored = s.exec(select(AuditLog).where(AuditLog.action == "changes_requested")).one()
    assert stored.data["anchor"] == {"kind": "segment", "segment": "Lapsed buyers"} and stored.data["revision"] == 1

    # The marketer reads the anchored comments in the chat (naming their part) and beside the part in the plan.
    chat = soup(ui.browser("mara").get(f"/chat/{review.conversation_id}"))
    notes = {n.select_one(".text").get_text(strip=True): n for n in chat.select("#messages .review-note")}
    assert notes["Drop buyers of the last 30 days"].select_one(".anchor-label").get_text(strip=True) == \
        "on segment Lapsed buyers"
    assert "Subject" in notes["Say which shoes"].select_one(".anchor-label").get_text()
    assert "Drop buyers of the last 30 days" in chat.select_one(
        "#plan-panel table.segments th[scope=row] .anchored-comments").get_text()
    assert "Say which shoes" in chat.select_one("#plan-panel #variant-0 .anchored-comments").get_text()


@pytest.mark.parametrize("anchor", [
    '{"kind": "segment", "segment": "Nobody"}', '{"kind": "field", "segment": "Lapsed buyers", "message": "email_1", '
    '"key": "A", "locale": "en", "field": "password"}', '{"kind": "page"}', "not json"])
def test_a_comment_anchored_to_nothing_in_the_plan_is_refused_and_not_stored(ui: UI, anchor: str) -> None:
    review = submitted(ui)
    response = ui.browser("rita").post(f"/review/{review.id}/comment", {"comment": "here", "anchor": anchor})
    assert response.status_code == 422
    with ui.runtime.session() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "commented")).all() == []


# -- notifications ------------------------------------------------------------------------------------

def badge(b: Browser, path: str = "/scheduled") -> str | None:
    node = soup(b.get(path)).select_one("#notify-badge")
    return node.get_text(" ", strip=True) if node else None


def test_notifications_reach_the_right_people_with_a_badge_a_list_and_mark_read(ui: UI) -> None:
    w = ui.world
    review = w.draft(w.users["mara"], title="Told about")
    w.session.commit()
    mara, mo, rita, rob, ada = (ui.browser(n) for n in ("mara", "mo", "rita", "rob", "ada"))
    mara.post(f"/chat/{review.conversation_id}/submit")
    # Submitted: every reviewer and admin is told; the author and other marketers are not.
    assert badge(rita) == "1 unread" and badge(rob) == "1 unread" and badge(ada) == "1 unread"
    assert badge(mara) is None and badge(mo) is None
    listed = soup(rita.get("/notifications")).select("#notifications li.notification")
    assert [li.select_one("a").get_text(strip=True) for li in listed] == ["Mara submitted for review “Told about”"]
    assert "unread" in listed[0]["class"]
    rita.post(f"/review/{review.id}/request-changes", {"version": current(ui, review.id).version,
                                                       "comment": "Name the end date"})
    assert badge(mara) == "1 unread" and badge(rob) == "1 unread"  # rob still has only the submission
    note = soup(mara.get("/notifications")).select_one("li.notification")
    assert "Rita requested changes on “Told about”" in note.get_text() and "Name the end date" in note.get_text()
    # Opening it marks it read and takes the owner to the chat, where the comment is.
    opened = mara.get(note.select_one("a")["href"], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/chat/{review.conversation_id}"
    assert badge(mara) is None

    mara.post(f"/chat/{review.conversation_id}/submit")
    approve = soup(rob.get(f"/review/{review.id}")).select_one("dialog#approve-dialog")
    rob.post(f"/review/{review.id}/approve", {i["name"]: i.get("value", "") for i in approve.select("input[name]")})
    start = soup(rob.get(f"/review/{review.id}")).select_one("#schedule-at")["value"]
    scheduled = rob.post(f"/review/{review.id}/schedule", {"version": current(ui, review.id).version, "at": start,
                                                             "timezone": "Europe/Berlin"})
    assert scheduled.status_code == 303 and current(ui, review.id).state == "scheduled"
    kinds = [li["class"][1] for li in soup(mara.get("/notifications")).select("li.notification")]
    assert kinds == ["kind-scheduled", "kind-approved", "kind-changes_requested"]  # newest first
    assert badge(mara) == "2 unread"
    # Scheduled by the approver: the approver is not told about their own act.
    with ui.runtime.session() as s:
        told = {(n.user_id, n.kind) for n in s.exec(select(Notification))}
    ids = {n: u.id for n, u in w.users.items()}
    assert (ids["rob"], "scheduled") not in told and (ids["mara"], "scheduled") in told
    assert {u for u, k in told if k == "submitted"} == {ids["rita"], ids["rob"], ids["ada"]}

    # Mark read one by one (htmx answers the row), then all; someone else's is not found.
    first = soup(mara.get("/notifications")).select_one("li.notification.unread")
    nid = first["id"].split("-")[1]
    row = mara.post(f"/notifications/{nid}/read", htmx=True)
    assert row.status_code == 200 and "unread" not in soup(row).select_one("li")["class"]
    assert badge(mara) == "1 unread"
    assert rita.post(f"/notifications/{nid}/read").status_code == 404
    assert rita.get(f"/notifications/{nid}", follow_redirects=False).status_code == 404
    assert mara.post("/notifications/read-all").status_code == 303
    assert badge(mara) is None and badge(rita) == "2 unread"  # submitted twice, never read by her


# -- revision history in the chat -----------------------------------------------------------------------

def test_revision_history_shows_a_per_field_word_diff_and_restores_as_a_new_checked_revision(ui: UI) -> None:
    w = ui.world
    loud = plan_dict()
    loud["variants"][0]["subject"] = "ACT NOW!!! Everything 50% off today"
    review = w.draft(w.users["mara"], plan=loud)
    calm = plan_dict()
    calm["variants"][0]["subject"] = "Everything 50% off today"
    calm["segments"][0]["description"] = "people who last ordered long ago"
    revise(ui, review, calm)
    mara = ui.browser("mara")
    page = soup(mara.get(f"/chat/{review.conversation_id}"))
    items = page.select("#revisions li.revision")
    assert [li["id"] for li in items] == ["revision-2", "revision-1"]
    assert items[0].select(".restore") == [] and items[1].select_one(".restore button").get_text(strip=True) == \
        "Restore revision 1"
    diff = mara.get(items[0].select_one("a.compare")["href"], headers={"HX-Request": "true"})
    part = soup(diff)
    assert part.select_one("h3").get_text(strip=True) == "Revision 1 → revision 2"
    [row] = part.select(".copy-diff tbody tr")
    assert [d.get_text() for d in row.select("del")] == ["ACT NOW!!! "]
    assert row.select("ins") == []  # the words kept are plain text, not struck and re-added
    words = part.select(".word-diff")
    assert any("description" in x.get_text() and x.select_one("ins").get_text() == "people who last ordered long ago"
               for x in words)

    # Restore revision 1: a third revision with revision 1's plan, checked by the guards again (the loud
    # subject is found this time); revisions 1 and 2 stay as they were.
    restore = page.select_one("#revision-1 form.restore")
    form = {i["name"]: i.get("value", "") for i in restore.select("input[name]")}
    response = mara.post(restore["action"], form)
    assert response.status_code == 303
    with ui.runtime.session() as s:
        revs = s.exec(select(PlanRevision).where(PlanRevision.conversation_id == review.conversation_id)
                      .order_by(PlanRevision.number)).all()
        assert [r.number for r in revs] == [1, 2, 3]
        assert revs[2].content_hash == revs[0].content_hash and revs[2].note == "Restored revision 1."
        assert revs[1].plan["variants"][0]["subject"] == "Everything 50% off today"
        codes = {f.code for f in s.exec(select(FindingRow).where(FindingRow.revision_id == revs[2].id))}
        assert any(c.startswith("TONE_") for c in codes), codes
        assert gate.review_for_conversation(s, review.conversation_id).revision_id == revs[2].id
    # The history form of before is stale now; a reviewer restores nothing.
    assert mara.post(restore["action"], form).status_code == 409
    w.session.expire_all()
    gate.submit(w.session, review.id, w.users["mara"], current(ui, review.id).version)
    w.session.commit()
    rita = ui.browser("rita")
    assert rita.post(restore["action"], {"base_number": 3}).status_code == 403
    with ui.runtime.session() as s:
        assert len(s.exec(select(PlanRevision).where(PlanRevision.conversation_id == review.conversation_id)).all()) == 3




# -- one connection per request ---------------------------------------------------------------------

def test_a_page_and_its_notification_badge_share_one_database_connection(ui: UI) -> None:
    """The layout's badge reads the request's own session: with a pool of one connection (every
    request holding two would exhaust any pool under as many concurrent pages), the queue, the
    review page and the notification list still answer, and the badge still counts."""
    from copilot import db

    review = submitted(ui, title="Pool of one")
    runtime = ui.runtime
    wide = runtime.engine
    runtime.engine = db.make_engine(wide.url.render_as_string(hide_password=False),
                                    pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        rita = ui.browser("rita")
        for path in ("/review", f"/review/{review.id}", "/notifications"):
            answer = rita.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        badge = soup(rita.get("/review")).select_one(".notify-badge, [data-unread]")
        assert badge is not None and "1" in badge.get_text(), "the submitted draft is one unread notification"
    finally:
        runtime.engine.dispose()
        runtime.engine = wide
