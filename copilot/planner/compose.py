"""Compose a plan from a brief reading, one playbook and the workspace (the offline planner's core).

Everything the plan states comes from the playbook (segments, timings, copy patterns), the
fact sheet (offers, products, policies, dates) or the brief's exact words. What cannot be
settled that way becomes a question for the marketer; what was left out and why becomes a note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import TypeAdapter

from copilot.brief import AudienceHint, BriefReading, normalize, risk_reason
from copilot.plan import (
    AllRule,
    DelayStep,
    EventRule,
    FieldRationale,
    FieldRule,
    FrequencyCap,
    LastPerformedRule,
    Plan,
    PropertyFilter,
    Rule,
    Segment,
    SendStep,
    SendWindow,
    Step,
    Suppression,
    Trigger,
    WaitStep,
)
from copilot.planner.base import AudienceStats
from copilot.planner.copywriter import CopyContext, long_date, money, offer_short, write_variants
from copilot.planner.timeline import DAY_NAMES, describe_recurring
from copilot.playbooks import MessageSpec, Playbook, SegmentSpec
from copilot.rules import events_in_rule, fields_in_rule, walk_rule
from copilot.workspace import Offer, Product, Workspace

__all__ = ["Draft", "compose_plan", "rule_names"]

_RULE = TypeAdapter(Rule)


def _requires(rule: Rule, condition: Rule) -> bool:
    """Does ``rule`` require ``condition`` outright (as itself or one term of its top-level AND)?"""
    if isinstance(rule, AllRule):
        return any(_requires(r, condition) for r in rule.rules)
    return rule == condition


def unknown_product_text(reading: BriefReading) -> str:
    """What to say when the brief names a product the fact sheet lacks ("Cloudstride 4")."""
    typed, nearest = reading.unknown_products[0]
    return (f"{typed} is not on the fact sheet (the closest product it lists is {nearest}), so the copy cannot "
            "name it, price it or link to it. Add it to facts.yaml and ask again, or name a product the fact "
            "sheet lists.")
_STEPS = TypeAdapter(list[Step])


@dataclass
class Draft:
    plan: Plan | None
    questions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audience: list[str] = field(default_factory=list)  # groups the brief narrowed the plan to


def rule_names(rule: Rule) -> tuple[set[str], set[str]]:
    """(fields, events) a rule reads."""
    fields, events = set(fields_in_rule(rule)), set()
    for _, node in walk_rule(rule, ""):
        if isinstance(node, (EventRule, LastPerformedRule)):
            events.add(node.event)
    return fields, events


def _substitute(data: Any, values: dict[str, str]) -> Any:
    """Fill "[[sku]]" / "[[category]]" in a rule or step given as JSON data."""
    if isinstance(data, dict):
        return {k: _substitute(v, values) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, values) for v in data]
    if isinstance(data, str) and data.startswith("[[") and data.endswith("]]"):
        return values.get(data[2:-2], data)
    return data


def _has_placeholder(data: Any) -> bool:
    return "[[" in json.dumps(data)


class _Composer:
    def __init__(self, reading: BriefReading, book: Playbook, ws: Workspace, now: datetime,
                 audience: AudienceStats | None) -> None:
        self.r, self.book, self.ws, self.now = reading, book, ws, now
        self.today = now.date()
        self.audience = audience
        self.questions: list[str] = []
        self.notes: list[str] = []
        self.offer: Offer | None = None
        self.offer_for_all = False
        self.product: Product | None = None
        self.category: str | None = None
        self._offer_note: int | None = None

    # -- offer --------------------------------------------------------------------------------------
    def _offer_list(self) -> str:
        cur = self.ws.brand.currency
        items = [f"{o.name} ({offer_short(o, cur)}{', code ' + o.code if o.code else ''}, "
                 f"{long_date(o.starts)} to {long_date(o.ends)})" for o in self.ws.facts.offers]
        return "; ".join(items) if items else "no offers at all"

    def _hint_offer(self) -> Offer | None:
        hint = self.book.offer
        live = [o for o in self.ws.facts.offers if o.ends >= self.today]
        by_kind = [o for o in live if o.kind in hint.kinds]
        words = [w.lower() for w in hint.audience_words]
        by_words = [o for o in live if any(w in f"{o.name} {o.audience} {o.terms}".lower() for w in words)]
        both = [o for o in by_kind if o in by_words]
        for group in (both, by_kind, by_words):
            if group:
                return sorted(group, key=lambda o: (o.starts, o.id))[0]
        return None

    def choose_offer(self) -> None:
        r = self.r
        for o in r.unmatched_offers:
            what = {"bogo": "buy-one-get-one", "code": f"the code {o.code}"}.get(o.kind, f"“{o.text}”")
            self.questions.append(
                f"The brief asks for {what}, but the fact sheet has no such offer, so the copy carries no "
                f"offer for now. The fact sheet lists: {self._offer_list()}. Add the offer to facts.yaml "
                "or tell me which of these to use.")
        if r.offer_refused:
            self.notes.append("No offer, as the brief asks.")
            return
        if r.unmatched_offers:
            return
        matched = [o for o in r.offers if o.offer_id]
        ambiguous = [o for o in r.offers if not o.offer_id and len(o.candidates) > 1]
        if matched:
            self.offer = self.ws.offers_by_id[matched[0].offer_id or ""]
            self.offer_for_all = True
        elif ambiguous:
            hinted = self._hint_offer()
            choice = hinted if hinted and hinted.id in ambiguous[0].candidates else \
                self.ws.offers_by_id[ambiguous[0].candidates[0]]
            self.offer, self.offer_for_all = choice, True
            self.notes.append(f"Several fact-sheet offers match “{ambiguous[0].text}”; I used {choice.name} "
                              f"({choice.id}). Name another one if you prefer.")
        elif any(o.kind == "unspecified" for o in r.offers) or self.book.offer.suggest:
            hinted = self._hint_offer()
            asked = any(o.kind == "unspecified" for o in r.offers)
            if hinted is None:
                if asked:
                    self.questions.append(f"Which offer should the copy carry? The fact sheet lists: "
                                          f"{self._offer_list()}.")
                return
            self.offer, self.offer_for_all = hinted, asked
            who = "" if asked else " for the segments it suits"
            self._offer_note = len(self.notes)
            self.notes.append(f"I used the fact sheet's offer “{hinted.name}” ({offer_short(hinted, self.ws.brand.currency)}"
                              f"{', code ' + hinted.code if hinted.code else ''}){who}; say “no offer” to drop it.")
        if self.offer is None:
            return
        o = self.offer
        if o.ends < self.today:
            self.questions.append(f"The {o.name} offer ended on {long_date(o.ends)}, so the copy carries no offer. "
                                  "Extend it in facts.yaml or pick a current one.")
            self.offer = None
            return
        if o.applies_to and self.product and not {self.product.sku, self.product.category} & set(o.applies_to):
            covers = ", ".join(t.replace("_", " ") for t in o.applies_to)
            if self.offer_for_all:
                self.questions.append(f"{o.name} covers {covers} only, not {self.product.name}, so the copy carries "
                                      "no offer. Pick another offer or another product.")
            elif self._offer_note is not None:
                del self.notes[self._offer_note]
                self._offer_note = None
            self.offer = None
            return
        words = [w.lower() for w in self.book.offer.audience_words]
        if o.audience and words and not any(w in f"{o.name} {o.audience}".lower() for w in words):
            self.notes.append(f"The fact sheet says {o.name} is for {o.audience}; check that it fits this audience.")

    # -- product ------------------------------------------------------------------------------------
    def choose_product(self) -> bool:
        """False when the playbook cannot work without a product the brief and fact sheet settle."""
        mode = self.book.product
        products = [self.ws.products_by_sku[s] for s in self.r.products]
        cur = self.ws.brand.currency
        if self.r.categories:
            self.category = self.r.categories[0]
        if self.r.unknown_products and not products:
            missing = unknown_product_text(self.r)
            if mode == "none":
                self.notes.append(missing)
                return True
            self.questions.append(missing)
            return False
        if mode == "none":
            return True
        if mode == "price_drop":
            dropped = [p for p in self.ws.facts.products if p.previous_price and p.previous_price > p.price]
            if products:
                p = products[0]
                if not (p.previous_price and p.previous_price > p.price):
                    self.questions.append(
                        f"The fact sheet lists {p.name} at {money(p.price, cur)} with no earlier, higher price, so "
                        "there is no price drop to announce. Update facts.yaml (previous_price) or pick "
                        + ("one of: " + ", ".join(d.name for d in dropped) if dropped else "another moment") + ".")
                    return False
                self.product = p
            elif len(dropped) == 1:
                self.product = dropped[0]
                self.notes.append(f"The brief names no product; {dropped[0].name} is the only one whose price "
                                  f"dropped in the fact sheet ({money(dropped[0].previous_price or 0, cur)} to "
                                  f"{money(dropped[0].price, cur)}), so the plan is about it.")
            else:
                self.questions.append("Which product dropped in price? "
                                      + ("The fact sheet shows drops for: " + ", ".join(d.name for d in dropped)
                                         if dropped else "The fact sheet shows no price drops.") + ".")
                return False
        elif mode == "restock":
            if not products:
                self.questions.append("Which product is back in stock? Name it as the fact sheet does.")
                return False
            p = products[0]
            if not p.in_stock:
                self.questions.append(f"The fact sheet lists {p.name} as out of stock, so I won't announce it as "
                                      "back. Set in_stock: true in facts.yaml once it is, then ask again.")
                return False
            self.product = p
        elif products:
            self.product = products[0]
        elif mode == "required":
            category = self.category or self.book.default_category
            pool = [p for p in self.ws.facts.products if p.in_stock and (category is None or p.category == category)]
            if not pool:
                self.questions.append("Which product is this about? Name it as the fact sheet does.")
                return False
            self.product = pool[0]
            self.notes.append(f"The brief names no product; I used {pool[0].name} from the fact sheet "
                              f"({pool[0].category.replace('_', ' ')}). Name another if you prefer.")
        if self.product is not None:
            self.category = self.product.category
            if not self.product.in_stock and mode != "restock":
                self.notes.append(f"The fact sheet lists {self.product.name} as out of stock; the copy does not "
                                  "promise it is available.")
        return True

    # -- segments -----------------------------------------------------------------------------------
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
        if not self.ws.event("order_placed"):
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
        return AudienceHint(label, label, EventRule(event="order_placed", where=where), (), ("order_placed",))

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
        data = _substitute(data, values)
        if _has_placeholder(data):
            return None
        adapted = _RULE.validate_python(data)
        if self.r.lapse_days:
            lapse = self.book.lapse
            for _, node in walk_rule(adapted, ""):
                if isinstance(node, FieldRule) and node.field in lapse.fields and node.op == "older_than_days":
                    node.value = self.r.lapse_days
                elif isinstance(node, LastPerformedRule) and node.event in lapse.events \
                        and node.op == "older_than_days":
                    node.days = self.r.lapse_days
        return adapted

    def _lapsed(self, text: str) -> str:
        """The playbook's "120 days" in a text, as the brief's window when the brief gives one."""
        default = self.book.lapse.days
        if not (default and self.r.lapse_days) or default == self.r.lapse_days:
            return text
        return re.sub(rf"\b{default} days\b", f"{self.r.lapse_days} days", text)

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
            kept = [(s, r) for s, r in specs if not _requires(r, h.rule)]
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
                if extra:
                    inner = list(rule.rules) if isinstance(rule, AllRule) else [rule]
                    combined = AllRule(rules=[h.rule for h in extra] + inner)
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

    # -- trigger ------------------------------------------------------------------------------------
    def _steps(self) -> list[Step]:
        data = [s.model_dump(mode="json") for s in self.book.trigger.steps]
        values = {"sku": self.product.sku} if self.product else {}
        steps = _STEPS.validate_python(_substitute(data, values))
        if self.r.delay_hours and self.book.trigger.kind == "event":
            steps = self._retime(steps, self.r.delay_hours)
        limit = self.r.constraints.max_emails
        if limit:
            steps = _keep_sends(steps, limit)
        return steps

    def _retime(self, steps: list[Step], hours: float) -> list[Step]:
        """Make the timed email go out ``hours`` after entry ("ask for reviews 10 days after delivery")."""
        target = self.book.timed_message or next(s.message for s in steps if isinstance(s, SendStep))
        elapsed = 0.0
        for i, step in enumerate(steps):
            if isinstance(step, SendStep) and step.message == target:
                delay = next((steps[j] for j in range(i - 1, -1, -1) if isinstance(steps[j], DelayStep)), None)
                if delay is None:
                    break
                before = elapsed - delay.hours
                if hours < before:
                    self.notes.append(f"The brief asks for {target} after {_hours(hours)}, but the emails before it "
                                      f"already take {_hours(before)}; I kept the playbook's timing.")
                    break
                delay.hours = round(hours - before, 2)
                self.notes.append(f"{target} goes out {_hours(hours)} after the trigger, as the brief says.")
                break
            elapsed += _step_hours(step)
        return steps

    def _send_at(self) -> datetime:
        c = self.r.constraints
        day = c.send_on or self.today + timedelta(days=1)
        if c.not_before and day <= c.not_before:
            day = c.not_before + timedelta(days=1)
        if self.offer and self.offer.starts > day:
            day = self.offer.starts
        if day <= self.today:
            day = self.today + timedelta(days=1)
        hh, mm = (c.send_time or f"{self.book.trigger.send_hour:02d}:00").split(":")
        return datetime.combine(day, time(int(hh), int(mm)), tzinfo=UTC)

    def trigger(self) -> tuple[Trigger, list[Step], datetime | None]:
        spec = self.book.trigger
        steps = self._steps()
        kind = spec.kind
        c = self.r.constraints
        if kind == "schedule" and c.recurrence:
            kind = "recurring"
        send_at = None
        cron = spec.cron
        if kind == "recurring":
            cron = self._cron(spec.cron, spec.send_hour)
        elif kind == "schedule":
            send_at = self._send_at()
            steps = self._fit_deadline(steps, send_at)
        entry_filter = list(spec.entry_filter)
        if kind == "event" and spec.entry_event:
            entry_filter = [PropertyFilter.model_validate(_substitute(f.model_dump(mode="json"),
                                                                      {"sku": self.product.sku} if self.product else {}))
                            for f in entry_filter]
            props = {p.name for p in self.ws.event(spec.entry_event).properties} if self.ws.event(spec.entry_event) \
                else set()
            if self.book.product in {"none", "optional"}:
                if self.r.products and "product" in props:
                    entry_filter.append(PropertyFilter(property="product", op="in" if len(self.r.products) > 1 else "eq",
                                                       value=list(self.r.products) if len(self.r.products) > 1
                                                       else self.r.products[0]))
                elif self.r.categories and "category" in props:
                    entry_filter.append(PropertyFilter(
                        property="category", op="in" if len(self.r.categories) > 1 else "eq",
                        value=list(self.r.categories) if len(self.r.categories) > 1 else self.r.categories[0]))
        trigger = Trigger(
            kind=kind, entry_event=spec.entry_event if kind == "event" else None,
            entry_filter=entry_filter if kind == "event" else [],
            match_property=spec.match_property if kind == "event" else None,
            reentry=spec.reentry if kind == "event" else "once",
            reentry_days=spec.reentry_days if kind == "event" and spec.reentry == "after_days" else None,
            send_at=send_at, recipient_local_time=kind != "event", cron=cron if kind == "recurring" else None,
            steps=steps, exit_conditions=list(spec.exit_conditions),
        )
        return trigger, steps, send_at

    def _cron(self, default: str | None, send_hour: int) -> str:
        """The brief's cadence, day and time over the playbook's default (monthly on the 1st at 9:00)."""
        c = self.r.constraints
        _, _, dom, month, dow = (default or "0 9 1 * *").split()
        hh, mm = (c.send_time or f"{send_hour:02d}:00").split(":")
        cron_day = str((c.weekday + 1) % 7) if c.weekday is not None else None  # cron counts from Sunday = 0
        if c.recurrence == "weekly":
            dom, month, dow = "*", "*", cron_day or "2"
        elif c.recurrence == "biweekly":
            dom, month, dow = "1,15", "*", "*"
            if cron_day is not None:
                self.notes.append(f"A cron schedule cannot say every other {DAY_NAMES[c.weekday or 0]}, so this "
                                  "sends on the 1st and the 15th of each month; say \"every "
                                  f"{DAY_NAMES[c.weekday or 0]}\" for a weekly send on that day.")
        elif c.recurrence == "monthly":
            dom, month, dow = "1", "*", "*"
        return f"{int(mm)} {int(hh)} {dom} {month} {dow}"

    def _fit_deadline(self, steps: list[Step], send_at: datetime) -> list[Step]:
        limits = []
        if self.r.constraints.deadline:
            limits.append((self.r.constraints.deadline, f"the deadline ({self.r.constraints.deadline_text})"))
        if self.offer:
            limits.append((self.offer.ends + timedelta(days=1), f"the end of {self.offer.name} "
                                                                f"({long_date(self.offer.ends)})"))
        for end, what in limits:
            cutoff = datetime.combine(end, time(0, 0), tzinfo=UTC)
            if send_at >= cutoff:
                self.questions.append(f"The first email could go out on {long_date(send_at.date())} at the earliest, "
                                      f"which is not before {what}. Which date should it go out?")
                return steps
            kept: list[Step] = []
            clock = send_at
            for step in steps:
                clock += timedelta(hours=_step_hours(step))
                if isinstance(step, SendStep) and clock >= cutoff:
                    self.notes.append(f"I dropped the emails that would land after {what}.")
                    break
                kept.append(step)
            steps = _trim_tail(kept)
        return steps

    # -- the plan -----------------------------------------------------------------------------------
    def compose(self) -> Draft:
        if not self.choose_product():
            return Draft(None, self.questions, self.notes)
        self.choose_offer()
        pairs, narrowed = self.segments()
        if not pairs:
            self.questions.append("Every segment of this playbook conflicts with the audience the brief names. "
                                  "Who exactly should get it?")
            return Draft(None, self.questions, self.notes)
        trigger, steps, send_at = self.trigger()
        sent = _sent(steps)
        messages = [m for m in self.book.messages if m.key in sent]
        offer_messages = {m.key for m in messages
                          if m.offer == "yes" or (m.offer == "if_asked" and self.offer_for_all)}
        if self.offer and not offer_messages:
            offer_messages = {messages[-1].key if self.book.trigger.kind == "event" else messages[0].key}
        ctx = CopyContext(self.ws, offer=self.offer, offer_for_all=self.offer_for_all, product=self.product,
                          category=self.category or self.book.default_category,
                          send_date=send_at.date() if send_at else self.today,
                          # a week to answer the last email before the sunset
                          sunset=(send_at + timedelta(hours=_total_hours(steps))).date() + timedelta(days=7)
                          if send_at else None, offer_messages=offer_messages,
                          period={"weekly": "week", "biweekly": "fortnight"}.get(
                              self.r.constraints.recurrence or "", "month"))
        personalizable = {f.name for f in self.ws.catalog.fields
                          if "personalization" in f.allowed_uses and risk_reason(self.ws, f.name) is None}
        variants = write_variants(self.book, [(s.name, spec) for s, spec in pairs], messages, ctx, personalizable)
        offer_used = self.offer is not None and any(
            self.offer.terms.strip() in v.body or (self.offer.code and self.offer.code in v.body) for v in variants)
        if self.offer and not offer_used and self._offer_note is not None:
            del self.notes[self._offer_note]  # no segment ended up with the suggested offer
        plan = Plan(
            title=self._title(), brief=self.r.text, goal=self.book.id, summary=self._summary(trigger, messages),
            segments=[s for s, _ in pairs], trigger=trigger, suppression=self._suppression(), variants=variants,
            offers=[self.offer.id] if self.offer and offer_used else [],
            send_window=self._window(trigger, steps, send_at, offer_used),
        )
        return Draft(plan, self.questions, self.notes, narrowed)

    def _title(self) -> str:
        parts = [self.book.name]
        if self.product:
            parts.append(self.product.name)
        if self.offer:
            parts.append(self.offer.name)
        return " · ".join(parts)[:200]

    def _summary(self, trigger: Trigger, messages: list[MessageSpec]) -> str:
        text = self._lapsed(self.book.summary)
        if self.offer:
            text += (f" The copy states {self.offer.name} exactly as the fact sheet does "
                     f"(ends {long_date(self.offer.ends)}).")
        if trigger.kind == "schedule" and trigger.send_at:
            text += f" First send {long_date(trigger.send_at.date())}, {len(messages)} email(s)."
        elif trigger.kind == "recurring":
            text += f" It goes out {describe_recurring(trigger)}."
        return text

    def _suppression(self) -> Suppression:
        spec = self.book.suppression
        cap = spec.frequency_cap
        if self.r.constraints.frequency_cap:
            n, days = self.r.constraints.frequency_cap
            cap = FrequencyCap(max_emails=n, per_days=days)
        exclusions = [r for r in (self._adapt_rule(rule) for rule in spec.exclusions) if r is not None]
        for h in self.r.constraints.exclusions:
            reason = self._usable(h.rule)
            if reason:
                self.notes.append(f"I could not exclude {h.label}: {reason}.")
            else:
                exclusions.append(h.rule)
        return Suppression(frequency_cap=cap, quiet_hours=spec.quiet_hours, exclusions=exclusions)

    def _window(self, trigger: Trigger, steps: list[Step], send_at: datetime | None,
                offer_used: bool) -> SendWindow | None:
        if send_at is not None:
            end = (send_at + timedelta(hours=_total_hours(steps))).date()
            return SendWindow(start=send_at.date(), end=end)
        start = self.today
        end: date | None = None
        if self.offer and offer_used:
            start, end = max(self.today, self.offer.starts), self.offer.ends
        if self.r.constraints.deadline:
            end = min(end or self.r.constraints.deadline, self.r.constraints.deadline - timedelta(days=1))
        if end is None or end < start:
            return None
        return SendWindow(start=start, end=end)


def _hours(h: float) -> str:
    if h >= 48 and h % 24 == 0:
        return f"{int(h // 24)} days"
    return f"{h:g} hours" if h != 1 else "1 hour"


def _step_hours(step: Step) -> float:
    if isinstance(step, DelayStep):
        return step.hours
    if isinstance(step, WaitStep):
        return step.timeout_hours
    return 0.0


def _total_hours(steps: list[Step]) -> float:
    return sum(_step_hours(s) for s in steps)


def _sent(steps: list[Step]) -> list[str]:
    out = []
    for s in steps:
        if isinstance(s, SendStep):
            out.append(s.message)
        elif s.type == "branch":
            out += _sent(s.then_steps) + _sent(s.else_steps)
    return out


def _trim_tail(steps: list[Step]) -> list[Step]:
    """Drop waits and delays after the last send: they would only hold people in the journey."""
    while steps and not isinstance(steps[-1], SendStep) and steps[-1].type != "branch":
        steps = steps[:-1]
    return steps


def _keep_sends(steps: list[Step], limit: int) -> list[Step]:
    kept: list[Step] = []
    count = 0
    for step in steps:
        if isinstance(step, SendStep):
            if count == limit:
                break
            count += 1
        kept.append(step)
    return _trim_tail(kept)


def compose_plan(reading: BriefReading, playbook: Playbook, workspace: Workspace, *, now: datetime,
                 audience: AudienceStats | None = None) -> Draft:
    """A plan for ``reading`` from ``playbook`` (or questions when it cannot be made honestly)."""
    return _Composer(reading, playbook, workspace, now, audience).compose()

