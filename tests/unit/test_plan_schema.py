"""The committed JSON Schema of the plan is the one the model produces."""

from __future__ import annotations

from copilot.plan import SCHEMA_PATH, render_plan_schema


def test_committed_plan_schema_is_current() -> None:
    # When this fails: run `python -m copilot.plan` and commit copilot/schema/plan.schema.json.
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_plan_schema()
