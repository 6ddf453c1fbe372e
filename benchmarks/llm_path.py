"""Benchmark the model path of the copilot against a local OpenAI-compatible stand-in that answers after a fixed delay.

    .venv/bin/python benchmarks/llm_path.py [--json] [--delay S] [--rounds N] [--contacts N]

The stand-in (loopback only, in this process) is the one thing outside the product: every
turn goes through the real service (message stored, audience counts, prompts, tiktoken,
the openai SDK over HTTP, streaming, validation, sizing on the database, guards, storage).
Figures:
  - wall time of a 1-segment and a 5-segment plan, and their ratio (target <= 2.3): two model
    calls on the critical path whatever the number of segments;
  - time the service adds before the first streamed token beyond the stand-in's own delay
    (target <= 30 ms), measured against the stand-in's clock for the same request;
  - prompt tokens per plan for a typical brief (target <= 3,000), as the stand-in counts them
    (messages only; the response-format schema is reported separately).
The last line is a JSON object with --json. The backend is a class so a ``--real`` mode (a
local llama.cpp server) can plug in beside the stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import tiktoken  # noqa: E402
import uvicorn  # noqa: E402
from sqlmodel import select  # noqa: E402

from copilot.audience import build_demo_audience  # noqa: E402
from copilot.models import Contact, User  # noqa: E402
from copilot.planner.answers import PlanningAnswer, response_format  # noqa: E402
from copilot.planner.llm import LLMPlanner  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from copilot.services import conversations as svc  # noqa: E402
from copilot.services.workspaces import get_workspace_record  # noqa: E402
from copilot.settings import Settings  # noqa: E402
from copilot.tokens import count_text, prepare_tiktoken_cache  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TYPICAL_BRIEF = "win back runners who haven't bought in six months with 15% off before the spring sale"
TARGETS = {"ratio_5_to_1": 2.3, "first_token_overhead_ms": 30.0, "prompt_tokens_per_plan": 3000}

# -------------------------------------------------------------------------------- stand-in answers

_SEGMENTS = [
    ("Lapsed VIPs", {"type": "all", "rules": [
        {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"},
        {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180}]},
     ["loyalty_tier"], "early access before the sale"),
    ("Trail runners", {"type": "field", "field": "favorite_activity", "op": "eq", "value": "trail"},
     ["favorite_activity"], "trail gear they told us they run in"),
    ("Road runners", {"type": "field", "field": "favorite_activity", "op": "eq", "value": "road"},
     ["favorite_activity"], "road shoes for their usual runs"),
    ("Members", {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "member"},
     ["loyalty_tier"], "member thanks"),
    ("Past customers", {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180},
     [], "the come-back offer"),
]


def outline(segments: int) -> dict[str, Any]:
    chosen = _SEGMENTS[:segments] if segments > 1 else _SEGMENTS[-1:]
    return {
        "title": "Win back lapsed runners", "goal": "winback",
        "summary": "Lapsed customers get the come-back offer before the spring sale.",
        "segments": [{
            "name": name, "priority": i + 1, "description": f"{name} who have not ordered lately", "rule": rule,
            "hypothesis": {"attribute": fields[0] if fields else "last order date", "tactic": tactic,
                           "metric": "reactivation_rate", "expected_change": "+1 point vs the control"},
            "field_rationales": [{"field": f, "rationale": "they told us, and it picks gear they run in"}
                                 for f in fields],
        } for i, (name, rule, fields, tactic) in enumerate(chosen)],
        "trigger": {"kind": "schedule", "send_at": "2026-11-24T15:00:00Z", "recipient_local_time": True,
                    "steps": [{"type": "send", "message": "email_1"}]},
        "suppression": {"require_consent": True, "frequency_cap": {"max_emails": 3, "per_days": 7},
                        "quiet_hours": {"start": "21:00", "end": "08:00", "fallback": "next_allowed"},
                        "exclusions": []},
        "offers": ["winback15"], "send_window": None,
    }


def copy_for(segment: str) -> dict[str, Any]:
    return {"variants": [{
        "message": "email_1", "key": "A", "locale": "en",
        "subject": "It has been a while, {{ first_name }}",
        "preheader": "15% off one order until March 19, 2027",
        "body": (f"Hi {{{{ first_name }}}},\n\nYou are getting this because you ran with us before ({segment}). "
                 "Use code COMEBACK15 for 15% off one order, ends March 19, 2027 (before the spring sale). "
                 "Not combinable with other offers."),
        "cta_text": "Come back for 15% off", "cta_url": "https://northpeak.example",
        "merge_fields": [{"name": "first_name", "fallback": "there"}]}]}


# -------------------------------------------------------------------------------- the stand-in server

@dataclass
class StandIn:
    """An OpenAI-compatible chat completions endpoint that waits ``delay`` seconds, then answers."""

    delay: float
    segments: int = 1
    requests: list[dict[str, Any]] = field(default_factory=list)
    _encoding: Any = None

    def _usage(self, body: dict[str, Any], content: str) -> dict[str, int]:
        prompt = 3 + sum(3 + len(self._encoding.encode(m["role"])) + len(self._encoding.encode(m["content"] or ""))
                         for m in body["messages"])
        return {"prompt_tokens": prompt, "completion_tokens": len(self._encoding.encode(content)),
                "total_tokens": 0}

    def answer(self, body: dict[str, Any]) -> str:
        name = body["response_format"]["json_schema"]["name"]
        if name in {"PlanningAnswer", "RevisionAnswer"}:
            answer: dict[str, Any] = {"reply": f"Here is a win-back plan with {self.segments} segment(s): "
                                               "each gets the come-back offer, worded as the fact sheet has it.",
                                      "questions": [], "notes": [], "plan": outline(self.segments)}
            if name == "RevisionAnswer":
                answer["copy_to_write"] = []
            return json.dumps(answer)
        text = body["messages"][-1]["content"]
        segment = text.split('Segment "', 1)[1].split('"', 1)[0]
        return json.dumps(copy_for(segment))

    async def _json(self, send: Any, data: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(data).encode()})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        arrived = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the benchmark process's clock
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/_records":  # the benchmark's control endpoints
            await self._json(send, self.requests)
            return
        if scope["path"] == "/_config":
            self.segments = int(json.loads(raw)["segments"])
            await self._json(send, {"segments": self.segments})
            return
        body = json.loads(raw)
        await asyncio.sleep(self.delay)
        content = self.answer(body)
        usage = self._usage(body, content)
        record = {"kind": body["response_format"]["json_schema"]["name"], "arrived": arrived,
                  "prompt_tokens": usage["prompt_tokens"]}
        self.requests.append(record)
        if not body.get("stream"):
            payload = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": content}}],
                                  "usage": usage}).encode()
            record["first_byte"] = time.perf_counter()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": payload})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return ("data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", "created": 0,
                                           "model": body["model"], "choices": [
                                               {"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n").encode()

        record["first_byte"] = time.perf_counter()
        pieces = [content[i:i + 16] for i in range(0, len(content), 16)]
        for i in range(0, len(pieces), 32):  # many small chunks, sent in a few writes
            data = b"".join(chunk({"content": p}) for p in pieces[i:i + 32])
            await send({"type": "http.response.body", "body": data, "more_body": True})
        tail = chunk({}, "stop") + ("data: " + json.dumps({"id": "x", "object": "chat.completion.chunk",
                                                           "created": 0, "model": body["model"], "choices": [],
                                                           "usage": usage}) + "\n\n").encode()
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandInBackend:
    """Runs the stand-in on 127.0.0.1 in its own process, as a model server would be (sharing this
    process's interpreter would make the client and the server take turns on one GIL)."""

    name = "stand-in"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-stand-in", str(self.port),
                                         "--delay", str(self.delay)])
        deadline = time.monotonic() + 30
        while True:
            try:
                self._http.get("/_records")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the stand-in server did not start") from None
                time.sleep(0.05)

    def set_segments(self, n: int) -> None:
        self._http.post("/_config", json={"segments": n}).raise_for_status()

    def records(self) -> list[dict[str, Any]]:
        return list(self._http.get("/_records").json())

    def stop(self) -> None:
        self._http.close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def serve_stand_in(port: int, delay: float) -> None:
    app = StandIn(delay=delay)
    app._encoding = tiktoken.get_encoding("o200k_base")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")


