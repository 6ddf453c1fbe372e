"""One answer per marketer message across processes: claims live in the database, not in a process.

Two claims on one message: one wins. A claim whose process went quiet may be taken over (once).
Answering through a claim stores the answer and releases the claim; nothing plans without one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from support.fakes import add_users

from copilot.errors import AnswerInProgressError, NotFoundError
from copilot.models import AnswerClaim, Message, utcnow
from copilot.planner.offline import OfflinePlanner
from copilot.services import conversations as svc
from copilot.services.conversation.answers import STALE_AFTER
from copilot.services.workspaces import get_workspace_record


@pytest.fixture
def message(runtime):  # type: ignore[no-untyped-def]
    with runtime.session() as session:
        ws_id = get_workspace_record(session, runtime.default_workspace.slug).id
        [marketer] = add_users(session, ("mia", "marketer"))
        conversation = svc.create_conversation(session, workspace_id=ws_id, author_id=marketer.id)
        stored = svc.start_turn(session, conversation_id=conversation.id, actor_id=marketer.id,
                                text="win back customers who haven't ordered in six months")
        return stored.id


def test_of_two_processes_claiming_one_message_exactly_one_wins(runtime, message) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as a, runtime.session() as b:
        assert svc.claim_answer(a, message, owner="web-1:100") is True
        assert svc.claim_answer(b, message, owner="web-2:200") is False
        state = svc.answer_state(b, message)
    assert (state.status, state.owner) == ("answering", "web-1:100")


def test_a_quiet_claim_is_taken_over_once_and_a_fresh_one_never(runtime, message) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        assert svc.claim_answer(s, message, owner="dead:1")
        later = utcnow() + STALE_AFTER + timedelta(seconds=1)
        assert svc.answer_state(s, message, now=later).status == "stalled"
        assert svc.claim_answer(s, message, owner="web-2:200", now=later) is True
        assert svc.claim_answer(s, message, owner="web-3:300", now=later) is False  # now it is fresh again
        assert s.get(AnswerClaim, message).owner == "web-2:200"


def test_answering_a_claimed_message_stores_the_answer_and_releases_the_claim(runtime, message) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    with runtime.session() as s, runtime.session() as beats:
        assert svc.claim_answer(s, message)
        asyncio.run(svc.answer_message(s, beats, message, workspace=runtime.default_workspace,
                                       planner=OfflinePlanner(), on_token=on_token))
        assert s.get(AnswerClaim, message) is None
        assert svc.answer_state(s, message).status == "answered"
        answers = s.exec(select(Message).where(Message.role == "assistant")).all()
        assert len(answers) == 1 and answers[0].revision_id is not None
        assert svc.claim_answer(s, message) is False  # answered: nobody answers it again
    assert "".join(tokens)


def test_answering_without_the_claim_is_refused_and_plans_nothing(runtime, message) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    with runtime.session() as s, runtime.session() as beats:
        assert svc.claim_answer(s, message, owner="another-process:9")
        with pytest.raises(AnswerInProgressError):
            asyncio.run(svc.answer_message(s, beats, message, workspace=runtime.default_workspace,
                                           planner=OfflinePlanner()))
        assert s.exec(select(Message).where(Message.role == "assistant")).all() == []


def test_claims_are_only_for_marketer_messages(runtime, message) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        with pytest.raises(NotFoundError):
            svc.claim_answer(s, message + 1000)
