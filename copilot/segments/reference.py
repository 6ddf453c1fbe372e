"""A plain-Python evaluator of plan rules over contact and event rows.

It states what each rule means without SQL: the property tests hold the SQL engine to it,
and the segment benchmark uses it as the naive baseline. Rows are plain dicts shaped like
the tables (contact columns plus ``attributes``; events with ``name``, ``occurred_at``,
``category``, ``product``, ``value`` and ``properties``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

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
    Rule,
    SegmentRule,
)
from copilot.rules import parse_when
from copilot.workspace import CONTACT_COLUMNS, EVENT_COLUMNS, Workspace

__all__ = ["ReferenceEvaluator"]

Row = Mapping[str, Any]


def _as_time(value: Any, ftype: str) -> date | datetime | None:
    when = value if isinstance(value, (date, datetime)) else parse_when(value)
    if when is None:
        return None
    if ftype == "date":
        return when.date() if isinstance(when, datetime) else when
    if not isinstance(when, datetime):
        return datetime.combine(when, time(0), UTC)
    return when.astimezone(UTC).replace(microsecond=0) if when.tzinfo else None


def _typed(value: Any, ftype: str) -> Any:
    """The stored value as the engine sees it; None when missing or of the wrong JSON type."""
    if value is None:
        return None
    if ftype in {"integer", "number"}:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if ftype == "boolean":
        return value if isinstance(value, bool) else None
    if ftype == "list":
        return value if isinstance(value, list) else None
    if ftype in {"date", "datetime"}:
        return _as_time(value, ftype)
    return value if isinstance(value, str) else None


def compare(v: Any, ftype: str, op: str, value: Any, now: datetime) -> bool:
    """``v op value`` with the engine's meaning (``v`` already typed; None is missing)."""
    if op in {"ne", "not_in", "not_exists"}:
        return not compare(v, ftype, {"ne": "eq", "not_in": "in", "not_exists": "exists"}[op], value, now)
    if v is None:
        return False
    if op == "exists":
        return v.strip(" ") != "" if isinstance(v, str) else True
    if op == "contains":
        if ftype == "list":
            return str(value) in v
        return str(value).lower() in v.lower()
    if op in {"older_than_days", "within_last_days"}:
        cutoff, upper = now - timedelta(days=int(value)), now
        if ftype == "date":
            cutoff, upper = cutoff.date(), upper.date()  # type: ignore[assignment]
        return v < cutoff if op == "older_than_days" else cutoff <= v <= upper
    if op == "within_next_days":
        low, high = now, now + timedelta(days=int(value))
        if ftype == "date":
            low, high = low.date(), high.date()  # type: ignore[assignment]
        return low <= v <= high
    if op == "anniversary_within_days":
        days = {(now + timedelta(days=i)).strftime("%m-%d") for i in range(int(value) + 1)}
        if "02-28" in days and "03-01" in days:
            days.add("02-29")
        return f"{v.month:02d}-{v.day:02d}" in days
    if ftype in {"date", "datetime"}:
        value = [_as_time(x, ftype) for x in value] if isinstance(value, list) else _as_time(value, ftype)
    elif ftype in {"integer", "number"}:
        value = [float(x) for x in value] if isinstance(value, list) else float(value)
    if op == "eq":
        return v == value
    if op == "in":
        return v in value
    if op == "between":
        return value[0] <= v <= value[1]
    return {"lt": v < value, "lte": v <= value, "gt": v > value, "gte": v >= value}[op]


class ReferenceEvaluator:
    """Evaluates rules of ``plan`` for one contact at a time, as of ``now``."""

    def __init__(self, workspace: Workspace, plan: Plan | None, *, now: datetime) -> None:
        self.ws = workspace
        self.plan = plan
        self.now = now.astimezone(UTC)

    def matches(self, rule: Rule, contact: Row, events: Sequence[Row]) -> bool:
        if isinstance(rule, AllRule):
            return all(self.matches(r, contact, events) for r in rule.rules)
        if isinstance(rule, AnyRule):
            return any(self.matches(r, contact, events) for r in rule.rules)
        if isinstance(rule, NotRule):
            return not self.matches(rule.rule, contact, events)
        if isinstance(rule, ConsentRule):
            return contact["consent"] == rule.state
        if isinstance(rule, SegmentRule):
            segment = self.plan.segment(rule.segment) if self.plan else None
            if segment is None:
                raise KeyError(rule.segment)
            return self.matches(segment.rule, contact, events)
        if isinstance(rule, FieldRule):
            spec = self.ws.field(rule.field)
            assert spec is not None
            raw = contact.get(rule.field) if rule.field in CONTACT_COLUMNS else contact["attributes"].get(rule.field)
            return compare(_typed(raw, spec.type), spec.type, rule.op, rule.value, self.now)
        if isinstance(rule, EventRule):
            n = self.count(events, rule.event, rule.where, rule.window)
            return {"at_least": n >= rule.count, "at_most": n <= rule.count, "exactly": n == rule.count}[rule.count_op]
        if isinstance(rule, LastPerformedRule):
            times = [e["occurred_at"] for e in self.matching(events, rule.event, rule.where, EventWindow())]
            if rule.op == "never":
                return not times
            cutoff = self.now - timedelta(days=rule.days or 0)
            return bool(times) and (max(times) < cutoff if rule.op == "older_than_days" else max(times) >= cutoff)
        raise TypeError(f"unknown rule {type(rule).__name__}")  # pragma: no cover

    def matching(self, events: Sequence[Row], name: str, where: Sequence[PropertyFilter],
                 window: EventWindow) -> list[Row]:
        return [e for e in events if e["name"] == name and self._in_window(e["occurred_at"], window)
                and all(self._property(e, name, f) for f in where)]

    def count(self, events: Sequence[Row], name: str, where: Sequence[PropertyFilter], window: EventWindow) -> int:
        return len(self.matching(events, name, where, window))

    def _in_window(self, at: datetime, window: EventWindow) -> bool:
        if at > self.now:
            return False
        if window.kind == "within_days":
            return at >= self.now - timedelta(days=window.days or 0)
        if window.kind == "before_days":
            return at < self.now - timedelta(days=window.days or 0)
        if window.kind in {"since", "until"}:
            assert window.on is not None
            edge = datetime.combine(window.on, time(0), UTC)
            return at >= edge if window.kind == "since" else at < edge
        return True

    def _property(self, event: Row, name: str, f: PropertyFilter) -> bool:
        if f.property in EVENT_COLUMNS:
            ftype, raw = EVENT_COLUMNS[f.property], event.get(f.property)
        else:
            spec = self.ws.event(name)
            prop = next((p for p in spec.properties if p.name == f.property), None) if spec else None
            ftype, raw = (prop.type if prop else "string"), event["properties"].get(f.property)
        return compare(_typed(raw, ftype), ftype, f.op, f.value, self.now)
