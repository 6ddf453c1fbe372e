"""The offline planner's segments: the playbook's segments fitted to the audience the brief names,
with only catalog fields that are safe to use, each with its rationale."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import TypeAdapter

from copilot.brief import AudienceHint, normalize, risk_reason
from copilot.plan import (
    AllRule,
    EventRule,
    FieldRationale,
    FieldRule,
    LastPerformedRule,
    PropertyFilter,
    Rule,
    Segment,
)
from copilot.playbooks import SegmentSpec
from copilot.rules import events_in_rule, fields_in_rule, walk_rule

__all__ = ["Segments", "requires", "rule_names", "substitute"]

_RULE = TypeAdapter(Rule)


def rule_names(rule: Rule) -> tuple[set[str], set[str]]:
    """(fields, events) a rule reads."""
    fields, events = set(fields_in_rule(rule)), set()
    for _, node in walk_rule(rule, ""):
        if isinstance(node, (EventRule, LastPerformedRule)):
            events.add(node.event)
    return fields, events


def requires(rule: Rule, condition: Rule) -> bool:
    """Does ``rule`` require ``condition`` outright (as itself or one term of its top-level AND)?"""
    if isinstance(rule, AllRule):
        return any(requires(r, condition) for r in rule.rules)
    return rule == condition

def substitute(data: Any, values: dict[str, str]) -> Any:
    """Fill "[[sku]]" / "[[category]]" in a rule or step given as JSON data."""
    if isinstance(data, dict):
        return {k: substitute(v, values) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(v, values) for v in data]
    if isinstance(data, str) and data.startswith("[[") and data.endswith("]]"):
        return values.get(data[2:-2], data)
    return data

def _has_placeholder(data: Any) -> bool:
    return "[[" in json.dumps(data)


class Segments:
    """Mixin of the composer (state in copilot.planner.compose._Composer): who gets the plan."""

    # -- segments -----------------------------------------------------------------------------------
    ENTRY_WINDOW_DAYS = 30  # a date moment's segments are sized on who enters in the next month

    def entry_rule(self) -> Rule | None:
        """Who enters a date or threshold moment soon, as a rule each segment carries (so its size
        is who would get it in the next month, or who meets the threshold now)."""
        spec = self.book.trigger
        if spec.kind == "threshold":
            return self.threshold_condition()  # type: ignore[attr-defined]
        if spec.kind != "date" or not spec.date_field:
            return None
        if spec.every_year:
            return FieldRule(field=spec.date_field, op="anniversary_within_days", value=self.ENTRY_WINDOW_DAYS)
        lead = max(0, -self.entry_offset())  # type: ignore[attr-defined]
        return FieldRule(field=spec.date_field, op="within_next_days", value=self.ENTRY_WINDOW_DAYS + lead)

    def _usable(self, rule: Rule) -> str | None:
        fields, events = rule_names(rule)
        for f in sorted(fields):
            if self.ws.field(f) is None:
                return f"the catalog has no field {f}"
            reason = risk_reason(self.ws, f)
            if reason:
                return reason
            if "segmentation" not in self.ws.field(f).allowed_uses:  # type: ignore[union-attr]
                return f"{f} is not allowed for segmentation"
        for e in sorted(events):
            if self.ws.event(e) is None:
                return f"the catalog has no event {e}"
        return None

    def _hints(self) -> list[AudienceHint]:
        hints = []
        named_moment = {normalize(t) for t in self.r.goal_text.split(", ")}
        for h in self.r.audience:
            if normalize(h.text) in named_moment:
                continue  # "new subscribers" in a welcome brief names the moment, not a narrower audience
            reason = self._usable(h.rule)
            if reason:
                self.notes.append(f"I could not target {h.label}: {reason}.")
            else:
                hints.append(h)
        if self.book.product == "none" and self.book.trigger.kind != "event" and (self.r.products or self.r.categories):
            hint = self._bought_hint()
            if hint:
                hints.append(hint)
        return hints

    def _bought_hint(self) -> AudienceHint | None:
        purchase = self.ws.role_event("purchase")
        if purchase is None:
            return None
        if self.r.products:
            names = [self.ws.products_by_sku[s].name for s in self.r.products]
            where = [PropertyFilter(property="product", op="in" if len(names) > 1 else "eq",
                                    value=list(self.r.products) if len(names) > 1 else self.r.products[0])]
            label = "people who bought " + " or ".join(names)
        else:
            where = [PropertyFilter(property="category", op="in" if len(self.r.categories) > 1 else "eq",
                                    value=list(self.r.categories) if len(self.r.categories) > 1
                                    else self.r.categories[0])]
            label = "people who bought " + " or ".join(c.replace("_", " ") for c in self.r.categories)
        return AudienceHint(label, label, EventRule(event=purchase.name, where=where), (), (purchase.name,))

    @staticmethod
    def _conflicts(hint: AudienceHint, rule: Rule) -> tuple[bool, bool]:
        """(contradicts, same): does the segment already pin the hint's field to another / the same value
        (or already require the hint's event)?"""
        if not isinstance(hint.rule, FieldRule):
            events = rule_names(rule)[1]
            return False, bool(hint.events) and not hint.fields and set(hint.events) <= events \
                and isinstance(hint.rule, EventRule) and not hint.rule.where and hint.rule.window.kind == "ever"
        if hint.rule.op != "eq":
            return False, False
        contradicts = same = False
        for _, node in walk_rule(rule, ""):
            if isinstance(node, FieldRule) and node.field == hint.rule.field and node.op == "eq":
                if node.value == hint.rule.value:
                    same = True
                else:
                    contradicts = True
        return contradicts, same

    def _adapt_rule(self, rule: Rule) -> Rule | None:
        """Fill product placeholders and the brief's lapse window into a playbook rule."""
        data = rule.model_dump(mode="json")
        values = {}
        if self.product:
            values["sku"] = self.product.sku
        if self.category:
            values["category"] = self.category
        data = substitute(data, values)
        if _has_placeholder(data):
            return None
        adapted = _RULE.validate_python(data)
        window = self.r.lapse_days or self.r.inactive_days
        if window:
            lapse = self.book.lapse
            for _, node in walk_rule(adapted, ""):
                if isinstance(node, FieldRule) and node.field in lapse.fields and node.op == "older_than_days":
                    node.value = window
                elif isinstance(node, LastPerformedRule) and node.event in lapse.events \
                        and node.op == "older_than_days":
                    node.days = window
        return adapted

    def _lapsed(self, text: str) -> str:
        """The playbook's "120 days" in a text, as the brief's window when the brief gives one."""
        default, window = self.book.lapse.days, self.r.lapse_days or self.r.inactive_days
        if not (default and window) or default == window:
            return text
        return re.sub(rf"\b{default} days\b", f"{window} days", text)

    def _rationales(self, spec: SegmentSpec, rule: Rule, hints: list[AudienceHint]) -> list[FieldRationale]:
        out = [r.model_copy(update={"rationale": self._lapsed(r.rationale)}) for r in spec.field_rationales]
        have = {r.field for r in out}
        used = [*fields_in_rule(rule), *events_in_rule(rule)]
        for name in used:
            if name in have:
                continue
            f = self.ws.field(name) or self.ws.event(name)
            assert f is not None
            hint = next((h for h in hints if name in h.fields), None)
            told = {"zero_party": "the person told us", "first_party": "it comes from their own activity with us",
                    "second_party": "a partner shared it with their consent"}.get(f.provenance, f.provenance)
            why = f"The brief asks for {hint.label}" if hint else "It decides which message fits"
            out.append(FieldRationale(field=name, rationale=f"{why}; {f.description.rstrip('.').lower()} "
                                                            f"({told})."))
            have.add(name)
        return [r for r in out if r.field in set(used)]

    def segments(self) -> tuple[list[tuple[Segment, SegmentSpec]], list[str]]:
        hints = self._hints()
        specs: list[tuple[SegmentSpec, Rule]] = []
        for spec in self.book.segments:
            rule = self._adapt_rule(spec.rule)
            if rule is None:
                continue
            reason = self._usable(rule)
            if reason:
                self.notes.append(f"I left out the {spec.name} segment: {reason}.")
                continue
            specs.append((spec, rule))
        # "but not for VIPs": a segment that is only ever those people would send to nobody
        for h in self.r.constraints.exclusions:
            kept = [(s, r) for s, r in specs if not requires(r, h.rule)]
            for s, _ in specs:
                if (s, _) not in kept:
                    self.notes.append(f"I left out the {s.name} segment: the brief excludes {h.label}.")
            specs = kept
        # a hint that one segment already is ("VIP cart abandoners") keeps just that segment
        for hint in hints:
            same = [(s, r) for s, r in specs if self._conflicts(hint, r)[1]]
            if same:
                specs = same
        out: list[tuple[Segment, SegmentSpec]] = []
        for spec, rule in specs:
            extra = []
            for hint in hints:
                contradicts, same = self._conflicts(hint, rule)
                if contradicts:
                    break
                if not same:
                    extra.append(hint)
            else:
                combined = rule
                entry = self.entry_rule()
                if extra or entry is not None:
                    inner = list(rule.rules) if isinstance(rule, AllRule) else [rule]
                    combined = AllRule(rules=[h.rule for h in extra] + inner + ([entry] if entry else []))
                description = self._lapsed(spec.description) + (
                    f" (only {', '.join(h.label for h in extra)})" if extra else "")
                out.append((Segment(name=spec.name, priority=len(out) + 1, description=description, rule=combined,
                                    hypothesis=spec.hypothesis.model_copy(update={
                                        k: self._lapsed(v) for k, v in spec.hypothesis.model_dump().items()
                                        if isinstance(v, str)}),
                                    field_rationales=self._rationales(spec, combined, extra)), spec))
        if self.audience and self.audience.contacts:
            for seg, _ in out:
                _, events = rule_names(seg.rule)
                empty = [e for e in sorted(events) if self.audience.event_contacts.get(e, 1) == 0]
                if empty:
                    self.notes.append(f"Nobody in the audience has {empty[0].replace('_', ' ')} yet, so "
                                      f"{seg.name} is empty for now.")
        return out, [h.label for h in hints]
