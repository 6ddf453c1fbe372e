"""Accounts: log in and out, server-side sessions, who the current user is, role checks.

Sessions live in the server's session store (the cookie holds only a random id, HttpOnly,
SameSite=Lax, Secure when COPILOT_SECURE_COOKIES=1); the id is replaced at every login so a
planted cookie cannot be ridden into an account. Login attempts are rate limited per client.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from copilot.models import User
from copilot.services.users import authenticate

__all__ = [
    "SESSION_USER_KEY",
    "RotatingSessionConfig",
    "login_rate_limit",
    "require_login",
    "provide_user",
    "AccountController",
    "LoginController",
    "LoginForm",
    "home_for",
]

SESSION_USER_KEY = "uid"
_ROTATE = "copilot_rotate_session"
_LOADED = "copilot_session_as_loaded"
_USER_TTL = 5.0  # seconds a looked-up user is trusted before the database is asked again


class _RotatingBackend(ServerSideSessionBackend):
    """Server-side sessions whose id is replaced when the login handler asks for it.

    A session is written only when it changed (login, logout, a flash message), not on every
    response: reading a page costs no store write, visitors who are not logged in leave no
    session behind, and a session ends ``max_age`` after it was last changed (login), not
    after the last request.
    """

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:  # type: ignore[type-arg]
        data = await super().load_from_connection(connection)
        connection.scope.setdefault("state", {})[_LOADED] = dict(data)  # type: ignore[typeddict-item]
        return data

    async def store_in_message(self, scope_session: Any, message: Any,
                               connection: ASGIConnection) -> None:  # type: ignore[type-arg]
        state = connection.scope.setdefault("state", {})  # type: ignore[typeddict-item]
        if not state.get(_ROTATE) and isinstance(scope_session, dict) and scope_session == state.get(_LOADED):
            return
        await super().store_in_message(scope_session, message, connection)

    def get_session_id(self, connection: ASGIConnection) -> str:  # type: ignore[type-arg]
        state = connection.scope.setdefault("state", {})  # type: ignore[typeddict-item]
        if state.get(_ROTATE):
            if "copilot_new_session_id" not in state:
                state["copilot_new_session_id"] = self.generate_session_id()
            return str(state["copilot_new_session_id"])
        return super().get_session_id(connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = _RotatingBackend  # type: ignore[assignment]


def login_rate_limit(per_minute: int) -> RateLimitConfig:
    """At most ``per_minute`` login attempts (POSTs) a minute from one client address."""

    def only_posts(request: Request) -> bool:  # type: ignore[type-arg]
        return request.method == "POST"

    return RateLimitConfig(rate_limit=("minute", per_minute), check_throttle_handler=only_posts,
                           store="login_rate_limit")


# -- who is asking ----------------------------------------------------------------------------

_user_cache: dict[int, tuple[float, User]] = {}
_user_cache_lock = threading.Lock()


def _load_user(session: Session, user_id: int) -> User | None:
    now = time.monotonic()
    with _user_cache_lock:
        hit = _user_cache.get(user_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    user = session.get(User, user_id)
    if user is not None:
        session.expunge(user)
        with _user_cache_lock:
            _user_cache[user_id] = (now + _USER_TTL, user)
    return user


def forget_user(user_id: int) -> None:
    with _user_cache_lock:
        _user_cache.pop(user_id, None)


def require_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """Router guard: every UI page needs a logged-in user unless its handler says ``opt={"public": True}``."""
    if handler.opt.get("public"):
        return
    if not connection.session.get(SESSION_USER_KEY):
        raise NotAuthorizedException("log in first")


def provide_user(request: Request, session: NamedDependency[Session]) -> User:  # type: ignore[type-arg]
    user_id = request.session.get(SESSION_USER_KEY)
    user = _load_user(session, int(user_id)) if user_id else None
    if user is None or not user.is_active:
        request.clear_session()
        raise NotAuthorizedException("log in first")
    return user


def require_roles(*roles: str) -> Any:
    """A guard allowing only the given roles (the core checks again; this keeps pages honest)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]
        if connection.session.get("role") not in roles:
            raise PermissionDeniedException(f"this page is for {' or '.join(roles)} accounts")

    return guard


def home_for(role: str | None) -> str:
    return "/review" if role in ("reviewer", "admin") else "/chat"


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a login to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# -- pages ------------------------------------------------------------------------------------

@dataclass
class LoginForm:
    username: str = ""
    password: str = ""
    next: str = ""


class LoginController(Controller):
    """The login form; the plugin wraps it in the login rate limit."""

    @get("/login", opt={"public": True}, sync_to_thread=False)
    def login_page(self, request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:  # type: ignore[type-arg]
        if request.session.get(SESSION_USER_KEY):
            return Redirect(_safe_next(next) or home_for(request.session.get("role")))
        return Template("login.html", context={"next": _safe_next(next) or "", "error": None, "username": ""})

    @post("/login", opt={"public": True}, sync_to_thread=True, status_code=303)
    def login(self, request: Request, data: URLEncodedBody[LoginForm],  # type: ignore[type-arg]
              session: NamedDependency[Session]) -> Template | Redirect:
        user = authenticate(session, data.username.strip(), data.password)
        if user is None:
            return Template("login.html", status_code=401, context={
                "next": _safe_next(data.next) or "", "username": data.username,
                "error": "Wrong username or password."})
        request.scope.setdefault("state", {})[_ROTATE] = True  # type: ignore[typeddict-item]
        request.set_session({SESSION_USER_KEY: user.id, "role": user.role, "name": user.display_name})
        forget_user(user.id or 0)
        return Redirect(_safe_next(data.next) or home_for(user.role), status_code=303)


class AccountController(Controller):
    @get("/logout", sync_to_thread=False)
    def logout_page(self, request: Request) -> Template:  # type: ignore[type-arg]
        return Template("logout.html", context={})

    @post("/logout", sync_to_thread=False, status_code=303)
    def logout(self, request: Request) -> Response[Any]:  # type: ignore[type-arg]
        request.clear_session()
        return Redirect("/login", status_code=303)
