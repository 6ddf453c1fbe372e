"""The ``--real`` mode of benchmarks/llm_path.py: the same turns against a real model, beside the stand-in.

    .venv/bin/python benchmarks/llm_path.py --real [--json] [--rounds N] [--slots N]

The model is the 0.5B test fixture from scripts/local_model.sh (llama.cpp's server, one
thread, greedy), started here with ``--slots`` request slots so a plan's copy round can run
in parallel as the product intends. A timing proxy in its own process sits between the
copilot and the server and records, per request, when it arrived, when the server's first
byte came back, and the usage and speed the server reported. Figures: plan wall time for a
brief asking for one segment and one asking for five (with the segment counts the model
actually produced: a small model does not always do as asked), time to the first streamed
token and the part of it the service adds beyond the server's own, generation and prompt
speed, calls and prompt tokens per plan. The stand-in's figures are measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local_model.sh"
ONE_SEGMENT_BRIEF = ("win back runners who haven't bought in six months with 15% off before the spring sale; "
                     "one segment: everyone whose last order was more than 180 days ago")
FIVE_SEGMENT_BRIEF = ("win back runners who haven't bought in six months with 15% off before the spring sale; "
                      "five segments: lapsed VIPs, trail runners, road runners, members, and everyone else")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive", "host"}


# -------------------------------------------------------------------------------- the timing proxy


def _answer_facts(body: bytes, streamed: bool) -> dict[str, Any]:
    """Usage and llama.cpp's timings from a response: the JSON body, or the last streamed chunk having them."""
    found: dict[str, Any] = {}
    documents: list[Any] = []
    if streamed:
        for line in body.decode("utf-8", "replace").splitlines():
            if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                documents.append(json.loads(line[5:]))
    else:
        try:
            documents.append(json.loads(body))
        except ValueError:
            return found
    for doc in documents:
        if isinstance(doc, dict):
            for key in ("usage", "timings"):
                if doc.get(key):
                    found[key] = doc[key]
    return found


