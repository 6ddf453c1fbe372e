"""UI sessions are server-side and kept in the data folder: a restart does not log anyone out, logout does."""

from __future__ import annotations

import pytest
from review_factory import World
from ui_support import Browser

from copilot.app import create_app
from copilot.runtime import Runtime
from review_ui import ReviewUIPlugin

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime=runtime, plugins=[ReviewUIPlugin()])


@sqlite_only
def test_a_session_outlives_a_restart_of_the_service(runtime: Runtime, world: World) -> None:
    before = Browser(_app(runtime))
    assert before.login("mara").status_code == 303
    cookie = before.client.cookies.get("copilot_session")
    assert cookie and list((runtime.settings.data_dir / "sessions").iterdir())  # stored server-side, not in the cookie
    after = Browser(_app(runtime))  # a new app process over the same data folder
    after.client.cookies.set("copilot_session", cookie, domain="testserver.local")
    page = after.get("/chat", follow_redirects=False)
    assert page.status_code == 200 and "Mara <span class=\"role\">(marketer)</span>" in page.text


@sqlite_only
def test_after_logout_the_old_cookie_opens_nothing(runtime: Runtime, world: World) -> None:
    b = Browser(_app(runtime))
    assert b.login("mara").status_code == 303
    cookie = b.client.cookies.get("copilot_session")
    assert b.post("/logout").headers["location"] == "/login"
    replay = Browser(_app(runtime))
    replay.client.cookies.set("copilot_session", cookie, domain="testserver.local")
    response = replay.get("/chat", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@sqlite_only
def test_reading_pages_writes_no_session_and_visitors_leave_none(runtime: Runtime, world: World) -> None:
    folder = runtime.settings.data_dir / "sessions"
    visitor = Browser(_app(runtime))
    visitor.get("/login")
    visitor.get("/chat", follow_redirects=False)
    assert not folder.exists() or list(folder.iterdir()) == []
    b = Browser(_app(runtime))
    assert b.login("mara").status_code == 303
    [stored] = list(folder.iterdir())
    written = stored.stat().st_mtime_ns
    for path in ("/chat", "/scheduled", "/chat"):
        assert b.get(path, follow_redirects=False).status_code == 200
    assert [p.name for p in folder.iterdir()] == [stored.name] and stored.stat().st_mtime_ns == written
