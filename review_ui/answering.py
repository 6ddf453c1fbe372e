"""Answers the web UI starts: the planner runs in a task of the process that took the POST; readers follow.

Whether a message is being answered, and by whom, is the core's (``conversations.claim_answer``,
in the database). This module only carries the streamed tokens from the task to the pages that
follow it: live when the follower is served by the same process, from the claim's stored reply
(polled) when another process serves it. No GET starts a planner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio

from copilot.errors import CopilotError
from copilot.planner.base import Planner
from copilot.runtime import Runtime
from copilot.services import conversations as chat

__all__ = ["LiveAnswers", "FOLLOW_TIMEOUT", "POLL_EVERY"]

log = logging.getLogger(__name__)
FOLLOW_TIMEOUT = 180.0  # seconds a page follows an answer before it stops waiting
POLL_EVERY = 0.3  # seconds between reads of another process's answer
SHUTDOWN_WAIT = 5.0  # seconds shutdown waits for cancelled answers to stop


@dataclass
class _Run:
    text: list[str] = field(default_factory=list)
    # Each follower's queue with the event loop it waits on (a test client runs one loop per client).
    followers: dict[asyncio.Queue[str | None], asyncio.AbstractEventLoop] = field(default_factory=dict)
    done: bool = False

    def publish(self, item: str | None) -> None:
        if item is not None:
            self.text.append(item)
        for queue, loop in list(self.followers.items()):
            loop.call_soon_threadsafe(queue.put_nowait, item)


class LiveAnswers:
    """This process's running answers, by message id, and the tasks running them."""

    def __init__(self) -> None:
        self._runs: dict[int, _Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, runtime: Runtime, message_id: int, *, planner: Planner) -> bool:
        """Claim ``message_id`` and answer it in a background task; False if it is answered or taken."""
        def claim() -> bool:
            with runtime.session() as session:
                return chat.claim_answer(session, message_id)

        if not await anyio.to_thread.run_sync(claim):
            return False
        run = self._runs[message_id] = _Run()
        task = asyncio.get_running_loop().create_task(self._answer(runtime, message_id, planner, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _answer(self, runtime: Runtime, message_id: int, planner: Planner, run: _Run) -> None:
        session, beats = runtime.session(), runtime.session()

        async def on_token(text: str) -> None:
            run.publish(text)

        try:
            await chat.answer_message(session, beats, message_id, workspace=runtime.default_workspace,
                                      planner=planner, on_token=on_token)
        except CopilotError:
            pass  # the failure is stored as the answer; the page shows it
        except Exception:  # noqa: BLE001 - a background task has no caller to raise to
            log.exception("answering message %s failed", message_id)
        finally:
            await anyio.to_thread.run_sync(session.close)
            await anyio.to_thread.run_sync(beats.close)
            run.done = True
            run.publish(None)
            self._runs.pop(message_id, None)

    async def follow(self, runtime: Runtime, message_id: int) -> AsyncIterator[str]:
        """The answer's reply text as it streams; ends when it is stored, or nobody is answering."""
        run = self._runs.get(message_id)
        if run is not None:
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            run.followers[queue] = asyncio.get_running_loop()
            try:
                if run.text:
                    yield "".join(run.text)
                if run.done:
                    return
                with anyio.move_on_after(FOLLOW_TIMEOUT):
                    while (item := await queue.get()) is not None:
                        yield item
            finally:
                run.followers.pop(queue, None)
            return
        sent = 0

        def state() -> chat.AnswerState:
            with runtime.session() as session:
                return chat.answer_state(session, message_id)

        with anyio.move_on_after(FOLLOW_TIMEOUT):
            while (current := await anyio.to_thread.run_sync(state)).status == "answering":
                if len(current.reply) > sent:
                    yield current.reply[sent:]
                    sent = len(current.reply)
                await anyio.sleep(POLL_EVERY)

    async def close(self) -> None:
        """Cancel the answers running on this event loop (shutdown); their claims go stale and may be
        answered again. Tasks of other loops (a test runs one per client) are theirs to close."""
        loop = asyncio.get_running_loop()
        mine = [task for task in self._tasks if task.get_loop() is loop]
        for task in mine:
            task.cancel()
        if mine:
            # A turn blocked in a database call cannot be interrupted; shutdown waits only so long.
            await asyncio.wait(mine, timeout=SHUTDOWN_WAIT)
