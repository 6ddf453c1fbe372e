"""Every brief of evals/suites/planner_briefs.yaml and adversarial.yaml, through the offline planner.

Each brief must give a plan that survives a JSON round trip through the plan model and passes
the workspace validation (copilot.validation), or a question where one is due; then the suite's
own assertions on goal, trigger, offer, fields and copy are checked here (the eval runner in
evals/ scores the same files with the guards and renders on top).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.errors import BriefError
from copilot.plan import Plan
from copilot.planner.base import PlanRequest, PlanResult
from copilot.planner.offline import OfflinePlanner
from copilot.render import render_variant
from copilot.validation import validate_plan
from copilot.workspace import Workspace, load_workspace

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


CONTACTS = yaml.safe_load((SUITES.parent / "contacts" / "demo.yaml").read_text(encoding="utf-8"))


_RENDERS: dict[int, tuple[Plan, list[Any]]] = {}


def _copy(plan: Plan, field: str, workspace: Workspace, default_language: bool = False) -> list[str]:
    """The copy as recipients read it: each variant rendered for each sample contact (full and sparse),
    one text per render holding the asked-for fields; with ``default_language``, only the variants in the
    brand's default language (what a suite's expected text is written in, as evals' ``contains`` reads)."""
    cached = _RENDERS.get(id(plan))
    if cached is None or cached[0] is not plan:
        cached = (plan, [(v, render_variant(v, c, workspace=workspace)) for v in plan.variants for c in CONTACTS])
        _RENDERS.clear()
        _RENDERS[id(plan)] = cached
    attrs = {"body": "text"}
    fields = COPY_FIELDS if field == "any" else (field,)
    return ["\n".join(getattr(email, attrs.get(f, f)) for f in fields) for v, email in cached[1]
            if not default_language or v.locale == workspace.brand.default_locale]


def _values(a: dict[str, Any]) -> list[Any]:
    value = a["value"]
    return value if isinstance(value, list) else [value]


def _emails(plan: Plan) -> int:
    return len({v.message for v in plan.variants})


def _fields(plan: Plan) -> set[str]:
    data = plan.model_dump(mode="json")
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "field" and isinstance(node.get("field"), str):
                found.add(node["field"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    found |= {m.name for v in plan.variants for m in v.merge_fields}
    return found


def _offer_share(plan: Plan, workspace: Workspace, offer_id: str) -> float:
    """Share of variants stating the offer's value (or free shipping) and its code, as the fact sheet has them."""
    offer = workspace.offers_by_id[offer_id]
    needed = []
    if offer.kind == "percent_off":
        needed.append(f"{offer.value:g}%")
    elif offer.kind == "amount_off":
        needed.append(f"${offer.value:g}")
    elif offer.kind == "free_shipping":
        needed.append("free")
    if offer.code:
        needed.append(offer.code)
    if not needed:
        needed.append(offer.terms.strip())
    texts = ["\n".join((v.subject, v.preheader, v.body, v.cta_text)).lower() for v in plan.variants]
    return sum(all(n.lower() in t for n in needed) for t in texts) / len(texts)


def _plan_value(plan: Plan, path: str) -> Any:
    """``variants[0].cta_text`` in the plan's JSON."""
    node: Any = plan.model_dump(mode="json")
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path):
        node = node[name] if name else node[int(index)]
    return node


def _check(a: dict[str, Any], result: PlanResult, workspace: Workspace) -> str | None:
    """None when assertion ``a`` holds, else why not."""
    kind, plan = a["type"], result.plan
    negate = a.get("negate", False)
    if kind == "no_plan":
        ok = plan is None
    elif kind == "asks_question":
        ok = bool(result.questions)
    elif kind == "note_contains":
        ok = any(v.lower() in n.lower() for n in result.notes for v in _values(a))
    elif kind in {"no_blocking_findings", "finding_code", "llm_rubric", "reading_grade", "subject_length"}:
        return None  # scored by the eval runner with the guards and renders
    elif plan is None:
        return f"{kind}: no plan (questions: {result.questions})"
    elif kind == "plan_valid":
        problems = validate_plan(Plan.model_validate_json(plan.model_dump_json()), workspace)
        ok = not problems
        if not ok:
            return f"plan_valid: {problems}"
    elif kind == "goal":
        ok = plan.goal == a["value"]
    elif kind == "trigger_kind":
        ok = plan.trigger.kind == a["value"]
    elif kind == "entry_event":
        ok = plan.trigger.entry_event == a["value"]
    elif kind == "segments_count":
        ok = a.get("min", 0) <= len(plan.segments) <= a.get("max", 10**6)
    elif kind == "emails_count":
        ok = a.get("min", 0) <= _emails(plan) <= a.get("max", 10**6)
    elif kind == "fields_used":
        ok = set(_values(a)) <= _fields(plan)
    elif kind == "fields_not_used":
        ok = not set(_values(a)) & _fields(plan)
    elif kind == "offer_in_copy":
        share = _offer_share(plan, workspace, a["value"]) if a["value"] in plan.offers else 0.0
        ok = share >= a.get("threshold", 1.0)
    elif kind in {"contains", "not_contains"}:
        texts = _copy(plan, a.get("field", "any"), workspace, default_language=kind == "contains")
        if kind == "contains":  # every render states it
            ok = all(any(v.lower() in t.lower() for v in _values(a)) for t in texts)
        else:  # no render says it
            ok = not any(v.lower() in t.lower() for v in _values(a) for t in texts)
    elif kind == "regex":
        ok = bool(re.search(a["value"], plan.model_dump_json()))
    elif kind == "plan_field":
        value = _plan_value(plan, a["path"])
        ok = value == a["value"] if "value" in a else value not in (None, "", [], {})
    else:
        raise AssertionError(f"the test does not know assertion type {kind!r}")
    if negate:
        ok = not ok
    if ok or a.get("weight") == 0:
        return None
    return f"{kind} {a.get('value', a.get('path', ''))}: failed (goal {plan.goal if plan else None})"


@pytest.fixture(scope="module")
def workspaces() -> dict[str, Workspace]:
    return {"demo": load_workspace()}


@pytest.mark.parametrize(("case_id", "test", "asserts"), CASES, ids=[c[0] for c in CASES])
def test_brief(case_id: str, test: dict[str, Any], asserts: list[dict[str, Any]],
               workspaces: dict[str, Workspace]) -> None:
    workspace = workspaces[test.get("workspace", "demo")]
    now = datetime.fromisoformat(str(test["now"]).replace("Z", "+00:00")) if test.get("now") else None
    turns = test.get("conversation") or [test["brief"]]
    errors = [a for a in asserts if a["type"] == "error"]
    result: PlanResult | None = None
    current: Plan | None = None
    try:
        for turn in turns:
            message = turn["message"] if isinstance(turn, dict) else turn
            result = OfflinePlanner().plan_now(PlanRequest(brief=message, workspace=workspace, now=now,
                                                           current_plan=current))
            current = result.plan or current
    except BriefError as exc:
        assert errors, f"{case_id}: unexpected BriefError {exc.message}"
        assert type(exc).__name__ in _values(errors[0])
        return
    assert not errors, f"{case_id}: expected {errors[0]['value']}, got an answer"
    assert result is not None
    failures = [msg for a in asserts if (msg := _check(a, result, workspace))]
    assert not failures, f"{case_id}: " + "; ".join(failures) + f"\nreply:\n{result.reply}"
