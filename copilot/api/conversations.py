"""JSON API of the copilot: conversations, chat turns streamed over SSE, revisions, diffs, restores, copy edits.

Thin: each handler checks who is asking (a bearer token) and calls copilot.services.conversations.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlmodel import Session

from copilot.api.auth import provide_actor
from copilot.api.errors import responses
from copilot.models import User, WorkspaceRecord
from copilot.planner.base import Planner
from copilot.runtime import Runtime
from copilot.services import conversations as svc
from copilot.services.workspaces import get_workspace_record
from copilot.workspace import Workspace

__all__ = ["ConversationController", "NewConversation", "NewMessage", "VariantEdit", "provide_planner"]


@dataclass
class NewConversation:
    title: str = ""
    workspace: str | None = None  # slug; the default workspace when omitted


@dataclass
class NewMessage:
    text: str


@dataclass
class VariantEdit:
    base_number: int
    segment: str
    changes: dict[str, Any]
    key: str = "A"
    message: str = "email_1"


def provide_planner(state: State) -> Planner:
    """``state["planner"]`` when set (tests, evals), else the configured planner."""
    planner = state.get("planner")
    return planner if planner is not None else svc.default_planner(state.runtime.settings)


def _workspace_of(session: Session, runtime: Runtime, workspace_id: int) -> Workspace:
    record = session.get(WorkspaceRecord, workspace_id)
    return runtime.workspace(record.slug if record is not None else None)


def _conversation_dict(conversation: Any) -> dict[str, Any]:
    return {"id": conversation.id, "workspace_id": conversation.workspace_id, "author_id": conversation.author_id,
            "title": conversation.title, "created_at": conversation.created_at.isoformat(),
            "updated_at": conversation.updated_at.isoformat()}


def _revision_summary(revision: Any) -> dict[str, Any]:
    data = svc.revision_to_dict(revision)
    plan = data.pop("plan")
    data.pop("sizing")
    data["title"] = plan.get("title")
    data["segments"] = [s["name"] for s in plan.get("segments", [])]
    return data


class ConversationController(Controller):
    path = "/api/conversations"
    tags = ["conversations"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True),
                    "planner": Provide(provide_planner, sync_to_thread=False)}

    @post("", sync_to_thread=True, status_code=201, responses=responses(400, 401, 404, 422))
    def create(self, data: JSONBody[NewConversation], actor: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        """Start a conversation (owned by the caller)."""
        record = get_workspace_record(session, data.workspace or runtime.default_workspace.slug)
        conversation = svc.create_conversation(session, workspace_id=record.id or 0, author_id=actor.id or 0,
                                               title=data.title)
        return _conversation_dict(conversation)

    @get("", sync_to_thread=True, responses=responses(401))
    def list_mine(self, actor: NamedDependency[User], session: NamedDependency[Session],
                  runtime: NamedDependency[Runtime]) -> list[dict[str, Any]]:
        """The caller's conversations in the default workspace, newest first."""
        record = get_workspace_record(session, runtime.default_workspace.slug)
        return [_conversation_dict(c) for c in
                svc.list_conversations(session, workspace_id=record.id or 0, author_id=actor.id)]

    @get("/{conversation_id:int}", sync_to_thread=True, responses=responses(401, 403, 404))
    def detail(self, conversation_id: FromPath[int], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """The conversation with its messages, token usage and latest revision number."""
        conversation = svc.readable_conversation(session, conversation_id, actor.id or 0)
        latest = svc.latest_revision(session, conversation_id)
        usage = svc.conversation_usage(session, conversation_id)
        return {**_conversation_dict(conversation),
                "messages": [svc.message_to_dict(m) for m in svc.list_messages(session, conversation_id)],
                "latest_revision": latest.number if latest else None,
                "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                          "cost_usd": round(usage.cost_usd, 6), "turns": usage.calls}}

    @post("/{conversation_id:int}/messages", status_code=200, responses=responses(400, 401, 403, 404, 422))
    async def post_message(self, conversation_id: FromPath[int], data: JSONBody[NewMessage], actor: NamedDependency[User],
                           session: NamedDependency[Session], runtime: NamedDependency[Runtime],
                           planner: NamedDependency[Planner]) -> ServerSentEvent:
        """Send a message; the answer streams as SSE: ``token`` events ({"text"}), then ``done`` (the turn) or
        ``error``. The message is stored before the stream starts, so a bad request fails with a plain 4xx."""
        def store() -> tuple[Any, Workspace]:
            message = svc.start_turn(session, conversation_id=conversation_id, actor_id=actor.id or 0,
                                     text=data.text)
            conversation = svc.get_conversation(session, conversation_id)
            return message, _workspace_of(session, runtime, conversation.workspace_id)

        message, workspace = await anyio.to_thread.run_sync(store)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            # Its own session: the request's session is closed once this handler returns.
            with runtime.session() as own:
                async for event in svc.stream_turn(own, message, workspace=workspace, planner=planner):
                    payload = {"text": event.data} if event.event == "token" else event.data
                    yield ServerSentEventMessage(event=event.event, data=json.dumps(payload, ensure_ascii=False))

        return ServerSentEvent(events())

    @get("/{conversation_id:int}/revisions", sync_to_thread=True, responses=responses(401, 403, 404))
    def revisions(self, conversation_id: FromPath[int], actor: NamedDependency[User],
                  session: NamedDependency[Session]) -> list[dict[str, Any]]:
        """Every revision, oldest first (without plan bodies)."""
        svc.readable_conversation(session, conversation_id, actor.id or 0)
        return [_revision_summary(r) for r in svc.list_revisions(session, conversation_id)]

    @get("/{conversation_id:int}/revisions/{number:int}", sync_to_thread=True,
         responses=responses(401, 403, 404))
    def revision(self, conversation_id: FromPath[int], number: FromPath[int], actor: NamedDependency[User],
                 session: NamedDependency[Session]) -> dict[str, Any]:
        """One revision: plan, sizes, findings."""
        svc.readable_conversation(session, conversation_id, actor.id or 0)
        revision = svc.get_revision(session, conversation_id, number)
        return svc.revision_to_dict(revision, svc.list_findings(session, revision.id or 0))

    @get("/{conversation_id:int}/diff", sync_to_thread=True, responses=responses(400, 401, 403, 404))
    def diff(self, conversation_id: FromPath[int], before: FromQuery[int], after: FromQuery[int],
             actor: NamedDependency[User], session: NamedDependency[Session]) -> dict[str, Any]:
        """What changed from revision ``before`` to revision ``after``."""
        svc.readable_conversation(session, conversation_id, actor.id or 0)
        return {"before": before, "after": after,
                **svc.diff_revisions(session, conversation_id, before, after).to_dict()}

    @post("/{conversation_id:int}/revisions/{number:int}/restore", sync_to_thread=True, status_code=201,
          responses=responses(401, 403, 404, 409, 422))
    def restore(self, conversation_id: FromPath[int], number: FromPath[int], actor: NamedDependency[User],
                session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        """Make an old revision current again, as a new revision."""
        conversation = svc.get_conversation(session, conversation_id)
        return svc.restore_revision(session, conversation_id=conversation_id, number=number, actor_id=actor.id or 0,
                                    workspace=_workspace_of(session, runtime, conversation.workspace_id)).to_dict()

    @post("/{conversation_id:int}/variants", sync_to_thread=True, status_code=201,
          responses=responses(400, 401, 403, 404, 409, 422))
    def edit_variant(self, conversation_id: FromPath[int], data: JSONBody[VariantEdit], actor: NamedDependency[User],
                     session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        """Edit one variant's copy by hand (a new revision; the guards run again)."""
        conversation = svc.get_conversation(session, conversation_id)
        return svc.edit_variant(session, conversation_id=conversation_id, actor_id=actor.id or 0,
                                workspace=_workspace_of(session, runtime, conversation.workspace_id),
                                base_number=data.base_number, segment=data.segment, key=data.key,
                                message=data.message, changes=data.changes).to_dict()

