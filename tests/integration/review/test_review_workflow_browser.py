"""Issue 20's loop in real Chromium at phone width (390 px), two accounts: the reviewer anchors a comment
to a field and requests changes; the marketer is told (badge, list), reads the comment in the chat beside
the part it is about, revises the copy and submits again; the reviewer is told, approves section by
section and schedules; the marketer is told that too. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from review_factory import World
from browser_support import Server, chromium, login, page_width, phone_page, shot  # noqa: F401 (chromium: fixture)

from copilot.app import create_app
from copilot.models import Review
from copilot.runtime import Runtime
from review_ui import ReviewUIPlugin

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FIELD = "Lapsed buyers · variant A (email_1, en) · Subject"



def test_review_loop_with_anchored_comment_sections_and_notifications_at_phone_width(  # type: ignore[no-untyped-def]
        runtime: Runtime, world: World, chromium: Browser) -> None:  # noqa: F811
    review = world.submitted(world.users["mara"], title="Loop by section")
    world.session.commit()
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin()])
    with Server(app) as server:
        base = server.url

        rpage, mpage = phone_page(chromium), phone_page(chromium)
        # -- the reviewer is told about the submission, opens it from the list
        login(rpage, base, "rita")
        expect(rpage.locator("#notify-badge")).to_have_text(re.compile(r"^1\s*unread$"))
        rpage.locator("#notify-link").click()
        item = rpage.locator("#notifications li.notification.unread")
        expect(item).to_contain_text("Mara submitted for review “Loop by section”")
        shot(rpage, "notifications_390")
        assert page_width(rpage) <= 390, "the notifications page scrolls sideways at phone width"
        item.get_by_role("link").click()
        rpage.wait_for_url(re.compile(rf"/review/{review.id}$"))
        expect(rpage.locator("#notify-badge")).to_have_count(0)

        # -- an anchored comment, then changes requested
        rpage.get_by_label("About").last.select_option(label=FIELD)
        rpage.get_by_label("Comment", exact=True).fill("Say which shoes the 15% is for")
        rpage.get_by_role("button", name="Add comment").click()
        expect(rpage.locator("#variant-0 .anchored-comments")).to_contain_text("Say which shoes the 15% is for")
        expect(rpage.locator("#variant-0 .anchored-comments .anchor-label")).to_contain_text("Subject")
        rpage.locator("#changes-anchor").select_option(label=FIELD)
        rpage.get_by_label("What should change").fill("Name the shoes in the subject")
        rpage.get_by_role("button", name="Request changes").click()
        expect(rpage.locator("#review-state")).to_have_text("Changes requested")
        shot(rpage, "review_anchored_comment_390")
        assert page_width(rpage) <= 390, "the review page scrolls sideways at phone width"

        # -- the marketer is told, reads the comment in the chat and beside the subject, revises, submits
        login(mpage, base, "mara")
        expect(mpage.locator("#notify-badge")).to_have_text(re.compile(r"^1\s*unread$"))
        mpage.locator("#notify-link").click()
        mpage.locator("li.notification", has_text="Rita requested changes").get_by_role("link").click()
        mpage.wait_for_url(re.compile(rf"/chat/{review.conversation_id}$"))
        note = mpage.locator("#messages .review-note", has_text="Name the shoes in the subject")
        expect(note.locator(".anchor-label")).to_have_text(f"on {FIELD}")
        expect(mpage.locator("#plan-panel #variant-0 .anchored-comments")).to_contain_text(
            "Name the shoes in the subject")
        shot(mpage, "chat_anchored_changes_390")
        assert page_width(mpage) <= 390, "the chat scrolls sideways at phone width"
        mpage.locator("#variant-0 details.edit-copy summary").click()
        mpage.locator("#variant-0-subject").fill("We saved you 15% on trail shoes")
        mpage.get_by_role("button", name="Save copy").first.click()
        mpage.wait_for_url(re.compile(rf"/chat/{review.conversation_id}#variant-0$"))
        # The revision history names both revisions and shows the edit word by word.
        mpage.locator("#revisions summary").click()
        # The history says what changed: the one field edited, though the form sent every field.
        expect(mpage.locator("#revision-2 .note")).to_have_text("Edited subject of Lapsed buyers variant A (email_1).")
        mpage.locator("#revision-2 a.compare").first.click()
        diff = mpage.locator("#revision-diff .copy-diff tbody tr").first
        expect(diff.locator("ins")).to_have_text(["on", "trail shoes"])
        expect(diff.locator("del")).to_have_text(["for", "spring"])  # "We saved you 15%" kept as it was
        shot(mpage, "chat_revision_diff_390")
        assert page_width(mpage) <= 390, "the revision history scrolls sideways at phone width"
        mpage.get_by_role("button", name="Submit for review").click()
        expect(mpage.locator("#submit-panel .state")).to_have_text("In review")

        # -- the reviewer: told again; resolves what the guards found; approves section by section; schedules
        rpage.goto(f"{base}/review/{review.id}")
        expect(rpage.locator("#notify-badge")).to_have_text(re.compile(r"^1\s*unread$"))
        for kind, label, button in (("override", "Why is it right to send this anyway? (required)", "Override"),
                                    ("acknowledge", "Note (optional)", "Acknowledge")):
            forms = rpage.locator(f"form.{kind}")
            while (left := forms.count()):
                forms.first.get_by_label(label).fill("Checked with the promotions team")
                forms.first.get_by_role("button", name=button).click()
                expect(forms).to_have_count(left - 1, timeout=20_000)
        for section in ("audience", "trigger", "copy"):
            expect(rpage.locator("#review-state")).to_have_text("In review")
            rpage.locator(f"#approve-section-{section}").click()
            rpage.get_by_role("button", name=f"Yes, approve the {section}").click()
            expect(rpage.locator(f"#section-{section} .section-state")).to_have_text("Approved")
        expect(rpage.locator("#review-state")).to_have_text("Approved")
        shot(rpage, "review_sections_approved_390")
        assert page_width(rpage) <= 390
        rpage.get_by_role("button", name="Schedule").click()
        expect(rpage.locator("#review-state")).to_have_text("Scheduled")

        mpage.goto(f"{base}/notifications")
        expect(mpage.locator("li.notification.unread")).to_have_count(2)
        expect(mpage.locator("li.notification").first).to_contain_text("Rita scheduled “Loop by section”")
        expect(mpage.locator("li.notification").nth(1)).to_contain_text("Rita approved “Loop by section”")
        shot(mpage, "notifications_told_390")
        with runtime.session() as s:
            done = s.get(Review, review.id, populate_existing=True)
            assert done is not None and done.state == "scheduled" and done.scheduled_for is not None
            assert done.scheduled_for > datetime.now(UTC) - timedelta(minutes=1)
        for page in (rpage, mpage):
            page.context.close()
