"""Chat turns: store the marketer's message first, ask the planner (streaming), store the answer and revision."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlmodel import Session, select

from copilot.errors import BriefError, CopilotError, PlannerError
from copilot.models import Conversation, Message, utcnow
from copilot.planner.base import Planner, PlanRequest, PlanResult, TokenCallback, Turn, Usage
from copilot.services.audience_stats import audience_stats, fresh_audience_stats
from copilot.services.conversation.revisions import (
    RevisionOutcome,
    latest_revision,
    revision_plan,
    store_revision,
)
from copilot.services.conversation.threads import (
    conversation_usage,
    get_conversation,
    message_to_dict,
    owned_conversation,
)
from copilot.settings import Settings, get_settings
from copilot.workspace import Workspace

__all__ = [
    "MAX_MESSAGE_CHARS",
    "TurnOutcome",
    "StreamEvent",
    "default_planner",
    "start_turn",
    "run_turn",
    "post_message",
    "stream_turn",
]

MAX_MESSAGE_CHARS = 4000

T = TypeVar("T")


@dataclass
class TurnOutcome:
    """One chat turn: the marketer's message, the answer, and the revision it made (if any)."""

    conversation: Conversation
    user_message: Message
    assistant_message: Message
    result: PlanResult
    revision: RevisionOutcome | None = None
    totals: Usage = field(default_factory=Usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation.id,
            "user_message": message_to_dict(self.user_message),
            "message": message_to_dict(self.assistant_message),
            "planner": self.result.planner,
            "questions": list(self.result.questions),
            "notes": list(self.result.notes),
            "revision": self.revision.to_dict() if self.revision is not None else None,
            "conversation_usage": _usage_dict(self.totals),
        }


@dataclass(frozen=True)
class StreamEvent:
    """token: a piece of the reply (str); done: the TurnOutcome as a dict; error: CopilotError.to_dict()."""

    event: Literal["token", "done", "error"]
    data: Any


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": round(usage.cost_usd, 6), "turns": usage.calls}


def default_planner(settings: Settings | None = None) -> Planner:
    """The planner the settings ask for (the model when configured, else the offline playbooks)."""
    from copilot.planner.factory import get_planner

    return get_planner(settings or get_settings())


