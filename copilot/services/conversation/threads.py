"""Conversations and their messages: create, read, list, who may read or change them, usage totals."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import BriefError, NotFoundError
from copilot.models import Conversation, Message, PlanRevision, User, WorkspaceRecord, utcnow
from copilot.planner.base import Usage
from copilot.services import access
from copilot.services.review import review_for_conversation

__all__ = [
    "message_to_dict",
    "create_conversation",
    "get_conversation",
    "list_conversations",
    "list_messages",
    "conversation_usage",
    "active_user",
    "readable_conversation",
    "owned_conversation",
    "system_message",
]


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "planner": message.planner,
        "status": message.status,
        "revision_id": message.revision_id,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "cost_usd": message.cost_usd,
        "created_at": message.created_at.isoformat(),
    }


def create_conversation(session: Session, *, workspace_id: int, author_id: int, title: str = "") -> Conversation:
    """Start a conversation owned by ``author_id`` (committed)."""
    title = title.strip()
    if len(title) > 200:
        raise BriefError(f"title is {len(title)} characters; at most 200 are allowed", field="title")
    active_user(session, author_id)
    if session.get(WorkspaceRecord, workspace_id) is None:
        raise NotFoundError(f"no workspace with id {workspace_id}", workspace_id=workspace_id)
    conversation = Conversation(workspace_id=workspace_id, author_id=author_id, title=title)
    session.add(conversation)
    session.commit()
    return conversation


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id) if fits_id(conversation_id) else None
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}", conversation_id=conversation_id)
    return conversation


def list_conversations(session: Session, *, workspace_id: int, author_id: int | None = None,
                       limit: int = 100) -> list[Conversation]:
    """Newest first."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if author_id is not None:
        query = query.where(Conversation.author_id == author_id)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)  # type: ignore[attr-defined]
    return list(session.exec(query))


def list_messages(session: Session, conversation_id: int) -> list[Message]:
    get_conversation(session, conversation_id)
    return list(session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)  # type: ignore[arg-type]
    ))


def conversation_usage(session: Session, conversation_id: int) -> Usage:
    """Tokens and estimated cost over every answered turn of the conversation."""
    row = session.exec(
        select(
            sa.func.coalesce(sa.func.sum(Message.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(Message.completion_tokens), 0),
            sa.func.coalesce(sa.func.sum(Message.cost_usd), 0.0),
            sa.func.count(),
        ).where(Message.conversation_id == conversation_id, Message.role == "assistant")
    ).one()
    return Usage(prompt_tokens=int(row[0]), completion_tokens=int(row[1]), cost_usd=float(row[2]), calls=int(row[3]))


def active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user with id {user_id}", user_id=user_id)
    return user


def readable_conversation(session: Session, conversation_id: int, actor_id: int) -> Conversation:
    """The conversation, if the access matrix lets the actor read it (its author; reviewers and
    admins once it was submitted for review)."""
    conversation = get_conversation(session, conversation_id)
    actor = active_user(session, actor_id)
    access.require(actor, access.Action.READ_DRAFT, _draft(session, conversation))
    return conversation


def owned_conversation(session: Session, conversation_id: int, actor_id: int) -> Conversation:
    """The conversation, if the actor may change it: only its author (reviewers must stay independent)."""
    conversation = get_conversation(session, conversation_id)
    actor = active_user(session, actor_id)
    access.require(actor, access.Action.EDIT, _draft(session, conversation))
    return conversation


def _draft(session: Session, conversation: Conversation) -> access.Draft:
    return access.draft_of_conversation(session, conversation, review_for_conversation(session, conversation.id or 0))


def system_message(session: Session, conversation: Conversation, revision: PlanRevision, note: str) -> None:
    session.add(Message(conversation_id=conversation.id or 0, role="system", content=note,
                        revision_id=revision.id))
    conversation.updated_at = utcnow()
    session.add(conversation)
