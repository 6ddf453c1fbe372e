"""What a segment rule may say, and how to walk one: shared by validation, the segment engine and the lint.

Operators are grouped by catalog field type; ``walk_rule`` yields every node of a rule
tree with its path in the plan (``segments[0].rule.rules[1]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from copilot.plan import AllRule, AnyRule, EventRule, FieldRule, LastPerformedRule, NotRule, Rule, SegmentRule

__all__ = [
    "OPS_BY_TYPE",
    "LIST_OPS",
    "NO_VALUE_OPS",
    "DAYS_OPS",
    "walk_rule",
    "fields_in_rule",
    "events_in_rule",
    "segment_refs",
    "pinned_values",
    "guaranteed_fields",
    "value_problem",
    "parse_when",
]

_EQUALITY = frozenset({"eq", "ne", "in", "not_in", "exists", "not_exists"})
_ORDER = frozenset({"lt", "lte", "gt", "gte", "between"})

# Which operators make sense on which catalog type. ``contains`` is a substring test on
# strings and a membership test on lists; dates take relative windows in days.
OPS_BY_TYPE: dict[str, frozenset[str]] = {
    "string": _EQUALITY | {"contains"},
    "enum": _EQUALITY,
    "integer": _EQUALITY | _ORDER,
    "number": _EQUALITY | _ORDER,
    "boolean": frozenset({"eq", "ne", "exists", "not_exists"}),
    "date": _EQUALITY | _ORDER | {"older_than_days", "within_last_days", "within_next_days", "anniversary_within_days"},
    "datetime": frozenset({"exists", "not_exists"}) | _ORDER | {"older_than_days", "within_last_days",
                                                               "within_next_days", "anniversary_within_days"},
    "list": frozenset({"contains", "exists", "not_exists"}),
}
LIST_OPS = frozenset({"in", "not_in"})
NO_VALUE_OPS = frozenset({"exists", "not_exists"})
DAYS_OPS = frozenset({"older_than_days", "within_last_days", "within_next_days", "anniversary_within_days"})


def walk_rule(rule: Rule, path: str) -> Iterator[tuple[str, Rule]]:
    """Every node of ``rule`` (itself first) with its path, depth first."""
    yield path, rule
    if isinstance(rule, (AllRule, AnyRule)):
        for i, sub in enumerate(rule.rules):
            yield from walk_rule(sub, f"{path}.rules[{i}]")
    elif isinstance(rule, NotRule):
        yield from walk_rule(rule.rule, f"{path}.rule")


def fields_in_rule(rule: Rule) -> list[str]:
    """Contact fields the rule itself compares (not those of segments it references), in order."""
    seen: dict[str, None] = {}
    for _, node in walk_rule(rule, ""):
        if isinstance(node, FieldRule):
            seen.setdefault(node.field, None)
    return list(seen)


def events_in_rule(rule: Rule) -> list[str]:
    """Catalog events the rule itself tests (event counts and "last performed"), in order."""
    seen: dict[str, None] = {}
    for _, node in walk_rule(rule, ""):
        if isinstance(node, (EventRule, LastPerformedRule)):
            seen.setdefault(node.event, None)
    return list(seen)


def pinned_values(rule: Rule, field: str) -> set[str] | None:
    """The values of ``field`` a rule restricts its contacts to (through AND, unions through OR), or None
    when it does not pin them ("Spanish speakers": {'es'})."""
    if isinstance(rule, FieldRule):
        if rule.field != field:
            return None
        if rule.op == "eq" and isinstance(rule.value, str):
            return {rule.value}
        if rule.op == "in" and isinstance(rule.value, list):
            return {str(v) for v in rule.value}
        return None
    if isinstance(rule, AllRule):
        found = [p for p in (pinned_values(r, field) for r in rule.rules) if p is not None]
        return set.intersection(*found) if found else None
    if isinstance(rule, AnyRule):
        branches = [pinned_values(r, field) for r in rule.rules]
        if not branches or any(b is None for b in branches):
            return None
        return set().union(*(b for b in branches if b is not None))
    return None


def guaranteed_fields(rule: Rule) -> set[str]:
    """Fields every contact the rule selects has a non-blank value for: ``exists`` (the engine's test:
    not missing, not blank), or equal to / one of non-blank values, through AND (and through OR when
    every branch guarantees it). Which values exactly: ``pinned_values``."""
    if isinstance(rule, FieldRule):
        if rule.op == "exists":
            return {rule.field}
        values = rule.value if isinstance(rule.value, list) else [rule.value]
        if rule.op in {"eq", "in"} and values and all(isinstance(v, str) and v.strip() or isinstance(v, (int, float))
                                                          and not isinstance(v, bool) for v in values):
            return {rule.field}
        return set()
    if isinstance(rule, AllRule):
        return set().union(*(guaranteed_fields(r) for r in rule.rules)) if rule.rules else set()
    if isinstance(rule, AnyRule):
        branches = [guaranteed_fields(r) for r in rule.rules]
        return set.intersection(*branches) if branches else set()
    if isinstance(rule, NotRule) and isinstance(rule.rule, FieldRule) and rule.rule.op == "not_exists":
        return {rule.rule.field}
    return set()


def segment_refs(rule: Rule, path: str = "") -> list[tuple[str, str]]:
    """(path, segment name) of every segment reference in the rule."""
    return [(p, node.segment) for p, node in walk_rule(rule, path) if isinstance(node, SegmentRule)]


def parse_when(value: object) -> datetime | date | None:
    """An ISO date or date-time string as a date / datetime; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _scalar_problem(value: object, ftype: str, allowed: list[str]) -> str | None:
    if ftype in {"string", "list"}:
        return None if isinstance(value, str) else f"expects text, got {value!r}"
    if ftype == "enum":
        if not isinstance(value, str):
            return f"expects one of {', '.join(allowed)}, got {value!r}"
        if allowed and value not in allowed:
            return f"{value!r} is not an allowed value (allowed: {', '.join(allowed)})"
        return None
    if ftype == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"expects a whole number, got {value!r}"
    if ftype == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expects a number, got {value!r}"
    if ftype == "boolean":
        return None if isinstance(value, bool) else f"expects true or false, got {value!r}"
    if ftype in {"date", "datetime"}:
        when = parse_when(value)
        if when is None:
            return f"expects an ISO date such as 2026-03-01, got {value!r}"
        if isinstance(when, datetime) and when.tzinfo is None:
            return f"a date-time needs its UTC offset, e.g. {value}+00:00"
        return None
    return None


def value_problem(op: str, value: object, ftype: str, allowed: list[str]) -> str | None:
    """Why ``value`` does not fit ``op`` on a field of type ``ftype``; None when it fits."""
    if op in NO_VALUE_OPS:
        return None if value is None else f"{op} takes no value"
    if value is None:
        return f"{op} needs a value"
    if op in DAYS_OPS:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"{op} takes a number of days (a whole number >= 0), got {value!r}"
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return f"{op} takes a non-empty list of values"
        for item in value:
            problem = _scalar_problem(item, ftype, allowed)
            if problem:
                return problem
        return None
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return "between takes [low, high]"
        for item in value:
            problem = _scalar_problem(item, ftype, allowed)
            if problem:
                return problem
        low, high = value
        if ftype in {"date", "datetime"}:
            low, high = str(low), str(high)
        if low > high:  # type: ignore[operator]
            return f"between low {value[0]!r} is above high {value[1]!r}"
        return None
    if isinstance(value, list):
        return f"{op} takes one value, not a list"
    return _scalar_problem(value, "string" if ftype == "list" else ftype, allowed)