def start_turn(session: Session, *, conversation_id: int, actor_id: int, text: str) -> Message:
    """Check and store the marketer's message, committed before any model is called (invariant 7)."""
    conversation = owned_conversation(session, conversation_id, actor_id)
    text = (text or "").strip()
    if not text:
        raise BriefError("the message is empty; say what the campaign should do", field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BriefError(f"the message is {len(text)} characters; at most {MAX_MESSAGE_CHARS} are allowed",
                         field="text", length=len(text))
    message = Message(conversation_id=conversation_id, role="user", content=text)
    session.add(message)
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.commit()
    return message


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking database work off the event loop; if cancelled, let it finish so the session stays sound."""
    future = asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            await future
        finally:
            raise


def _history(session: Session, conversation_id: int, before_id: int) -> list[Turn]:
    rows = session.exec(
        select(Message.role, Message.content)
        .where(Message.conversation_id == conversation_id, Message.id < before_id,  # type: ignore[operator]
               Message.role.in_(("user", "assistant")), Message.status == "ok")  # type: ignore[attr-defined]
        .order_by(Message.id)  # type: ignore[arg-type]
    ).all()
    return [Turn(role=role, content=content) for role, content in rows]  # type: ignore[arg-type]


def _build_request(session: Session, user_message: Message, workspace: Workspace,
                   now: datetime | None) -> PlanRequest:
    conversation = get_conversation(session, user_message.conversation_id)
    current = latest_revision(session, conversation.id or 0)
    return PlanRequest(
        brief=user_message.content,
        workspace=workspace,
        history=_history(session, conversation.id or 0, user_message.id or 0),
        current_plan=revision_plan(current) if current is not None else None,
        audience=audience_stats(session, workspace, conversation.workspace_id),
        now=now,
    )


def _reply_text(result: PlanResult) -> str:
    parts = [result.reply.strip()] if result.reply.strip() else []
    missing_questions = [q for q in result.questions if q not in result.reply]
    if missing_questions:
        parts.append("\n".join(f"- {q}" for q in missing_questions))
    parts.extend(f"Note: {n}" for n in result.notes if n not in result.reply)
    if not parts:
        parts.append("Here is the plan." if result.plan is not None else "I could not make a plan from that.")
    return "\n\n".join(parts)


def _record_turn(session: Session, user_message: Message, result: PlanResult, workspace: Workspace,
                 actor_id: int, now: datetime | None) -> TurnOutcome:
    conversation = get_conversation(session, user_message.conversation_id)
    revision = None
    if result.plan is not None:
        revision = store_revision(
            session, conversation, result.plan, workspace=workspace, planner_name=result.planner,
            prompt_versions=result.prompt_versions, note="\n".join(result.notes), actor_id=actor_id, now=now,
        )
    assistant = Message(
        conversation_id=conversation.id or 0, role="assistant", content=_reply_text(result),
        planner=result.planner, revision_id=revision.revision.id if revision else None,
        prompt_tokens=result.usage.prompt_tokens, completion_tokens=result.usage.completion_tokens,
        cost_usd=result.usage.cost_usd,
    )
    session.add(assistant)
    if not conversation.title and result.plan is not None:
        conversation.title = result.plan.title[:200]
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.commit()
    return TurnOutcome(conversation=conversation, user_message=user_message, assistant_message=assistant,
                       result=result, revision=revision, totals=conversation_usage(session, conversation.id or 0))


def _record_failure(session: Session, user_message: Message, planner: Planner, exc: BaseException) -> None:
    session.rollback()
    reason = exc.message if isinstance(exc, CopilotError) else "an unexpected error"
    session.add(Message(
        conversation_id=user_message.conversation_id, role="assistant", status="error",
        planner=getattr(planner, "name", None),
        content=f"I could not answer this time ({reason}). Your message is saved; send it again to retry.",
    ))
    session.commit()


async def run_turn(session: Session, user_message: Message, *, workspace: Workspace, planner: Planner | None = None,
                   on_token: TokenCallback | None = None, now: datetime | None = None) -> TurnOutcome:
    """Plan from a stored marketer message: ask the planner, size, guard, store the revision and the answer.

    On a planner failure the answer is stored as an error message and the error re-raised;
    the marketer's message stays stored either way.
    """
    planner = planner or default_planner()
    actor_id = get_conversation(session, user_message.conversation_id).author_id
    try:
        if fresh_audience_stats(session, workspace, get_conversation(session, user_message.conversation_id)
                                .workspace_id) is not None:
            # Counts are cached: the rest is a few indexed reads, cheaper than two thread hops on
            # the way to the first streamed token.
            request = _build_request(session, user_message, workspace, now)
        else:
            request = await _in_thread(_build_request, session, user_message, workspace, now)
        result = await planner.plan(request, on_token=on_token)
        return await _in_thread(_record_turn, session, user_message, result, workspace, actor_id, now)
    except Exception as exc:
        await _in_thread(_record_failure, session, user_message, planner, exc)
        if isinstance(exc, CopilotError):
            raise
        raise PlannerError(f"planning failed: {type(exc).__name__}: {exc}",
                           conversation_id=user_message.conversation_id) from exc


async def post_message(session: Session, *, conversation_id: int, actor_id: int, text: str, workspace: Workspace,
                       planner: Planner | None = None, on_token: TokenCallback | None = None,
                       now: datetime | None = None) -> TurnOutcome:
    """One whole chat turn: store the message (committed first), then plan and store the answer."""
    user_message = start_turn(session, conversation_id=conversation_id, actor_id=actor_id, text=text)
    return await run_turn(session, user_message, workspace=workspace, planner=planner, on_token=on_token, now=now)


async def stream_turn(session: Session, user_message: Message, *, workspace: Workspace,
                      planner: Planner | None = None, now: datetime | None = None) -> AsyncIterator[StreamEvent]:
    """``run_turn`` as a stream: reply tokens as they arrive, then one ``done`` (or ``error``) event."""
    queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

    async def on_token(text: str) -> None:
        await queue.put(StreamEvent("token", text))

    async def run() -> None:
        try:
            outcome = await run_turn(session, user_message, workspace=workspace, planner=planner,
                                     on_token=on_token, now=now)
            await queue.put(StreamEvent("done", outcome.to_dict()))
        except CopilotError as exc:
            await queue.put(StreamEvent("error", exc.to_dict()))
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())
    try:
        while (event := await queue.get()) is not None:
            yield event
        await task
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
