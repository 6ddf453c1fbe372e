"""A scripted OpenAI-compatible chat completions endpoint for respx: the LLM's HTTP API is the only thing mocked.

Requests are routed by what they ask for (the response format's name: PlanningAnswer,
RevisionAnswer, CopyAnswer, ClarifyAnswer, and the reader role's BriefChoices and RevisionChoices;
repair rounds are marked), every request body
is captured, and usage is computed from the received messages with tiktoken the way the
API bills, independently of the product's own counting.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx
import tiktoken

from copilot.plan import Plan
from copilot.planner.base import Planner, PlanRequest
from copilot.settings import Settings

BASE_URL = "http://llm.test/v1"
Reply = httpx.Response | Exception | Callable[[dict[str, Any]], Any] | dict[str, Any] | str


def prompt_tokens(messages: list[dict[str, Any]], encoding_name: str = "o200k_base") -> int:
    encoding = tiktoken.get_encoding(encoding_name)
    total = 3
    for message in messages:
        total += 3 + len(encoding.encode(message["role"])) + len(encoding.encode(message.get("content") or ""))
    return total


def outline_of(plan: Plan) -> dict[str, Any]:
    data = plan.model_dump(mode="json")
    for key in ("schema_version", "brief", "variants"):
        data.pop(key)
    return data


def planning_answer(plan: Plan | None, *, reply: str = "Here is a plan.", questions: list[str] | None = None,
                    notes: list[str] | None = None, copy_to_write: list[str] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"reply": reply, "questions": questions or [], "notes": notes or [],
                              "plan": outline_of(plan) if plan is not None else None}
    if copy_to_write is not None:
        answer["copy_to_write"] = copy_to_write
    return answer


def copy_answer(plan: Plan, segment: str) -> dict[str, Any]:
    return {"variants": [v.model_dump(mode="json", exclude={"segment"}) for v in plan.variants_for(segment)]}


def segment_of(body: dict[str, Any]) -> str:
    """The segment a copy request is for (named in its prompt)."""
    text = body["messages"][-1]["content"] if not is_repair(body) else body["messages"][0]["content"]
    match = re.search(r'^Segment "(.+?)":', text, flags=re.MULTILINE)
    assert match, "copy request without a segment"
    return match.group(1)


def said(body: dict[str, Any]) -> str:
    """The marketer's words a request carries: the <brief> or <message> block of its task prompt.

    Answering by these (not by arrival order) keeps answers right when requests run concurrently.
    """
    task = next(m["content"] for m in body["messages"] if m["role"] == "user")  # a repair round comes after it
    blocks = re.findall(r"<(brief|message)>\n(.*?)\n</\1>", task, flags=re.DOTALL)
    assert blocks, "request without the marketer's words"
    return blocks[-1][1]


def is_repair(body: dict[str, Any]) -> bool:
    return any(m["role"] == "assistant" for m in body["messages"])


def completion(content: str | None, *, finish: str = "stop", refusal: str | None = None,
               usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "stub",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": usage}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "stub",
                                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"


def sse_body(content: str, *, finish: str = "stop", usage: dict[str, int] | None = None, size: int = 16,
             refusal: str | None = None) -> str:
    """A streamed completion in pieces of ``size`` characters (about what a model sends per chunk)."""
    out = [_chunk({"role": "assistant", "content": ""})]
    out += [_chunk({"content": content[i:i + size]}) for i in range(0, len(content), size)]
    if refusal:
        out.append(_chunk({"refusal": refusal}))
    out.append(_chunk({}, finish))
    if usage:
        out.append("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1,
                                          "model": "stub", "choices": [], "usage": usage}) + "\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out)


class StalledStream(httpx.AsyncByteStream):
    """A stream that sends its first bytes and then goes silent."""

    def __init__(self, first: str, silence: float) -> None:
        self.first, self.silence = first, silence

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first.encode()
        await asyncio.sleep(self.silence)
        yield b"data: [DONE]\n\n"


class StubLLM:
    """Queue answers per kind ("plan", "revise", "copy", "clarify", "repair"); unqueued kinds use ``default``."""

    def __init__(self, default: Callable[[str, dict[str, Any]], Any] | None = None) -> None:
        self.queues: dict[str, list[Reply]] = defaultdict(list)
        self.bodies: list[dict[str, Any]] = []
        self.kinds: list[str] = []
        self.usages: list[dict[str, int]] = []  # what each answered call billed, as the API reports it
        self.default = default

    def queue(self, kind: str, *replies: Reply) -> StubLLM:
        self.queues[kind].extend(replies)
        return self

    @staticmethod
    def kind_of(body: dict[str, Any]) -> str:
        name = body["response_format"]["json_schema"]["name"]
        kind = {"PlanningAnswer": "plan", "RevisionAnswer": "revise", "CopyAnswer": "copy",
                "ClarifyAnswer": "clarify", "BriefChoices": "read", "RevisionChoices": "read_revision"}[name]
        return "repair" if is_repair(body) else kind

    def bodies_of(self, kind: str) -> list[dict[str, Any]]:
        return [b for b, k in zip(self.bodies, self.kinds, strict=True) if k == kind]

    def prompts_of(self, kind: str) -> list[str]:
        """The last (user) message of each request of that kind: the rendered task prompt."""
        return [b["messages"][-1]["content"] for b in self.bodies_of(kind)]

    def billed(self, start: int = 0) -> tuple[int, int]:
        """Prompt and completion tokens billed for the answered calls from call ``start`` on."""
        usages = self.usages[start:]
        return sum(u["prompt_tokens"] for u in usages), sum(u["completion_tokens"] for u in usages)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        kind = self.kind_of(body)
        self.bodies.append(body)
        self.kinds.append(kind)
        if self.queues[kind]:
            reply: Reply = self.queues[kind].pop(0)
        elif self.default is not None:
            reply = self.default(kind, body)
        else:
            raise AssertionError(f"unexpected {kind} request")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            reply = reply(body)
        if isinstance(reply, httpx.Response):
            return reply
        return self.respond(body, reply)

    def respond(self, body: dict[str, Any], answer: dict[str, Any] | str, *, finish: str = "stop") -> httpx.Response:
        content = answer if isinstance(answer, str) else json.dumps(answer)
        usage = {"prompt_tokens": prompt_tokens(body["messages"]),
                 "completion_tokens": len(tiktoken.get_encoding("o200k_base").encode(content)),
                 "total_tokens": 0}
        self.usages.append(usage)
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content=sse_body(content, finish=finish, usage=usage))
        return httpx.Response(200, json=completion(content, finish=finish, usage=usage))


class InFlight:
    """An async respx side effect: ``stub`` answers after ``delay`` seconds, and the requests in flight
    at the endpoint are counted (``peak``), which is where a concurrency bound is observable."""

    def __init__(self, stub: StubLLM, *, delay: float) -> None:
        self.stub, self.delay = stub, delay
        self.now = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
            return self.stub(request)
        finally:
            self.now -= 1


def answering(plan: Plan, *, reply: str = "Here is a plan.", copy_to_write: list[str] | None = None,
              notes: list[str] | None = None) -> Callable[[str, dict[str, Any]], Any]:
    """A default that answers every request consistently with ``plan``."""

    def default(kind: str, body: dict[str, Any]) -> Any:
        if kind == "repair":  # answer the repair correctly, in the format it asks for
            kind = {"PlanningAnswer": "plan", "RevisionAnswer": "revise",
                    "CopyAnswer": "copy"}[body["response_format"]["json_schema"]["name"]]
        if kind == "plan":
            return planning_answer(plan, reply=reply, notes=notes)
        if kind == "revise":
            return planning_answer(plan, reply=reply, notes=notes, copy_to_write=copy_to_write or [])
        if kind == "copy":
            return copy_answer(plan, segment_of(body))
        raise AssertionError(f"unexpected {kind} request")

    return default


def llm_settings(data_dir: Any, **changes: Any) -> Settings:
    """Settings pointing the planner at the stub, with short timeouts and no retries unless asked."""
    base = Settings(data_dir=data_dir, database_url="sqlite://", workspace_dir=None, openai_api_key="sk-test",
                    openai_base_url=BASE_URL, llm_retries=0, llm_timeout=5, llm_stall_timeout=1)
    return base.replace(**changes)


@contextmanager
def serving(stub: StubLLM) -> Iterator[respx.MockRouter]:
    """The chat completions endpoint at BASE_URL answered by ``stub``, for every thread of the process."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.post("/chat/completions").mock(side_effect=stub)
        yield mock


async def run_planner(planner: Planner, stub: StubLLM, request: PlanRequest) -> tuple[Any, list[str]]:
    """Plan through the stub; returns the result and the streamed reply pieces."""
    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    with serving(stub):
        result = await planner.plan(request, on_token=on_token)
    return result, tokens
