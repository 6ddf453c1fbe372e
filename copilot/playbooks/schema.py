"""The shape of a playbook file: one marketing moment as data (segments, timings, copy patterns).

Copy text holds two kinds of placeholder. ``{{ name }}`` is a merge field filled per
recipient at send time (each needs a fallback in ``merge``). ``[[name]]`` is filled once
at planning time from the workspace and the brief (brand, offer terms, policies ...);
a paragraph whose placeholders all come out empty is dropped.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copilot.plan import (
    ExitCondition,
    FieldRationale,
    FrequencyCap,
    Hypothesis,
    PropertyFilter,
    QuietHours,
    Rule,
    Step,
)

__all__ = [
    "PLACEHOLDERS",
    "ALWAYS",
    "CopySpec",
    "CopyOverride",
    "MessageSpec",
    "SegmentSpec",
    "TriggerSpec",
    "SuppressionSpec",
    "OfferHint",
    "Playbook",
    "AudienceEntry",
    "Vocabulary",
    "placeholders_in",
    "merge_names_in",
]

# Planning-time placeholders a copy pattern may use ([[policy:ID]], [[policy~WORD]] and [[claim~WORD]]
# are families: a fact-sheet policy by id, the first policy whose id or name contains WORD (a moment
# for any brand cannot know its policy ids: [[policy~trial]]), the first claim whose text contains WORD).
PLACEHOLDERS = frozenset({
    "brand", "website", "preference_center", "segment_line",
    "offer_sentence", "offer_short", "offer_name", "offer_code", "offer_ends",
    "product_name", "product_price", "product_previous_price", "product_url", "product_line",
    "product_claim", "product_benefits", "category", "next_moment", "period", "period_adj", "sunset_date",
    "customers", "landing_url", "event_line", "event_date",
})
# Placeholders that always have a value, whatever the brief and the fact sheet say.
ALWAYS = frozenset({"brand", "website", "preference_center", "period", "period_adj", "customers", "landing_url"})
PRODUCT_PLACEHOLDERS = frozenset({"product_name", "product_price", "product_url", "product_line", "category"})
_PLACEHOLDER = re.compile(r"\[\[([a-z_]+(?::[a-z0-9_]+|~[a-z0-9 -]+)?)\]\]")
_MERGE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def placeholders_in(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def merge_names_in(text: str) -> list[str]:
    return _MERGE.findall(text)


def _known(name: str) -> bool:
    return name in PLACEHOLDERS or name.startswith(("policy:", "policy~", "claim~"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CopySpec(_Strict):
    """Variant A of one email. ``*_with_offer`` replace the plain text when the plan carries an offer;
    ``subject_plain`` stands in when ``subject`` names something this plan does not have."""

    subject: str = Field(min_length=1)
    subject_with_offer: str | None = None
    subject_plain: str | None = None
    preheader: str = ""
    preheader_with_offer: str | None = None
    body: list[str] = Field(min_length=1, description="paragraphs; Markdown; [[...]] and {{ ... }} allowed")
    cta: str = Field(min_length=1, description="CTA text; replaced by the brand's first CTA for the stage "
                                               "when voice.yaml does not list it")
    cta_with_offer: str | None = None
    cta_link: str = Field(default="[[website]]", description="URL pattern, e.g. [[website]]/cart")
    merge: dict[str, str] = Field(default_factory=dict, description="merge field -> fallback")

    def texts(self) -> list[str]:
        return [t for t in (self.subject, self.subject_with_offer, self.subject_plain, self.preheader,
                            self.preheader_with_offer, *self.body, self.cta, self.cta_with_offer, self.cta_link)
                if t]


class CopyOverride(_Strict):
    """Variant B: the one element it changes (an A/B test changes one thing at a time)."""

    tests: Literal["subject", "preheader", "cta"]
    subject: str | None = None
    subject_with_offer: str | None = None
    subject_plain: str | None = None
    preheader: str | None = None
    cta: str | None = None
    cta_with_offer: str | None = None
    merge: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_thing(self) -> CopyOverride:
        if getattr(self, self.tests) is None:
            raise ValueError(f"variant B tests {self.tests} but gives no {self.tests}")
        others = {"subject", "preheader", "cta"} - {self.tests}
        changed = [o for o in others if getattr(self, o) is not None]
        if changed:
            raise ValueError(f"variant B tests {self.tests} and must not also change {', '.join(sorted(changed))}")
        return self


class MessageSpec(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    purpose: str = Field(min_length=1, description="one line for the timeline, e.g. 'friendly reminder'")
    copy_a: CopySpec = Field(alias="copy")
    variant_b: CopySpec | CopyOverride | None = None
    offer: Literal["yes", "if_asked", "no"] = Field(
        default="no", description="yes: carries the plan's offer; if_asked: only when the marketer asked for one "
                                  "(a suggested offer waits for the 'yes' emails)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("offer", mode="before")
    @classmethod
    def _yaml_bool(cls, value: object) -> object:
        return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value


class SegmentSpec(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=1)
    rule: Rule
    hypothesis: Hypothesis
    field_rationales: list[FieldRationale] = []
    lines: dict[str, str] = Field(default_factory=dict, description="message key -> the paragraph only this "
                                                                     "segment reads ([[segment_line]])")
    merge: dict[str, str] = Field(default_factory=dict, description="fallbacks of merge fields in the lines")
    offer: Literal["yes", "if_asked", "no"] = Field(
        default="yes", description="yes: gets the plan's offer; if_asked: only when the marketer asked for it "
                                   "(not when the planner suggested it); no: never (e.g. the offer's terms exclude "
                                   "this group)")


class TriggerSpec(_Strict):
    kind: Literal["event", "schedule", "recurring", "date", "threshold"]
    entry_event: str | None = None
    entry_filter: list[PropertyFilter] = []
    match_property: str | None = None
    reentry: Literal["once", "always", "after_days"] = "once"
    reentry_days: int | None = Field(default=None, ge=1)
    cron: str | None = None
    send_hour: int = Field(default=10, ge=0, le=23, description="local hour for scheduled sends")
    date_field: str | None = Field(default=None, description="date: the role of the date field ('@renewal_at')")
    offset_days: int = Field(default=0, description="date: days from the date; a brief's 'N days before' replaces it")
    date_field_or: list[str] = Field(default_factory=list, description="date: roles to time from instead, in order, "
                                                                       "for a brand whose catalog lacks date_field's")
    every_year: bool = False
    remind_before_event_days: int | None = Field(
        default=None, ge=1, description="schedule: the moment is about an event on a date (a fact-sheet calendar "
                                        "date the brief names, else the brief's 'on <date>'); the delay before the "
                                        "last step is retimed so it lands this many days before the event")
    condition: Rule | None = Field(default=None, description="threshold: the rule whose start enters a contact; "
                                                             "a number in the brief ('reaches 500') replaces its value")
    steps: list[Step] = Field(min_length=1)
    exit_conditions: list[ExitCondition] = []

    @model_validator(mode="after")
    def _kind(self) -> TriggerSpec:
        if self.kind == "event" and not self.entry_event:
            raise ValueError("an event playbook needs entry_event")
        if self.kind == "date" and not self.date_field:
            raise ValueError("a date playbook needs date_field")
        if self.kind == "threshold" and self.condition is None:
            raise ValueError("a threshold playbook needs condition")
        if self.kind == "recurring" and not self.cron:
            raise ValueError("a recurring playbook needs cron")
        if self.remind_before_event_days is not None:
            if self.kind != "schedule":
                raise ValueError("remind_before_event_days is for schedule playbooks (an event on a date)")
            if len(self.steps) < 3 or self.steps[-2].type != "delay":
                raise ValueError("remind_before_event_days needs the steps to end with a delay and the reminder")
        return self


class SuppressionSpec(_Strict):
    frequency_cap: FrequencyCap | None = FrequencyCap(max_emails=3, per_days=7)
    quiet_hours: QuietHours | None = QuietHours(start="21:00", end="08:00")
    exclusions: list[Rule] = []


class OfferHint(_Strict):
    """Which fact-sheet offer the planner may suggest when the brief names none."""

    suggest: bool = False
    kinds: list[Literal["percent_off", "amount_off", "free_shipping", "gift", "early_access"]] = []
    audience_words: list[str] = Field(default_factory=list, description="words matched against the offer's "
                                                                         "name and audience")


class LapseSpec(_Strict):
    """What a brief's lapse window ("haven't bought in 6 months", "inactive for 90 days") replaces."""

    days: int | None = Field(default=None, ge=1, description="the playbook's own window; its 'N days' in the "
                                                              "segments' texts is rewritten with the brief's")
    events: list[str] = Field(default_factory=lambda: ["@purchase"],
                              description="'last performed more than N days ago' conditions on these events")
    fields: list[str] = Field(default_factory=lambda: ["@last_purchase_at"],
                              description="'more than N days ago' conditions on these contact fields")


