"""The reply streams out of a half-written JSON answer; the strict schema round-trips optional fields."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot.plan import Plan, Suppression
from copilot.planner.answers import PlanningAnswer, parse_answer
from copilot.planner.streaming import ReplyStream
from copilot.planner.strict_schema import drop_nulls, nulls_that_mean_something, strict_json_schema


@given(reply=st.text(), cuts=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=400))
def test_any_reply_streams_back_exactly_however_the_answer_is_cut(reply: str, cuts: list[int]) -> None:
    answer = json.dumps({"reply": reply, "questions": [], "plan": None})
    stream, out, i = ReplyStream(), [], 0
    for size in cuts * (len(answer) // max(1, sum(cuts)) + 1):
        out.append(stream.feed(answer[i:i + size]))
        i += size
        if i >= len(answer):
            break
    out.append(stream.feed(answer[i:]))
    assert "".join(out) == reply and stream.done and not stream.failed


def test_an_answer_that_does_not_start_with_the_reply_does_not_stream() -> None:
    stream = ReplyStream()
    assert stream.feed('{"plan": {"title": "x"}, "reply": "late"}') == ""
    assert stream.failed and stream.text == ""


def test_strict_schema_makes_optional_fields_nullable_and_required() -> None:
    schema = strict_json_schema(Plan)
    assert schema["required"] == list(schema["properties"])
    summary = schema["properties"]["summary"]
    assert {"type": "null"} in summary["anyOf"]
    assert "oneOf" not in json.dumps(schema)
    field_rule = schema["$defs"]["FieldRule"]
    assert field_rule["properties"]["type"] == {"const": "field", "type": "string"}  # discriminators stay required


def test_nulls_become_defaults_except_where_null_means_something() -> None:
    assert nulls_that_mean_something(Plan) == {"frequency_cap", "quiet_hours"}
    data = drop_nulls({"summary": None, "suppression": {"frequency_cap": None, "quiet_hours": None,
                                                        "exclusions": None}}, nulls_that_mean_something(Plan))
    assert data == {"suppression": {"frequency_cap": None, "quiet_hours": None}}
    assert Suppression.model_validate(data["suppression"]).frequency_cap is None


@pytest.mark.parametrize("content, where", [
    ("", "(answer)"), ('{"reply": ', "(answer)"), ('{"reply": "x", "questions": [], "notes": [], "extra": 1}', "extra"),
])
def test_unusable_answers_say_what_is_wrong_and_where(content: str, where: str) -> None:
    from copilot.planner.answers import AnswerProblem

    with pytest.raises(AnswerProblem) as problem:
        parse_answer(PlanningAnswer, content)
    assert problem.value.problems[0]["path"] == where
