"""Fallbacks edge cases: what the segment rule guarantees needs no fallback, region lines for a country
the copy did not expect, form-letter fallbacks in the brand's own words, enum codes printed raw."""

from __future__ import annotations

from typing import Any

from copilot.plan import Plan
from guards import run_plan


def fb(findings):  # type: ignore[no-untyped-def]
    return sorted({f.code for f in findings if f.guard == "fallbacks"})


def ruled(plan: Plan, extra: dict[str, Any], **variant: Any) -> Plan:
    data = plan.model_dump(mode="json")
    data["segments"][0]["rule"] = {"type": "all", "rules": [data["segments"][0]["rule"], extra]}
    data["variants"][0].update(variant)
    return Plan.model_validate(data)


def test_a_value_the_rule_pins_needs_no_fallback(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("kinetichouse")
    body = "Hi {{ first_name }},\n\nNew {{ favourite_class }} times are on the schedule."
    assert fb(run_plan(brand_plan(ws, body=body), ws)) == ["FB_MISSING_FALLBACK"]
    pinned = ruled(brand_plan(ws), {"type": "field", "field": "favourite_class", "op": "eq", "value": "yoga"}, body=body)
    samples = [{"first_name": "Jo", "favourite_class": "yoga"}, {"first_name": "Al"}]  # Al is not in the segment
    assert fb(run_plan(pinned, ws, samples={"Everyone": samples})) == []


def test_exists_rules_out_blank_values_but_not_refused_ones(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("sprig")
    exists = {"type": "field", "field": "first_name", "op": "exists"}
    plan = ruled(brand_plan(ws), exists, merge_fields=[{"name": "first_name", "fallback": ""}])
    [empty] = [f for f in run_plan(plan, ws) if f.code == "FB_EMPTY_SALUTATION"]
    assert "missing" not in empty.evidence["profiles"] and "html" in empty.evidence["profiles"]
    guarded = ruled(brand_plan(ws), exists, merge_fields=[{"name": "first_name", "fallback": "there"}])
    assert fb(run_plan(guarded, ws)) == []


def test_a_country_line_for_a_country_the_copy_did_not_expect(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    printed = make_plan(body="Hi {{ first_name }},\n\nFree shipping to {{ country }} over $75.",
                        merge_fields=[{"name": "first_name", "fallback": "there"}, {"name": "country", "fallback": "you"}])
    [line] = [f for f in run_plan(printed, demo_workspace) if f.code == "FB_REGION_LINE"]
    assert line.severity == "warn" and line.evidence["profiles"] == ["unknown_region"] and line.fix
    assumed = make_plan(body="Hi {{ first_name }},\n\nFree shipping to {{ country | fallback('the US') }} over $75.")
    assert "FB_REGION_LINE" in fb(run_plan(assumed, demo_workspace))
    only_where_true = make_plan(body="Hi {{ first_name }},\n\n{% if country == 'US' %}Free shipping over $75.{% endif %}",
                                merge_fields=[{"name": "first_name", "fallback": "there"},
                                              {"name": "country", "fallback": ""}])
    assert fb(run_plan(only_where_true, demo_workspace)) == []


def test_form_letter_fallbacks_in_any_brand(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("harbortable")
    for word in ("Donor", "Valued Supporter", "Customer"):
        plan = brand_plan(ws, merge_fields=[{"name": "first_name", "fallback": word}])
        assert fb(run_plan(plan, ws)) == ["FB_GENERIC_FALLBACK"], word
    demo = brand_workspace("demo")  # brand.yaml customer_words: runners
    assert fb(run_plan(brand_plan(demo, merge_fields=[{"name": "first_name", "fallback": "Runner"}]), demo)) \
        == ["FB_GENERIC_FALLBACK"]
    assert fb(run_plan(brand_plan(ws, merge_fields=[{"name": "first_name", "fallback": "friend"}]), ws)) == []


def test_an_enum_code_printed_as_stored_warns(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("harbortable")
    plan = brand_plan(ws, body="Hi {{ first_name }},\n\nYour gift goes to {{ cause_interest }}.",
                      merge_fields=[{"name": "first_name", "fallback": "friend"},
                                    {"name": "cause_interest", "fallback": "our pantries"}])
    [raw] = [f for f in run_plan(plan, ws) if f.code == "FB_RAW_VALUE"]
    assert raw.severity == "warn" and "_" in raw.evidence["match"]
