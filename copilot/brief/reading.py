"""What the copilot read from a brief: the typed result of ``read_brief``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from copilot.brief.extract import DateMention, Duration, NumberMention
from copilot.plan import Rule

__all__ = ["AudienceHint", "OfferMention", "RiskyField", "Constraints", "BriefReading"]


@dataclass(frozen=True)
class AudienceHint:
    """A group the brief names (or excludes), with the catalog rule that finds it."""

    label: str
    text: str  # as typed
    rule: Rule
    fields: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    start: int = -1  # where the brief names it (character offset), -1 when derived


@dataclass(frozen=True)
class OfferMention:
    """An incentive the brief asks for; ``offer_id`` is set when the fact sheet has it."""

    text: str
    kind: str  # percent_off | amount_off | free_shipping | gift | early_access | bogo | named | code | unspecified
    value: Decimal | None = None
    code: str | None = None
    offer_id: str | None = None
    candidates: tuple[str, ...] = ()  # fact-sheet offers that fit when more than one does


@dataclass(frozen=True)
class RiskyField:
    field: str
    text: str
    reason: str


@dataclass
class Constraints:
    channels: list[str] = field(default_factory=list)
    unsupported_channels: list[str] = field(default_factory=list)
    exclusions: list[AudienceHint] = field(default_factory=list)
    deadline: date | None = None
    deadline_text: str = ""
    send_on: date | None = None
    not_before: date | None = None
    send_time: str | None = None  # HH:MM in the recipient's zone
    max_emails: int | None = None
    recurrence: str | None = None  # monthly | weekly | biweekly
    weekday: int | None = None  # a recurring send's day of the week (Monday 0), from "every Friday"
    frequency_cap: tuple[int, int] | None = None  # (emails, per days)


@dataclass
class BriefReading:
    """Everything ``read_brief`` understood; nothing here is guessed without saying so."""

    text: str
    language: str = "en"
    goal: str | None = None  # playbook id
    goal_text: str = ""  # the words that named it
    goal_score: float = 0.0
    alternatives: list[str] = field(default_factory=list)  # other playbooks that read almost as well
    audience: list[AudienceHint] = field(default_factory=list)
    offers: list[OfferMention] = field(default_factory=list)
    offer_refused: bool = False  # "no discount"
    numbers: list[NumberMention] = field(default_factory=list)
    durations: list[Duration] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    products: list[str] = field(default_factory=list)  # SKUs, in brief order
    # (as typed, nearest fact-sheet name): a model the fact sheet lacks, such as "Cloudstride 4"
    unknown_products: list[tuple[str, str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    moments: list[str] = field(default_factory=list)  # fact-sheet calendar ids named
    lapse_days: int | None = None
    inactive_days: int | None = None  # "haven't been to a class in three weeks": activity, not buying
    delay_hours: float | None = None
    window_days: int | None = None
    every_days: float | None = None
    constraints: Constraints = field(default_factory=Constraints)
    requested_fields: list[str] = field(default_factory=list)
    risky_fields: list[RiskyField] = field(default_factory=list)
    injections: list[str] = field(default_factory=list)
    tones: list[str] = field(default_factory=list)

    @property
    def offer(self) -> OfferMention | None:
        """The first offer the fact sheet has, else the first one asked for."""
        matched = [o for o in self.offers if o.offer_id]
        return matched[0] if matched else (self.offers[0] if self.offers else None)

    @property
    def unmatched_offers(self) -> list[OfferMention]:
        return [o for o in self.offers if not o.offer_id and o.kind != "unspecified"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the CLI, the evals and debugging."""
        def clean(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, date):
                return value.isoformat()
            if hasattr(value, "model_dump"):
                return value.model_dump(mode="json")
            return value

        data = asdict(self)
        data["audience"] = [dict(clean(asdict(h)), rule=h.rule.model_dump(mode="json")) for h in self.audience]
        data["constraints"]["exclusions"] = [
            dict(clean(asdict(h)), rule=h.rule.model_dump(mode="json")) for h in self.constraints.exclusions
        ]
        return clean(data)