# -------------------------------------------------------------------------------- measuring

@dataclass
class Turn:
    wall: float
    first_token: float | None  # seconds from the call to the first streamed token
    server_first: float | None  # the stand-in's own time from arrival to first byte of round one
    before_request: float | None  # from the call until round one reached the stand-in
    after_first_byte: float | None  # from the stand-in's first byte until the token reached the caller
    cpu_to_first_token: float | None  # CPU seconds this process spent from the call to the first token
    prompt_tokens: int
    calls: int
    planner: str
    segments: int = 0  # in the plan the turn produced


async def one_turn(runtime: Runtime, planner: LLMPlanner, backend: StandInBackend, author: int, ws_id: int,
                   brief: str) -> Turn:
    first: list[float] = []
    before = len(backend.records())

    cpu: list[float] = []

    async def on_token(_: str) -> None:
        if not first:
            first.append(time.perf_counter())
            cpu.append(time.process_time())

    with runtime.session() as session:
        conv = svc.create_conversation(session, workspace_id=ws_id, author_id=author).id or 0
        start, cpu_start = time.perf_counter(), time.process_time()
        outcome = await svc.post_message(session, conversation_id=conv, actor_id=author, text=brief,
                                         workspace=runtime.default_workspace, planner=planner, on_token=on_token,
                                         now=NOW)
        wall = time.perf_counter() - start
    mine = backend.records()[before:]
    round_one = next((r for r in mine if r["kind"] in {"PlanningAnswer", "RevisionAnswer"}), None)
    return Turn(wall=wall, first_token=(first[0] - start) if first else None,
                server_first=(round_one["first_byte"] - round_one["arrived"]) if round_one else None,
                before_request=(round_one["arrived"] - start) if round_one else None,
                after_first_byte=(first[0] - round_one["first_byte"]) if round_one and first else None,
                cpu_to_first_token=(cpu[0] - cpu_start) if cpu else None,
                prompt_tokens=outcome.assistant_message.prompt_tokens, calls=len(mine),
                planner=outcome.result.planner,
                segments=len(outcome.result.plan.segments) if outcome.result.plan is not None else 0)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_author(runtime: Runtime) -> tuple[int, int]:
    """The benchmark's marketer (made once) and the default workspace's id."""
    with runtime.session() as session:
        ws_id = get_workspace_record(session, runtime.default_workspace.slug).id or 0
        author = session.exec(select(User).where(User.username == "bench")).first()
        if author is None:
            author = User(username="bench", role="marketer", password_hash="-")
            session.add(author)
            session.commit()
        return author.id or 0, ws_id


