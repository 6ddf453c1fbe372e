"""One answer per marketer message, across processes: claims in the database, with a heartbeat.

Whoever answers a message (a web worker's background task) claims it first; a second claim
is refused while the first one's heartbeat is fresh, and may take over once it went quiet
(the process died). The claim also carries the reply streamed so far, so a page served by
another process can show it. Nothing here calls a planner; ``answer_message`` runs the turn
for the caller that holds the claim.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from copilot.errors import AnswerInProgressError, NotFoundError
from copilot.models import AnswerClaim, Message, utcnow
from copilot.planner.base import Planner, TokenCallback
from copilot.workspace import Workspace

__all__ = ["STALE_AFTER", "HEARTBEAT_EVERY", "AnswerState", "process_owner", "claim_answer", "answer_state",
           "heartbeat", "release_answer", "answer_message"]

# A claim whose heartbeat is older than this is abandoned (its process stopped) and may be taken over.
STALE_AFTER = timedelta(seconds=45)
HEARTBEAT_EVERY = 5.0  # seconds between heartbeats while a turn runs
_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_owner() -> str:
    """This process's claim owner name (host, pid and a random part, so a reused pid differs)."""
    return _PROCESS


@dataclass(frozen=True)
class AnswerState:
    """Where a marketer's message stands: ``answered``; ``answering`` (a fresh claim, ``reply`` so
    far); ``stalled`` (a claim whose process went quiet); ``waiting`` (nobody has claimed it)."""

    status: Literal["answered", "answering", "stalled", "waiting"]
    reply: str = ""
    owner: str | None = None


def _user_message(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.role != "user":
        raise NotFoundError(f"no marketer message {message_id}", message_id=message_id)
    return message


def _answered(session: Session, message: Message) -> bool:
    return session.exec(select(Message.id).where(
        Message.conversation_id == message.conversation_id, Message.role == "assistant",
        Message.id > (message.id or 0)).limit(1)).first() is not None  # type: ignore[operator]


def answer_state(session: Session, message_id: int, *, now: datetime | None = None) -> AnswerState:
    message = _user_message(session, message_id)
    if _answered(session, message):
        return AnswerState("answered")
    claim = session.get(AnswerClaim, message_id)
    session.expire_all()  # the next read sees other processes' heartbeats
    if claim is None:
        return AnswerState("waiting")
    fresh = claim.heartbeat_at >= (now or utcnow()) - STALE_AFTER
    return AnswerState("answering" if fresh else "stalled", claim.reply, claim.owner)


def claim_answer(session: Session, message_id: int, *, owner: str | None = None, now: datetime | None = None) -> bool:
    """Claim the right to answer ``message_id`` (committed); False if it is answered or being answered.

    A stalled claim (heartbeat older than STALE_AFTER) is taken over; of two processes taking it
    over at once, exactly one wins (the update names the heartbeat it saw).
    """
    owner = owner or process_owner()
    now = now or utcnow()
    message = _user_message(session, message_id)
    if _answered(session, message):
        return False
    claim = session.get(AnswerClaim, message_id)
    if claim is None:
        session.add(AnswerClaim(message_id=message_id, conversation_id=message.conversation_id, owner=owner,
                                claimed_at=now, heartbeat_at=now))
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
            return False
    if claim.heartbeat_at >= now - STALE_AFTER:
        return False
    seen = claim.heartbeat_at
    session.expunge(claim)
    taken = session.exec(sa.update(AnswerClaim).where(  # type: ignore[call-overload]
        AnswerClaim.message_id == message_id, AnswerClaim.heartbeat_at == seen,  # type: ignore[arg-type]
    ).values(owner=owner, claimed_at=now, heartbeat_at=now, reply=""))
    session.commit()
    return bool(taken.rowcount)


def heartbeat(session: Session, message_id: int, *, owner: str | None = None, reply: str | None = None) -> bool:
    """Keep the claim fresh (and store the reply so far); False if the claim is no longer ours."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if reply is not None:
        values["reply"] = reply
    result = session.exec(sa.update(AnswerClaim).where(  # type: ignore[call-overload]
        AnswerClaim.message_id == message_id, AnswerClaim.owner == (owner or process_owner()),  # type: ignore[arg-type]
    ).values(**values))
    session.commit()
    return bool(result.rowcount)


def release_answer(session: Session, message_id: int, *, owner: str | None = None) -> None:
    """Drop our claim (the answer, or its failure, is stored by then)."""
    session.exec(sa.delete(AnswerClaim).where(  # type: ignore[call-overload]
        AnswerClaim.message_id == message_id, AnswerClaim.owner == (owner or process_owner())))  # type: ignore[arg-type]
    session.commit()


async def answer_message(session: Session, heartbeat_session: Session, message_id: int, *, workspace: Workspace,
                         planner: Planner | None = None, on_token: TokenCallback | None = None) -> None:
    """Answer a claimed message: run the turn, heartbeat the claim (with the reply so far), release it.

    The caller must hold the claim (``claim_answer``); ConflictError otherwise. ``heartbeat_session``
    is a second session, so heartbeats never interleave with the turn's own transaction.
    """
    from copilot.services.conversation.turns import run_turn

    owner = process_owner()
    claim = await asyncio.to_thread(heartbeat_session.get, AnswerClaim, message_id)
    if claim is None or claim.owner != owner:
        raise AnswerInProgressError(f"message {message_id} is answered by another process", message_id=message_id)
    message = await asyncio.to_thread(_user_message, session, message_id)
    reply: list[str] = []
    done = asyncio.Event()

    async def beat() -> None:
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), HEARTBEAT_EVERY)
            except TimeoutError:
                await asyncio.to_thread(heartbeat, heartbeat_session, message_id, owner=owner, reply="".join(reply))

    async def tokens(text: str) -> None:
        reply.append(text)
        if on_token is not None:
            await on_token(text)

    beating = asyncio.create_task(beat())
    try:
        await run_turn(session, message, workspace=workspace, planner=planner, on_token=tokens)
    finally:
        done.set()
        await beating
        await asyncio.to_thread(release_answer, heartbeat_session, message_id, owner=owner)
