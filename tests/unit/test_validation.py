"""Plan validation: model errors and workspace errors each name the plan path and what is wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from copilot.errors import PlanValidationError
from copilot.plan import Plan
from copilot.validation import check_plan, parse_plan, validate_plan
from copilot.workspace import Workspace

PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "winback.json"


@pytest.fixture
def plan_data() -> dict[str, Any]:
    return json.loads(PLAN_FILE.read_text())


def _problems(data: dict[str, Any], workspace: Workspace) -> dict[str, str]:
    return {p.path: p.message for p in validate_plan(Plan.model_validate(data), workspace)}


def _parse_problems(data: Any) -> dict[str, str]:
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data)
    return {p["path"]: p["message"] for p in info.value.context["problems"]}


def test_sample_plan_is_valid(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan = parse_plan(json.dumps(plan_data))
    assert validate_plan(plan, demo_workspace) == []
    check_plan(plan, demo_workspace)


def test_parse_error_in_nested_rule_names_its_path_without_union_tags(plan_data: dict[str, Any]) -> None:
    del plan_data["segments"][1]["rule"]["rules"][0]["event"]
    plan_data["segments"][0]["rule"]["rules"][0]["op"] = "equals"
    plan_data["segments"][0]["rule"]["rules"][0]["value"] = {"tier": "vip"}
    problems = _parse_problems(plan_data)
    assert problems["segments[1].rule.rules[0].event"] == "required but missing"
    assert "'equals'" in problems["segments[0].rule.rules[0].op"]
    # one problem for the value, not one per member of the value union
    assert "valid string" in problems["segments[0].rule.rules[0].value"]
    assert "valid list" in problems["segments[0].rule.rules[0].value"]
    assert not any(".all." in path or ".str" in path for path in problems)


def test_parse_reports_unknown_rule_type_extra_keys_and_model_rules(plan_data: dict[str, Any]) -> None:
    plan_data["segments"][0]["rule"]["rules"][1] = {"type": "purchased", "event": "order_placed"}
    plan_data["segments"][0]["colour"] = "blue"
    plan_data["trigger"] = {"kind": "event", "steps": [{"type": "send", "message": "email_1"}]}
    problems = _parse_problems(plan_data)
    assert "'purchased'" in problems["segments[0].rule.rules[1]"]
    assert problems["segments[0].colour"] == "unknown key (not part of the plan model)"
    assert problems["trigger"] == "an event trigger needs entry_event"


def test_parse_refuses_text_that_is_not_json() -> None:
    problems = _parse_problems('{"title": ')
    assert problems["(top level)"].startswith("not valid JSON")


def test_unknown_field_is_named_with_a_suggestion(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["segments"][0]["rule"]["rules"][0]["field"] = "loyalty_teir"
    problems = _problems(plan_data, demo_workspace)
    assert problems["segments[0].rule.rules[0].field"] == (
        "unknown field 'loyalty_teir': not in the workspace catalog; did you mean 'loyalty_tier'?"
    )


def test_operator_must_fit_the_field_type(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["segments"][0]["rule"]["rules"][0] = {"type": "field", "field": "order_count", "op": "contains",
                                                    "value": "3"}
    problems = _problems(plan_data, demo_workspace)
    assert "operator 'contains' does not fit integer field 'order_count'" in problems["segments[0].rule.rules[0].op"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "loyalty_tier", "op": "eq", "value": "gold"}, "'gold' is not an allowed value"),
        ({"field": "order_count", "op": "gt", "value": "many"}, "expects a whole number"),
        ({"field": "lifetime_value", "op": "between", "value": [500, 100]}, "low 500 is above high 100"),
        ({"field": "loyalty_tier", "op": "in", "value": []}, "non-empty list"),
        ({"field": "last_order_at", "op": "older_than_days", "value": -3}, "number of days"),
        ({"field": "city", "op": "exists", "value": "Portland"}, "exists takes no value"),
    ],
)
def test_values_must_fit_the_field(plan_data: dict[str, Any], demo_workspace: Workspace,
                                   rule: dict[str, Any], expected: str) -> None:
    plan_data["segments"][0]["rule"]["rules"][0] = {"type": "field", **rule}
    problems = _problems(plan_data, demo_workspace)
    assert expected in problems["segments[0].rule.rules[0].value"]


def test_unknown_event_and_event_property(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    rules = plan_data["segments"][1]["rule"]["rules"]
    rules[0]["where"][0]["property"] = "colour"
    rules[1]["rule"]["event"] = "order_refunded"
    problems = _problems(plan_data, demo_workspace)
    assert problems["segments[1].rule.rules[0].where[0].property"].startswith(
        "event 'order_placed' has no property 'colour'")
    assert problems["segments[1].rule.rules[1].rule.event"].startswith("unknown event 'order_refunded'")


def test_variant_segments_and_send_steps_must_match(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["variants"][1]["segment"] = "Lapsed runners"
    plan_data["variants"][1]["message"] = "email_9"
    plan_data["trigger"]["steps"].append({"type": "send", "message": "email_2"})
    problems = _problems(plan_data, demo_workspace)
    assert problems["variants[1].segment"].startswith("no segment named 'Lapsed runners'")
    assert problems["variants[1].message"].startswith("no send step sends message 'email_9'")
    assert problems["trigger.steps[1].message"].startswith("no variant has message 'email_2'")


def test_segment_references_must_exist_and_not_cycle(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["segments"][0]["rule"]["rules"].append({"type": "not", "rule": {"type": "segment",
                                                                             "segment": "Lapsed shoe buyers"}})
    plan_data["segments"][1]["rule"]["rules"].append({"type": "segment", "segment": "Lapsed VIPs"})
    plan_data["segments"][1]["rule"]["rules"].append({"type": "segment", "segment": "Nobody"})
    problems = _problems(plan_data, demo_workspace)
    assert "cycle" in problems["segments[0].rule.rules[2].rule.segment"]
    assert "cycle" in problems["segments[1].rule.rules[2].segment"]
    assert problems["segments[1].rule.rules[3].segment"] == "no segment named 'Nobody' in this plan"


def test_trigger_events_must_be_in_the_catalog(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["trigger"] = {
        "kind": "event", "entry_event": "cart_abandonned",
        "steps": [{"type": "delay", "hours": 4}, {"type": "wait", "event": "cart_recovered", "timeout_hours": 24},
                  {"type": "send", "message": "email_1"}],
        "exit_conditions": [{"event": "order_made"}],
    }
    problems = _problems(plan_data, demo_workspace)
    assert "did you mean 'cart_abandoned'" in problems["trigger.entry_event"]
    assert problems["trigger.steps[1].event"].startswith("unknown event 'cart_recovered'")
    assert problems["trigger.exit_conditions[0].event"].startswith("unknown event 'order_made'")


def test_duplicate_segment_names_and_priorities(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    extra = copy.deepcopy(plan_data["segments"][1])
    plan_data["segments"].append(extra)
    problems = _problems(plan_data, demo_workspace)
    assert "already used by segments[1]" in problems["segments[2].name"]
    assert "already used by segments[1]" in problems["segments[2].priority"]


def test_merge_fields_must_be_catalog_fields_with_fallbacks(plan_data: dict[str, Any],
                                                            demo_workspace: Workspace) -> None:
    variant = plan_data["variants"][0]
    variant["merge_fields"].append({"name": "nickname", "fallback": "friend"})
    variant["body"] = "Hi {{ first_name }} from {{ city }}, {{ nickname }}"
    variant["preheader"] = "{% if %}"
    problems = _problems(plan_data, demo_workspace)
    assert problems["variants[0].merge_fields[1].name"] == "merge field 'nickname' is not a catalog field"
    assert "{{ city }} has no declared fallback" in problems["variants[0].body"]
    assert problems["variants[0].preheader"].startswith("template syntax error on line 1")


def test_fields_in_a_rule_need_a_rationale(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["segments"][0]["field_rationales"] = []
    problems = _problems(plan_data, demo_workspace)
    assert "'loyalty_tier' is used in the rule but has no rationale" in problems["segments[0].field_rationales"]


def test_check_plan_raises_with_every_problem(plan_data: dict[str, Any], demo_workspace: Workspace) -> None:
    plan_data["segments"][0]["rule"]["rules"][0]["field"] = "shoe_colour"
    plan_data["offers"] = ["black_friday"]
    with pytest.raises(PlanValidationError) as info:
        check_plan(Plan.model_validate(plan_data), demo_workspace)
    paths = [p["path"] for p in info.value.context["problems"]]
    assert paths == ["segments[0].rule.rules[0].field", "offers[0]"]
    assert info.value.context["path"] == "segments[0].rule.rules[0].field"
    assert "shoe_colour" in info.value.message
