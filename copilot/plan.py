"""The campaign plan: segments, trigger, suppression and copy variants (schema version 1).

One typed model shared by the planners, the segment engine, the guards, the review
queue and the evals. Its JSON Schema (``plan_json_schema()``) is committed at
``copilot/schema/plan.schema.json`` and is the LLM's structured-output format.

Longer than most modules on purpose: the whole schema is one JSON Schema, and its classes
reference each other (rules nest), so they are declared together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "PLAN_SCHEMA_VERSION",
    "FieldOp",
    "CountOp",
    "PropertyFilter",
    "EventWindow",
    "AllRule",
    "AnyRule",
    "NotRule",
    "FieldRule",
    "EventRule",
    "LastPerformedRule",
    "SegmentRule",
    "ConsentRule",
    "Rule",
    "Hypothesis",
    "FieldRationale",
    "Segment",
    "DelayStep",
    "SendStep",
    "WaitStep",
    "BranchStep",
    "Step",
    "ExitCondition",
    "Trigger",
    "FrequencyCap",
    "QuietHours",
    "Suppression",
    "MergeField",
    "CopyFieldSpec",
    "CopyFieldName",
    "COPY_FIELDS",
    "COPY_FIELD_NAMES",
    "COPY_FIELD_BY_NAME",
    "PROSE_FIELD_NAMES",
    "Variant",
    "SendWindow",
    "Plan",
    "plan_json_schema",
    "render_plan_schema",
    "SCHEMA_PATH",
    "content_hash",
]

PLAN_SCHEMA_VERSION = "1"

FieldOp = Literal[
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains",
    "exists", "not_exists", "between", "older_than_days", "within_last_days", "within_next_days",
    "anniversary_within_days",
]
CountOp = Literal["at_least", "at_most", "exactly"]
Scalar = Union[str, int, float, bool]
Value = Union[Scalar, list[Scalar], None]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PropertyFilter(_Model):
    """A filter on an event property, e.g. category = running_shoes."""

    property: str = Field(description="event property name from the catalog")
    op: Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "exists", "not_exists",
                "between"] = "eq"
    value: Value = None


class EventWindow(_Model):
    """When the counted events happened.

    ever: any time; within_days: in the last ``days`` days; before_days: more than
    ``days`` days ago; since / until: on or after / before an absolute date.
    """

    kind: Literal["ever", "within_days", "before_days", "since", "until"] = "ever"
    days: int | None = Field(default=None, ge=0)
    on: date | None = Field(default=None, description="the date for since / until")

    @model_validator(mode="after")
    def _needs(self) -> EventWindow:
        if self.kind in {"within_days", "before_days"} and self.days is None:
            raise ValueError(f"window {self.kind} needs days")
        if self.kind in {"since", "until"} and self.on is None:
            raise ValueError(f"window {self.kind} needs the date in 'on'")
        return self


class AllRule(_Model):
    """AND: every sub-rule holds."""

    type: Literal["all"] = "all"
    rules: list[Rule] = Field(min_length=1)


class AnyRule(_Model):
    """OR: at least one sub-rule holds."""

    type: Literal["any"] = "any"
    rules: list[Rule] = Field(min_length=1)


class NotRule(_Model):
    type: Literal["not"] = "not"
    rule: Rule


class FieldRule(_Model):
    """A comparison on a contact field from the catalog.

    ``between`` takes ``[low, high]`` inclusive; ``older_than_days`` / ``within_last_days``
    compare a date field with now minus ``value`` days; ``within_next_days``: the date falls
    between now and ``value`` days ahead (a renewal, a trial's end); ``anniversary_within_days``:
    its month and day come round within ``value`` days (0: today), whatever the year (birthdays).
    """

    type: Literal["field"] = "field"
    field: str
    op: FieldOp
    value: Value = None


class EventRule(_Model):
    """Performed EVENT at least / at most / exactly N times in a window, with property filters."""

    type: Literal["event"] = "event"
    event: str
    count_op: CountOp = "at_least"
    count: int = Field(default=1, ge=0)
    window: EventWindow = EventWindow()
    where: list[PropertyFilter] = []


class LastPerformedRule(_Model):
    """When the contact last performed EVENT (matching ``where``).

    older_than_days: performed, most recently more than ``days`` ago;
    within_last_days: most recently within the last ``days``; never: not once.
    """

    type: Literal["last_performed"] = "last_performed"
    event: str
    op: Literal["older_than_days", "within_last_days", "never"]
    days: int | None = Field(default=None, ge=0)
    where: list[PropertyFilter] = []


class SegmentRule(_Model):
    """Membership of another segment of the same plan (by name, before priority)."""

    type: Literal["segment"] = "segment"
    segment: str


class ConsentRule(_Model):
    type: Literal["consent"] = "consent"
    state: Literal["subscribed", "unsubscribed", "bounced"]


Rule = Annotated[
    AllRule | AnyRule | NotRule | FieldRule | EventRule | LastPerformedRule | SegmentRule | ConsentRule,
    Field(discriminator="type"),
]


class Hypothesis(_Model):
    attribute: str = Field(description="the attribute or behaviour that defines the segment")
    tactic: str = Field(description="what this segment gets that others do not")
    metric: Literal["open_rate", "click_rate", "conversion_rate", "revenue_per_recipient",
                    "unsubscribe_rate", "reactivation_rate", "review_rate"]
    expected_change: str = Field(description="direction and size, e.g. '+3 points vs the control'")

    def sentence(self) -> str:
        """The hypothesis in one English sentence, for people: 'lapsed, with two or more orders: remind
        them what they liked; expect the reactivation rate +2 points vs lapsed one-time buyers'."""
        metric = self.metric.replace("_", " ")
        change = self.expected_change.strip()
        said = metric.split()[0] in change.lower() or any(w in change.lower() for w in ("rate", "revenue", "%"))
        return f"{self.attribute}: {self.tactic}; expect {change if said else f'the {metric} {change}'}"


class FieldRationale(_Model):
    """Why using a field or event helps the recipient (the provenance guard reads this).

    ``field`` names a catalog field or a catalog event the segment's rule uses.
    """

    field: str
    rationale: str = Field(min_length=1)


class Segment(_Model):
    name: str = Field(min_length=1, max_length=80)
    priority: int = Field(ge=1, description="1 is highest; a contact belongs to the highest-priority match")
    description: str = ""
    rule: Rule
    hypothesis: Hypothesis
    field_rationales: list[FieldRationale] = []


class DelayStep(_Model):
    type: Literal["delay"] = "delay"
    hours: float = Field(ge=0, description="wait this long")
    at_local_time: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$",
                                      description="then wait for this time of day in the recipient's zone")


