"""Plain-English back-translation of a segment rule, for the marketer and the reviewer.

"contacts who have loyalty tier vip and have not placed an order in the last 180 days".
"""

from __future__ import annotations

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
    PropertyFilter,
    Rule,
    SegmentRule,
)
from copilot.workspace import Workspace

__all__ = ["describe_rule", "describe_clause"]

# event -> (what they did, "has not" form). Other events read "did <event name>".
_VERBS: dict[str, tuple[str, str]] = {
    "order_placed": ("placed an order", "placed an order"),
    "product_viewed": ("viewed a product", "viewed a product"),
    "cart_abandoned": ("abandoned a cart", "abandoned a cart"),
    "signed_up": ("signed up", "signed up"),
    "email_opened": ("opened an email", "opened an email"),
    "email_clicked": ("clicked an email", "clicked an email"),
    "email_sent": ("were sent an email", "been sent an email"),
    "order_delivered": ("received a delivery", "received a delivery"),
    "review_submitted": ("wrote a review", "written a review"),
    "back_in_stock_requested": ("asked for a back-in-stock alert", "asked for a back-in-stock alert"),
}
_FIELD_OPS = {
    "eq": "{label} {value}", "ne": "{label} other than {value}", "lt": "{label} below {value}",
    "lte": "{label} at most {value}", "gt": "{label} above {value}", "gte": "{label} at least {value}",
    "in": "{label} in {value}", "not_in": "{label} not in {value}", "contains": "{label} containing {value}",
    "exists": "a {label}", "not_exists": "no {label}", "between": "{label} between {value}",
    "older_than_days": "{label} more than {value} days ago", "within_last_days": "{label} in the last {value} days",
    "within_next_days": "{label} in the next {value} days", "anniversary_within_days": "{label} coming round in the next {value} days",
}
_PROP_OPS = {
    "eq": "{label} {value}", "ne": "{label} other than {value}", "lt": "{label} below {value}",
    "lte": "{label} at most {value}", "gt": "{label} above {value}", "gte": "{label} at least {value}",
    "in": "{label} in {value}", "not_in": "{label} not in {value}", "contains": "{label} containing {value}",
    "exists": "a {label}", "not_exists": "no {label}", "between": "{label} between {value}",
}


def _label(name: str) -> str:
    return name.replace("_", " ")


def _value(value: Any) -> str:
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return f"{value[0]} and {value[1]}"
        return ", ".join(_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _verb(event: str) -> tuple[str, str]:
    return _VERBS.get(event, (f"did {_label(event)}", f"done {_label(event)}"))


def _filters(where: list[PropertyFilter]) -> str:
    parts = [_PROP_OPS[f.op].format(label=_label(f.property), value=_value(f.value)) for f in where]
    return f" with {' and '.join(parts)}" if parts else ""


def _window(window: EventWindow) -> str:
    if window.kind == "within_days":
        return f" in the last {window.days} days"
    if window.kind == "before_days":
        return f" more than {window.days} days ago"
    if window.kind == "since":
        return f" since {window.on}"
    if window.kind == "until":
        return f" before {window.on}"
    return ""


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _event(rule: EventRule, negated: bool) -> str:
    done, participle = _verb(rule.event)
    tail = f"{_filters(rule.where)}{_window(rule.window)}"
    n = rule.count
    never = (rule.count_op == "at_least" and n == 1) or (rule.count_op in {"at_most", "exactly"} and n == 0)
    if never and rule.count_op == "at_least":
        return f"have not {participle}{tail}" if negated else f"{done}{tail}"
    if never:  # at most 0 / exactly 0 times
        return f"{done}{tail}" if negated else f"have not {participle}{tail}"
    op = rule.count_op
    if negated and op != "exactly":  # not at least n == at most n-1; not at most n == at least n+1
        op, n = ("at_most", n - 1) if op == "at_least" else ("at_least", n + 1)
    if op == "at_most" and n == 0:
        return f"have not {participle}{tail}"
    count = {"at_least": f"at least {_times(n)}", "at_most": f"at most {_times(n)}",
             "exactly": f"{'not ' if negated else ''}exactly {_times(n)}"}[op]
    return f"{done}{_filters(rule.where)} {count}{_window(rule.window)}"


def describe_clause(rule: Rule, workspace: Workspace | None = None, *, negated: bool = False) -> str:
    """One rule as a clause that follows "contacts who"."""
    if isinstance(rule, FieldRule):
        if rule.op == "anniversary_within_days" and rule.value in (0, "0"):
            text = f"{_label(rule.field)} today"
        else:
            text = _FIELD_OPS[rule.op].format(label=_label(rule.field), value=_value(rule.value))
        return f"do not have {text}" if negated else f"have {text}"
    if isinstance(rule, EventRule):
        return _event(rule, negated)
    if isinstance(rule, LastPerformedRule):
        done, participle = _verb(rule.event)
        tail = _filters(rule.where)
        if rule.op == "never":
            return f"{done}{tail}" if negated else f"have never {participle}{tail}"
        when = f"more than {rule.days} days ago" if rule.op == "older_than_days" else f"in the last {rule.days} days"
        text = f"last {done}{tail} {when}"
        return f"do not match ({text})" if negated else text
    if isinstance(rule, SegmentRule):
        return f"are {'not ' if negated else ''}in segment {rule.segment!r}"
    if isinstance(rule, ConsentRule):
        state = {"subscribed": "subscribed", "unsubscribed": "unsubscribed", "bounced": "bounced"}[rule.state]
        verb = "are" if rule.state == "subscribed" else "have"
        return f"{verb} {'not ' if negated else ''}{state}"
    if isinstance(rule, NotRule):
        return describe_clause(rule.rule, workspace, negated=not negated)
    if isinstance(rule, (AllRule, AnyRule)):
        joiner = " and " if isinstance(rule, AllRule) else " or "
        parts = []
        for sub in rule.rules:
            text = describe_clause(sub, workspace)
            nested = isinstance(sub, (AllRule, AnyRule)) and type(sub) is not type(rule) and len(sub.rules) > 1
            parts.append(f"({text})" if nested else text)
        text = joiner.join(parts)
        if negated:
            return f"do not match ({text})" if len(rule.rules) > 1 else describe_clause(rule.rules[0], workspace,
                                                                                        negated=True)
        return text
    raise TypeError(f"unknown rule {type(rule).__name__}")  # pragma: no cover


def describe_rule(rule: Rule, workspace: Workspace | None = None) -> str:
    """The rule in plain English, e.g. "contacts who have loyalty tier vip and placed an order in the last 90 days"."""
    return f"contacts who {describe_clause(rule, workspace)}"
