"""Dependencies the JSON API and the web UI share: the runtime and a database session."""

from __future__ import annotations

from collections.abc import Generator

from litestar.datastructures import State
from sqlmodel import Session

from copilot.runtime import Runtime

__all__ = ["provide_runtime", "provide_session"]


def provide_runtime(state: State) -> Runtime:
    return state.runtime


def provide_session(state: State) -> Generator[Session, None, None]:
    runtime: Runtime = state.runtime
    session = runtime.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