class SendStep(_Model):
    type: Literal["send"] = "send"
    message: str = Field(description="message key; variants with this key are sent")


class WaitStep(_Model):
    """Wait until EVENT happens or the timeout passes."""

    type: Literal["wait"] = "wait"
    event: str
    timeout_hours: float = Field(gt=0)
    where: list[PropertyFilter] = []
    on_event: Literal["exit", "continue"] = "exit"


class BranchStep(_Model):
    type: Literal["branch"] = "branch"
    rule: Rule
    then_steps: list[Step] = []
    else_steps: list[Step] = []


Step = Annotated[DelayStep | SendStep | WaitStep | BranchStep, Field(discriminator="type")]


class ExitCondition(_Model):
    event: str
    where: list[PropertyFilter] = []


class Trigger(_Model):
    """When contacts enter and what happens to them.

    event: ``entry_event`` starts a journey per contact (``match_property`` keys it, e.g.
    the cart id, so waits look for the same cart). schedule: a one-off send at ``send_at``
    (``recipient_local_time`` sends at that wall-clock time in each recipient's zone).
    recurring: ``cron`` (five fields) in ``timezone``. date: each contact enters
    ``offset_days`` from their ``date_field`` (every year with ``every_year``) at ``send_time``
    local. threshold: a contact enters once when ``condition`` starts to hold, at ``send_time``.
    """

    kind: Literal["event", "schedule", "recurring", "date", "threshold"]
    entry_event: str | None = None
    entry_filter: list[PropertyFilter] = []
    match_property: str | None = None
    reentry: Literal["once", "always", "after_days"] = "once"
    reentry_days: int | None = Field(default=None, ge=1)
    send_at: datetime | None = None
    recipient_local_time: bool = False
    cron: str | None = Field(default=None, pattern=r"^\S+ \S+ \S+ \S+ \S+$")
    timezone: str = "UTC"
    date_field: str | None = Field(default=None, description="date: the contact field the send is timed against")
    offset_days: int = Field(default=0, ge=-366, le=366, description="date: days from the date (-7: a week before)")
    every_year: bool = Field(default=False, description="date: the date's month and day, each year (birthdays)")
    send_time: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$",
                                  description="date / threshold: the local time of day contacts are sent to")
    condition: Rule | None = Field(default=None, description="threshold: contacts enter once this starts to hold "
                                                             "(e.g. points balance at least 500)")
    steps: list[Step] = Field(min_length=1)
    exit_conditions: list[ExitCondition] = []

    @model_validator(mode="after")
    def _kind_fields(self) -> Trigger:
        if self.kind == "event" and not self.entry_event:
            raise ValueError("an event trigger needs entry_event")
        if self.kind == "schedule" and self.send_at is None:
            raise ValueError("a schedule trigger needs send_at")
        if self.kind == "recurring" and not self.cron:
            raise ValueError("a recurring trigger needs cron")
        if self.kind == "date" and not self.date_field:
            raise ValueError("a date trigger needs date_field")
        if self.kind == "threshold" and self.condition is None:
            raise ValueError("a threshold trigger needs condition")
        if self.reentry == "after_days" and self.reentry_days is None:
            raise ValueError("reentry after_days needs reentry_days")
        return self


class FrequencyCap(_Model):
    max_emails: int = Field(ge=1)
    per_days: int = Field(ge=1)


class QuietHours(_Model):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="recipient's local time")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    fallback: Literal["next_allowed", "skip"] = "next_allowed"


