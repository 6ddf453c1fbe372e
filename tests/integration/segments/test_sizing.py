"""size_plan and segment_members on a small hand-made audience, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot.errors import NotFoundError
from copilot.plan import Plan
from copilot.segments import segment_members, size_plan
from copilot.workspace import Workspace

from .audience import NOW, add_audience, add_workspace

HYP = {"attribute": "a", "tactic": "t", "metric": "conversion_rate", "expected_change": "+1 point"}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def order(days: float, category: str = "running_shoes", value: float = 120.0) -> dict[str, Any]:
    return {"name": "order_placed", "occurred_at": ago(days), "category": category, "value": value}


def sent(days: float) -> dict[str, Any]:
    return {"name": "email_sent", "occurred_at": ago(days), "campaign": "newsletter"}


def make_plan(**suppression: Any) -> Plan:
    vip = {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"}
    shoes = {"type": "event", "event": "order_placed", "where": [{"property": "category", "value": "running_shoes"}]}
    recent = {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 90}}
    return Plan.model_validate({
        "title": "t", "brief": "b", "goal": "winback",
        "segments": [
            {"name": "VIPs", "priority": 1, "rule": vip, "hypothesis": HYP},
            {"name": "Shoe buyers", "priority": 2, "rule": {"type": "all", "rules": [shoes, {"type": "not", "rule": recent}]},
             "hypothesis": HYP},
            {"name": "Recent", "priority": 3, "rule": recent, "hypothesis": HYP},
        ],
        "trigger": {"kind": "schedule", "send_at": "2026-11-21T03:00:00+00:00", "steps": [{"type": "send", "message": "m"}]},
        "suppression": {"frequency_cap": {"max_emails": 2, "per_days": 7}, **suppression},
        "variants": [{"segment": s, "message": "m", "subject": "s", "body": "b", "cta_text": "c",
                      "cta_url": "https://x.example"} for s in ("VIPs", "Shoe buyers", "Recent")],
    })


PEOPLE: list[dict[str, Any]] = [
    # 0: VIP and a lapsed shoe buyer: priority puts them in VIPs only
    {"loyalty_tier": "vip", "events": [order(200)]},
    # 1: VIP, unsubscribed
    {"loyalty_tier": "vip", "consent": "unsubscribed"},
    # 2: lapsed shoe buyer
    {"loyalty_tier": "member", "events": [order(300)]},
    # 3: lapsed shoe buyer who bounced
    {"consent": "bounced", "events": [order(150)]},
    # 4: recent buyer (apparel), frequency-capped: two emails this week
    {"events": [order(10, "apparel"), sent(1), sent(3)]},
    # 5: recent buyer with one email this week and one older: not capped
    {"timezone": "Asia/Tokyo", "events": [order(20, "apparel"), sent(2), sent(9)]},
    # 6: in no segment
    {"loyalty_tier": "none"},
    # 7: recent shoe buyer with no tier: only "Recent"
    {"timezone": "America/Los_Angeles", "events": [order(5)]},
]


@pytest.fixture
def audience(engine: Engine, demo_workspace: Workspace) -> tuple[int, list[int]]:
    workspace_id = add_workspace(engine, demo_workspace)
    return workspace_id, add_audience(engine, workspace_id, PEOPLE)


def test_segments_are_disjoint_by_priority_with_raw_overlaps(engine: Engine, demo_workspace: Workspace,
                                                             audience: tuple[int, list[int]]) -> None:
    workspace_id, ids = audience
    with Session(engine) as session:
        report = size_plan(session, demo_workspace, workspace_id, make_plan(), now=NOW)
    by_name = {s.name: s for s in report.segments}
    assert [s.name for s in report.segments] == ["VIPs", "Shoe buyers", "Recent"]
    assert {n: s.raw_size for n, s in by_name.items()} == {"VIPs": 2, "Shoe buyers": 3, "Recent": 3}
    assert {n: s.after_priority for n, s in by_name.items()} == {"VIPs": 2, "Shoe buyers": 2, "Recent": 3}
    assert report.overlaps["VIPs"]["Shoe buyers"] == 1  # contact 0, counted before priority
    assert report.overlaps["Shoe buyers"]["VIPs"] == 1
    assert report.overlaps["Shoe buyers"]["Recent"] == 0
    assert report.audience == len(PEOPLE)


def test_suppression_counts_each_contact_once_under_its_first_reason(
        engine: Engine, demo_workspace: Workspace, audience: tuple[int, list[int]]) -> None:
    workspace_id, ids = audience
    plan = make_plan(exclusions=[{"type": "field", "field": "loyalty_tier", "op": "eq", "value": "member"}])
    with Session(engine) as session:
        report = size_plan(session, demo_workspace, workspace_id, plan, now=NOW)
    by_name = {s.name: s for s in report.segments}
    assert by_name["VIPs"].suppressed == {"unsubscribed": 1, "bounced": 0, "suppressed": 0, "excluded": 0, "frequency_capped": 0}
    assert by_name["Shoe buyers"].suppressed == {"unsubscribed": 0, "bounced": 1, "suppressed": 0, "excluded": 1, "frequency_capped": 0}
    assert by_name["Recent"].suppressed == {"unsubscribed": 0, "bounced": 0, "suppressed": 0, "excluded": 0, "frequency_capped": 1}
    assert {n: s.size for n, s in by_name.items()} == {"VIPs": 1, "Shoe buyers": 0, "Recent": 2}
    assert report.suppression == {"unsubscribed": 1, "bounced": 1, "suppressed": 0, "excluded": 1, "frequency_capped": 1}
    assert report.total == 3 and report.not_sendable == 4


def test_samples_and_segment_members_agree_with_the_sizes(engine: Engine, demo_workspace: Workspace,
                                                         audience: tuple[int, list[int]]) -> None:
    workspace_id, ids = audience
    plan = make_plan()
    with Session(engine) as session:
        report = size_plan(session, demo_workspace, workspace_id, plan, now=NOW, sample=10)
        members = {s.name: segment_members(session, demo_workspace, workspace_id, plan, s.name, now=NOW)
                   for s in plan.segments}
        first = segment_members(session, demo_workspace, workspace_id, plan, "Recent", now=NOW, limit=1)
    assert members == {"VIPs": [ids[0]], "Shoe buyers": [ids[2]], "Recent": [ids[5], ids[7]]}
    assert {s.name: s.sample_ids for s in report.segments} == members
    assert {s.name: s.size for s in report.segments} == {k: len(v) for k, v in members.items()}
    assert first == [ids[5]]


def test_quiet_hours_are_reported_but_remove_nobody(engine: Engine, demo_workspace: Workspace,
                                                    audience: tuple[int, list[int]]) -> None:
    workspace_id, ids = audience
    # 03:00 UTC is 19:00 in Los Angeles (previous day) and 12:00 in Tokyo: quiet only in UTC.
    plan = make_plan(quiet_hours={"start": "21:00", "end": "08:00"})
    with Session(engine) as session:
        report = size_plan(session, demo_workspace, workspace_id, plan, now=NOW)
    by_name = {s.name: s for s in report.segments}
    assert by_name["VIPs"].quiet_hours == 1  # contact 0 (UTC)
    assert by_name["Recent"].quiet_hours == 0  # Tokyo and Los Angeles are awake
    assert by_name["Recent"].size == 2
    assert report.quiet_hours["contacts"] == 2 and report.quiet_hours["removed"] == 0  # contacts 0 and 2


def test_report_depends_only_on_now_and_is_json(engine: Engine, demo_workspace: Workspace,
                                                audience: tuple[int, list[int]]) -> None:
    workspace_id, _ = audience
    with Session(engine) as session:
        first = size_plan(session, demo_workspace, workspace_id, make_plan(), now=NOW).to_dict()
        again = size_plan(session, demo_workspace, workspace_id, make_plan(), now=NOW).to_dict()
        later = size_plan(session, demo_workspace, workspace_id, make_plan(), now=NOW + timedelta(days=100)).to_dict()
    assert first == again
    assert json.loads(json.dumps(first))["now"] == "2026-11-20T12:00:00+00:00"
    assert [s["raw_size"] for s in later["segments"]] == [2, 4, 0]  # every order is now over 90 days old
    assert first["segments"][0]["english"] == "contacts who have loyalty tier vip"


def test_attribute_filters_of_every_type(engine: Engine, demo_workspace: Workspace) -> None:
    workspace_id = add_workspace(engine, demo_workspace)
    ids = add_audience(engine, workspace_id, [
        {"order_count": 3, "lifetime_value": 250.5, "marathon_finisher": True, "birth_date": "1990-06-01",
         "last_order_at": "2026-11-01T09:00:00+00:00", "goal_race": "Portland Half Marathon",
         "signed_up_at": datetime(2025, 1, 1, tzinfo=UTC)},
        {"order_count": 1, "lifetime_value": 40, "marathon_finisher": False, "birth_date": "2001-12-24",
         "last_order_at": "2026-01-01T09:00:00+00:00", "goal_race": "first 5K"},
        {"order_count": "3", "marathon_finisher": "yes"},  # mistyped values match no typed comparison
    ])

    def members(rule: dict[str, Any]) -> list[int]:
        plan = Plan.model_validate({**make_plan().model_dump(), "segments": [
            {"name": "S", "priority": 1, "rule": rule, "hypothesis": HYP}], "variants": [
            {"segment": "S", "message": "m", "subject": "s", "body": "b", "cta_text": "c", "cta_url": "https://x"}],
            "suppression": {}})
        with Session(engine) as session:
            return segment_members(session, demo_workspace, workspace_id, plan, "S", now=NOW)

    def field(name: str, op: str, value: Any = None) -> dict[str, Any]:
        return {"type": "field", "field": name, "op": op, "value": value}

    assert members(field("order_count", "gte", 2)) == [ids[0]]
    assert members(field("order_count", "in", [1, 3])) == [ids[0], ids[1]]
    assert members(field("lifetime_value", "between", [40, 100])) == [ids[1]]
    assert members(field("marathon_finisher", "eq", True)) == [ids[0]]
    assert members(field("marathon_finisher", "ne", True)) == [ids[1], ids[2]]
    assert members(field("birth_date", "lt", "2000-01-01")) == [ids[0]]
    assert members(field("last_order_at", "within_last_days", 30)) == [ids[0]]
    assert members(field("last_order_at", "older_than_days", 30)) == [ids[1]]
    assert members(field("goal_race", "contains", "MARATHON")) == [ids[0]]
    assert members(field("signed_up_at", "older_than_days", 365)) == [ids[0]]
    assert members(field("lifetime_value", "not_exists")) == [ids[2]]


def test_event_windows_include_their_edges_and_ignore_the_future(engine: Engine, demo_workspace: Workspace) -> None:
    workspace_id = add_workspace(engine, demo_workspace)
    ids = add_audience(engine, workspace_id, [
        {"events": [order(30)]},  # exactly 30 days before now
        {"events": [order(30.0001)]},
        {"events": [order(-1)]},  # tomorrow: not yet happened as of now
    ])
    plan = make_plan()
    within = {"type": "event", "event": "order_placed", "window": {"kind": "within_days", "days": 30}}
    before = {"type": "event", "event": "order_placed", "window": {"kind": "before_days", "days": 30}}
    never = {"type": "last_performed", "event": "order_placed", "op": "never"}
    got = {}
    for name, rule in (("within", within), ("before", before), ("never", never)):
        p = Plan.model_validate({**plan.model_dump(), "segments": [{"name": "S", "priority": 1, "rule": rule,
                                                                    "hypothesis": HYP}],
                                 "variants": [{**plan.variants[0].model_dump(), "segment": "S"}], "suppression": {}})
        with Session(engine) as session:
            got[name] = segment_members(session, demo_workspace, workspace_id, p, "S", now=NOW)
    assert got == {"within": [ids[0]], "before": [ids[1]], "never": [ids[2]]}


def test_segment_members_of_an_unknown_segment_is_not_found(engine: Engine, demo_workspace: Workspace,
                                                           audience: tuple[int, list[int]]) -> None:
    with Session(engine) as session, pytest.raises(NotFoundError, match="no segment 'Nobody'"):
        segment_members(session, demo_workspace, audience[0], make_plan(), "Nobody", now=NOW)
