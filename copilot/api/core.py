"""JSON endpoints of the foundation: health, workspaces, catalog, audience counts."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel import Session

from copilot import db
from copilot.api.errors import responses
from copilot.errors import DatabaseUnavailableError
from copilot.runtime import Runtime
from copilot.services.workspaces import audience_counts, get_workspace_record, list_workspace_records

__all__ = ["HealthController", "WorkspaceController"]


class HealthController(Controller):
    path = "/health"

    @get("", sync_to_thread=True, responses=responses(503))
    def health(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, Any]]:
        try:
            db.ping(runtime.engine)
        except DatabaseUnavailableError as exc:
            return Response({"status": "unavailable", "database": exc.message}, status_code=503)
        return Response({"status": "ok", "workspace": runtime.default_workspace.slug})


class WorkspaceController(Controller):
    path = "/api/workspaces"

    @get("", sync_to_thread=True)
    def list_workspaces(self, session: NamedDependency[Session]) -> list[dict[str, Any]]:
        return [
            {"slug": r.slug, "name": r.name, "content_hash": r.content_hash, "loaded_at": r.loaded_at.isoformat()}
            for r in list_workspace_records(session)
        ]

    @get("/{slug:str}", sync_to_thread=True, responses=responses(400, 404))
    def get_workspace(self, slug: FromPath[str], session: NamedDependency[Session],
                      runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        record = get_workspace_record(session, slug)
        ws = runtime.workspace(slug)
        return {
            "slug": ws.slug,
            "name": ws.name,
            "content_hash": ws.content_hash,
            "brand": ws.brand.model_dump(mode="json"),
            "voice": ws.voice.model_dump(mode="json"),
            "facts": ws.facts.model_dump(mode="json"),
            "counts": audience_counts(session, record.id or 0),
        }

    @get("/{slug:str}/catalog", sync_to_thread=True, responses=responses(400, 404))
    def get_catalog(self, slug: FromPath[str], runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        return runtime.workspace(slug).catalog.model_dump(mode="json")

    @get("/{slug:str}/counts", sync_to_thread=True, responses=responses(400, 404))
    def get_counts(self, slug: FromPath[str], session: NamedDependency[Session]) -> dict[str, int]:
        record = get_workspace_record(session, slug)
        return audience_counts(session, record.id or 0)
