"""The UI in real Chromium (Debian's, through Playwright): the marketer's and the reviewer's journeys,
and hostile text that must stay text. Screenshots of each page are CI artifacts (browser_support)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser_support import Server, chromium, login, never_dialog, phone_page, page_width, shot  # noqa: F401 (chromium: a fixture)
from playwright.sync_api import Browser, Page, expect
from review_factory import World, finding, plan_dict
from support.fakes import demo_plan
from support.openai_stub import StubLLM, answering, llm_settings, serving

from copilot.app import create_app
from copilot.models import Contact, PlanRevision, Review
from copilot.planner.llm import LLMPlanner
from copilot.runtime import Runtime
from review_ui import ReviewUIPlugin

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
BRIEF = "win back runners who haven't bought in six months with 15% off"


@pytest.fixture
def person(chromium: Browser) -> Iterator:  # type: ignore[type-arg]
    pages: list[tuple[Page, list[str]]] = []

    def open_page() -> tuple[Page, list[str]]:
        context = chromium.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        dialogs: list[str] = []
        never_dialog(page, dialogs)
        pages.append((page, dialogs))
        return page, dialogs

    yield open_page
    for page, dialogs in pages:
        page.context.close()
        assert dialogs == [], f"script ran in the page: {dialogs}"


def _audience(runtime: Runtime, world: World) -> None:
    from copilot.audience import build_demo_audience

    build_demo_audience(runtime.engine, runtime.default_workspace, world.workspace_id, contacts=300, seed=7)


def test_marketer_and_reviewer_journeys(runtime: Runtime, world: World, person) -> None:  # type: ignore[no-untyped-def]
    _audience(runtime, world)
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin()])  # the real offline planner answers
    with Server(app) as server:
        base = server.url
        # -- the marketer: brief, streamed reply, plan, live findings on an edited subject, submit
        page, _ = person()
        shot_login = page
        shot_login.goto(f"{base}/login")
        shot(shot_login, "login")
        login(page, base, "mara")
        page.get_by_label("New campaign title").fill("Spring win-back")
        page.get_by_role("button", name="New campaign").click()
        page.wait_for_url(re.compile(r"/chat/\d+$"))
        streams: list[str] = []
        page.on("request", lambda r: streams.append(r.url) if "/stream" in r.url else None)
        page.get_by_label("Message").fill(BRIEF)
        page.get_by_role("button", name="Send").click()
        answer = page.locator("#messages .msg.assistant").last
        expect(answer).not_to_have_class(re.compile("streaming"), timeout=30_000)
        assert streams, "the answer did not come over the SSE stream"
        assert answer.locator(".text").inner_text().strip()
        # The plan reads in one screen: audience, timeline and a card per email; the rest unfolds.
        expect(page.locator("#plan-panel .seg-bars .seg-name").first).to_be_visible()
        expect(page.locator("#plan-panel .timeline li").first).to_be_visible()
        expect(page.locator("#plan-panel .variant-cards .vcard").first).to_be_visible()
        expect(page.locator("#plan-panel table.segments th[scope=row]").first).to_be_hidden()
        page.locator("#plan-segments > summary").click()
        expect(page.locator("#plan-panel table.segments th[scope=row]").first).to_be_visible()
        shot(page, "chat")
        page.locator("#variant-0 details.edit-copy summary").click()
        subject = page.locator("#variant-0-subject")
        subject.fill("ACT NOW!!! Everything 50% off today")
        live = page.locator("#variant-0-findings[data-live='1']")
        expect(live).to_be_visible(timeout=10_000)
        expect(live.locator("li.finding.sev-block").first).to_be_visible()
        codes = live.locator("li.finding").evaluate_all("els => els.map(e => e.dataset.code)")
        assert "TONE_BANNED_PHRASE" in codes
        page.get_by_role("button", name="Save copy").first.click()
        page.wait_for_url(re.compile(r"/chat/\d+#variant-0$"))
        # innerText: what a person reads (the hover/focus notes are hidden until asked for).
        expect(page.locator("#variant-0 .field-subject")).to_contain_text("ACT NOW!!! Everything 50% off today",
                                                                        use_inner_text=True)
        mark = page.locator("#variant-0 .field-subject mark").first
        mark.focus()
        expect(mark.locator("[role=tooltip]")).to_be_visible()
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator("#submit-panel .state")).to_have_text("In review")
        review_link = page.locator("#submit-panel a").get_attribute("href")
        assert review_link and review_link.startswith("/review/")

        # -- the author's own review page offers no decision on it (the core refuses one anyway)
        page.goto(base + review_link)
        expect(page.locator("#review-state")).to_have_text("In review")
        for name in ("Approve", "Request changes", "Reject", "Override", "Acknowledge"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Add comment")).to_be_visible()

        # -- the reviewer: queue, blocked approve, override with a reason, approve, schedule
        rpage, _ = person()
        login(rpage, base, "rita")
        row = rpage.locator("tr.queue-row", has_text="Spring win-back")
        expect(row).to_be_visible()
        expect(row.locator("td").nth(3)).not_to_have_text("0")
        shot(rpage, "review_queue")
        rpage.keyboard.press("?")
        expect(rpage.locator("#shortcuts")).to_be_visible()
        rpage.keyboard.press("Escape")
        rpage.keyboard.press("j")
        rpage.keyboard.press("k")
        rpage.keyboard.press("Enter")
        rpage.wait_for_url(re.compile(r"/review/\d+$"))
        # Approve is held while findings stand (the server refuses it too: test_review_on_purpose.py).
        expect(rpage.get_by_role("button", name="Approve…")).to_be_disabled()
        expect(rpage.locator("#gate-reasons")).to_contain_text("must be resolved or overridden before approval")
        expect(rpage.locator("#review-state")).to_have_text("In review")
        for kind, label, button in (("override", "Why is it right to send this anyway? (required)", "Override"),
                                    ("acknowledge", "Note (optional)", "Acknowledge")):
            forms = rpage.locator(f"form.{kind}")
            while (left := forms.count()):
                forms.first.get_by_label(label).fill("Offer confirmed with the promotions team")
                forms.first.get_by_role("button", name=button).click()
                expect(forms).to_have_count(left - 1, timeout=20_000)
        expect(rpage.locator(".resolved").first).to_contain_text("Overridden: Offer confirmed")
        shot(rpage, "review_detail")
        rpage.get_by_role("button", name="Approve…").click()
        rpage.get_by_label("Comment (optional)").fill("Fine with the override")
        rpage.get_by_role("button", name="Yes, approve").click()
        expect(rpage.locator("#review-state")).to_have_text("Approved", timeout=15_000)
        when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
        rpage.locator("#schedule-at").fill(when)
        rpage.get_by_label("Time zone").fill("Europe/Berlin")
        rpage.get_by_role("button", name="Schedule").click()
        expect(rpage.locator("#review-state")).to_have_text("Scheduled")
        rpage.goto(f"{base}/scheduled")
        expect(rpage.locator("#scheduled tbody tr", has_text="Spring win-back")).to_be_visible()
        expect(rpage.locator("#scheduled tbody tr").first).to_contain_text("Europe/Berlin")
        shot(rpage, "scheduled")

        # -- what the author saw: the history names the override and the approval
        page.goto(base + review_link)
        history = page.locator(".audit-log").inner_text()
        assert "finding overridden" in history and "approved" in history and "scheduled" in history


def test_hostile_contact_reply_and_subject_stay_text_in_the_browser(runtime: Runtime, world: World,  # type: ignore[no-untyped-def]
                                                                       person, tmp_path: Path,
                                                                       _tiktoken_offline: None) -> None:
    s = world.session
    hostile = Contact(workspace_id=world.workspace_id, email="x@example.org", first_name=HOSTILE_NAME,
                      last_name="{{ 7*7 }}", city="<script>alert(3)</script>")
    s.add(hostile)
    s.flush()
    plan = plan_dict(title="<b>bold</b> {{ 6*7 }}")
    plan["variants"][0]["subject"] = "Hi {{ first_name }}, {{ 7*7 }} {% raw %}<script>alert(4)</script>"
    plan["variants"][1]["body"] = "Hi {{ first_name }}, new trail shoes are in."
    plan["variants"][1]["merge_fields"] = [{"name": "first_name", "fallback": "runner"}]
    review = world.submitted(world.users["mara"], [finding("FACT_PRICE", message="<img src=x onerror=alert(5)>")],
                             plan=plan, title=HOSTILE_NAME)
    s.get(PlanRevision, review.revision_id).sizing = {"segments": [
        {"name": "Lapsed buyers", "size": 1, "raw_size": 1, "english": "contacts who <i>lapsed</i>",
         "sample_ids": [hostile.id]},
        {"name": "Everyone else", "size": 1, "raw_size": 1, "english": "everyone", "sample_ids": [hostile.id]}]}
    s.commit()
    # The model's reply is hostile; the planner is the real one, over a stubbed API that the server
    # thread reaches too (respx patches the HTTP transport for the whole process).
    stub = StubLLM(answering(demo_plan(), reply="Here <script>alert(6)</script><img src=x onerror=alert(7)>"))
    planner = LLMPlanner(llm_settings(tmp_path / "data"))
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin(planner=planner)])
    with serving(stub), Server(app) as server:
        base = server.url
        page, dialogs = person()
        login(page, base, "rita")
        page.goto(f"{base}/review/{review.id}")
        expect(page.locator("h1")).to_have_text(HOSTILE_NAME)
        expect(page.locator("#variant-0 .field-subject")).to_contain_text(
            "{{ 7*7 }} {% raw %}<script>alert(4)</script>", use_inner_text=True)
        assert page.locator("main img[src='x']").count() == 0
        assert page.locator("main script").count() == 0
        # Copy with template code outside the copy language is refused, not run, and says so.
        expect(page.locator("#variant-0 .previews")).to_contain_text("Cannot render")
        # The hostile contact's name falls back in the preview, which sits in a sandboxed iframe.
        frames = page.locator(".previews iframe")
        assert frames.count() >= 2
        assert all(frames.nth(i).get_attribute("sandbox") == "" for i in range(frames.count()))
        page.locator("#variant-1 > details > summary").click()  # the email unfolds; its first preview is open
        sample = page.frame_locator("#variant-1 .frame-phone iframe").first
        expect(sample.locator("body")).to_contain_text("Hi runner, new trail shoes are in.")
        assert sample.locator("img, script").count() == 0
        shot(page, "hostile_review_detail")

        mpage, mdialogs = person()
        login(mpage, base, "mara")
        mpage.get_by_role("button", name="New campaign").click()
        mpage.wait_for_url(re.compile(r"/chat/\d+$"))
        mpage.get_by_label("Message").fill(BRIEF)
        mpage.get_by_role("button", name="Send").click()
        answer = mpage.locator("#messages .msg.assistant").last
        expect(answer).not_to_have_class(re.compile("streaming"), timeout=30_000)
        expect(answer.locator(".text")).to_contain_text("Here <script>alert(6)</script><img src=x onerror=alert(7)>")
        assert mpage.locator("#messages script, #messages img").count() == 0
        mpage.reload()
        expect(mpage.locator("#messages .msg.assistant .text").last).to_contain_text("<script>alert(6)</script>")
        time.sleep(0.3)  # give any injected handler the chance to fire before the dialog check
    assert stub.kinds == ["plan", "copy", "copy"]  # the reply came from the model planner, through the stub
    assert dialogs == [] and mdialogs == []


def test_approving_asks_first_and_keys_act_only_on_the_open_draft_at_phone_width(  # type: ignore[no-untyped-def]
        runtime: Runtime, world: World, chromium: Browser) -> None:
    """At 390 px: "a" in the queue approves nothing; on the open draft "a" and the Approve button open a
    confirmation that Escape and "Not now" close without a request; only "Yes, approve" approves; a draft
    with a standing block has Approve disabled and "a" opens nothing."""
    clean = world.submitted(world.users["mara"], title="Clean autumn send")
    blocked = world.submitted(world.users["mara"], [finding("FACT_PRICE")], title="Blocked autumn send")
    world.session.commit()
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin()])
    with Server(app) as server:
        base = server.url
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        dialogs: list[str] = []
        never_dialog(page, dialogs)
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/approve" in r.url else None)

        def state(review_id: int) -> str:
            with runtime.session() as s:
                return s.get(Review, review_id, populate_existing=True).state  # type: ignore[union-attr]

        login(page, base, "rita")
        expect(page.locator("tr.queue-row")).to_have_count(2)
        for _ in range(2):
            page.keyboard.press("j")
            page.keyboard.press("a")
        expect(page.locator("tr.queue-row.selected")).to_have_count(1)
        page.wait_for_timeout(300)  # a request "a" might have sent would have left by now
        assert posts == [] and state(clean.id) == state(blocked.id) == "in_review"
        assert page.url.endswith("/review")  # "a" in the list neither approves nor opens anything

        page.goto(f"{base}/review/{clean.id}")
        dialog = page.locator("#approve-dialog")
        expect(dialog).to_be_hidden()
        page.keyboard.press("a")
        expect(dialog).to_be_visible()
        expect(page.get_by_role("button", name="Yes, approve")).to_be_focused()
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone
        shot(page, "approve_confirm_390")
        assert page_width(page) <= 390, "the review page scrolls sideways at phone width"
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        page.get_by_role("button", name="Approve…").click()
        expect(dialog).to_be_visible()
        page.get_by_role("link", name="Not now").click()
        expect(dialog).to_be_hidden()
        assert page.url.endswith(f"/review/{clean.id}")
        page.wait_for_timeout(300)
        assert posts == [] and state(clean.id) == "in_review"
        page.keyboard.press("a")
        page.get_by_role("button", name="Yes, approve").click()
        expect(page.locator("#review-state")).to_have_text("Approved")
        assert len(posts) == 1 and state(clean.id) == "approved"
        # The schedule form that follows starts ahead of now, in the brand's zone.
        expect(page.locator("#schedule-tz")).to_have_value(runtime.default_workspace.brand.timezone)
        start = datetime.fromisoformat(page.locator("#schedule-at").input_value())
        assert start > datetime.now(ZoneInfo(runtime.default_workspace.brand.timezone)).replace(tzinfo=None)

        page.goto(f"{base}/review/{blocked.id}")
        expect(page.get_by_role("button", name="Approve…")).to_be_disabled()
        page.keyboard.press("a")
        page.wait_for_timeout(300)
        expect(page.locator("#approve-dialog")).to_have_count(0)
        assert len(posts) == 1 and state(blocked.id) == "in_review"
        shot(page, "approve_held_390")
        context.close()
        assert dialogs == []


def test_changes_requested_loop_with_two_accounts_at_phone_width(  # type: ignore[no-untyped-def]
        runtime: Runtime, world: World, chromium: Browser) -> None:
    """reviewer -> changes requested -> the marketer reads the comment in the chat and submits again ->
    the reviewer approves through the confirmation -> schedules from the form's own (future) start."""
    review = world.submitted(world.users["mara"], title="Loop at 390")
    world.session.commit()
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin()])
    with Server(app) as server:
        base = server.url

        rpage, mpage = phone_page(chromium), phone_page(chromium)
        login(rpage, base, "rita")
        rpage.goto(f"{base}/review/{review.id}")
        rpage.get_by_label("What should change").fill("Name the offer's end date")
        rpage.get_by_role("button", name="Request changes").click()
        expect(rpage.locator("#review-state")).to_have_text("Changes requested")

        login(mpage, base, "mara")
        mpage.goto(f"{base}/chat/{review.conversation_id}")
        note = mpage.locator("#messages .msg.review-note")
        expect(note).to_contain_text("Name the offer's end date")
        expect(note.locator(".who")).to_have_text("Rita · requested changes")
        shot(mpage, "chat_changes_requested_390")
        assert page_width(mpage) <= 390, "the chat scrolls sideways at phone width"
        mpage.get_by_role("button", name="Submit for review").click()
        expect(mpage.locator("#submit-panel .state")).to_have_text("In review")

        rpage.reload()
        rpage.get_by_role("button", name="Approve…").click()
        rpage.get_by_role("button", name="Yes, approve").click()
        expect(rpage.locator("#review-state")).to_have_text("Approved")
        rpage.get_by_role("button", name="Schedule").click()  # the prefilled start is ahead of now
        expect(rpage.locator("#review-state")).to_have_text("Scheduled")
        expect(rpage.locator(".status-line")).to_contain_text(runtime.default_workspace.brand.timezone)
        shot(rpage, "review_scheduled_390")
        assert page_width(rpage) <= 390, "the review page scrolls sideways at phone width"
        for page in (rpage, mpage):
            page.context.close()
