"""What the browser tests share: the app served by uvicorn on a free port, Debian's Chromium through
Playwright, logging in, screenshots kept as CI artifacts, page width and axe-core checks.

Screenshots go to ``$CI_ARTIFACTS_DIR/screenshots`` (``.ci/run`` sets it and prints where);
without the variable, to ``test-artifacts/screenshots`` in the checkout (ignored by git).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

__all__ = ["CHROMIUM", "ARTIFACTS", "Server", "chromium", "never_dialog", "shot", "login", "page_width", "axe",
           "serious"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("CI_ARTIFACTS_DIR") or ROOT / "test-artifacts") / "screenshots"
AXE = ROOT / "tests" / "support" / "vendor" / "axe.min.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (scripts/system_deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed; run scripts/system_deps.sh as root")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def never_dialog(page: Page, seen: list[str]) -> None:
    """Any alert() means script ran from data: record it and dismiss it so the test can fail clearly."""

    def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


def phone_page(browser: Browser, dialogs: list[str] | None = None) -> Page:
    """A page in its own context (its own cookies: one person) at phone width (390 x 844), failing
    clearly on any dialog."""
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    never_dialog(page, [] if dialogs is None else dialogs)
    return page


def shot(page: Page, name: str) -> None:
    """What a person sees first (the viewport), and the whole page beside it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(chat|review)$"))


def page_width(page: Page) -> int:
    """How wide the document lays out (wider than the viewport: the page scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (WCAG 2.x A and AA rules and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated, not a <script>: the page's CSP stays on
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
    }""")
    return list(result)


def serious(violations: list[dict[str, Any]]) -> str:
    """The serious and critical violations, one line each ("" when none)."""
    return "\n".join(json.dumps(v) for v in violations if v["impact"] in ("serious", "critical"))
