"""Review sections cover the whole plan, and each section's hash moves only with its own fields."""

from __future__ import annotations

from typing import Any

from support.fakes import demo_plan

from copilot.plan import COPY_FIELD_NAMES, Plan
from copilot.services.anchors import anchor_key, anchor_options, parse_anchor
from copilot.services.sections import SECTION_FIELDS, finding_section, section_hashes
from guards import Finding


def plan_dict() -> dict[str, Any]:
    return demo_plan().model_dump(mode="json")


def test_every_plan_field_is_in_exactly_one_section() -> None:
    fields = [f for names in SECTION_FIELDS.values() for f in names]
    assert sorted(fields) == sorted(Plan.model_fields)


def test_a_section_hash_changes_with_its_own_fields_only() -> None:
    base = section_hashes(plan_dict())
    cases = {
        "copy": lambda p: p["variants"][0].update(subject="Another subject"),
        "audience": lambda p: p["segments"][0].update(description="people who have not ordered in a while"),
        "trigger": lambda p: p["trigger"]["steps"].append({"type": "delay", "hours": 24}),
    }
    for section, change in cases.items():
        plan = plan_dict()
        change(plan)
        moved = {k for k, v in section_hashes(plan).items() if v != base[k]}
        assert moved == {section}


def test_findings_hold_their_section_or_the_whole_plan() -> None:
    def f(**kw: object) -> Finding:
        return Finding(guard="g", code="C", severity="block", message="m", **kw)  # type: ignore[arg-type]

    assert finding_section(f(segment="S", variant="A", field="subject")) == "copy"
    assert finding_section(f(segment="S")) == "audience"
    assert finding_section(f()) is None


def test_every_offered_anchor_parses_back_to_itself() -> None:
    plan = Plan.model_validate(plan_dict())
    options = anchor_options(plan)
    assert len(options) == len(plan.segments) + len(plan.variants) * (1 + len(COPY_FIELD_NAMES))
    keys = [anchor_key(parse_anchor(value, plan) or {}) for value, _label in options]
    assert len(set(keys)) == len(keys)
