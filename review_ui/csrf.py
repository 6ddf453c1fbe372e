"""CSRF tokens bound to the session: a token works only in the session it was issued for.

The token is an HMAC (keyed with the install's secret) of a random value kept in the server-side
session, replaced at every log-in. A token read from one person's page is useless in another
person's session, and one issued before a log-in is useless after it. Before log-in (the login
form) there is no session yet: the token is then bound to a random pre-session cookie instead,
so visitors still leave nothing on the server.

Litestar's own CSRF middleware is a double-submit cookie: any token it ever issued matches its
own cookie in any session, so it is not used. Like it, this reads the token from the
``x-csrftoken`` header (htmx) or the ``_csrf_token`` form field (plain forms), and sets
``ScopeState.csrf_token`` so templates keep using ``csrf_token()`` and ``csrf_input``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

__all__ = ["SESSION_CSRF_KEY", "PRESESSION_COOKIE", "SessionCSRFMiddleware", "new_session_secret"]

SESSION_CSRF_KEY = "csrf"
PRESESSION_COOKIE = "copilot_presession"
HEADER = "x-csrftoken"
FORM_FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NONCE = re.compile(r"^[0-9a-f]{32}$")


def new_session_secret() -> str:
    """The random value a fresh (logged-in) session binds its CSRF tokens to."""
    return secrets.token_hex(16)


class SessionCSRFMiddleware(ASGIMiddleware):
    """Router middleware; it must run after the session middleware (the token is bound to the session).
    A handler can opt out with ``opt={"skip_csrf": True}`` (e.g. a link that must work from an email)."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "skip_csrf"

    def __init__(self, *, secret: str, secure: bool) -> None:
        self.secret = secret.encode("utf-8")
        self.secure = secure

    def _token(self, binding: str) -> str:
        return hmac.new(self.secret, binding.encode("utf-8"), hashlib.sha256).hexdigest()

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session = scope.get("session")
        new_nonce: str | None = None
        if isinstance(session, dict) and session.get("uid"):
            if not session.get(SESSION_CSRF_KEY):  # a session from before tokens were bound: bind it now
                session[SESSION_CSRF_KEY] = new_session_secret()
            binding = "session:" + str(session[SESSION_CSRF_KEY])
        else:
            nonce = request.cookies.get(PRESESSION_COOKIE, "")
            if not _NONCE.match(nonce):
                nonce = new_nonce = secrets.token_hex(16)
            binding = "pre:" + nonce
        expected = self._token(binding)
        ScopeState.from_scope(scope).csrf_token = expected

        if request.method not in SAFE_METHODS:
            sent = request.headers.get(HEADER)
            content_type, _ = request.content_type
            if not sent and content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
                sent = (await request.form()).get(FORM_FIELD)
            if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
                raise PermissionDeniedException("CSRF token verification failed: reload the page and try again "
                                                "(a form from another session or from before you logged in "
                                                "cannot be sent)")

        if new_nonce is None:
            await next_app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookie = Cookie(key=PRESESSION_COOKIE, value=new_nonce, path="/", httponly=True, samesite="lax",
                                secure=self.secure)
                headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await next_app(scope, receive, send_with_cookie)
