"""JSON endpoint that sizes a plan's segments on a workspace's audience (thin: calls copilot.services.checking)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import Session

from copilot.api.auth import provide_actor
from copilot.api.errors import responses
from copilot.models import User
from copilot.runtime import Runtime
from copilot.services.checking import size_in_workspace

__all__ = ["SegmentController"]


class SegmentController(Controller):
    path = "/api/workspaces/{slug:str}/segments"
    tags = ["segments"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @post("/size", sync_to_thread=True, status_code=200, responses=responses(400, 401, 404, 422))
    def size(self, slug: FromPath[str], data: JSONBody[dict[str, Any]], actor: NamedDependency[User],
             session: NamedDependency[Session], runtime: NamedDependency[Runtime],
             now: FromQuery[datetime | None] = None, sample: FromQuery[int] = 5) -> dict[str, Any]:
        """Size the plan in the body: per segment size (disjoint by priority), raw size, suppression, quiet
        hours, English rule and sample ids; the raw overlap matrix; lint warnings. 422 lists plan problems."""
        workspace = runtime.workspace(slug)
        checked = size_in_workspace(session, workspace, data, now=now, sample=max(0, min(sample, 50)))
        return checked.sizing_dict() or {}
