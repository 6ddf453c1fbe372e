"""``ReviewUIPlugin``: adds the web UI (pages, fragments, static files, sessions, CSRF) to the core app.

Registered through the ``copilot.app_plugins`` entry point; the core never imports this package.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from copilot.planner.base import Planner
from copilot.runtime import Runtime
from copilot.security import load_secret_key
from copilot.services.conversations import default_planner
from copilot.services.workspaces import get_workspace_record
from review_ui.accounts import (
    AccountController,
    LoginController,
    RotatingSessionConfig,
    home_for,
    provide_user,
    require_login,
)
from review_ui.answering import LiveAnswers
from review_ui.chat import ChatController
from review_ui.csrf import SessionCSRFMiddleware
from review_ui.errors import UI_EXCEPTION_HANDLERS
from review_ui.notifications import NotificationsController
from review_ui.previews import PreviewController
from review_ui.rendering import STATIC_DIR, make_environment
from review_ui.review import ReviewController, ScheduledController
from review_ui.users import UsersController

__all__ = ["ReviewUIPlugin", "CONTENT_SECURITY_POLICY"]

# Scripts only from our own static folder: even if some text slipped through unescaped, an
# injected <script> or inline handler would not run. Previews sit in sandboxed iframes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                     "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


@get("/", sync_to_thread=False, include_in_schema=False)
def index(request: Request) -> Redirect:  # type: ignore[type-arg]
    return Redirect(home_for(request.session.get("role")) if request.session.get("uid") else "/login")


def _security_headers(response: Response[Any]) -> Response[Any]:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class ReviewUIPlugin(InitPluginProtocol):
    """The web UI. ``planner`` overrides the configured planner (tests and evals pass one)."""

    def __init__(self, *, planner: Planner | None = None) -> None:
        self.planner = planner

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        state: State = app_config.state
        runtime: Runtime = state["runtime"]
        settings = runtime.settings
        secret = load_secret_key(settings.data_dir, settings.secret_key)
        with runtime.session() as session:
            state["ui_workspace_id"] = get_workspace_record(session, runtime.default_workspace.slug).id
        state["ui_planner"] = self.planner or default_planner(settings)
        answers = state["ui_answers"] = LiveAnswers()
        app_config.on_shutdown.append(answers.close)

        sessions = RotatingSessionConfig(key="copilot_session", secure=settings.secure_cookies, httponly=True,
                                         samesite="lax", max_age=12 * 3600, store="ui_sessions")
        ui = Router(
            path="/",
            route_handlers=[index, LoginController, AccountController, ChatController, ReviewController,
                            ScheduledController, UsersController, NotificationsController, PreviewController],
            # The session first: CSRF tokens are bound to it. (The JSON API is not under this router:
            # it authenticates with bearer tokens, which a browser never sends on its own.)
            middleware=[sessions.middleware, SessionCSRFMiddleware(secret=secret, secure=settings.secure_cookies)],
            guards=[require_login],
            # Users come from a short-lived cache; a database read happens only every few seconds.
            dependencies={"user": Provide(provide_user, sync_to_thread=False)},
            exception_handlers=UI_EXCEPTION_HANDLERS,
            after_request=_security_headers,
            include_in_schema=False,
        )
        app_config.route_handlers.extend([
            ui,
            create_static_files_router("/static", directories=[STATIC_DIR], include_in_schema=False,
                                       cache_control=CacheControlHeader(max_age=3600)),
        ])
        # Sessions live in files under the data folder: a restart or a second worker process
        # does not log everyone out. Expired ones are swept at start-up.
        session_store = FileStore(settings.data_dir / "sessions", create_directories=True)
        app_config.on_startup.append(session_store.delete_expired)
        stores = app_config.stores
        if isinstance(stores, StoreRegistry):
            stores.register("ui_sessions", session_store)
        else:
            app_config.stores = {**(stores or {}), "ui_sessions": session_store}
        app_config.template_config = TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(make_environment()))
        app_config.plugins.append(HTMXPlugin())
        return app_config
