"""A clean plan for guard tests: the labeled set's base plan (the guards report nothing on it)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.plan import Plan

BASE = Path(__file__).resolve().parents[3] / "evals" / "guard_cases" / "_base_plan.yaml"


@pytest.fixture
def plan_data() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(BASE.read_text(encoding="utf-8")))


@pytest.fixture
def make_plan(plan_data):  # type: ignore[no-untyped-def]
    """make_plan(**variant_changes, plan={...plan changes}) -> Plan."""

    def make(plan: dict[str, Any] | None = None, **variant: Any) -> Plan:
        data = copy.deepcopy(plan_data)
        data.update(plan or {})
        data["variants"][0].update(variant)
        return Plan.model_validate(data)

    return make


BRANDS_DIR = Path(__file__).resolve().parents[3] / "copilot" / "brands"


@pytest.fixture(scope="session")
def brand_workspace():  # type: ignore[no-untyped-def]
    """brand_workspace(name) -> the bundled brand's Workspace (loaded once)."""
    from copilot.workspace import load_workspace

    loaded: dict[str, Any] = {}

    def load(name: str) -> Any:
        if name not in loaded:
            loaded[name] = load_workspace(BRANDS_DIR / name)
        return loaded[name]

    return load


@pytest.fixture
def brand_plan():  # type: ignore[no-untyped-def]
    """brand_plan(workspace, **variant_changes) -> a plain one-segment newsletter Plan for any brand."""

    def make(ws: Any, **variant: Any) -> Plan:
        data: dict[str, Any] = {
            "title": "A note", "brief": "say hello to subscribers", "goal": "newsletter",
            "segments": [{"name": "Everyone", "priority": 1, "rule": {"type": "consent", "state": "subscribed"},
                          "hypothesis": {"attribute": "subscribed", "tactic": "a note", "metric": "click_rate",
                                         "expected_change": "+1 point"}}],
            "trigger": {"kind": "schedule", "send_at": "2027-02-10T15:00:00Z",
                        "steps": [{"type": "send", "message": "email_1"}]},
            "send_window": {"start": "2027-02-10", "end": "2027-02-12"},
            "variants": [{"segment": "Everyone", "subject": "A note from us", "preheader": "Thanks for reading",
                          "body": "Hi {{ first_name }},\n\nThanks for reading our notes.", "cta_text": "Read more",
                          "cta_url": ws.brand.preference_center_url,
                          "merge_fields": [{"name": "first_name", "fallback": "there"}]}],
        }
        data["variants"][0].update(variant)
        return Plan.model_validate(data)

    return make