class TimingProxy:
    """ASGI app forwarding to ``upstream`` and keeping a record per chat completion (GET /_records)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.records: list[dict[str, Any]] = []
        self._client: httpx.AsyncClient | None = None

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
        if scope["path"] == "/_records":
            payload = json.dumps(self.records).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": payload})
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=None)
        query = f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
        headers = [(k, v) for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP]
        request = self._client.build_request(scope["method"], f"{self.upstream}{scope['path']}{query}",
                                             headers=headers, content=raw)
        response = await self._client.send(request, stream=True)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()
                                if k.lower() not in _HOP_BY_HOP]})
        first_byte = None
        body = bytearray()
        async for chunk in response.aiter_raw():
            if first_byte is None:
                first_byte = time.perf_counter()
            body.extend(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await response.aclose()
        await send({"type": "http.response.body", "body": b""})
        if scope["path"].endswith("/chat/completions"):
            sent = json.loads(raw)
            kind = ((sent.get("response_format") or {}).get("json_schema") or {}).get("name", "text")
            facts = _answer_facts(bytes(body), bool(sent.get("stream")))
            self.records.append({"kind": kind, "arrived": arrived, "first_byte": first_byte or time.perf_counter(),
                                 "done": time.perf_counter(), "status": response.status_code,
                                 "prompt_tokens": (facts.get("usage") or {}).get("prompt_tokens", 0),
                                 "completion_tokens": (facts.get("usage") or {}).get("completion_tokens", 0),
                                 "timings": facts.get("timings") or {}})


def serve_proxy(port: int, upstream: str) -> None:
    uvicorn.run(TimingProxy(upstream), host="127.0.0.1", port=port, log_level="error", lifespan="off")


# -------------------------------------------------------------------------------- the backend


class RealBackend:
    """The local llama.cpp server (started and stopped here) behind the timing proxy."""

    name = "llama.cpp 0.5B"
    delay = None

    def __init__(self, *, slots: int, run_dir: Path, port: int) -> None:
        self.slots = slots
        self.run_dir = run_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self._env = {**os.environ, "COPILOT_LOCAL_MODEL_RUN_DIR": str(run_dir),
                     "COPILOT_LOCAL_MODEL_SLOTS": str(slots)}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _script(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), command], env=self._env, capture_output=True, text=True)

    def start(self) -> None:
        started = self._script("start")
        if started.returncode != 0:
            raise SystemExit(f"error: the local model server did not start ({started.stderr.strip()[-500:]}); "
                             "run `bash scripts/local_model.sh install` first")
        status = dict(line.split("=", 1) for line in self._script("status").stdout.splitlines() if "=" in line)
        self.process = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "llm_path.py"),
                                         "--serve-timing-proxy", str(self.port),
                                         "--upstream", f"http://127.0.0.1:{status['port']}"])
        deadline = time.monotonic() + 30
        while True:
            try:
                self._http.get("/_records")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the timing proxy did not start") from None
                time.sleep(0.05)

    def set_segments(self, n: int) -> None:  # the model decides; the brief asks (see brief_for)
        pass

    def records(self) -> list[dict[str, Any]]:
        return list(self._http.get("/_records").json())

    def stop(self) -> None:
        self._http.close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._script("stop")


# -------------------------------------------------------------------------------- measuring


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def measure_real(runtime: Any, backend: RealBackend, settings: Any, *, rounds: int) -> dict[str, Any]:
    from llm_path import TYPICAL_BRIEF, bench_author, one_turn

    from copilot.planner.llm import LLMPlanner

    planner = LLMPlanner(settings)
    planner.warm_up()
    author_id, ws_id = bench_author(runtime)
    typical = await one_turn(runtime, planner, backend, author_id, ws_id, TYPICAL_BRIEF)  # also the warm-up
    turns: dict[int, list[Any]] = {1: [], 5: []}
    for _ in range(rounds):
        for n, brief in ((1, ONE_SEGMENT_BRIEF), (5, FIVE_SEGMENT_BRIEF)):
            turns[n].append(await one_turn(runtime, planner, backend, author_id, ws_id, brief))
    everything = [typical, *turns[1], *turns[5]]
    overheads = [t.first_token - t.server_first for t in everything
                 if t.first_token is not None and t.server_first is not None]
    records = [r for r in backend.records() if r["status"] == 200]
    generation = [r["timings"]["predicted_per_second"] for r in records
                  if r["timings"].get("predicted_n", 0) >= 20]
    prompt_speed = [r["timings"]["prompt_per_second"] for r in records if r["timings"].get("prompt_n", 0) >= 100]
    one, five = _median([t.wall for t in turns[1]]), _median([t.wall for t in turns[5]])
    return {
        "backend": backend.name, "slots": backend.slots, "rounds": rounds, "concurrency": settings.llm_concurrency,
        "planners": sorted({t.planner for t in everything}),
        "wall_1_segment_s": round(one, 2), "wall_5_segments_s": round(five, 2), "ratio_5_to_1": round(five / one, 3),
        "segments_made_1": [t.segments for t in turns[1]], "segments_made_5": [t.segments for t in turns[5]],
        "calls_1": [t.calls for t in turns[1]], "calls_5": [t.calls for t in turns[5]],
        "first_token_s": round(_median([t.first_token for t in everything if t.first_token is not None]), 2),
        "server_first_byte_s": round(_median([t.server_first for t in everything if t.server_first is not None]), 2),
        "first_token_overhead_ms": round(1000 * _median(overheads), 1),
        "generation_tokens_per_s": round(_median(generation), 1),
        "prompt_tokens_per_s": round(_median(prompt_speed), 1),
        "prompt_tokens_per_plan": typical.prompt_tokens, "calls_per_typical_plan": typical.calls,
        "typical_plan_wall_s": round(typical.wall, 2), "typical_plan_segments": typical.segments,
    }


def report(real: dict[str, Any], stand_in: dict[str, Any]) -> list[str]:
    """The real model's figures beside the stand-in's, one line per figure."""
    rows = [("plan wall time, 1 segment asked (s)", "wall_1_segment_s"),
            ("plan wall time, 5 segments asked (s)", "wall_5_segments_s"),
            ("ratio 5 / 1", "ratio_5_to_1"),
            ("first-token overhead added by the service (ms, median)", "first_token_overhead_ms"),
            ("prompt tokens per typical plan", "prompt_tokens_per_plan"),
            ("model calls per typical plan", "calls_per_typical_plan")]
    lines = [f"{'figure':58} {'real model':>12} {'stand-in':>12}"]
    lines += [f"{label:58} {real[key]!s:>12} {stand_in[key]!s:>12}" for label, key in rows]
    lines += [
        f"segments the model made when asked for 1: {real['segments_made_1']}, for 5: {real['segments_made_5']} "
        f"(model calls {real['calls_1']} and {real['calls_5']}); planners {real['planners']}",
        f"real model: first streamed token after {real['first_token_s']} s (server's own first byte after "
        f"{real['server_first_byte_s']} s), generation {real['generation_tokens_per_s']} tokens/s, prompt reading "
        f"{real['prompt_tokens_per_s']} tokens/s (medians; one thread, {real['slots']} slot(s), "
        f"copy concurrency {real['concurrency']})",
        f"stand-in: {stand_in['delay_s']} s per call on loopback, {stand_in['rounds']} rounds",
    ]
    return lines


if __name__ == "__main__":
    sys.argv.insert(1, "--real")
    os.execv(sys.executable, [sys.executable, str(ROOT / "benchmarks" / "llm_path.py"), *sys.argv[1:]])
