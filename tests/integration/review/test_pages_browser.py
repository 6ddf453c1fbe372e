"""The main pages at phone (390 px), tablet (768 px) and desktop (1280 px) width in real Chromium: no
sideways scrolling, no serious or critical axe-core violations, reachable by keyboard, and a screenshot
of each kept as a CI artifact (browser_support.ARTIFACTS)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from browser_support import (  # noqa: F401 (chromium: a fixture)
    ARTIFACTS,
    Server,
    axe,
    chromium,
    login,
    never_dialog,
    page_width,
    serious,
    shot,
)
from playwright.sync_api import Browser, Page, expect
from review_factory import World, five_segment_plan, five_segment_sizing, plan_dict

from copilot.app import create_app
from copilot.models import Contact, PlanRevision, User
from copilot.runtime import Runtime
from copilot.services import review as gate
from review_ui import ReviewUIPlugin

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1280, 900)}


@pytest.fixture
def site(runtime: Runtime, world: World, chromium: Browser) -> Iterator[dict[str, Any]]:  # noqa: F811
    """A five-segment draft in review (one segment at 0 contacts, real sample contacts), a scheduled
    campaign, and the app served on a free port."""
    s = world.session
    people = [Contact(workspace_id=world.workspace_id, email=f"runner{i}@example.org", first_name=name,
                      city="Lyon", locale="en", timezone="Europe/Paris")
              for i, name in enumerate(("Ines", "Marek", "Aiyana"))]
    s.add_all(people)
    s.flush()
    review = world.submitted(world.users["mara"], plan=five_segment_plan(), title="Five-segment spring win-back")
    s.get(PlanRevision, review.revision_id).sizing = five_segment_sizing([p.id or 0 for p in people])  # type: ignore[union-attr]
    rita = s.get(User, world.users["rita"].id)
    rita.email = "rita.reviewer@example.net"  # type: ignore[union-attr]
    done = world.submitted(world.users["mara"], plan=plan_dict(title="Autumn news"), title="Autumn news")
    done = gate.approve(s, done, world.users["rita"], done.version, expected_hash=done.revision_hash)
    gate.schedule(s, done, world.users["rita"], done.version, at=datetime.now(UTC) + timedelta(days=2),
                  timezone="Europe/Berlin")
    s.commit()
    app = create_app(runtime=runtime, plugins=[ReviewUIPlugin()])
    with Server(app) as server:
        yield {"base": server.url, "review": review, "conversation": review.conversation_id}


def _open(chromium: Browser, base: str, user: str, width: int, height: int) -> tuple[Page, list[str]]:  # noqa: F811
    page = chromium.new_context(viewport={"width": width, "height": height}).new_page()
    dialogs: list[str] = []
    never_dialog(page, dialogs)
    login(page, base, user)
    return page, dialogs


@pytest.mark.parametrize("size", list(WIDTHS))
def test_main_pages_fit_pass_axe_and_are_kept_as_screenshots(site: dict[str, Any], chromium: Browser,  # noqa: F811
                                                               size: str) -> None:
    width, height = WIDTHS[size]
    base, review = site["base"], site["review"]
    pages = [("rita", "review_queue", "/review"), ("rita", "review_detail", f"/review/{review.id}"),
             ("rita", "scheduled", "/scheduled"), ("mara", "chat", f"/chat/{site['conversation']}")]
    problems: list[str] = []
    seen: dict[str, Page] = {}
    for user, name, path in pages:
        if user not in seen:
            seen[user], _ = _open(chromium, base, user, width, height)
        page = seen[user]
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if name in ("review_detail", "chat"):  # what the plan shows first: its summary, in one screen
            expect(page.locator(".plan-glance .seg-bars li")).to_have_count(5)
            expect(page.locator(".variant-cards .vcard")).to_have_count(10)
            expect(page.locator(".plan-flags .flag-nobody")).to_contain_text("Browsers who never bought")
        shot(page, f"{name}-{size}-{width}")
        if (laid_out := page_width(page)) > width:
            problems.append(f"{path} at {width} px lays out {laid_out} px wide (scrolls sideways)")
        if name == "review_detail":  # the plan's folded parts count too: unfold them and look again
            for summary in page.locator("details:not([open]) > summary").all():
                if summary.is_visible():
                    summary.click()
            page.wait_for_load_state("networkidle")
            shot(page, f"{name}-unfolded-{size}-{width}")
            if (laid_out := page_width(page)) > width:
                problems.append(f"{path} unfolded at {width} px lays out {laid_out} px wide")
        if bad := serious(axe(page)):
            problems.append(f"axe on {path} at {width} px:\n{bad}")
    for page in seen.values():
        page.context.close()
    assert not problems, "\n".join(problems)


def _tab_until(page: Page, wanted: str, limit: int = 400) -> list[str]:
    """Press Tab until the focused element matches ``wanted`` (a CSS selector); returns what was focused."""
    walked: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("""() => { const e = document.activeElement;
            return e ? (e.tagName + ' ' + (e.innerText || e.value || e.getAttribute('aria-label') || '')).trim()
                        .slice(0, 60) : ''; }""")
        walked.append(here)
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", wanted):
            return walked
    raise AssertionError(f"{wanted} never got the focus by Tab; focus went: {walked[-20:]}")


def test_the_plan_page_works_from_the_keyboard_at_phone_width(site: dict[str, Any], chromium: Browser) -> None:  # noqa: F811
    base, review = site["base"], site["review"]
    page, dialogs = _open(chromium, base, "rita", *WIDTHS["phone"])
    page.goto(f"{base}/review/{review.id}")
    _tab_until(page, "a.skip-link")
    page.keyboard.press("Enter")  # skip the navigation
    _tab_until(page, "#approve-open")
    card = _tab_until(page, ".vcard a")
    assert card, "the email cards are reachable"
    page.keyboard.press("Enter")  # a card opens its email's details
    expect(page.locator("#variant-0 > details")).to_have_attribute("open", "")
    preview = page.locator("#variant-0 details.preview").first
    expect(preview.locator(".inbox-subject")).to_have_text("we saved you 15% for spring")
    expect(preview.frame_locator(".frame-phone iframe").locator("body")).to_contain_text("Hi Ines")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    preview.screenshot(path=str(ARTIFACTS / "preview-phone-390.png"))
    _tab_until(page, "#variant-0 .test-send button")
    page.keyboard.press("Enter")  # "Send me a test" from the keyboard
    expect(page.locator("#variant-0-sent")).to_contain_text("Test sent to rita.reviewer@example.net")
    assert page_width(page) <= WIDTHS["phone"][0]
    page.context.close()
    assert dialogs == []
