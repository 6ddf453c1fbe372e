"""Test helpers for the web UI: one person's cookie jar with CSRF handling, and the UI under test."""

from __future__ import annotations

import re

import httpx
from bs4 import BeautifulSoup
from litestar.testing import TestClient
from review_factory import World
from support.openai_stub import StubLLM

from copilot.runtime import Runtime

__all__ = ["soup", "csrf_of", "Browser", "UI", "from_peer"]


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(html: str) -> str:
    match = re.search(r'"x-csrftoken": "([^"]+)"', html) or re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def from_peer(app, host: str):  # type: ignore[no-untyped-def]
    """The app as reached from ``host``: the ASGI scope's client address is what a server would see
    as the direct peer (the test client's own is "testclient", not an address)."""

    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            scope = {**scope, "client": (host, 40000)}
        await app(scope, receive, send)

    return asgi


class _ClientView:
    """A shared test client seen through one person's cookie jar: every call carries their cookies."""

    def __init__(self, client: TestClient, cookies: httpx.Cookies) -> None:  # type: ignore[type-arg]
        self._client, self.cookies = client, cookies

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        # httpx copies a jar given to ``client.cookies``; setting the private one shares it, so
        # cookies a response sets land in this person's jar.
        self._client._cookies = self.cookies
        return getattr(self._client, name)


class Browser:
    """One person's cookie jar against the app, with the CSRF token of the last page seen.

    Given an app, it has a client of its own (not entered: each request runs the app on a fresh
    event loop). Given a shared, entered client (``UI.browser``), the app's event loop lives between
    requests as a server's does, so an answer a POST starts keeps running while the page follows it.
    """

    def __init__(self, app=None, *, shared: TestClient | None = None,  # type: ignore[no-untyped-def,type-arg]
                 peer: str | None = None) -> None:
        client = shared if shared is not None else TestClient(from_peer(app, peer) if peer else app,
                                                              base_url="http://testserver.local")
        self.client = _ClientView(client, httpx.Cookies())
        self.token = ""

    def get(self, path: str, **kw):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **kw)
        if "csrftoken" in response.text or "_csrf_token" in response.text:
            self.token = csrf_of(response.text)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, htmx: bool = False, **kw):  # type: ignore[no-untyped-def]
        if not self.token:
            self.get("/login")
        form = dict(data or {})
        headers = dict(kw.pop("headers", {}) or {})
        if csrf and htmx:
            headers["x-csrftoken"] = self.token
        elif csrf:
            form["_csrf_token"] = self.token
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(path, data=form, headers=headers, follow_redirects=False, **kw)

    def login(self, username: str, password: str = "secret-pw"):  # type: ignore[no-untyped-def]
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 303:
            self.get(response.headers["location"])
        return response


class UI:
    def __init__(self, app, world: World, runtime: Runtime, stub: StubLLM) -> None:  # type: ignore[no-untyped-def]
        self.app, self.world, self.runtime, self.stub = app, world, runtime, stub
        self.browsers: list[Browser] = []
        self.client = TestClient(app, base_url="http://testserver.local").__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def browser(self, username: str | None = None) -> Browser:
        b = Browser(shared=self.client)
        self.browsers.append(b)
        if username:
            assert b.login(username).status_code == 303
        return b
