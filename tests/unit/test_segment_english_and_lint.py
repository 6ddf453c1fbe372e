"""Plain-English rules and the logic lint (no database: the lint's sized checks get a report built by hand)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from copilot.plan import Plan, QuietHours
from copilot.segments import SegmentSize, SizingReport, describe_rule, in_quiet_hours, lint_plan
from copilot.workspace import Workspace

PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "winback.json"


def rule(data: dict[str, Any]) -> Any:
    return Plan.model_validate({**json.loads(PLAN_FILE.read_text()), "segments": [
        {"name": "S", "priority": 1, "rule": data, "hypothesis": {"attribute": "a", "tactic": "t",
                                                                   "metric": "click_rate", "expected_change": "+1"}}]
    }).segments[0].rule


@pytest.mark.parametrize(("data", "english"), [
    ({"type": "all", "rules": [
        {"type": "event", "event": "order_placed", "window": {"kind": "before_days", "days": 180},
         "where": [{"property": "category", "value": "running_shoes"}]},
        {"type": "not", "rule": {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 180}}},
    ]}, "contacts who placed an order with category running_shoes more than 180 days ago and have not placed an "
        "order in the last 180 days"),
    ({"type": "any", "rules": [{"type": "field", "field": "loyalty_tier", "op": "in", "value": ["member", "vip"]},
                               {"type": "field", "field": "lifetime_value", "op": "gte", "value": 500}]},
     "contacts who have loyalty tier in member, vip or have lifetime value at least 500"),
    ({"type": "event", "event": "product_viewed", "count_op": "at_least", "count": 3,
      "window": {"kind": "within_days", "days": 30}},
     "contacts who viewed a product at least 3 times in the last 30 days"),
    ({"type": "not", "rule": {"type": "event", "event": "product_viewed", "count": 3}},
     "contacts who viewed a product at most twice"),
    ({"type": "last_performed", "event": "order_placed", "op": "never"}, "contacts who have never placed an order"),
    ({"type": "all", "rules": [{"type": "consent", "state": "subscribed"},
                               {"type": "not", "rule": {"type": "segment", "segment": "VIPs"}},
                               {"type": "field", "field": "city", "op": "not_exists"}]},
     "contacts who are subscribed and are not in segment 'VIPs' and have no city"),
    ({"type": "all", "rules": [{"type": "any", "rules": [{"type": "field", "field": "city", "op": "eq", "value": "Porto"},
                                                         {"type": "field", "field": "city", "op": "eq", "value": "Lyon"}]},
                               {"type": "field", "field": "last_order_at", "op": "older_than_days", "value": 90}]},
     "contacts who (have city Porto or have city Lyon) and have last order at more than 90 days ago"),
])
def test_rules_read_as_plain_english(data: dict[str, Any], english: str, demo_workspace: Workspace) -> None:
    assert describe_rule(rule(data), demo_workspace) == english


def _plan(**changes: Any) -> Plan:
    data = json.loads(PLAN_FILE.read_text())
    data.update(changes)
    return Plan.model_validate(data)


def _codes(plan: Plan, workspace: Workspace, report: SizingReport | None = None) -> dict[str, str]:
    return {w.code: w.message for w in lint_plan(plan, workspace, report)}


def test_sample_plan_has_no_warnings(demo_workspace: Workspace) -> None:
    assert lint_plan(_plan(), demo_workspace) == []


def test_event_promotion_without_exit_on_purchase_and_a_late_cart_reminder(demo_workspace: Workspace) -> None:
    trigger = {"kind": "event", "entry_event": "cart_abandoned",
               "steps": [{"type": "delay", "hours": 240}, {"type": "send", "message": "email_1"}]}
    codes = _codes(_plan(trigger=trigger), demo_workspace)
    assert "add an exit on 'order_placed'" in codes["NO_EXIT_ON_CONVERSION"]
    assert "240 hours after cart_abandoned: too late" in codes["DELAY_OUT_OF_RANGE"]
    fixed = {**trigger, "steps": [{"type": "delay", "hours": 4}, {"type": "send", "message": "email_1"}],
             "exit_conditions": [{"event": "order_placed"}]}
    assert _codes(_plan(trigger=fixed), demo_workspace) == {}


@pytest.mark.parametrize("rules", [
    [{"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"},
     {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "member"}],
    [{"type": "field", "field": "order_count", "op": "gt", "value": 5},
     {"type": "field", "field": "order_count", "op": "lt", "value": 2}],
    [{"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 30}},
     {"type": "not", "rule": {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 90}}}],
    [{"type": "last_performed", "event": "order_placed", "op": "never"},
     {"type": "event", "event": "order_placed"}],
    [{"type": "field", "field": "city", "op": "exists"}, {"type": "not", "rule": {"type": "field", "field": "city",
                                                                                 "op": "exists"}}],
])
def test_contradictory_conditions_are_flagged(rules: list[dict[str, Any]], demo_workspace: Workspace) -> None:
    data = json.loads(PLAN_FILE.read_text())
    data["segments"][1]["rule"] = {"type": "all", "rules": rules}
    codes = _codes(Plan.model_validate(data), demo_workspace)
    assert "'Lapsed shoe buyers' can never match anyone" in codes["CONTRADICTORY_CONDITIONS"]


def test_compatible_conditions_are_not_flagged(demo_workspace: Workspace) -> None:
    data = json.loads(PLAN_FILE.read_text())
    data["segments"][1]["rule"] = {"type": "all", "rules": [
        {"type": "field", "field": "order_count", "op": "gte", "value": 2},
        {"type": "field", "field": "order_count", "op": "lte", "value": 5},
        {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 90}},
        {"type": "not", "rule": {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 30}}},
    ]}
    assert "CONTRADICTORY_CONDITIONS" not in _codes(Plan.model_validate(data), demo_workspace)


def _size(name: str, priority: int, raw: int, after: int, size: int) -> SegmentSize:
    return SegmentSize(name=name, priority=priority, size=size, raw_size=raw, after_priority=after,
                       suppressed={"unsubscribed": after - size, "bounced": 0, "suppressed": 0, "excluded": 0, "frequency_capped": 0},
                       quiet_hours=0, english="", sample_ids=[])


def test_sized_warnings_empty_shadowed_and_all_suppressed(demo_workspace: Workspace) -> None:
    data = json.loads(PLAN_FILE.read_text())
    third = {**data["segments"][1], "name": "Third", "priority": 3}
    data["segments"].append(third)
    data["variants"].append({**data["variants"][1], "segment": "Third"})
    plan = Plan.model_validate(data)
    segments = [_size("Lapsed VIPs", 1, 40, 40, 30), _size("Lapsed shoe buyers", 2, 10, 0, 0), _size("Third", 3, 0, 0, 0)]
    overlaps = {"Lapsed VIPs": {"Lapsed VIPs": 40, "Lapsed shoe buyers": 10, "Third": 0},
                "Lapsed shoe buyers": {"Lapsed VIPs": 10, "Lapsed shoe buyers": 10, "Third": 0},
                "Third": {"Lapsed VIPs": 0, "Lapsed shoe buyers": 0, "Third": 0}}
    report = SizingReport(workspace="northpeak", now=datetime(2026, 11, 20, tzinfo=UTC), audience=100,
                          segments=segments, overlaps=overlaps, suppression={}, quiet_hours={}, total=30,
                          not_sendable=10)
    warnings = {(w.code, w.segment): w.message for w in lint_plan(plan, demo_workspace, report)}
    assert "also in higher-priority 'Lapsed VIPs'" in warnings[("INSIDE_HIGHER_PRIORITY", "Lapsed shoe buyers")]
    assert warnings[("EMPTY_SEGMENT", "Third")] == "'Third' matches nobody in the audience"
    segments[0] = _size("Lapsed VIPs", 1, 40, 40, 0)
    warnings = {(w.code, w.segment): w.message for w in lint_plan(plan, demo_workspace, report)}
    assert "every contact of 'Lapsed VIPs' is suppressed (unsubscribed: 40)" == warnings[("EMPTY_SEGMENT", "Lapsed VIPs")]


def test_segment_without_copy_and_reference_to_a_higher_priority_segment(demo_workspace: Workspace) -> None:
    data = json.loads(PLAN_FILE.read_text())
    data["segments"][1]["rule"] = {"type": "segment", "segment": "Lapsed VIPs"}
    data["variants"] = data["variants"][:1]
    codes = _codes(Plan.model_validate(data), demo_workspace)
    assert "requires membership of 'Lapsed VIPs'" in codes["INSIDE_HIGHER_PRIORITY"]
    assert "no variant is written for 'Lapsed shoe buyers'" in codes["SEGMENT_WITHOUT_COPY"]


@pytest.mark.parametrize(("utc_hour", "zone", "quiet"), [
    (23, "UTC", True), (7, "UTC", True), (8, "UTC", False), (12, "Asia/Tokyo", True),  # 21:00 in Tokyo
    (14, "America/New_York", False), (12, "America/New_York", True), (3, "Not/AZone", True),
])
def test_quiet_hours_wrap_midnight_in_the_recipients_zone(utc_hour: int, zone: str, quiet: bool) -> None:
    moment = datetime(2026, 11, 20, utc_hour, 0, tzinfo=UTC)
    assert in_quiet_hours(QuietHours(start="21:00", end="08:00"), moment, zone) is quiet
