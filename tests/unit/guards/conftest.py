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