class Suppression(_Model):
    """Who is never sent to. Consent is always required; it cannot be switched off."""

    require_consent: Literal[True] = True
    frequency_cap: FrequencyCap | None = FrequencyCap(max_emails=3, per_days=7)
    quiet_hours: QuietHours | None = QuietHours(start="21:00", end="08:00")
    exclusions: list[Rule] = Field(default_factory=list, description="contacts matching any of these are left out")


class MergeField(_Model):
    """A merge field used in the copy as {{ name }}; ``fallback`` replaces missing, empty or blank values."""

    name: str
    fallback: str


@dataclass(frozen=True)
class CopyFieldSpec:
    """One copy field of a variant: what it is called on screen, how it renders, its hard length limit."""

    name: str
    label: str
    kind: Literal["text", "markdown", "url"]
    max_chars: int

    @property
    def is_url(self) -> bool:
        return self.kind == "url"


class Variant(_Model):
    # One segment's copy for one send step (A/B arm ``key``), in one locale. (A comment, not a
    # docstring: docstrings become schema descriptions the model reads.) COPY_FIELDS is the one
    # declaration of which fields are copy, in reading order, and which is a URL: guards,
    # renderer, diff, evals and UI iterate over it instead of naming fields.

    # Gmail clips messages over ~102 KB; nothing longer is a real email, and checking cost grows
    # with length, so the limits are part of the field's declaration.
    COPY_FIELDS: ClassVar[tuple[CopyFieldSpec, ...]] = (
        CopyFieldSpec("subject", "Subject", "text", 1_000),
        CopyFieldSpec("preheader", "Preview text", "text", 1_000),
        CopyFieldSpec("body", "Body", "markdown", 100_000),
        CopyFieldSpec("cta_text", "Button text", "text", 1_000),
        CopyFieldSpec("cta_url", "Button link", "url", 2_048),
    )
    # What a person may edit by hand: the copy, its language and its merge-field fallbacks.
    EDITABLE_FIELDS: ClassVar[tuple[str, ...]] = (*(f.name for f in COPY_FIELDS), "locale", "merge_fields")

    segment: str = Field(description="name of the segment this copy is for")
    message: str = Field(default="email_1", description="the send step's message key")
    key: str = Field(default="A", pattern=r"^[A-Z]$", description="A/B variant key")
    subject: str
    preheader: str = ""
    body: str = Field(description="Markdown with {{ merge_field }} placeholders")
    cta_text: str
    cta_url: str
    locale: str = "en"
    merge_fields: list[MergeField] = []

    def copy_items(self, *, urls: bool = True) -> list[tuple[CopyFieldSpec, str]]:
        """(field, text) for each copy field in reading order; ``urls=False`` leaves out links."""
        return [(f, getattr(self, f.name)) for f in self.COPY_FIELDS if urls or not f.is_url]


COPY_FIELDS: tuple[CopyFieldSpec, ...] = Variant.COPY_FIELDS
COPY_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in COPY_FIELDS)
PROSE_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in COPY_FIELDS if not f.is_url)
COPY_FIELD_BY_NAME: dict[str, CopyFieldSpec] = {f.name: f for f in COPY_FIELDS}
CopyFieldName = Literal[COPY_FIELD_NAMES]  # type: ignore[valid-type]


class SendWindow(_Model):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.end < self.start:
            raise ValueError("send window ends before it starts")
        return self


class Plan(_Model):
    schema_version: Literal["1"] = PLAN_SCHEMA_VERSION
    title: str = Field(min_length=1, max_length=200)
    brief: str = Field(description="the marketer's words this plan answers")
    goal: str = Field(description="the moment or playbook, e.g. winback, cart_abandonment")
    summary: str = Field(default="", description="why this plan, in two or three sentences")
    segments: list[Segment] = Field(min_length=1)
    trigger: Trigger
    suppression: Suppression = Suppression()
    variants: list[Variant] = Field(min_length=1)
    offers: list[str] = Field(default_factory=list, description="fact-sheet offer ids the copy uses")
    send_window: SendWindow | None = None

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def variants_for(self, segment: str) -> list[Variant]:
        return [v for v in self.variants if v.segment == segment]

    def content_hash(self) -> str:
        return content_hash(self)


AllRule.model_rebuild()
AnyRule.model_rebuild()
NotRule.model_rebuild()
BranchStep.model_rebuild()
Trigger.model_rebuild()
Suppression.model_rebuild()
Segment.model_rebuild()
Plan.model_rebuild()


def content_hash(plan: Plan) -> str:
    """sha256 of the plan's canonical JSON; approval binds to this exact value."""
    payload = json.dumps(plan.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def plan_json_schema() -> dict:
    """The JSON Schema of Plan, as committed in copilot/schema/plan.schema.json."""
    schema = Plan.model_json_schema()
    schema["$id"] = f"https://campaign-copilot.local/schema/plan-v{PLAN_SCHEMA_VERSION}.json"
    return schema


SCHEMA_PATH = Path(__file__).parent / "schema" / "plan.schema.json"


def render_plan_schema() -> str:
    """The committed schema file's exact text (regenerate with ``python -m copilot.plan``)."""
    return json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    SCHEMA_PATH.write_text(render_plan_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
