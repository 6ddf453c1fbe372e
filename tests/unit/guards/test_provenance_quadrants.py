"""Provenance on brands it was not written for: the four quadrants, sensitive data used only to target,
fields stated without a merge field, and "helpful" judged against the segment's hypothesis."""

from __future__ import annotations

from typing import Any

from copilot.plan import Plan
from copilot.services.review import needs_acknowledgement
from guards import run_plan


def prov(findings):  # type: ignore[no-untyped-def]
    return sorted(f.code for f in findings if f.guard == "provenance")


def with_rule(plan: Plan, extra: dict[str, Any], *, attribute: str = "subscribed", tactic: str = "a note",
              rationale: tuple[str, str] | None = None) -> Plan:
    data = plan.model_dump(mode="json")
    seg = data["segments"][0]
    seg["rule"] = {"type": "all", "rules": [seg["rule"], extra]}
    seg["hypothesis"].update(attribute=attribute, tactic=tactic)
    if rationale:
        seg["field_rationales"] = [{"field": rationale[0], "rationale": rationale[1]}]
    return Plan.model_validate(data)


def test_the_four_quadrants_on_a_meal_kit(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("sprig")
    base = brand_plan(ws)
    assert prov(run_plan(base, ws)) == []
    # expected and helpful: the hypothesis names it
    diet = {"type": "field", "field": "diet_preference", "op": "eq", "value": "vegan"}
    assert prov(run_plan(with_rule(base, diet, attribute="diet preference"), ws)) == []
    # expected and unhelpful
    assert prov(run_plan(with_rule(base, diet), ws)) == ["PROV_FLEX"]
    # unexpected and helpful: warns, and the review gate asks for an acknowledgement
    skill = {"type": "field", "field": "cooking_confidence", "op": "eq", "value": "new_cook"}
    helpful = run_plan(with_rule(base, skill, attribute="cooking confidence",
                                 rationale=("cooking_confidence", "new cooks get the easiest recipes")), ws)
    [ack] = [f for f in helpful if f.guard == "provenance"]
    assert (ack.code, ack.severity) == ("PROV_NEEDS_ACK", "warn") and needs_acknowledgement(ack)
    # unexpected and unhelpful
    assert prov(run_plan(with_rule(base, skill), ws)) == ["PROV_CREEPY"]


def test_a_model_score_is_named_only_with_its_model_word(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("harbortable")
    rule = {"type": "field", "field": "give_propensity", "op": "gt", "value": 0.6}
    said_give = with_rule(brand_plan(ws), rule, tactic="a note on what they give")
    assert prov(run_plan(said_give, ws)) == ["PROV_CREEPY"]
    named = with_rule(brand_plan(ws), rule, attribute="give propensity")
    assert prov(run_plan(named, ws)) == ["PROV_NEEDS_ACK"]


def test_sensitive_data_never_disclosed_blocks_even_only_for_targeting(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("kinetichouse")
    rule = {"type": "field", "field": "neighbourhood_income", "op": "eq", "value": "high"}
    plan = with_rule(brand_plan(ws), rule, attribute="neighbourhood income",
                     rationale=("neighbourhood_income", "wealthier areas rejoin at full price"))
    findings = [f for f in run_plan(plan, ws) if f.guard == "provenance"]
    assert {f.code for f in findings} == {"PROV_SENSITIVE_TARGETING", "PROV_USE_NOT_ALLOWED"}
    assert all(f.severity == "block" for f in findings)
    # sensitive but given for exactly this: fine
    prenatal = {"type": "field", "field": "prenatal_interest", "op": "eq", "value": True}
    assert prov(run_plan(with_rule(brand_plan(ws), prenatal, attribute="prenatal interest"), ws)) == []


def test_routine_rule_fields_are_no_flex(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("sprig")
    for rule in ({"type": "field", "field": "locale", "op": "eq", "value": "en"},
                 {"type": "field", "field": "first_name", "op": "exists"}):
        assert prov(run_plan(with_rule(brand_plan(ws), rule), ws)) == [], rule


def test_copy_stating_a_field_without_a_merge_field_is_caught(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    sprig = brand_workspace("sprig")
    said = {
        "Expecting a baby? Stock the freezer.": ["PROV_SENSITIVE_IN_COPY"],  # the catalog's own words
        "This week's menu skips your allergens.": ["PROV_SENSITIVE_IN_COPY"],
        "Every recipe card lists its allergens.": [],  # not about the reader
        "You browsed recipes for tacos last night.": ["PROV_CREEPY", "PROV_USE_NOT_ALLOWED"],
    }
    for text, expected in said.items():
        assert prov(run_plan(brand_plan(sprig, body=f"Hi {{{{ first_name }}}},\n\n{text}"), sprig)) == expected, text
    # an enum value the rule picks, said in its value words
    hv = brand_workspace("hollisvane")
    rule = {"type": "field", "field": "discount_affinity", "op": "eq", "value": "sale_only"}
    plan = with_rule(brand_plan(hv, body="Hi {{ first_name }},\n\nA note for our bargain hunters."), rule)
    assert "PROV_USE_NOT_ALLOWED" in prov(run_plan(plan, hv))
    [copy_use] = [f for f in run_plan(plan, hv) if f.guard == "provenance" and f.field == "body"
                  and f.code != "PROV_USE_NOT_ALLOWED"]
    assert copy_use.code == "PROV_CREEPY" and copy_use.evidence["said"].lower() == "bargain hunters"
