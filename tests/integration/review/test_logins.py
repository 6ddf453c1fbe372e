"""Log-ins and sessions over HTTP: CSRF tokens bound to one session, failed log-ins throttled per
account and per client address (X-Forwarded-For believed only from trusted proxies) with a clear
message and Retry-After, the same counts in every app process, session rotation, log out everywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from review_factory import PASSWORD, World
from sqlmodel import Session, select
from ui_support import Browser, soup

from copilot.app import create_app
from copilot.models import LoginThrottle, User
from copilot.runtime import Runtime
from review_ui import ReviewUIPlugin

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _app(runtime: Runtime, **settings):  # type: ignore[no-untyped-def]
    runtime.settings = runtime.settings.replace(**settings)
    return create_app(runtime=runtime, plugins=[ReviewUIPlugin()])


def _attempt(b: Browser, username: str, password: str, forwarded_for: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return b.post("/login", {"username": username, "password": password}, headers=headers)


# -- CSRF ----------------------------------------------------------------------------------------

@sqlite_only
def test_a_csrf_token_works_only_in_the_session_it_was_issued_for(runtime: Runtime, world: World) -> None:
    app = _app(runtime)
    mara, mo = Browser(app), Browser(app)
    assert mara.login("mara").status_code == 303 and mo.login("mo").status_code == 303
    assert mara.token != mo.token
    stolen = mara.token
    mo.token = stolen  # a valid token, from someone else's page ...
    for name, value in mara.client.cookies.items():  # ... with every cookie but the session planted too
        if name != "copilot_session":
            mo.client.cookies.set(name, value, domain="testserver.local")
    refused = mo.post("/chat", {"title": "planted"})
    assert refused.status_code == 403 and "CSRF token verification failed" in soup(refused).get_text()
    mo.get("/chat")  # its own page gives its own token back
    assert mo.post("/chat", {"title": "mine"}).status_code == 303


@sqlite_only
def test_a_token_from_before_log_in_is_void_after_it(runtime: Runtime, world: World) -> None:
    b = Browser(_app(runtime))
    b.get("/login")
    before = b.token
    assert b.post("/login", {"username": "mara", "password": PASSWORD}).status_code == 303
    b.token = before
    assert b.post("/chat", {"title": "x"}).status_code == 403
    assert b.post("/chat", {"title": "x"}, htmx=True).status_code == 403  # the header path is bound too
    b.get("/chat")
    assert b.token != before and b.post("/chat", {"title": "x"}).status_code == 303


@sqlite_only
def test_log_in_replaces_the_session_id_and_leaves_the_old_one_void(runtime: Runtime, world: World) -> None:
    app = _app(runtime)
    b = Browser(app)
    assert b.login("mara").status_code == 303
    first = b.client.cookies.get("copilot_session")
    assert b.login("mara").status_code == 303
    second = b.client.cookies.get("copilot_session")
    assert first != second


# -- throttling ----------------------------------------------------------------------------------

@sqlite_only
def test_an_account_is_throttled_whatever_address_the_guesses_come_from(runtime: Runtime, world: World) -> None:
    app = _app(runtime, login_limit_per_account=(3, 900), login_limit_per_address=(100, 60),
               trusted_proxies=("10.0.0.0/8",))
    b = Browser(app, peer="10.0.0.1")  # behind a trusted proxy, so every guess has its own client address
    codes = [_attempt(b, "mara", f"guess{i}", f"198.51.100.{i}").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    refused = _attempt(b, "mara", PASSWORD, "198.51.100.99")  # even the right password waits
    assert refused.status_code == 429
    assert 890 <= int(refused.headers["retry-after"]) <= 900
    assert soup(refused).select_one(".login [role=alert]").get_text(strip=True) == \
        "Too many failed log-ins for this account. Try again in 15 minutes."
    assert b.get("/chat", follow_redirects=False).status_code == 303  # not logged in
    other = _attempt(b, "mo", PASSWORD, "198.51.100.99")  # another account from the same place is fine
    assert other.status_code == 303


@sqlite_only
def test_an_address_is_throttled_across_usernames_and_a_made_up_forwarded_for_changes_nothing(
        runtime: Runtime, world: World) -> None:
    app = _app(runtime, login_limit_per_address=(4, 60), login_limit_per_account=(100, 900))
    b = Browser(app, peer="203.0.113.9")  # no trusted proxies: the header is the client's own claim
    codes = [_attempt(b, name, "wrong", f"192.0.2.{i}").status_code
             for i, name in enumerate(["mara", "mo", "rita", "nobody"])]
    assert codes == [401, 401, 401, 401]
    refused = _attempt(b, "ada", PASSWORD, "192.0.2.200")
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many failed log-ins from your network address. Try again in" in soup(refused).get_text()
    elsewhere = Browser(app, peer="203.0.113.10")
    assert _attempt(elsewhere, "ada", PASSWORD).status_code == 303


@sqlite_only
def test_forwarded_for_counts_only_from_a_trusted_proxy(runtime: Runtime, world: World) -> None:
    app = _app(runtime, login_limit_per_address=(2, 60), login_limit_per_account=(100, 900),
               trusted_proxies=("10.0.0.0/8",))
    proxy = Browser(app, peer="10.0.0.1")
    for _ in range(2):
        assert _attempt(proxy, "mara", "wrong", "198.51.100.1").status_code == 401
    assert _attempt(proxy, "mo", PASSWORD, "198.51.100.1").status_code == 429  # that client is blocked
    assert _attempt(proxy, "mo", PASSWORD, "198.51.100.2").status_code == 303  # another behind the proxy is not
    with Session(runtime.engine) as s:
        keys = {row.key for row in s.exec(select(LoginThrottle))}
    assert "address:198.51.100.1" in keys and "address:10.0.0.1" not in keys


@sqlite_only
def test_a_success_clears_the_accounts_count_but_not_the_addresss(runtime: Runtime, world: World) -> None:
    app = _app(runtime, login_limit_per_account=(2, 900), login_limit_per_address=(3, 60))
    b = Browser(app, peer="203.0.113.20")
    assert _attempt(b, "mara", "wrong").status_code == 401
    assert _attempt(b, "mara", PASSWORD).status_code == 303  # mara's count starts over
    b2 = Browser(app, peer="203.0.113.20")
    assert _attempt(b2, "mara", "wrong").status_code == 401
    assert _attempt(b2, "mara", "wrong").status_code == 401  # third failure from this address
    assert _attempt(b2, "mo", PASSWORD).status_code == 429  # the address's count was not reset by a success


@sqlite_only
def test_the_counts_hold_across_app_processes(runtime: Runtime, world: World, tmp_path: Path) -> None:
    """Another process (its own interpreter, app and engine) fails to log in; this one sees the block."""
    script = textwrap.dedent("""
        import re, sys
        from litestar.testing import TestClient
        from copilot.app import create_app
        from review_ui import ReviewUIPlugin
        client = TestClient(create_app(plugins=[ReviewUIPlugin()]), base_url="http://testserver.local")
        token = re.search(r'"x-csrftoken": "([^"]+)"', client.get("/login").text).group(1)
        codes = [client.post("/login", data={"username": "mara", "password": "guess%d" % i, "_csrf_token": token},
                             follow_redirects=False).status_code for i in range(3)]
        print(codes)
    """)
    env = {**os.environ, "DATABASE_URL": runtime.settings.database_url,
           "COPILOT_DATA_DIR": str(tmp_path / "other-process"), "COPILOT_SECRET_KEY": "another-process-secret",
           "COPILOT_LOGIN_LIMIT_PER_ACCOUNT": "3/900"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[401, 401, 401]", out.stderr[-2000:]
    b = Browser(_app(runtime, login_limit_per_account=(3, 900)))
    response = _attempt(b, "mara", PASSWORD)
    assert response.status_code == 429 and "retry-after" in response.headers


# -- log out everywhere ----------------------------------------------------------------------------

@sqlite_only
def test_log_out_everywhere_ends_every_session_of_the_account(runtime: Runtime, world: World) -> None:
    app = _app(runtime)
    laptop, phone, colleague = Browser(app), Browser(app), Browser(app)
    for b, name in ((laptop, "mara"), (phone, "mara"), (colleague, "mo")):
        assert b.login(name).status_code == 303
    assert laptop.get("/logout").status_code == 200
    assert laptop.post("/logout/everywhere").headers["location"] == "/login"
    for b in (laptop, phone):
        response = b.get("/chat", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert colleague.get("/chat", follow_redirects=False).status_code == 200  # other people stay logged in
    again = Browser(app)
    assert again.login("mara").status_code == 303 and again.get("/chat").status_code == 200


@sqlite_only
def test_an_admin_ends_someone_elses_sessions_and_a_role_change_does_too(runtime: Runtime, world: World) -> None:
    app = _app(runtime)
    admin, rita, mo = Browser(app), Browser(app), Browser(app)
    for b, name in ((admin, "ada"), (rita, "rita"), (mo, "mo")):
        assert b.login(name).status_code == 303
    page = soup(admin.get("/users"))
    assert [td.get_text(strip=True) for td in page.select("tbody tr td:first-child")] == [
        "ada", "mara", "mo", "rita", "rob"]
    rita_id, mo_id = world.users["rita"].id, world.users["mo"].id
    assert admin.post(f"/users/{rita_id}/logout-everywhere").status_code == 303
    assert rita.get("/review", follow_redirects=False).status_code == 303
    assert admin.post(f"/users/{mo_id}", {"role": "reviewer", "active": "1"}).status_code == 303
    assert mo.get("/chat", follow_redirects=False).status_code == 303  # the old session had the old role
    assert Browser(app).login("mo").status_code == 303
    assert admin.post(f"/users/{mo_id}", {"role": "reviewer", "active": "0"}).status_code == 303
    assert Browser(app).login("mo").status_code == 401  # deactivated accounts cannot log in
    refused = mo.post(f"/users/{rita_id}/logout-everywhere")
    assert refused.status_code in (303, 403)  # mo is logged out; nobody but an admin may do this
    with Session(runtime.engine) as s:
        assert s.get(User, mo_id).is_active is False


@sqlite_only
def test_the_last_admin_cannot_be_removed_and_nobody_demotes_themselves(runtime: Runtime, world: World) -> None:
    app = _app(runtime)
    admin = Browser(app)
    assert admin.login("ada").status_code == 303
    response = admin.post(f"/users/{world.users['ada'].id}", {"role": "marketer", "active": "1"})
    assert response.status_code == 409 and "ask another admin" in soup(response).get_text()
    marketer = Browser(app)
    assert marketer.login("mara").status_code == 303
    assert marketer.get("/users").status_code == 403
    assert marketer.post("/users", {"username": "sneaky", "role": "admin", "password": "x" * 8}).status_code == 403
    assert not re.search("sneaky", soup(admin.get("/users")).get_text())

