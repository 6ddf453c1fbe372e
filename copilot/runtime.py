"""The running product's shared pieces: settings, database engine, loaded workspaces."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot import db
from copilot.errors import NotFoundError
from copilot.services.workspaces import get_workspace_record, register_workspace
from copilot.settings import Settings, get_settings
from copilot.workspace import Workspace, load_workspace

__all__ = ["Runtime"]


class Runtime:
    """Built once per process by ``Runtime.start``; handed to controllers and commands."""

    def __init__(self, *, settings: Settings, engine: Engine, default_workspace: Workspace) -> None:
        self.settings = settings
        self.engine = engine
        self.default_workspace = default_workspace
        self._workspaces: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    @classmethod
    def start(cls, settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
        """Open the database, upgrade its schema, load and register the default workspace."""
        settings = settings or get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(settings.database_url)
        if migrate:
            db.upgrade(engine)
        workspace = load_workspace(settings.workspace_dir)
        runtime = cls(settings=settings, engine=engine, default_workspace=workspace)
        runtime._workspaces[workspace.slug] = workspace
        with db.session_scope(engine) as session:
            register_workspace(session, workspace)
        return runtime

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def workspace(self, slug: str | None = None) -> Workspace:
        """A loaded workspace by slug (the default one when slug is None)."""
        if slug is None or slug == self.default_workspace.slug:
            return self.default_workspace
        with self._lock:
            if slug in self._workspaces:
                return self._workspaces[slug]
        with self.session() as session:
            record = get_workspace_record(session, slug)
        path = Path(record.source_dir)
        if not path.is_dir():
            raise NotFoundError(f"workspace {slug!r} folder is gone: {path}", workspace=slug)
        workspace = load_workspace(path)
        with self._lock:
            self._workspaces[slug] = workspace
        return workspace

    def close(self) -> None:
        self.engine.dispose()
