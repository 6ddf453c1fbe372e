"""Guard scoring: labeled cases run through the real guards into confusion counts, precision, recall, F1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.fakes import demo_plan
from support.openai_stub import StubLLM, llm_settings
from test_eval_reports import Page
from test_eval_runner import model_answers, model_api

from copilot.errors import EvalError
from copilot.planner.llm import LLMPlanner
from evals.answers import LiveAnswers
from evals.compare import compare_reports
from evals.guard_scoring import confusion, run_guard_suite
from evals.html import render_html
from evals.runner import run_suites
from evals.spec import load_suite

LEGACY = "Hi *|FNAME|*, take 15% off one order with code COMEBACK15 until March 19, 2027."
CASES = f"""
guard: fallbacks
cases:
  - id: missing-fallback
    variant: {{merge_fields: []}}
    expect: [FB_MISSING_FALLBACK]
  - id: legacy-merge-tag
    variant: {{body: "{LEGACY}"}}
    expect: [FB_RAW_MERGE_SYNTAX]
  - id: clean
    expect: []
  - id: mislabeled-missed
    expect: [FB_EMPTY_SUBJECT]
  - id: mislabeled-unexpected
    variant: {{body: "{LEGACY}"}}
    expect: []
"""


def guard_suite(tmp_path: Path, cases: str = CASES) -> Path:
    (tmp_path / "fallbacks.yaml").write_text(cases, encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text("suite: gc\nkind: guards\nthreshold: 0.6\ncases: ['*.yaml']\n", encoding="utf-8")
    return path


def test_confusion_counts_precision_recall_and_f1_per_guard_and_code(tmp_path: Path) -> None:
    result = run_guard_suite(load_suite(guard_suite(tmp_path)))
    assert [(t.id, t.status) for t in result.tests] == [
        ("fallbacks/missing-fallback", "pass"), ("fallbacks/legacy-merge-tag", "pass"), ("fallbacks/clean", "pass"),
        ("fallbacks/mislabeled-missed", "fail"), ("fallbacks/mislabeled-unexpected", "fail")]
    scores = result.guard_scores
    assert scores is not None and scores.cases == 5
    g = scores.by_guard["fallbacks"]
    # Per guard the codes add up: 3 codes x 5 cases = 15 labels, 11 of them true negatives.
    assert (g.tp, g.fp, g.fn, g.tn, g.precision, g.recall, g.f1) == (2, 1, 1, 11, 0.6667, 0.6667, 0.6667)
    raw = scores.by_code["FB_RAW_MERGE_SYNTAX"]
    assert (raw.tp, raw.fp, raw.fn, raw.tn, raw.precision, raw.recall) == (1, 1, 0, 3, 0.5, 1.0)
    missed = scores.by_code["FB_EMPTY_SUBJECT"]
    assert (missed.fn, missed.precision, missed.recall, missed.f1) == (1, None, 0.0, 0.0)
    assert result.pass_rate == 0.6 and result.meets_threshold
    unexpected = result.tests[-1].guard_case
    assert unexpected is not None and unexpected["unexpected"] == ["FB_RAW_MERGE_SYNTAX"]


def test_the_wrong_code_of_the_right_guard_is_a_miss_and_a_false_alarm(tmp_path: Path) -> None:
    cases = f"guard: fallbacks\ncases:\n  - {{id: x, variant: {{body: \"{LEGACY}\"}}, expect: [FB_NULL_LITERAL]}}\n"
    g = run_guard_suite(load_suite(guard_suite(tmp_path, cases))).guard_scores.by_guard["fallbacks"]  # type: ignore[union-attr]
    assert (g.tp, g.fp, g.fn, g.precision, g.recall) == (0, 1, 1, 0.0, 0.0)


def test_confusion_edge_cases() -> None:
    assert confusion(0, 0, 0, 5).model_dump() == {"tp": 0, "fp": 0, "fn": 0, "tn": 5, "precision": None,
                                                  "recall": None, "f1": None}
    assert confusion(3, 1, 0, 0).f1 == 0.8571


def test_guard_suites_run_with_plan_suites_and_show_in_reports_and_comparisons(tmp_path: Path) -> None:
    path = guard_suite(tmp_path)
    # Guard suites need no planner: a model planner that would answer if asked sees no request.
    stub = StubLLM(model_answers(demo_plan()))
    source = LiveAnswers(LLMPlanner(llm_settings(tmp_path / "data")))
    with model_api(stub) as (route, _):
        report = asyncio.run(run_suites([load_suite(path)], source=source, provider="openai"))
    suite = report.suites[0]
    assert suite.kind == "guards" and suite.guard_scores is not None and report.exit_code() == 0
    page = Page(render_html(report))
    per_guard = page.tables["guard-scores"]
    assert ["fallbacks", "2", "1", "1", "11", "0.667", "0.667", "0.667"] in per_guard
    # With the missed label fixed recall is 1.0; going back to the mislabeled set is a recall regression.
    fixed = guard_suite(tmp_path, CASES.replace("expect: [FB_EMPTY_SUBJECT]", "expect: []"))
    with model_api(stub) as (route_again, _):
        better = asyncio.run(run_suites([load_suite(fixed)], source=source, provider="openai"))
    assert route.call_count == route_again.call_count == 0 and stub.bodies == []
    comparison = compare_reports(better, report)
    assert any(line.startswith("guard gc guard fallbacks: precision 0.667 -> 0.667, recall 1.000 -> 0.667")
               for line in comparison.regressions)


def test_a_case_expecting_an_unknown_code_is_refused(tmp_path: Path) -> None:
    path = guard_suite(tmp_path, "guard: fallbacks\ncases:\n  - {id: x, expect: [FB_NOPE]}\n")
    with pytest.raises(EvalError, match=r"expects unknown code\(s\) \['FB_NOPE'\]"):
        run_guard_suite(load_suite(path))


def test_verdicts_per_guard_count_flagged_and_block_with_a_confusion_matrix(tmp_path: Path) -> None:
    result = run_guard_suite(load_suite(guard_suite(tmp_path)))
    v = result.guard_scores.verdicts["fallbacks"]  # type: ignore[union-attr]
    # Expected verdicts: block, block, pass, block (FB_EMPTY_SUBJECT, missed), pass (reported block).
    assert v.matrix == {"pass": {"pass": 1, "warn": 0, "block": 1}, "warn": {"pass": 0, "warn": 0, "block": 0},
                        "block": {"pass": 1, "warn": 0, "block": 2}}
    assert (v.block.tp, v.block.fp, v.block.fn, v.block.tn) == (2, 1, 1, 1)
    assert (v.flagged.precision, v.flagged.recall) == (0.6667, 0.6667)
    assert result.tests[3].guard_case["expected_verdict"] == "block"  # type: ignore[index]
    assert result.tests[3].guard_case["reported_verdict"] == "pass"  # type: ignore[index]


def test_a_guard_below_the_verdict_minimum_fails_the_suite(tmp_path: Path) -> None:
    path = guard_suite(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "min_verdict_score: 0.9\n", encoding="utf-8")
    result = run_guard_suite(load_suite(path))
    assert result.pass_rate == 0.6 and not result.meets_threshold  # the pass rate alone (0.6) would pass
    assert result.guard_scores.below_minimum == [  # type: ignore[union-attr]
        "fallbacks flagged precision 0.667", "fallbacks flagged recall 0.667",
        "fallbacks block precision 0.667", "fallbacks block recall 0.667"]
    fixed = guard_suite(tmp_path, CASES.replace("expect: [FB_EMPTY_SUBJECT]", "expect: []").replace(
        "  - id: mislabeled-unexpected\n    variant: {body: \"" + LEGACY + "\"}\n    expect: []\n", ""))
    fixed.write_text(fixed.read_text(encoding="utf-8") + "min_verdict_score: 0.9\n", encoding="utf-8")
    assert run_guard_suite(load_suite(fixed)).meets_threshold


def test_a_case_file_names_its_brand_and_runs_on_that_workspace(tmp_path: Path) -> None:
    sub = tmp_path / "harbortable"
    sub.mkdir()
    (sub / "tone.yaml").write_text("""
