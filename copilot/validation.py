"""Plan validation: the plan model's own checks, then the plan against a workspace's catalog and facts.

Every problem names its path in the plan (``segments[2].rule.rules[0].field``) and what
is wrong, so a marketer, a planner retry or a reviewer can fix exactly that spot.

Longer than most modules on purpose: it is one checker walking one plan, and every rule it
checks is a few lines beside the others it depends on (fields, events, steps, copy).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateSyntaxError
from pydantic import ValidationError

from copilot.errors import PlanValidationError
from copilot.plan import (
    BranchStep,
    EventRule,
    FieldRule,
    LastPerformedRule,
    Plan,
    PropertyFilter,
    Rule,
    SendStep,
    Step,
    WaitStep,
)
from copilot.rules import OPS_BY_TYPE, fields_in_rule, segment_refs, value_problem, walk_rule
from copilot.workspace import EVENT_COLUMNS, Workspace

__all__ = [
    "PlanProblem",
    "parse_plan",
    "validate_plan",
    "check_plan",
    "iter_steps",
    "template_variables",
    "TEMPLATE_GLOBALS",
]

# Names a copy template may use without declaring a merge field (none yet: every
# personal value must come from the catalog with a fallback).
TEMPLATE_GLOBALS: frozenset[str] = frozenset()
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan: where (``path``), what (``message``) and a stable ``code``."""

    path: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _raise(problems: Sequence[PlanProblem], what: str) -> NoReturn:
    summary = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    first = problems[0]
    raise PlanValidationError(
        f"{what}: {summary}{more}", path=first.path, problems=[p.to_dict() for p in problems]
    )


# --- parsing: pydantic errors to plan paths ---------------------------------------------

def _error_path(loc: Sequence[Any], data: Any, missing: bool) -> str:
    """Turn pydantic's loc into a plan path, dropping union tags by following the input."""
    out = ""
    node = data
    tagged: object = None
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and node.get("type") == part and tagged is not node:
            tagged = node  # pydantic puts the union tag right after the union's location
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif missing and last:
            pass  # the key that is missing: keep it
        else:
            continue  # a discriminator tag ('all') or a union member ('str'): not in the plan
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _error_message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (not part of the plan model)"
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_not_found":
        return "needs a 'type' saying which kind of rule or step it is"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        msg = f"{msg} (got {err.get('input')!r})"
    return msg


def parse_plan(data: dict[str, Any] | str | bytes) -> Plan:
    """Parse a plan from JSON text or a dict; PlanValidationError lists every problem by path."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            _raise([PlanProblem("(top level)", f"not valid JSON: {exc.msg} at line {exc.lineno}, "
                                               f"column {exc.colno}", "json")], "plan is not JSON")
    if not isinstance(data, dict):
        _raise([PlanProblem("(top level)", "a plan is a JSON object", "type")], "plan is invalid")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        merged: dict[str, list[str]] = {}
        for err in exc.errors(include_url=False):
            path = _error_path(err["loc"], data, err["type"] == "missing")
            message = _error_message(err)
            if message not in merged.setdefault(path, []):
                merged[path].append(message)
        problems = [
            PlanProblem(path, ", or ".join([msgs[0]] + [m.removeprefix("Input should be ") for m in msgs[1:]]),
                        "schema")
            for path, msgs in merged.items()
        ]
        _raise(problems, "plan does not fit the plan model")


# --- helpers shared with the engine and the lint -------------------------------------------

def iter_steps(steps: Sequence[Step], path: str = "trigger.steps") -> Iterator[tuple[str, Step]]:
    """Every step, branches included, with its path."""
    for i, step in enumerate(steps):
        here = f"{path}[{i}]"
        yield here, step
        if isinstance(step, BranchStep):
            yield from iter_steps(step.then_steps, f"{here}.then_steps")
            yield from iter_steps(step.else_steps, f"{here}.else_steps")


def template_variables(text: str, kind: str = "text") -> set[str]:
    """Merge fields a copy template reads (``contact.city`` reads city), as copilot.render reads them;
    raises TemplateSyntaxError when it does not parse or is beyond the language's size and nesting."""
    from copilot.render import template_info

    info = template_info(text, kind=kind)
    if info.error is not None and info.error.context.get("kind") in {"syntax", "limit"}:
        raise TemplateSyntaxError(info.error.message.removeprefix("template syntax error at line "
                                                                  f"{info.error.context.get('line')}: "),
                                  info.error.context.get("line") or 1)
    return set(info.names)


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# --- validation against a workspace ------------------------------------------------------------

