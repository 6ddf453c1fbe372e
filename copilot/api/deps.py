"""Dependencies the JSON API and the web UI share: the runtime and a database session."""

from __future__ import annotations

from collections.abc import Generator

from litestar import Request
from litestar.datastructures import State
from sqlmodel import Session

from copilot.runtime import Runtime

__all__ = ["provide_runtime", "provide_session"]


def provide_runtime(state: State) -> Runtime:
    return state.runtime


def provide_session(state: State, request: Request) -> Generator[Session, None, None]:  # type: ignore[type-arg]
    """The request's one database session. Kept on ``request.state`` too, so what the page's
    layout reads (the notification badge) uses this session's connection instead of taking a
    second one from the pool while this one is held: with every request holding two, 16
    concurrent pages exhausted the pool and answered 500."""
    runtime: Runtime = state.runtime
    session = runtime.session()
    request.state.db_session = session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