class Playbook(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="also the plan's goal")
    name: str
    stage: str = Field(description="journey stage: the voice.yaml cta_rules key whose CTAs fit this moment")
    goal_aliases: list[str] = Field(default_factory=list, description="other goal names for this moment (a "
                                                                      "model may write 'abandoned_cart')")
    order: int = Field(description="tie-break when two playbooks read equally well (lower wins)")
    summary: str = Field(min_length=1)
    vocabulary: list[str] = Field(min_length=1, description="phrases that name this moment (any language)")
    weak_vocabulary: list[str] = Field(default_factory=list, description="phrases that hint at it")
    events: list[str] = Field(default_factory=list, description="catalog events that signal this moment")
    product: Literal["none", "optional", "required", "price_drop", "restock"] = "none"
    default_category: str | None = Field(default=None, description="product category used when the brief "
                                                                    "names no product")
    timed_message: str | None = Field(default=None, description="the email a brief's 'N days after' refers to "
                                                                "(default: the first one)")
    trigger: TriggerSpec
    suppression: SuppressionSpec = SuppressionSpec()
    messages: list[MessageSpec] = Field(min_length=1)
    segments: list[SegmentSpec] = Field(min_length=1)
    offer: OfferHint = OfferHint()
    lapse: LapseSpec = LapseSpec()

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        keys = [m.key for m in self.messages]
        if len(set(keys)) != len(keys):
            raise ValueError("message keys must be unique")
        sent = _sent_messages(self.trigger.steps)
        for key in sent - set(keys):
            raise ValueError(f"a send step sends {key!r}, which has no message")
        for key in set(keys) - sent:
            raise ValueError(f"message {key!r} is never sent by a step")
        if self.timed_message and self.timed_message not in keys:
            raise ValueError(f"timed_message {self.timed_message!r} is not a message")
        for attr in ("key", "name"):
            values = [getattr(s, attr) for s in self.segments]
            if len(set(values)) != len(values):
                raise ValueError(f"segment {attr}s must be unique (their order is their priority)")
        for m in self.messages:
            self._check_copy(m.key, m.copy_a, "A")
            if isinstance(m.variant_b, CopySpec):
                self._check_copy(m.key, m.variant_b, "B")
            elif m.variant_b is not None:
                b = m.variant_b
                for text in (b.subject, b.subject_with_offer, b.subject_plain, b.preheader, b.cta, b.cta_with_offer):
                    self._check_text(text or "", {**m.copy_a.merge, **b.merge}, f"{m.key} B")
                if b.tests == "subject":
                    self._check_fallback(b.subject_plain or b.subject or "", f"{m.key} B subject")
                if b.tests == "cta":
                    self._check_fallback(b.cta or "", f"{m.key} B cta")
        for s in self.segments:
            for key, line in s.lines.items():
                if key not in keys:
                    raise ValueError(f"segment {s.key!r} has a line for unknown message {key!r}")
                self._check_text(line, {**self._message(key).copy_a.merge, **s.merge},
                                 f"segment {s.key} line {key}")
        return self

    def _message(self, key: str) -> MessageSpec:
        return next(m for m in self.messages if m.key == key)

    @staticmethod
    def _check_text(text: str, merge: dict[str, str], where: str) -> None:
        for name in placeholders_in(text):
            if not _known(name):
                raise ValueError(f"{where}: unknown placeholder [[{name}]]")
        for name in merge_names_in(text):
            if not merge.get(name, "").strip():
                raise ValueError(f"{where}: merge field {{{{ {name} }}}} has no fallback in 'merge'")
        if "[[" in _PLACEHOLDER.sub("", text):
            raise ValueError(f"{where}: malformed placeholder in {text!r}")

    def _always(self) -> set[str]:
        always = set(ALWAYS)
        if self.product in {"price_drop", "restock", "required"}:
            always |= PRODUCT_PLACEHOLDERS
        if self.product == "price_drop":
            always.add("product_previous_price")
        return always

    def _check_fallback(self, text: str, where: str) -> None:
        missing = [p for p in placeholders_in(text) if p not in self._always()]
        if missing:
            raise ValueError(f"{where}: [[{missing[0]}]] may be empty for some plans; give a subject_plain "
                             "(or CTA) that uses only placeholders that always have a value")

    def _check_copy(self, key: str, copy: CopySpec, variant: str) -> None:
        for text in copy.texts():
            self._check_text(text, copy.merge, f"{key} {variant}")
        self._check_fallback(copy.subject_plain or copy.subject, f"{key} {variant} subject")
        self._check_fallback(copy.cta, f"{key} {variant} cta")
        if copy.cta_with_offer:
            self._check_fallback(copy.cta_with_offer, f"{key} {variant} cta_with_offer")


