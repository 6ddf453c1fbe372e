"""Templates through the guards, for any brand: the Jinja marketers write passes the fallbacks guard,
and a hostile or foreign template is one blocking finding naming what is wrong (never GUARD_FAILED, a
RecursionError or a server error)."""

from __future__ import annotations

import pytest

from copilot.validation import validate_plan
from guards import run_plan

BRANDS = ["demo", "harbortable", "alpenglow"]


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("body", [
    "Hi {{ contact.first_name | fallback('there') }},\n\nThanks for reading.",
    "{% if first_name %}Hi {{ first_name }},{% else %}Hi there,{% endif %}\n\nThanks for reading.",
    "{% set name = first_name | as_name('there') %}Hi {{ name }},\n\nThanks for reading, {{ name }}.",
    "Hi {{ first_name | default('there') | title }},\n\nThanks for reading.",
])
def test_ordinary_jinja_passes_the_fallbacks_guard(brand_workspace, brand_plan, brand, body) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    findings = run_plan(brand_plan(ws, body=body, merge_fields=[]), ws)
    assert [f.message for f in findings if f.guard == "fallbacks"] == []


def test_a_list_field_in_a_loop_passes_for_a_brand_that_has_one(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("alpenglow")
    body = ("Hi {{ first_name }},\n\n{% if interests %}Picked for you: {{ interests[:3] | join(', ') }}."
            "{% for i in interests %}\n- {{ i | title }}{% endfor %}{% else %}Picked for you.{% endif %}")
    findings = run_plan(brand_plan(ws, body=body), ws, samples={"Everyone": [
        {"first_name": "Ana", "interests": ["hiking", "rail journeys"]}, {"first_name": "Bo"}]})
    assert [f.message for f in findings if f.guard == "fallbacks"] == []


HOSTILE = {
    "FB_TEMPLATE_LIMIT": "{% if first_name %}" * 3000 + "Hi" + "{% endif %}" * 3000,
    "FB_NOT_A_MERGE_FIELD": "Hi {{ first_name }}, {{7+7}} reasons to come back.",
    "FB_SANDBOX_VIOLATION": "Hi {{ first_name.upper() }}",
}


@pytest.mark.parametrize("brand", ["demo", "sprig"])
@pytest.mark.parametrize("code", sorted(HOSTILE))
@pytest.mark.parametrize("field", ["subject", "body"])
def test_hostile_templates_are_one_blocking_finding(brand_workspace, brand_plan, brand, code, field) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    plan = brand_plan(ws, **{field: HOSTILE[code]})
    findings = [f for f in run_plan(plan, ws) if f.field == field and f.guard in {"fallbacks", "pipeline"}]
    if field == "subject" and code == "FB_TEMPLATE_LIMIT":  # longer than any subject: refused by its size first
        assert [f.code for f in findings] == ["GUARD_COPY_TOO_LONG"]
        return
    assert [(f.code, f.severity) for f in findings] == [(code, "block")], [f.message for f in findings]
    assert findings[0].fix
    if code == "FB_NOT_A_MERGE_FIELD":
        assert "7+7" in findings[0].message


def test_plan_validation_reports_a_deep_template_instead_of_crashing(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("harbortable")
    plan = brand_plan(ws, body=HOSTILE["FB_TEMPLATE_LIMIT"])
    problems = validate_plan(plan, ws)
    assert any("nest" in p.message for p in problems), [p.message for p in problems]