guard: tone
brand: harbortable
base_plan:
  title: Thank you
  brief: tell donors what their gifts did
  goal: newsletter
  segments:
    - name: Donors
      priority: 1
      description: Everyone who gave in the last year
      rule: {type: last_performed, event: donation_completed, op: within_last_days, days: 365}
      hypothesis: {attribute: last gift date, tactic: a story of what gifts did, metric: click_rate, expected_change: +1 point}
  trigger: {kind: schedule, send_at: "2027-02-03T17:00:00Z", steps: [{type: send, message: email_1}]}
  send_window: {start: 2027-02-03, end: 2027-02-05}
  variants:
    - segment: Donors
      subject: What your gift did in January
      body: "Your gift filled the Fruitvale pantry with fresh greens."
      cta_text: Read the story
      cta_url: https://harbortable.example/
cases:
  - {id: clean, expect: []}
  - {id: brand-banned, variant: {body: "Help the needy this winter."}, expect: [TONE_BANNED_PHRASE]}
""", encoding="utf-8")
    (tmp_path / "fallbacks.yaml").write_text(CASES, encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text("suite: gc\nkind: guards\ncases: ['*.yaml', '*/*.yaml']\n", encoding="utf-8")
    result = run_guard_suite(load_suite(path))
    by_id = {t.id: t for t in result.tests}
    assert by_id["harbortable/tone/clean"].status == "pass"
    assert by_id["harbortable/tone/brand-banned"].status == "pass"  # "the needy" is banned in harbortable's voice only
    assert by_id["harbortable/tone/clean"].inputs["brand"] == "harbortable"
    assert result.guard_scores.cases_by_brand == {"demo": {"fallbacks": 5}, "harbortable": {"tone": 2}}  # type: ignore[union-attr]


def test_a_case_file_naming_an_unknown_brand_is_refused(tmp_path: Path) -> None:
    path = guard_suite(tmp_path, "guard: tone\nbrand: nosuchbrand\ncases:\n  - {id: x, expect: []}\n")
    with pytest.raises(EvalError, match="no bundled brand 'nosuchbrand'"):
        run_guard_suite(load_suite(path))