def _sent_messages(steps: list[Step]) -> set[str]:
    out: set[str] = set()
    for step in steps:
        if step.type == "send":
            out.add(step.message)
        elif step.type == "branch":
            out |= _sent_messages(step.then_steps) | _sent_messages(step.else_steps)
    return out


class AudienceEntry(_Strict):
    """Words a marketer uses for a group of people, and the rule that finds them."""

    label: str
    phrases: list[str] = Field(min_length=1)
    rule: Rule


class RiskyConcept(_Strict):
    """A kind of data briefs may ask to target by ("income"): the catalog fields whose name or
    description has one of ``match`` among its words, and the phrases that ask for them."""

    match: list[str] = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)


class Vocabulary(_Strict):
    """The brief reader's shared word lists (``_vocabulary.yaml``); playbooks carry their own."""

    audience: list[AudienceEntry]
    risky_concepts: list[RiskyConcept] = Field(default_factory=list,
                                               description="sensitive kinds of data and how briefs ask for them")
    injection: list[str]
    channels: dict[str, list[str]]
    tones: dict[str, list[str]]
    exclusion_words: list[str]
    countries: dict[str, list[str]] = Field(description="two-letter code -> names in the brand's languages")
    tone_copy: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="tone -> how a follow-up changes copy: opener, closing, "
                                          "greeting_from/greeting_to, note, or decline (a refusal said to the marketer)")