class _Checker:
    def __init__(self, plan: Plan, workspace: Workspace) -> None:
        self.plan = plan
        self.ws = workspace
        self.problems: list[PlanProblem] = []

    def add(self, path: str, message: str, code: str) -> None:
        self.problems.append(PlanProblem(path, message, code))

    def run(self) -> list[PlanProblem]:
        self.segments()
        self.trigger()
        self.suppression()
        self.variants()
        self.offers()
        return self.problems

    # segments ----------------------------------------------------------------------------
    def segments(self) -> None:
        names: dict[str, int] = {}
        priorities: dict[int, int] = {}
        for i, seg in enumerate(self.plan.segments):
            here = f"segments[{i}]"
            if seg.name in names:
                self.add(f"{here}.name", f"segment name {seg.name!r} is already used by segments[{names[seg.name]}]",
                         "duplicate_segment")
            names.setdefault(seg.name, i)
            if seg.priority in priorities:
                self.add(f"{here}.priority", f"priority {seg.priority} is already used by "
                         f"segments[{priorities[seg.priority]}]; priorities decide who goes where, so they "
                         "must differ", "duplicate_priority")
            priorities.setdefault(seg.priority, i)
            self.rule(seg.rule, f"{here}.rule")
            rationales = {r.field for r in seg.field_rationales}
            for j, r in enumerate(seg.field_rationales):
                if self.ws.field(r.field) is None and self.ws.event(r.field) is None:
                    self.add(f"{here}.field_rationales[{j}].field",
                             f"unknown field or event {r.field!r}{_suggest(r.field, self.ws.fields_by_name)}",
                             "unknown_field")
            for name in fields_in_rule(seg.rule):
                if name not in rationales and self.ws.field(name) is not None:
                    self.add(f"{here}.field_rationales", f"field {name!r} is used in the rule but has no "
                             "rationale saying how it helps the recipient", "missing_rationale")
        self.segment_cycles()

    def segment_cycles(self) -> None:
        index = {s.name: i for i, s in enumerate(self.plan.segments)}
        graph = {s.name: [n for _, n in segment_refs(s.rule)] for s in self.plan.segments}

        def reaches(start: str, target: str) -> bool:
            stack, seen = list(graph.get(start, [])), set()
            while stack:
                node = stack.pop()
                if node == target:
                    return True
                if node not in seen:
                    seen.add(node)
                    stack.extend(graph.get(node, []))
            return False

        for seg in self.plan.segments:
            here = f"segments[{index[seg.name]}].rule"
            for path, ref in segment_refs(seg.rule, here):
                if ref not in index:
                    self.add(f"{path}.segment", f"no segment named {ref!r} in this plan{_suggest(ref, index)}",
                             "unknown_segment")
                elif ref == seg.name or reaches(ref, seg.name):
                    self.add(f"{path}.segment", f"segment {seg.name!r} refers to {ref!r}, which leads back to "
                             f"{seg.name!r}: references must not form a cycle", "segment_cycle")

    def rule(self, rule: Rule, path: str) -> None:
        for here, node in walk_rule(rule, path):
            if isinstance(node, FieldRule):
                self.field_rule(node, here)
            elif isinstance(node, (EventRule, LastPerformedRule)):
                if self.event(node.event, f"{here}.event"):
                    self.filters(node.event, node.where, f"{here}.where")
                if isinstance(node, LastPerformedRule) and node.op != "never" and node.days is None:
                    self.add(f"{here}.days", f"{node.op} needs days", "missing_value")

    def field_rule(self, node: FieldRule, path: str) -> None:
        field = self.ws.field(node.field)
        if field is None:
            self.add(f"{path}.field", f"unknown field {node.field!r}: not in the workspace catalog"
                     f"{_suggest(node.field, self.ws.fields_by_name)}", "unknown_field")
            return
        allowed_ops = OPS_BY_TYPE[field.type]
        if node.op not in allowed_ops:
            self.add(f"{path}.op", f"operator {node.op!r} does not fit {field.type} field {node.field!r} "
                     f"(use one of: {', '.join(sorted(allowed_ops))})", "operator_type")
            return
        problem = value_problem(node.op, node.value, field.type, field.values)
        if problem:
            self.add(f"{path}.value", f"{node.field}: {problem}", "bad_value")

    def event(self, name: str, path: str) -> bool:
        if self.ws.event(name) is None:
            self.add(path, f"unknown event {name!r}: not in the workspace catalog"
                     f"{_suggest(name, self.ws.events_by_name)}", "unknown_event")
            return False
        return True

    def filters(self, event: str, filters: Sequence[PropertyFilter], path: str) -> None:
        catalog_event = self.ws.event(event)
        assert catalog_event is not None
        props = {p.name: p for p in catalog_event.properties}
        for i, f in enumerate(filters):
            here = f"{path}[{i}]"
            prop = props.get(f.property)
            if prop is None:
                self.add(f"{here}.property", f"event {event!r} has no property {f.property!r} in the catalog"
                         f"{_suggest(f.property, props)}", "unknown_property")
                continue
            ftype = prop.type if prop.name not in EVENT_COLUMNS else EVENT_COLUMNS[prop.name]
            if f.op not in OPS_BY_TYPE[ftype]:
                self.add(f"{here}.op", f"operator {f.op!r} does not fit {ftype} property {f.property!r}",
                         "operator_type")
                continue
            problem = value_problem(f.op, f.value, ftype, prop.values)
            if problem:
                self.add(f"{here}.value", f"{f.property}: {problem}", "bad_value")

    # trigger -------------------------------------------------------------------------------
    def trigger(self) -> None:
        t = self.plan.trigger
        if t.kind == "event" and t.entry_event and self.event(t.entry_event, "trigger.entry_event"):
            self.filters(t.entry_event, t.entry_filter, "trigger.entry_filter")
            event = self.ws.event(t.entry_event)
            if t.match_property and event and t.match_property not in {p.name for p in event.properties}:
                self.add("trigger.match_property", f"event {t.entry_event!r} has no property {t.match_property!r}",
                         "unknown_property")
        try:
            ZoneInfo(t.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.add("trigger.timezone", f"unknown time zone {t.timezone!r} (use an IANA name such as "
                     "'America/New_York')", "bad_timezone")
        if t.kind == "schedule" and t.send_at is not None and t.send_at.tzinfo is None and not t.recipient_local_time:
            self.add("trigger.send_at", "a send time needs its UTC offset, or set recipient_local_time",
                     "naive_datetime")
        if t.kind == "recurring" and t.cron:
            self.cron(t.cron)
        if t.kind == "date" and t.date_field:
            f = self.ws.field(t.date_field)
            if f is None:
                self.add("trigger.date_field", f"unknown field {t.date_field!r}: not in the workspace catalog"
                         f"{_suggest(t.date_field, self.ws.fields_by_name)}", "unknown_field")
            elif f.type not in {"date", "datetime"}:
                self.add("trigger.date_field", f"{t.date_field!r} is a {f.type} field; a date trigger needs a date "
                         "or datetime field", "bad_type")
        if t.kind == "threshold" and t.condition is not None:
            self.rule(t.condition, "trigger.condition")
        messages = {v.message for v in self.plan.variants}
        sends = 0
        for here, step in iter_steps(t.steps):
            if isinstance(step, SendStep):
                sends += 1
                if step.message not in messages:
                    self.add(f"{here}.message", f"no variant has message {step.message!r}: this step would send "
                             "nothing", "send_without_variants")
            elif isinstance(step, WaitStep):
                if self.event(step.event, f"{here}.event"):
                    self.filters(step.event, step.where, f"{here}.where")
            elif isinstance(step, BranchStep):
                self.rule(step.rule, f"{here}.rule")
            elif step.at_local_time is not None and not _HHMM.match(step.at_local_time):
                self.add(f"{here}.at_local_time", f"{step.at_local_time!r} is not a time of day (HH:MM)", "bad_time")
        if sends == 0:
            self.add("trigger.steps", "no send step: nobody would get an email", "no_send_step")
        for i, exit_ in enumerate(t.exit_conditions):
            if self.event(exit_.event, f"trigger.exit_conditions[{i}].event"):
                self.filters(exit_.event, exit_.where, f"trigger.exit_conditions[{i}].where")

    def cron(self, expr: str) -> None:
        for part, (low, high), name in zip(expr.split(), _CRON_RANGES, _CRON_NAMES, strict=True):
            for item in part.split(","):
                body, _, step = item.partition("/")
                numbers = [] if body == "*" else body.split("-")
                ok = (not step or step.isdigit()) and len(numbers) <= 2 and all(
                    n.isdigit() and low <= int(n) <= high for n in numbers)
                if not ok:
                    self.add("trigger.cron", f"cron {name} {item!r} is not valid (allowed {low}-{high}, *, lists, "
                             "ranges and /steps)", "bad_cron")
                    return

    # suppression, variants, offers -------------------------------------------------------------
    def suppression(self) -> None:
        s = self.plan.suppression
        for i, rule in enumerate(s.exclusions):
            self.rule(rule, f"suppression.exclusions[{i}]")
        if s.quiet_hours:
            for key in ("start", "end"):
                value = getattr(s.quiet_hours, key)
                if not _HHMM.match(value):
                    self.add(f"suppression.quiet_hours.{key}", f"{value!r} is not a time of day (HH:MM)", "bad_time")

    def variants(self) -> None:
        segments = {s.name for s in self.plan.segments}
        sent = {step.message for _, step in iter_steps(self.plan.trigger.steps) if isinstance(step, SendStep)}
        seen: dict[tuple[str, str, str, str], int] = {}
        for i, v in enumerate(self.plan.variants):
            here = f"variants[{i}]"
            if v.segment not in segments:
                self.add(f"{here}.segment", f"no segment named {v.segment!r} in this plan{_suggest(v.segment, segments)}",
                         "unknown_segment")
            if v.message not in sent:
                self.add(f"{here}.message", f"no send step sends message {v.message!r}: this copy would never go "
                         "out", "variant_not_sent")
            key = (v.segment, v.message, v.key, v.locale)  # one variant per language of each A/B arm
            if key in seen:
                self.add(f"{here}.key", f"variant {v.key} ({v.locale}) of {v.segment!r} / {v.message!r} is already "
                         f"variants[{seen[key]}]", "duplicate_variant")
            seen.setdefault(key, i)
            if v.locale not in self.ws.brand.locales:
                self.add(f"{here}.locale", f"locale {v.locale!r} is not one of the brand's locales "
                         f"({', '.join(self.ws.brand.locales)})", "bad_locale")
            self.merge_fields(v, here)

    def merge_fields(self, v: Any, here: str) -> None:
        declared: set[str] = set()
        for j, mf in enumerate(v.merge_fields):
            declared.add(mf.name)
            if self.ws.field(mf.name) is None:
                self.add(f"{here}.merge_fields[{j}].name", f"merge field {mf.name!r} is not a catalog field"
                         f"{_suggest(mf.name, self.ws.fields_by_name)}", "unknown_merge_field")
        for spec, source in v.copy_items():
            attr = spec.name
            try:
                used = template_variables(source, spec.kind)
            except TemplateSyntaxError as exc:
                self.add(f"{here}.{attr}", f"template syntax error on line {exc.lineno}: {exc.message}",
                         "template_syntax")
                continue
            for name in sorted(used - declared - TEMPLATE_GLOBALS):
                where = "is not a catalog field" if self.ws.field(name) is None else "has no declared fallback"
                self.add(f"{here}.{attr}", f"merge field {{{{ {name} }}}} {where}: declare it in merge_fields "
                         "with a fallback", "undeclared_merge_field")

    def offers(self) -> None:
        for i, offer in enumerate(self.plan.offers):
            if offer not in self.ws.offers_by_id:
                self.add(f"offers[{i}]", f"no offer {offer!r} in the fact sheet{_suggest(offer, self.ws.offers_by_id)}",
                         "unknown_offer")


def validate_plan(plan: Plan, workspace: Workspace) -> list[PlanProblem]:
    """Everything wrong with ``plan`` in ``workspace``; an empty list when it is valid."""
    return _Checker(plan, workspace).run()


def check_plan(plan: Plan, workspace: Workspace) -> None:
    """Raise PlanValidationError (``problems``: [{path, message, code}]) unless the plan is valid."""
    problems = validate_plan(plan, workspace)
    if problems:
        _raise(problems, f"plan does not fit workspace {workspace.slug!r}")
