"""Property: on random audiences and random rules, the SQL engine selects exactly who the
plain-Python evaluator selects, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
import os
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot.plan import (
    AllRule,
    AnyRule,
    ConsentRule,
    EventRule,
    EventWindow,
    FieldRule,
    LastPerformedRule,
    NotRule,
    Plan,
    PropertyFilter,
    SegmentRule,
)
from copilot.rules import OPS_BY_TYPE
from copilot.segments import ReferenceEvaluator, segment_members, size_plan
from copilot.segments.sql import RuleCompiler, canonical_when, contacts
from copilot.workspace import CatalogField, Workspace, load_workspace

from .audience import NOW, add_audience, add_workspace

EXAMPLES = int(os.environ.get("COPILOT_PROPERTY_EXAMPLES", "40"))
_counter = itertools.count()

# Catalog fields the rules draw on, one or more per type (plus a list field added below).
FIELDS = ["first_name", "city", "consent", "loyalty_tier", "favorite_activity", "order_count", "lifetime_value",
          "marathon_finisher", "birth_date", "last_order_at", "signed_up_at", "interests"]
TEXTS = ["", " ", "Ann", "ann", "Annie", "Porto", "port", "a_b", "50%"]
EVENTS = ["order_placed", "product_viewed", "cart_abandoned", "email_sent"]
CATEGORIES = [None, "running_shoes", "apparel"]


def _with_list_field(workspace: Workspace) -> Workspace:
    interests = CatalogField(name="interests", type="list", description="Topics they follow", provenance="zero_party",
                             disclosed=True, allowed_uses=["segmentation"])
    catalog = workspace.catalog.model_copy(update={"fields": [*workspace.catalog.fields, interests]})
    return dataclasses.replace(workspace, catalog=catalog, _cache={})


# Strategies are built once: hypothesis labels strategies by their source, which is slow
# to recompute for strategies made afresh in every example.
WORKSPACE = _with_list_field(load_workspace())


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return WORKSPACE


def _when(days: int, seconds: int = 0) -> Any:
    return NOW - timedelta(days=days, seconds=seconds)


def _date_value(days: int) -> str:
    return canonical_when(_when(days), "date")


def _datetime_value(days: int) -> str:
    return canonical_when(_when(days, 3600 * (days % 2)), "datetime")


# Days drawn from one small pool, so values often sit exactly on a window's edge.
DAYS = st.sampled_from([-2, 0, 1, 2, 7, 30, 31, 60])
WINDOW_DAYS = st.sampled_from([0, 1, 2, 7, 30, 60])


def _value_strategy(ftype: str, values: list[str]) -> st.SearchStrategy[Any]:
    if ftype in {"string", "list"}:
        return st.sampled_from(TEXTS)
    if ftype == "enum":
        return st.sampled_from(values)
    if ftype == "integer":
        return st.integers(0, 6)
    if ftype == "number":
        return st.sampled_from([0, 1.5, 3, 7.25, 100])
    if ftype == "boolean":
        return st.booleans()
    if ftype == "date":
        return DAYS.map(_date_value)
    return DAYS.map(_datetime_value)


SPECS = {name: WORKSPACE.field(name) for name in FIELDS}
VALUES = {name: _value_strategy(spec.type, spec.values) for name, spec in SPECS.items() if spec}
OPS = {name: sorted(OPS_BY_TYPE[spec.type]) for name, spec in SPECS.items() if spec}


@st.composite
def field_rules(draw: st.DrawFn) -> FieldRule:
    name = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(OPS[name]))
    if op in {"exists", "not_exists"}:
        value = None
    elif op in {"older_than_days", "within_last_days", "within_next_days", "anniversary_within_days"}:
        value = draw(WINDOW_DAYS)
    elif op in {"in", "not_in"}:
        value = draw(st.lists(VALUES[name], min_size=1, max_size=3))
    elif op == "between":
        value = sorted(draw(st.lists(VALUES[name], min_size=2, max_size=2)))
    else:
        value = draw(VALUES[name])
    return FieldRule(field=name, op=op, value=value)


def _on(days: int) -> Any:
    return _when(days).date()


@st.composite
def windows(draw: st.DrawFn) -> EventWindow:
    kind = draw(st.sampled_from(["ever", "within_days", "before_days", "since", "until"]))
    if kind in {"within_days", "before_days"}:
        return EventWindow(kind=kind, days=draw(WINDOW_DAYS))
    if kind in {"since", "until"}:
        return EventWindow(kind=kind, on=_on(draw(WINDOW_DAYS)))
    return EventWindow()


@st.composite
def property_filters(draw: st.DrawFn) -> PropertyFilter:
    which = draw(st.integers(0, 2))
    if which == 0:
        return PropertyFilter(property="category", op=draw(st.sampled_from(["eq", "ne"])),
                              value=draw(st.sampled_from(["running_shoes", "apparel"])))
    if which == 1:
        return PropertyFilter(property="category", op=draw(st.sampled_from(["exists", "not_exists"])))
    return PropertyFilter(property="value", op=draw(st.sampled_from(["gt", "lte"])), value=draw(st.sampled_from([10, 50.5])))


@st.composite
def event_rules(draw: st.DrawFn) -> EventRule | LastPerformedRule:
    event = draw(st.sampled_from(EVENTS[:3]))
    where = draw(st.lists(property_filters(), max_size=2))
    if draw(st.booleans()):
        return EventRule(event=event, count_op=draw(st.sampled_from(["at_least", "at_most", "exactly"])),
                         count=draw(st.integers(0, 3)), window=draw(windows()), where=where)
    op = draw(st.sampled_from(["older_than_days", "within_last_days", "never"]))
    return LastPerformedRule(event=event, op=op, days=draw(WINDOW_DAYS), where=where)


def _all(rules: list[Any]) -> AllRule:
    return AllRule(rules=rules)


def _any(rules: list[Any]) -> AnyRule:
    return AnyRule(rules=rules)


def _not(rule: Any) -> NotRule:
    return NotRule(rule=rule)


def _rules(segment_ref: bool) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        field_rules(), event_rules(), field_rules(), event_rules(),
        st.sampled_from(["subscribed", "unsubscribed", "bounced"]).map(_consent),
        *([st.just(SegmentRule(segment="first"))] if segment_ref else []),
    )

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.lists(inner, min_size=1, max_size=3).map(_all),
                         st.lists(inner, min_size=1, max_size=3).map(_any), inner.map(_not))

    return st.recursive(leaves, extend, max_leaves=6)


def _consent(state: str) -> ConsentRule:
    return ConsentRule(state=state)  # type: ignore[arg-type]


FIRST_RULES = _rules(segment_ref=False)
SECOND_RULES = _rules(segment_ref=True)


SECONDS = st.sampled_from([0, 1, 43200, 86399])


@st.composite
def events_(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(EVENTS))
    # Times on day boundaries now and then, so window edges get tested.
    event: dict[str, Any] = {"name": name, "occurred_at": _when(draw(DAYS), draw(SECONDS)),
                             "category": draw(st.sampled_from(CATEGORIES)),
                             "value": draw(st.sampled_from([None, 5.0, 10.0, 99.5]))}
    if name == "cart_abandoned":
        event["cart_id"] = draw(st.sampled_from(["c1", "c2"]))
    return event


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    person: dict[str, Any] = {
        "consent": draw(st.sampled_from(["subscribed", "subscribed", "unsubscribed", "bounced"])),
        "timezone": draw(st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"])),
        "events": draw(st.lists(events_(), max_size=8)),
    }
    for name in FIELDS:
        spec = SPECS[name]
        if name == "consent" or spec is None or draw(st.integers(0, 4)) == 0:
            continue  # about one value in five is missing
        if name == "signed_up_at":
            person[name] = _when(draw(DAYS), draw(SECONDS))
        elif spec.type == "list":
            person[name] = draw(st.lists(st.sampled_from(TEXTS), max_size=3))
        else:
            person[name] = draw(VALUES[name])
    return person


AUDIENCES = st.lists(people(), min_size=6, max_size=20)


def _plan(first: Any, second: Any, *, cap: bool) -> Plan:
    hyp = {"attribute": "a", "tactic": "t", "metric": "click_rate", "expected_change": "+1"}
    return Plan.model_validate({
        "title": "t", "brief": "b", "goal": "g",
        "segments": [{"name": "first", "priority": 1, "rule": first.model_dump(), "hypothesis": hyp},
                     {"name": "second", "priority": 2, "rule": second.model_dump(), "hypothesis": hyp}],
        "trigger": {"kind": "event", "entry_event": "cart_abandoned", "steps": [{"type": "send", "message": "m"}]},
        "suppression": {"frequency_cap": {"max_emails": 2, "per_days": 30} if cap else None,
                        "exclusions": [{"type": "field", "field": "loyalty_tier", "op": "eq", "value": "none"}]},
        "variants": [{"segment": "first", "message": "m", "subject": "s", "body": "b", "cta_text": "c",
                      "cta_url": "https://x.example"}],
    })


def _reference_sendable(plan: Plan, workspace: Workspace, rows: list[dict[str, Any]], ids: list[int]) -> dict[str, list[int]]:
    ref = ReferenceEvaluator(workspace, plan, now=NOW)
    claimed: set[int] = set()
    out = {}
    cap = plan.suppression.frequency_cap
    for seg in sorted(plan.segments, key=lambda s: s.priority):
        members = []
        for cid, row in zip(ids, rows, strict=True):
            if not ref.matches(seg.rule, row, row["events"]) or cid in claimed:
                continue
            claimed.add(cid)
            sent = [e for e in row["events"] if e["name"] == "email_sent"
                    and NOW - timedelta(days=cap.per_days) < e["occurred_at"] <= NOW] if cap else []
            excluded = any(ref.matches(r, row, row["events"]) for r in plan.suppression.exclusions)
            if row["consent"] == "subscribed" and not excluded and not (cap and len(sent) >= cap.max_emails):
                members.append(cid)
        out[seg.name] = sorted(members)
    return out


def _rows_for_reference(people_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = {"first_name", "city", "consent", "signed_up_at", "timezone"}
    rows = []
    for p in people_:
        attributes = {k: v for k, v in p.items() if k not in columns and k != "events"}
        events = [{"properties": {k: v for k, v in e.items() if k == "cart_id"}, "product": None, **e}
                  for e in p["events"]]
        rows.append({**{k: p.get(k) for k in columns}, "attributes": attributes, "events": events})
    return rows


RULE_LISTS = st.lists(FIRST_RULES, min_size=4, max_size=8)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_sql_engine_selects_exactly_who_the_python_evaluator_selects(engine: Engine, workspace: Workspace,
                                                                     data: st.DataObject) -> None:
    audience = data.draw(AUDIENCES, label="audience")
    extra = data.draw(RULE_LISTS, label="rules")
    second = data.draw(SECOND_RULES, label="second")
    plan = _plan(extra[0], second, cap=data.draw(st.booleans(), label="cap"))
    workspace_id = add_workspace(engine, workspace, slug=f"prop{next(_counter)}")
    ids = add_audience(engine, workspace_id, audience)
    rows = _rows_for_reference(audience)
    ref = ReferenceEvaluator(workspace, plan, now=NOW)

    # Every drawn rule in one query: a 0/1 column per rule.
    compiler = RuleCompiler(workspace, plan, now=NOW, dialect=engine.dialect.name,
                            indexed_attributes=frozenset({"loyalty_tier", "favorite_activity"}))
    # Each rule three ways: as planned for a segment, with IN sets only, with correlated probes only.
    conds = [c for r in extra for c in (compiler.compile_segment(r), compiler.compile(r, "in"), compiler.compile(r, "exists"))]
    query = sa.select(contacts.c.id, *[sa.case((c, 1), else_=0) for c in conds]).where(
        contacts.c.workspace_id == workspace_id).order_by(contacts.c.id)
    with engine.connect() as conn:
        got = [tuple(row[1:]) for row in conn.execute(query)]
    want = [tuple(int(ref.matches(r, row, row["events"])) for r in extra for _ in range(3)) for row in rows]
    assert got == want

    # The whole sizing path on a two-segment plan (priority, suppression, a segment reference).
    expected_raw = {seg.name: {cid for cid, row in zip(ids, rows, strict=True) if ref.matches(seg.rule, row, row["events"])}
                    for seg in plan.segments}
    expected = _reference_sendable(plan, workspace, rows, ids)
    with Session(engine) as session:
        report = size_plan(session, workspace, workspace_id, plan, now=NOW, sample=100)
        members = {s.name: segment_members(session, workspace, workspace_id, plan, s.name, now=NOW)
                   for s in plan.segments}
    assert {s.name: s.raw_size for s in report.segments} == {k: len(v) for k, v in expected_raw.items()}
    assert report.overlaps["first"]["second"] == len(expected_raw["first"] & expected_raw["second"])
    assert members == expected
    assert {s.name: s.sample_ids for s in report.segments} == expected
