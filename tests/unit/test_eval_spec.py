"""Eval suite files: defaults, CSV rows, conversations, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import EvalError
from evals.spec import DEFAULT_NOW, load_suite


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_to_every_test_and_their_assertions_come_first(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, """
suite: s
threshold: 0.9
defaults:
  workspace: demo
  tags: [smoke]
  assert:
    - type: plan_valid
tests:
  - id: one
    brief: winback lapsed runners 15% off
    assert:
      - {type: goal, value: winback}
  - id: two
    brief: welcome new subscribers
    tags: [welcome]
  - id: question
    brief: do something nice
    default_assert: false
    assert: [{type: no_plan}]
"""))
    assert suite.threshold == 0.9
    one, two, question = suite.tests
    assert [a.type for a in one.assert_] == ["plan_valid", "goal"]
    assert [a.type for a in question.assert_] == ["no_plan"]  # opted out of the shared assertions
    assert [a.type for a in two.assert_] == ["plan_valid"]
    assert one.tags == ["smoke"] and two.tags == ["welcome"]
    assert one.now == DEFAULT_NOW


def test_conversation_turns_take_plain_strings_or_turns_with_assertions(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, """
suite: s
tests:
  - id: refine
    conversation:
      - win back lapsed runners
      - message: drop the VIP segment
        assert: [{type: segments_count, max: 1}]
"""))
    turns = suite.tests[0].turns
    assert [t.message for t in turns] == ["win back lapsed runners", "drop the VIP segment"]
    assert turns[1].assert_[0].max == 1


def test_csv_rows_become_tests_with_assertion_columns(tmp_path: Path) -> None:
    (tmp_path / "briefs.csv").write_text(
        "id,brief,tags,assert:goal,assert:segments_count,assert:fields_not_used,assert:asks_question\n"
        "wb,winback lapsed runners,a;b,winback,\"{min: 1, max: 3}\",\"[hometown, predicted_income_band]\",\n"
        "vague,do something,,,,,yes\n"
        "sure,welcome series,,welcome,,,no\n", encoding="utf-8")
    suite = load_suite(write(tmp_path, "suite: s\ncsv: briefs.csv\ndefaults:\n  assert: [{type: plan_valid}]\n"))
    wb, vague, sure = suite.tests
    assert wb.tags == ["a", "b"]
    assert [(a.type, a.value, a.min, a.max) for a in wb.assert_] == [
        ("plan_valid", None, None, None), ("goal", "winback", None, None),
        ("segments_count", None, 1, 3), ("fields_not_used", ["hometown", "predicted_income_band"], None, None)]
    assert [(a.type, a.negate) for a in vague.assert_] == [("plan_valid", False), ("asks_question", False)]
    assert [(a.type, a.negate) for a in sure.assert_][-1] == ("asks_question", True)


@pytest.mark.parametrize(("body", "path", "words"), [
    ("suite: s\ntests:\n  - id: a\n    brief: x\n    assert: [{type: goal_is, value: x}]\n",
     "tests[0].assert[0].type", "unknown assertion type 'goal_is'"),
    ("suite: s\ntests:\n  - id: a\n    brief: x\n    assert: [{type: goal}]\n", "tests[0].assert[0]", "needs 'value'"),
    ("suite: s\ntests:\n  - id: a\n    brief: x\n    assert: [{type: latency_ms}]\n", "tests[0].assert[0]", "needs 'max'"),
    ("suite: s\ntests:\n  - id: a\n    brief: x\n    conversation: [y]\n", "tests[0]", "exactly one of 'brief' or 'conversation'"),
    ("suite: s\ntests:\n  - id: a\n    brief: x\n    assert: [{type: goal, value: x, wieght: 2}]\n",
     "tests[0].assert[0].wieght", "Extra inputs are not permitted"),
    ("suite: s\ntests:\n  - {id: a, brief: x}\n  - {id: a, brief: y}\n", "tests[1].id", "duplicate test id 'a'"),
    ("suite: s\nthreshold: 1.5\ntests:\n  - {id: a, brief: x}\n", "threshold", "less than or equal to 1"),
    ("suite: s\ndefaults: {workspce: demo}\ntests:\n  - {id: a, brief: x}\n", "defaults.workspce", "unknown default"),
    ("suite: s\ntests: [\n", "line", "malformed YAML"),
])
def test_bad_suite_files_name_the_file_and_the_place(tmp_path: Path, body: str, path: str, words: str) -> None:
    file = write(tmp_path, body)
    with pytest.raises(EvalError) as caught:
        load_suite(file)
    err = caught.value
    assert str(file) in err.message
    assert err.context["path"].startswith(path)
    assert words in err.message


def test_unknown_suite_name_is_a_clear_error() -> None:
    with pytest.raises(EvalError, match="suite 'no_such_suite' not found"):
        load_suite("no_such_suite")
