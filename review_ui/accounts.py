"""Accounts: log in and out (here or everywhere), server-side sessions, who the current user is.

Sessions live in the server's session store (the cookie holds only a random id, HttpOnly,
SameSite=Lax, Secure when COPILOT_SECURE_COOKIES=1); the id is replaced at every login so a
planted cookie cannot be ridden into an account, and the session's CSRF binding is new too.
A session remembers the user's session generation: "log out everywhere" moves it on, and every
older session stops working. Failed log-ins are throttled per account and per client address
(copilot.services.login_throttle, in the database), the address read from X-Forwarded-For only
when the direct peer is one of COPILOT_TRUSTED_PROXIES.
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
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from copilot.models import User
from copilot.security import client_address
from copilot.services import login_throttle as throttle
from copilot.services import users as accounts
from copilot.services.users import authenticate
from review_ui.csrf import SESSION_CSRF_KEY, new_session_secret

__all__ = [
    "SESSION_USER_KEY",
    "RotatingSessionConfig",
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
    # A session opened before "log out everywhere" (or a role change) carries an older generation.
    if user is None or not user.is_active or request.session.get("gen", 0) != user.session_generation:
        request.clear_session()
        raise NotAuthorizedException("log in first")
    return user


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
        settings = request.app.state.runtime.settings
        username = data.username.strip()
        address = client_address(request.client.host if request.client else None,
                                 request.headers.getall("x-forwarded-for", []), settings.trusted_proxies)
        context = {"next": _safe_next(data.next) or "", "username": data.username}
        blocked = throttle.check(session, username=username, address=address)
        if blocked is not None:
            return Template("login.html", status_code=429, headers={"Retry-After": str(blocked.retry_after)},
                            context={**context, "error": blocked.message})
        user = authenticate(session, username, data.password)
        if user is None:
            throttle.record_failure(session, username=username, address=address, limits=login_limits(settings))
            session.commit()
            return Template("login.html", status_code=401, context={**context, "error": "Wrong username or password."})
        throttle.record_success(session, username=username)
        request.scope.setdefault("state", {})[_ROTATE] = True  # type: ignore[typeddict-item]
        request.set_session({SESSION_USER_KEY: user.id, "role": user.role, "name": user.display_name,
                             "gen": user.session_generation, SESSION_CSRF_KEY: new_session_secret()})
        forget_user(user.id or 0)
        return Redirect(_safe_next(data.next) or home_for(user.role), status_code=303)


def login_limits(settings: Any) -> throttle.LoginLimits:
    return throttle.LoginLimits(per_address=throttle.Limit(*settings.login_limit_per_address),
                                per_account=throttle.Limit(*settings.login_limit_per_account))


class AccountController(Controller):
    @get("/logout", sync_to_thread=False)
    def logout_page(self, request: Request, user: NamedDependency[User]) -> Template:  # type: ignore[type-arg]
        return Template("logout.html", context={"user": user})

    @post("/logout", sync_to_thread=False, status_code=303)
    def logout(self, request: Request) -> Response[Any]:  # type: ignore[type-arg]
        request.clear_session()
        return Redirect("/login", status_code=303)

    @post("/logout/everywhere", sync_to_thread=True, status_code=303)
    def logout_everywhere(self, request: Request, user: NamedDependency[User],  # type: ignore[type-arg]
                          session: NamedDependency[Session]) -> Response[Any]:
        """End every session of this account (this one included), in every browser and process."""
        accounts.end_sessions(session, user, user.id or 0)
        forget_user(user.id or 0)
        request.clear_session()
        return Redirect("/login", status_code=303)