async def measure(runtime: Runtime, backend: StandInBackend, settings: Settings, *, rounds: int) -> dict[str, Any]:
    planner = LLMPlanner(settings)
    planner.warm_up()
    author_id, ws_id = bench_author(runtime)

    backend.set_segments(2)
    await one_turn(runtime, planner, backend, author_id, ws_id, TYPICAL_BRIEF)  # warm-up: pools, caches
    # As `copilot serve` does after start-up: long-lived objects out of the collector's way.
    gc.collect()
    gc.freeze()
    walls: dict[int, list[float]] = {1: [], 5: []}
    overheads: list[float] = []
    before: list[float] = []
    after: list[float] = []
    cpu: list[float] = []
    planners: set[str] = set()
    for _ in range(rounds):
        for n in (1, 5):  # interleaved so machine noise hits both alike
            backend.set_segments(n)
            turn = await one_turn(runtime, planner, backend, author_id, ws_id, TYPICAL_BRIEF)
            walls[n].append(turn.wall)
            planners.add(turn.planner)
            if turn.first_token is not None and turn.server_first is not None:
                overheads.append(turn.first_token - turn.server_first)
                before.append(turn.before_request or 0.0)
                after.append(turn.after_first_byte or 0.0)
                cpu.append(turn.cpu_to_first_token or 0.0)
    backend.set_segments(2)
    typical = [await one_turn(runtime, planner, backend, author_id, ws_id, TYPICAL_BRIEF) for _ in range(3)]
    schema_tokens = count_text(json.dumps(response_format(PlanningAnswer)["json_schema"]["schema"],
                                          separators=(",", ":")), model=settings.model)
    one, five = _median(walls[1]), _median(walls[5])
    return {
        "backend": backend.name, "delay_s": backend.delay, "rounds": rounds,
        "concurrency": settings.llm_concurrency, "planners": sorted(planners),
        "wall_1_segment_s": round(one, 4), "wall_5_segments_s": round(five, 4),
        "ratio_5_to_1": round(five / one, 3),
        "first_token_overhead_ms": round(1000 * _median(overheads), 2),
        "first_token_overhead_ms_max": round(1000 * max(overheads), 2) if overheads else None,
        "overhead_before_request_ms": round(1000 * _median(before), 2),
        "overhead_after_first_byte_ms": round(1000 * _median(after), 2),
        "cpu_to_first_token_ms": round(1000 * _median(cpu), 2),
        "prompt_tokens_per_plan": int(_median([t.prompt_tokens for t in typical])),
        "calls_per_typical_plan": typical[0].calls,
        "schema_tokens_round_one": schema_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    parser.add_argument("--delay", type=float, default=0.25, help="seconds the stand-in waits before answering")
    parser.add_argument("--rounds", type=int, default=5, help="timed turns per plan size")
    parser.add_argument("--contacts", type=int, default=2000, help="demo audience size in the benchmark database")
    parser.add_argument("--real", action="store_true",
                        help="also run the turns against the local 0.5B model (scripts/local_model.sh) and print "
                             "its figures beside the stand-in's (see benchmarks/llm_path_real.py)")
    parser.add_argument("--real-rounds", type=int, default=2, help="timed turns per plan size on the real model")
    parser.add_argument("--slots", type=int, default=4, help="requests the real model's server serves at once")
    parser.add_argument("--serve-stand-in", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--serve-timing-proxy", type=int, metavar="PORT", help=argparse.SUPPRESS)  # --real's child
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stand_in:
        serve_stand_in(args.serve_stand_in, args.delay)
        return
    if args.serve_timing_proxy:
        from llm_path_real import serve_proxy

        serve_proxy(args.serve_timing_proxy, args.upstream)
        return

    data_dir = ROOT / "data" / "bench" / "llm_path"
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare_tiktoken_cache(data_dir / "cache" / "tiktoken")
    url = f"sqlite:///{data_dir / f'llm-path-{args.contacts}.db'}"
    backend = StandInBackend(args.delay)
    backend.start()
    settings = Settings(data_dir=data_dir, database_url=url, workspace_dir=None, openai_base_url=backend.base_url,
                        openai_api_key="stand-in", llm_retries=0)
    runtime = Runtime.start(settings)
    try:
        with runtime.session() as session:
            ws_id = get_workspace_record(session, runtime.default_workspace.slug).id or 0
            has = session.exec(select(sa.func.count()).select_from(Contact)).one()
        if has != args.contacts:
            build_demo_audience(runtime.engine, runtime.default_workspace, ws_id, contacts=args.contacts, now=NOW,
                                replace=True)
        figures = asyncio.run(measure(runtime, backend, settings, rounds=args.rounds))
        if args.real:
            backend.stop()
            from llm_path_real import RealBackend, measure_real, report

            backend = RealBackend(slots=args.slots, run_dir=data_dir / "local-model", port=_free_port())
            backend.start()
            # A CPU-only server reads a long prompt slowly: long timeouts, no retries. A 0.5B
            # model can loop inside the JSON grammar: answers are capped at 2,000 tokens.
            real_settings = settings.replace(openai_base_url=backend.base_url, model="local", llm_timeout=600.0,
                                             llm_stall_timeout=300.0, llm_concurrency=args.slots,
                                             llm_max_output_tokens=2000)
            real = asyncio.run(measure_real(runtime, backend, real_settings, rounds=args.real_rounds))
            print("\n".join(report(real, figures)))
            if args.json:
                print(json.dumps({"stand_in": figures, "real": real}))
            return
    finally:
        runtime.close()
        backend.stop()

    print(f"backend: {figures['backend']} (delay {figures['delay_s']} s per call, loopback), "
          f"{figures['rounds']} rounds, copy concurrency {figures['concurrency']}, planners {figures['planners']}")
    print(f"wall time, 1-segment plan:  {figures['wall_1_segment_s']:.3f} s (median)")
    print(f"wall time, 5-segment plan:  {figures['wall_5_segments_s']:.3f} s (median)")
    print(f"ratio 5 / 1: {figures['ratio_5_to_1']:.2f}  (target <= {TARGETS['ratio_5_to_1']})")
    print(f"first-token overhead added by the service: {figures['first_token_overhead_ms']:.1f} ms median, "
          f"{figures['first_token_overhead_ms_max']:.1f} ms max  (target <= {TARGETS['first_token_overhead_ms']:.0f} ms)")
    print(f"  of which before the request reached the stand-in: {figures['overhead_before_request_ms']:.1f} ms, "
          f"after its first byte until the token: {figures['overhead_after_first_byte_ms']:.1f} ms (medians); "
          f"CPU this process spent up to the first token: {figures['cpu_to_first_token_ms']:.1f} ms (median; "
          f"the wall figure also holds waits for a CPU on a busy machine)")
    print(f"prompt tokens per plan (typical brief, {figures['calls_per_typical_plan']} calls): "
          f"{figures['prompt_tokens_per_plan']}  (target <= {TARGETS['prompt_tokens_per_plan']}); "
          f"round one's response-format schema is {figures['schema_tokens_round_one']} tokens more where a "
          f"provider counts it")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
