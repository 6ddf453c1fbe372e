"""Every brief of evals/suites/planner_briefs.yaml and adversarial.yaml, through the offline planner.

Each brief must give a plan that survives a JSON round trip through the plan model and passes
the workspace validation (copilot.validation), or a question where one is due; then the suite's
own assertions on goal, trigger, offer, fields and copy are checked here (the eval runner in
evals/ scores the same files with the guards and renders on top).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.plan import Plan
from copilot.validation import validate_plan
from copilot.workspace import load_workspace

SUITES = Path(__file__).resolve().parents[2] / "evals" / "suites"
COPY_FIELDS = ("subject", "preheader", "body", "cta_text", "cta_url")


def _tests(name: str) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    suite = yaml.safe_load((SUITES / f"{name}.yaml").read_text(encoding="utf-8"))
    defaults = suite.get("defaults", {})
    out = []
    for test in suite["tests"]:
        asserts = ([] if test.get("default_assert") is False else list(defaults.get("assert", []))) + \
            list(test.get("assert", []))
        out.append((f"{name}/{test['id']}", {**{k: v for k, v in defaults.items() if k != "assert"}, **test},
                    asserts))
    return out


CASES = _tests("planner_briefs") + _tests("adversarial")


def test_suites_cover_every_playbook_with_forty_briefs() -> None:
    from copilot.playbooks import load_playbooks

    briefs = _tests("planner_briefs")
    assert len(briefs) >= 40
    # every moment is tried by some suite: the demo's, or a bundled brand's (a retailer has no renewals)
    goals = {a["value"] for _, _, asserts in briefs for a in asserts if a["type"] == "goal"}
    for path in sorted((SUITES / "brands").glob("*.yaml")):
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for a in test.get("assert", []):
                if a["type"] == "goal":
                    goals |= set(a["value"]) if isinstance(a["value"], list) else {a["value"]}
    assert {b.id for b in load_playbooks()} <= goals


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    """Both suites through the eval runner (the one owner of what an assertion means), once per module."""
    from evals.runner import run_offline

    return run_offline([SUITES / f"{name}.yaml" for name in ("planner_briefs", "adversarial")])


@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_brief(case_id: str, report) -> None:  # type: ignore[no-untyped-def]
    suite, test_id = case_id.split("/", 1)
    [result] = [t for t in report.tests() if t.suite == suite and t.id == test_id]
    failed = [f"{a.type}: {a.reason}" for a in result.assertions if not a.passed and not a.skipped]
    assert result.status == "pass", f"{case_id}: " + "; ".join(failed) + (
        f"; error {result.error.message}" if result.error else "")
    # the planner's answer survived the plan model and the workspace's validation
    for turn in result.turns:
        if turn.answer.plan is not None:
            plan = Plan.model_validate(turn.answer.plan)
            assert validate_plan(plan, load_workspace()) == [], case_id
