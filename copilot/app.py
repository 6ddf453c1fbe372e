"""``create_app()``: assembles the Litestar app from the core API and installed UI plugins.

The core never imports the web UI: ``review_ui`` registers itself as a Litestar
init plugin through the ``copilot.app_plugins`` entry point, and ``create_app``
loads whatever is installed there (tests may pass ``plugins=`` instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins import InitPluginProtocol

from copilot import __version__
from copilot.api import API_CONTROLLERS, EXCEPTION_HANDLERS, provide_runtime, provide_session
from copilot.api.nul_guard import NulGuardMiddleware
from copilot.runtime import Runtime
from copilot.settings import Settings

__all__ = ["create_app", "installed_plugins"]


def installed_plugins() -> list[InitPluginProtocol]:
    return [ep.load()() for ep in entry_points(group="copilot.app_plugins")]


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    plugins: Sequence[InitPluginProtocol] | None = None,
) -> Litestar:
    """Build the app. The database is upgraded and the workspace loaded before it serves."""
    runtime = runtime or Runtime.start(settings)
    return Litestar(
        route_handlers=list(API_CONTROLLERS),
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "session": Provide(provide_session),
        },
        exception_handlers=dict(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        # Before anything reads input: a NUL character cannot be stored (PostgreSQL) and has no use.
        middleware=[NulGuardMiddleware()],
        state=State({"runtime": runtime}),
        plugins=list(installed_plugins() if plugins is None else plugins),
        openapi_config=OpenAPIConfig(title="Campaign copilot", version=__version__, path="/schema"),
        # Bodies beyond this are answered 413 (copilot.api.errors) before any handler reads them: the
        # largest copy field is 100,000 characters, and a whole plan of them fits well inside.
        request_max_body_size=runtime.settings.max_request_bytes,
        on_shutdown=[lambda: runtime.close()],
    )
