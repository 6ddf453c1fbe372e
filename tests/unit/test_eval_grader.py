"""The llm_rubric grader against the OpenAI wire format (respx): graded, recorded, replayed by rescore."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import respx

from copilot.planner.offline import OfflinePlanner
from copilot.settings import Settings
from evals.answers import LiveAnswers
from evals.grader import make_grader
from evals.rescore import rescore
from evals.runner import run_suites
from evals.spec import load_suite

BASE_URL = "http://grader.test/v1"
SUITE = """
suite: graded
tests:
  - id: warm
    brief: win back lapsed runners with 15% off
    assert:
      - {type: llm_rubric, value: "The copy is warm and names the 15% offer", metric: tone}
"""


def completion(content: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "c1", "object": "chat.completion", "created": 0, "model": "grader-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": json.dumps(content)}}],
        "usage": {"prompt_tokens": 400, "completion_tokens": 30, "total_tokens": 430}})


def test_rubric_is_graded_by_the_model_recorded_and_replayed_without_a_call(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", workspace_dir=None,
                        openai_base_url=BASE_URL, model="grader-model")
    path = tmp_path / "graded.yaml"
    path.write_text(SUITE, encoding="utf-8")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{BASE_URL}/chat/completions").mock(
            return_value=completion({"reason": "Warm opening; states 15% off.", "score": 0.8, "passed": True}))
        report = asyncio.run(run_suites([load_suite(path)], source=LiveAnswers(OfflinePlanner()),
                                        provider="offline", grader=make_grader(settings, cache=False)))
    body = json.loads(route.calls[0].request.content)
    prompt = body["messages"][0]["content"]
    assert "The copy is warm and names the 15% offer" in prompt and "15% off your next order, until March 19, 2027" in prompt  # the offline plan's copy
    assert body["response_format"]["json_schema"]["name"] == "GradeAnswer"
    result = report.tests()[0].assertions[0]
    assert (result.passed, result.score, result.metric, result.reason) == (True, 0.8, "tone", "Warm opening; states 15% off.")
    assert result.grader is not None and result.grader["usage"]["prompt_tokens"] == 400
    assert report.run.prompt_versions["eval_rubric"].startswith("1#")
    # Rescore: the grade comes back from the results; no request leaves the process.
    with respx.mock(assert_all_mocked=True) as mock:
        rescored = asyncio.run(rescore(report))
        assert not mock.calls
    again = rescored.tests()[0].assertions[0]
    assert (again.passed, again.score, again.reason) == (True, 0.8, "Warm opening; states 15% off.")


def test_a_low_grade_fails_the_rubric_and_an_unusable_answer_breaks_the_run(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", workspace_dir=None,
                        openai_base_url=BASE_URL, model="grader-model")
    path = tmp_path / "graded.yaml"
    path.write_text(SUITE, encoding="utf-8")

    def run() -> Any:
        return asyncio.run(run_suites([load_suite(path)], source=LiveAnswers(OfflinePlanner()),
                                      provider="offline", grader=make_grader(settings, cache=False)))

    with respx.mock() as mock:
        mock.post(f"{BASE_URL}/chat/completions").mock(
            return_value=completion({"reason": "Cold and generic.", "score": 0.2, "passed": False}))
        low = run()
    assert low.tests()[0].status == "fail" and low.exit_code() == 1
    with respx.mock() as mock:
        mock.post(f"{BASE_URL}/chat/completions").mock(return_value=completion({"score": "high"}))
        broken = run()
    test = broken.tests()[0]
    assert test.status == "error" and "grading model's answer was unusable" in (test.error.message if test.error else "")
    assert broken.exit_code() == 2
