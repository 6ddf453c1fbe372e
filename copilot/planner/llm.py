"""The OpenAI-compatible planner: two rounds of strict structured output, a streamed reply, one repair, offline fallback.

Round one (one streamed call) answers with the reply, questions, notes and the plan
without copy; round two writes each segment's copy in parallel (bounded by
COPILOT_LLM_CONCURRENCY), so the critical path is two calls whatever the number of
segments. Answers are validated against the plan model and the workspace; one repair
round sends the problems back; any fault that survives retries and repair ends the turn
with the offline playbook plan and a note saying why.

Longer than most modules on purpose: the rounds, the repair and the fallback share one
turn's state (usage, prompt versions, faults); prompts themselves live in prompts/.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI
from pydantic import BaseModel

from copilot.brief import read_brief
from copilot.brief.reader import check_brief_text
from copilot.errors import PlannerError
from copilot.plan import Plan, Segment, Variant
from copilot.planner.answers import (
    AnswerProblem,
    ClarifyAnswer,
    CopyAnswer,
    PlanningAnswer,
    RevisionAnswer,
    parse_answer,
    response_format,
)
from copilot.planner.base import Planner, PlanRequest, PlanResult, TokenCallback, Usage
from copilot.planner.clock import local_date, planning_now
from copilot.planner.context import (
    HistoryWindow,
    audience_context,
    condense_history,
    copy_context,
    plan_json,
    segment_context,
    workspace_context,
)
from copilot.planner.llm_reader import (
    apply_brief_answer,
    apply_revision_answer,
    brief_answer_model,
    current_plan_context,
    reader_options,
    revision_answer_model,
)
from copilot.planner.offline import OfflinePlanner, honesty_notes
from copilot.planner.streaming import ReplyStream
from copilot.playbooks import load_playbooks
from copilot.prompts import load_prompt
from copilot.settings import Settings
from copilot.tokens import count_messages, count_text, encoding_for_model, estimate_cost
from copilot.validation import iter_steps, validate_plan
from copilot.workspace import Workspace

__all__ = ["LLMPlanner", "LLMPlanResult", "CallRecord", "ModelFault"]

MAX_BRIEF_IN_PLAN = 4000
_REPAIR_ECHO_CHARS = 12_000  # the failed answer shown back in the repair round, cut to bound its cost
# The reader's answer is a sentence or two and a few choices: a longer one means the model is looping.
_READER_MAX_TOKENS = 600


class ModelFault(Exception):
    """The model could not give a usable answer (after the SDK's retries, or after the repair round)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind  # rate_limited, server_error, refused_request, timeout, connection, stalled,
        # refusal, content_filter, invalid_answer
        self.reason = reason


@dataclass(frozen=True)
class CallRecord:
    """One model call: what we counted before sending and what the API reported back."""

    purpose: str  # plan, revise, clarify, copy:<segment>, repair:<purpose>
    counted_prompt_tokens: int
    reported_prompt_tokens: int | None
    completion_tokens: int
    reported_completion_tokens: int | None
    finish_reason: str | None


@dataclass
class LLMPlanResult(PlanResult):
    calls: list[CallRecord] = field(default_factory=list)
    history_window: HistoryWindow | None = None


def _problems_text(problems: Sequence[dict[str, str]]) -> str:
    return "; ".join(f"{p['path']}: {p['message']}" for p in problems[:3])


class LLMPlanner(Planner):
    """Plans with any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

    _shared: dict[tuple[Any, ...], LLMPlanner] = {}

    def __init__(self, settings: Settings, *, fallback: Planner | None = None) -> None:
        self.settings = settings
        self.model = settings.model
        self.reader = settings.llm_role == "reader"
        # A reader's revisions say so: the model chose, the playbooks built (copilot.planner.llm_reader).
        self.name = f"llm:{settings.model}"[:57] + "/reader" if self.reader else f"llm:{settings.model}"[:64]
        self.fallback = fallback or OfflinePlanner()
        self.token_cache = settings.data_dir / "cache" / "tiktoken"
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, AsyncOpenAI]] = {}

    @classmethod
    def shared(cls, settings: Settings) -> LLMPlanner:
        """One planner (and connection pool) per distinct model configuration in the process."""
        key = (settings.openai_api_key, settings.openai_base_url, settings.model, settings.llm_timeout,
               settings.llm_retries, settings.llm_concurrency, settings.llm_stall_timeout, settings.llm_fallback,
               settings.llm_max_output_tokens, settings.llm_role,
               settings.context_budget, settings.price_prompt_per_mtok, settings.price_completion_per_mtok,
               str(settings.data_dir))
        planner = cls._shared.get(key)
        if planner is None:
            planner = cls._shared[key] = cls(settings)
        return planner

    def warm_up(self) -> None:
        """Load the token encoding now, so the first turn does not pay for it."""
        encoding_for_model(self.model, self.token_cache)

    def client(self) -> AsyncOpenAI:
        """The SDK client for the running event loop (an httpx pool cannot cross loops)."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None or entry[0] is not loop:
            s = self.settings
            # A plain httpx client: the SDK's default transport is not one respx can intercept,
            # and it lets the pool be sized for the copy round's parallel calls.
            http = httpx.AsyncClient(timeout=httpx.Timeout(s.llm_timeout, connect=min(10.0, s.llm_timeout)),
                                     limits=httpx.Limits(max_connections=max(4, s.llm_concurrency * 2)))
            sdk = AsyncOpenAI(api_key=s.openai_api_key or "not-needed", base_url=s.openai_base_url or None,
                              http_client=http, max_retries=s.llm_retries, timeout=s.llm_timeout)
            self._clients = {k: v for k, v in self._clients.items() if not v[0].is_closed()}
            self._clients[id(loop)] = (loop, sdk)
            return sdk
        return entry[1]

    async def plan(self, request: PlanRequest, *, on_token: TokenCallback | None = None) -> PlanResult:
        check_brief_text(request.brief)  # an empty or oversized brief is refused as the offline planner does
        run = _Run(self, request, on_token)
        try:
            return await run.execute()
        except ModelFault as fault:
            if not self.settings.llm_fallback:
                raise PlannerError(f"The model ({self.model}) could not answer: {fault.reason}",
                                   fault=fault.kind, model=self.model) from fault
            return await run.fall_back(fault)


class _Run:
    """The state of one planning turn: usage, call records, prompt versions, streaming."""

    def __init__(self, planner: LLMPlanner, request: PlanRequest, on_token: TokenCallback | None) -> None:
        self.p = planner
        self.s = planner.settings
        self.request = request
        self.workspace: Workspace = request.workspace
        self.on_token = on_token
        self.usage = Usage()
        self.calls: list[CallRecord] = []
        self.versions: dict[str, str] = {}
        self.streamed = ""
        self.window: HistoryWindow | None = None
        self.notes: list[str] = []
        self._partial = ""
        self._counted: tuple[list[dict[str, str]], int] | None = None
        self.today = local_date(planning_now(self.workspace, request.now), self.workspace).isoformat()

    # ------------------------------------------------------------------ one call

    def _render(self, name: str, **variables: Any) -> str:
        prompt = load_prompt(name)
        self.versions[name] = prompt.ref
        return prompt.render(**variables)

    def _count(self, messages: Sequence[dict[str, str]]) -> int:
        counted = self._counted
        if counted is not None and counted[0] is messages:  # just counted while fitting the budget
            return counted[1]
        return count_messages(messages, model=self.p.model, cache_dir=self.p.token_cache)

    async def _emit(self, text: str) -> None:
        if text and self.on_token is not None:
            self.streamed += text
            await self.on_token(text)

    async def _call(self, purpose: str, messages: list[dict[str, str]], answer: type[BaseModel], *,
                    stream: bool = False, max_tokens: int | None = None) -> str:
        """Send one request; return the answer text. Raises ModelFault or AnswerProblem."""
        counted = self._count(messages)
        # The response format goes in extra_body: the SDK would otherwise walk the whole schema
        # (thousands of nodes) to transform it on every call, on the path to the first token.
        # A cap on the answer's length: a model that loops (small ones do) stops at a known cost.
        kwargs: dict[str, Any] = {"model": self.p.model, "messages": messages,
                                  "max_completion_tokens": max_tokens or self.s.llm_max_output_tokens,
                                  "extra_body": {"response_format": response_format(answer)}}
        content, refusal, finish, usage = "", "", None, None
        try:
            if stream:
                content, refusal, finish, usage = await self._streamed(kwargs)
            else:
                completion = await self.p.client().chat.completions.create(**kwargs)
                choice = completion.choices[0] if completion.choices else None
                if choice is not None:
                    content = choice.message.content or ""
                    refusal = getattr(choice.message, "refusal", None) or ""
                    finish = choice.finish_reason
                usage = completion.usage
        except openai.RateLimitError as exc:
            raise ModelFault("rate_limited", f"the model's API kept refusing with 429 (rate limited) after "
                                             f"{self.s.llm_retries} retries") from exc
        except openai.APITimeoutError as exc:
            raise ModelFault("timeout", f"the model did not answer within {self.s.llm_timeout:g} s") from exc
        except openai.APIConnectionError as exc:
            raise ModelFault("connection", f"could not reach the model's API at "
                                           f"{self.s.openai_base_url or 'api.openai.com'}") from exc
        except openai.APIStatusError as exc:
            kind = "server_error" if exc.status_code >= 500 else "refused_request"
            raise ModelFault(kind, f"the model's API answered HTTP {exc.status_code}"
                                   + (f" after {self.s.llm_retries} retries" if kind == "server_error" else "")
                                   ) from exc
        except openai.APIError as exc:  # e.g. an error event inside the stream
            raise ModelFault("server_error", f"the model's API reported an error: {exc.message}") from exc
        except json.JSONDecodeError as exc:  # a body or stream chunk that is not JSON (a broken proxy or server)
            raise ModelFault("malformed_response", f"the model's API sent data that is not valid JSON "
                                                   f"(line {exc.lineno}, column {exc.colno})") from exc
        except httpx.HTTPError as exc:  # a transport error while reading a stream
            raise ModelFault("connection", f"the connection to the model broke: {type(exc).__name__}") from exc
        finally:
            # Only what reached us is billed: a refused or unreachable request costs nothing,
            # a stream cut off midway costs what it produced.
            content = content or self._partial
            if content or usage is not None or finish is not None:
                self._account(purpose, counted, content, usage, finish)
            self._partial = ""
        if refusal:
            raise ModelFault("refusal", f"the model declined: {refusal.strip()[:200]}")
        if finish == "content_filter":
            raise ModelFault("content_filter", "the provider's content filter stopped the answer")
        if finish == "length":
            raise AnswerProblem("the answer was cut off at the length limit",
                                [{"path": "(answer)", "message": "cut off at the length limit; answer more briefly"}])
        return content

    async def _streamed(self, kwargs: dict[str, Any]) -> tuple[str, str, str | None, Any]:
        stream = await self.p.client().chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True})
        reply = ReplyStream()
        parts: list[str] = []
        refusal, finish, usage = "", None, None
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(iterator.__anext__(), timeout=self.s.llm_stall_timeout)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    raise ModelFault("stalled", f"the model's stream went silent for "
                                                f"{self.s.llm_stall_timeout:g} s") from exc
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices or []:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        parts.append(delta.content)
                        await self._emit(reply.feed(delta.content))
                    if delta is not None and getattr(delta, "refusal", None):
                        refusal += delta.refusal or ""
                    if choice.finish_reason:
                        finish = choice.finish_reason
        finally:
            self._partial = "".join(parts)
            await stream.close()
        return self._partial, refusal, finish, usage

    def _account(self, purpose: str, counted: int, content: str, usage: Any, finish: str | None) -> None:
        reported_prompt = getattr(usage, "prompt_tokens", None)
        reported_completion = getattr(usage, "completion_tokens", None)
        prompt = reported_prompt if reported_prompt is not None else counted
        completion = (reported_completion if reported_completion is not None
                      else count_text(content, model=self.p.model, cache_dir=self.p.token_cache))
        self.usage.add(Usage(prompt_tokens=prompt, completion_tokens=completion, calls=1,
                             cost_usd=estimate_cost(prompt, completion, prompt_per_mtok=self.s.price_prompt_per_mtok,
                                                    completion_per_mtok=self.s.price_completion_per_mtok)))
        self.calls.append(CallRecord(purpose, counted, reported_prompt, completion, reported_completion, finish))

    async def _ask(self, purpose: str, messages: list[dict[str, str]], answer: type[BaseModel], *,
                   stream: bool = False, check: Any = None, max_tokens: int | None = None) -> Any:
        """Ask, parse and check; on a problem, one repair round with the problems; else ModelFault."""
        content = ""
        try:
            content = await self._call(purpose, messages, answer, stream=stream, max_tokens=max_tokens)
            parsed = parse_answer(answer, content)
            if check is not None:
                check(parsed)
            return parsed
        except AnswerProblem as problem:
            first = problem
        repair = [*messages, {"role": "assistant", "content": content[:_REPAIR_ECHO_CHARS] or "(empty)"},
                  {"role": "user", "content": self._render("repair", problems=first.problems)}]
        try:
            content = await self._call(f"repair:{purpose}", repair, answer, max_tokens=max_tokens)
            parsed = parse_answer(answer, content)
            if check is not None:
                check(parsed)
            return parsed
        except AnswerProblem as again:
            raise ModelFault("invalid_answer", f"its answer was unusable even after a repair round "
                                               f"({first.summary}; then {again.summary})") from again

    # ------------------------------------------------------------------ the turn

    async def execute(self) -> LLMPlanResult:
        request = self.request
        if self.p.reader:
            return await self._read_turn()
        if request.current_plan is None and self._too_thin():
            return await self._clarify()
        revising = request.current_plan is not None
        answer = await self._round_one(revising)
        if not self.streamed:
            await self._emit(answer.reply)  # the server ignored field order: send the reply in one piece
        notes = [*self.notes, *answer.notes]
        if answer.plan is None:
            return self._result(None, answer.reply, answer.questions, notes)
        outline = answer.plan
        plan = await self._round_two(outline, getattr(answer, "copy_to_write", None))
        return self._result(plan, answer.reply, answer.questions, notes)

    def _result(self, plan: Plan | None, reply: str, questions: list[str], notes: list[str]) -> LLMPlanResult:
        return LLMPlanResult(plan=plan, planner=self.p.name, reply=reply, questions=list(questions),
                             notes=list(dict.fromkeys(notes)), usage=self.usage, prompt_versions=dict(self.versions),
                             calls=self.calls, history_window=self.window)

    def _too_thin(self) -> bool:
        """A first message that names no goal, audience, offer or product and is a few words long."""
        if self.request.history or len(self.request.brief.split()) >= 8:
            return False
        try:
            from copilot.brief import read_brief

            reading = read_brief(self.request.brief, self.workspace)
        except Exception:  # an unreadable brief is for the model to judge
            return False
        return reading.goal is None and not reading.audience and not reading.offers and not reading.products

    async def _clarify(self) -> LLMPlanResult:
        messages = self._fit(lambda window: [{"role": "system", "content": self._render("system")},
                                             {"role": "user", "content": self._clarify_prompt(window)}])
        answer = await self._ask("clarify", messages, ClarifyAnswer, stream=True)
        if not self.streamed:
            await self._emit(answer.reply)
        return self._result(None, answer.reply, answer.questions, self.notes)

    def _clarify_prompt(self, window: HistoryWindow) -> str:
        return self._render(
            "clarify", brand=self.workspace.name, goals=sorted(b.id for b in load_playbooks()),
            offers=[f"{o.id} ({o.name})" for o in self.workspace.facts.offers], history=window,
            brief=self.request.brief)

    def _fit(self, build: Any) -> list[dict[str, str]]:
        """The request with older turns condensed until it fits COPILOT_CONTEXT_BUDGET (built once per try)."""
        budget = self.s.context_budget
        built: dict[int, tuple[list[dict[str, str]], int]] = {}

        def measure(window: HistoryWindow) -> int:
            messages = build(window)
            built[id(window)] = (messages, self._count(messages))
            return built[id(window)][1]

        window = condense_history(self.request.history, fits=lambda w: measure(w) <= budget)
        messages, count = built.get(id(window)) or (build(window), budget + 1)
        if window.omitted or window.condensed:
            self.notes.append(f"Older turns were condensed to fit the {budget}-token context budget "
                              f"({window.condensed} shortened, {window.omitted} left out).")
        if count > budget:
            self.notes.append(f"The request is above the {budget}-token context budget even without earlier "
                              "turns; the workspace, the current plan and the message were kept whole.")
        self.window = window
        self._counted = (messages, count)
        return messages

    # ------------------------------------------------------------------ round one

    def _round_one_messages(self, revising: bool, window: HistoryWindow) -> list[dict[str, str]]:
        ws, request = self.workspace, self.request
        common = {"workspace": workspace_context(ws), "audience": audience_context(request.audience),
                  "today": self.today, "history": window}
        if revising:
            assert request.current_plan is not None
            user = self._render("revise", **common, current_plan=plan_json(request.current_plan),
                                message=request.brief)
        else:
            user = self._render("plan", **common, brief=request.brief)
        return [{"role": "system", "content": self._render("system")}, {"role": "user", "content": user}]

    async def _round_one(self, revising: bool) -> PlanningAnswer:
        messages = self._fit(lambda w: self._round_one_messages(revising, w))
        model = RevisionAnswer if revising else PlanningAnswer
        return await self._ask("revise" if revising else "plan", messages, model, stream=True,
                               check=self._check_outline)

    def _message_keys(self, outline: Any) -> list[str]:
        keys = [step.message for _, step in iter_steps(outline.trigger.steps) if step.type == "send"]
        return list(dict.fromkeys(keys)) or ["email_1"]

    def _assemble(self, outline: Any, variants: list[Variant]) -> Plan:
        brief = self.request.brief
        if self.request.current_plan is not None:
            brief = f"{self.request.current_plan.brief}\n{brief}"[-MAX_BRIEF_IN_PLAN:]
        data = outline.model_dump(mode="json")
        data.update(brief=brief, variants=[v.model_dump(mode="json") for v in variants])
        return Plan.model_validate(data)

    def _placeholders(self, outline: Any) -> list[Variant]:
        site = self.workspace.brand.website
        return [Variant(segment=s.name, message=m, subject="-", body="-", cta_text="-", cta_url=site)
                for s in outline.segments for m in self._message_keys(outline)]

    def _check_outline(self, answer: PlanningAnswer) -> None:
        """Workspace problems of the outline (its copy is checked in round two)."""
        if answer.plan is None:
            if not answer.questions:
                raise AnswerProblem("no plan and no question", [
                    {"path": "plan", "message": "give a plan, or questions saying what you need to know"}])
            return
        try:
            plan = self._assemble(answer.plan, self._placeholders(answer.plan))
        except ValueError as exc:  # pydantic: a cross-field rule of the plan model
            raise AnswerProblem(f"the plan is invalid: {exc}", [{"path": "plan", "message": str(exc)}]) from exc
        problems = [{"path": f"plan.{p.path}", "message": p.message}
                    for p in validate_plan(plan, self.workspace) if not p.path.startswith("variants")]
        if problems:
            raise AnswerProblem(f"the plan does not fit the workspace: {_problems_text(problems)}", problems)

    # ------------------------------------------------------------------ round two

    async def _round_two(self, outline: Any, copy_to_write: list[str] | None) -> Plan:
        current = self.request.current_plan
        keys = self._message_keys(outline)
        kept: dict[str, list[Variant]] = {}
        to_write: list[Segment] = []
        for segment in outline.segments:
            existing = current.variants_for(segment.name) if current is not None else []
            rewrite = copy_to_write is None or segment.name in copy_to_write
            if existing and not rewrite and {v.message for v in existing} == set(keys):
                kept[segment.name] = existing
            else:
                to_write.append(segment)
        limit = asyncio.Semaphore(max(1, self.s.llm_concurrency))
        written: dict[str, list[Variant]] = {}

        async def write(segment: Segment) -> None:
            async with limit:
                written[segment.name] = await self._write_copy(outline, segment, keys, current)

        try:
            async with asyncio.TaskGroup() as group:  # one failing segment cancels the others
                for segment in to_write:
                    group.create_task(write(segment))
        except BaseExceptionGroup as group:
            faults = [e for e in group.exceptions if isinstance(e, ModelFault)]
            if faults:
                raise faults[0] from None
            raise
        variants = [v for s in outline.segments for v in (kept.get(s.name) or written[s.name])]
        plan = self._assemble(outline, variants)
        problems = validate_plan(plan, self.workspace)
        if problems:
            raise ModelFault("invalid_answer", "the assembled plan does not fit the workspace: "
                                               + _problems_text([p.to_dict() for p in problems]))
        return plan

    def _copy_messages(self, outline: Any, segment: Segment, keys: list[str], current: Plan | None) -> list[dict[str, str]]:
        existing = current.variants_for(segment.name) if current is not None else []
        current_json = json.dumps([v.model_dump(mode="json", exclude={"segment"}, exclude_defaults=True)
                                   for v in existing], ensure_ascii=False, separators=(",", ":")) if existing else ""
        text = self._render(
            "copy", facts=copy_context(self.workspace, outline.offers, outline.goal),
            plan={"title": outline.title, "goal": outline.goal, "summary": outline.summary},
            segment=segment_context(segment, self.workspace), messages=keys, current=current_json,
            request=self.request.brief)
        return [{"role": "user", "content": text}]

    async def _write_copy(self, outline: Any, segment: Segment, keys: list[str], current: Plan | None) -> list[Variant]:
        found: list[Variant] = []

        def check(answer: CopyAnswer) -> None:
            variants = [Variant.model_validate({**d.model_dump(mode="json"), "segment": segment.name})
                        for d in answer.variants]
            problems = [{"path": f"variants[{i}].message", "message": f"unknown message key {v.message!r}; "
                         f"use {', '.join(keys)}"} for i, v in enumerate(variants) if v.message not in keys]
            problems += [{"path": "variants", "message": f"no variant for message {k!r}"}
                         for k in keys if k not in {v.message for v in variants}]
            if not problems:
                plan = self._assemble(outline, variants)
                problems = [p.to_dict() for p in validate_plan(plan, self.workspace)
                            if p.path.startswith("variants")]
            if problems:
                raise AnswerProblem(f"the copy for {segment.name!r} does not fit: {_problems_text(problems)}",
                                    problems)
            found[:] = variants

        await self._ask(f"copy:{segment.name}", self._copy_messages(outline, segment, keys, current), CopyAnswer,
                        check=check)
        return found

    # ------------------------------------------------------------------ the reader role

    async def _read_turn(self) -> LLMPlanResult:
        """The model reads the message into the workspace's options; the offline playbooks build the plan."""
        request, ws = self.request, self.workspace
        offline = self.p.fallback if isinstance(self.p.fallback, OfflinePlanner) else OfflinePlanner()
        options = reader_options(ws)
        system = {"role": "system", "content": self._render("system")}
        if request.current_plan is None:
            choices = brief_answer_model(options)
            messages = self._fit(lambda window: [system, {"role": "user", "content": self._render(
                "read", options=options.context(), today=self.today, history=window, brief=request.brief)}])
            answer = await self._ask("read", messages, choices, stream=True, max_tokens=_READER_MAX_TOKENS)
            await self._reply_whole(answer.reply)
            reading = offline.read(request)
            applied = apply_brief_answer(reading, answer, ws)
            built = offline.plan_from_reading(request, reading)
            applied.settle(built.plan)
            note = applied.note(self.p.model, "The offline playbooks built the segments, timing and copy "
                                               "from these choices.")
            plan, summary, questions = built.plan, built.reply, list(built.questions)
            notes = [note, *applied.notes, *self.notes, *built.notes]
        else:
            current = request.current_plan
            choices = revision_answer_model(options, current)
            # No history in this prompt: the current plan is the context a follow-up needs.
            messages = [system, {"role": "user", "content": self._render(
                "read_revision", options=options.context(), current=current_plan_context(current, ws),
                message=request.brief)}]
            answer = await self._ask("read_revision", messages, choices, stream=True,
                                     max_tokens=_READER_MAX_TOKENS)
            await self._reply_whole(answer.reply)
            now = planning_now(ws, request.now)
            plan, applied = apply_revision_answer(current, answer, request.brief, ws, now=now,
                                                  audience=request.audience)
            message = read_brief(check_brief_text(request.brief), ws, today=local_date(now, ws))
            said = honesty_notes(message, ws)
            note = applied.note(self.p.model, "The offline playbooks applied them to the current plan.")
            notes = [note, *applied.notes, *said, *self.notes]
            summary = "\n".join(f"Note: {n}" for n in notes)
            questions = []
        # The rest of the reply is the playbooks' own account of the plan they built.
        await self._emit("\n\n")
        for line in summary.splitlines(keepends=True):
            await self._emit(line)
        return self._result(plan, f"{answer.reply}\n\n{summary}".strip(), questions, notes)

    async def _reply_whole(self, reply: str) -> None:
        if not self.streamed:
            await self._emit(reply)  # the server ignored field order: send the reply in one piece

    # ------------------------------------------------------------------ fallback

    async def fall_back(self, fault: ModelFault) -> LLMPlanResult:
        note = (f"The model ({self.p.model}) could not answer: {fault.reason}. "
                f"This plan comes from the offline playbooks.")
        if self.streamed:
            await self._emit("\n\n")
        await self._emit(note + "\n\n")
        offline = await self.p.fallback.plan(self.request, on_token=self.on_token)
        return LLMPlanResult(
            plan=offline.plan, planner=offline.planner, reply=f"{note}\n\n{offline.reply}".strip(),
            questions=list(offline.questions), notes=[note, *self.notes, *offline.notes], usage=self.usage,
            prompt_versions=dict(offline.prompt_versions), calls=self.calls, history_window=self.window)
