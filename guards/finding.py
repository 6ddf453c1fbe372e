"""What a guard reports (Finding), the documented codes it may use (Code), and guard entries (Guard).

Finding is the one shape of a finding everywhere: guard output, stored rows (``id`` set), the JSON
API, the review UI, eval results and ``copilot guard --json``; ``Finding.to_dict`` is its one
serialisation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from copilot.plan import CopyFieldName

if TYPE_CHECKING:
    from guards.context import PlanContext, VariantContext

__all__ = ["Severity", "FieldName", "SEVERITY_RANK", "Finding", "Code", "Guard"]

Severity = Literal["block", "warn", "info"]
FieldName = CopyFieldName
SEVERITY_RANK: dict[str, int] = {"block": 0, "warn": 1, "info": 2}


class Finding(BaseModel):
    """One problem (or note) a guard found, located precisely enough to fix or acknowledge.

    ``span`` is (start, end) in the field's source text (the template as written).
    ``fingerprint`` hashes guard, code, location (segment, message, variant, field, and the
    language of a variant in another than the brand's default) and evidence, but not the span or severity: an edit elsewhere in the field, or a brand's
    severity override, keeps it, so acknowledgements can follow a finding across revisions.
    """

    # "ignore" so a serialised finding (with its computed fingerprint and label) loads back.
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int | None = Field(default=None, description="the stored row's id; None before it is stored")
    guard: str
    code: str
    severity: Severity
    segment: str | None = None
    variant: str | None = None
    message_key: str | None = None
    locale: str | None = Field(default=None, description="the variant's language when it is not the brand's "
                                                         "default (a plan carries one variant per language)")
    field: FieldName | None = None
    span: tuple[int, int] | None = None
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    fix: str | None = None
    # Computed from the fields above when not given; a stored finding keeps the one it was stored with.
    fingerprint: str = ""

    @model_validator(mode="after")
    def _fingerprinted(self) -> Finding:
        if not self.fingerprint:
            payload = [self.guard, self.code, self.segment, self.message_key, self.variant, self.field,
                       self.evidence]
            if self.locale:  # added only when set: default-language findings keep their fingerprints
                payload.append(self.locale)
            raw = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
            object.__setattr__(self, "fingerprint", hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32])
        return self

    @property
    def blocks(self) -> bool:
        return self.severity == "block"

    @property
    def span_start(self) -> int | None:
        return self.span[0] if self.span else None

    @property
    def span_end(self) -> int | None:
        return self.span[1] if self.span else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """Where, for people, by segment, email and arm: 'Recent customers · email_2 · arm A · subject', so
        two findings of one segment's arms or emails never read the same ('whole plan' for plan findings)."""
        parts = [self.segment or "whole plan"]
        if self.message_key:
            parts.append(self.message_key)
        if self.variant:
            parts.append(f"arm {self.variant}" + (f" ({self.locale})" if self.locale else ""))
        if self.field:
            parts.append(self.field)
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a finding, the same for the API, eval results and the CLI."""
        return self.model_dump(mode="json")

    def where(self) -> str:
        """'winback / email_1 / A / body[10:16]' style location for people."""
        parts = [p for p in (self.segment, self.message_key, self.variant) if p]
        if self.field:
            parts.append(f"{self.field}[{self.span[0]}:{self.span[1]}]" if self.span else self.field)
        return " / ".join(parts) or "plan"


@dataclass(frozen=True)
class Code:
    """A stable, documented finding code with its default severity.

    ``lowerable`` is False for codes whose problem reaches the inbox broken (template
    errors, raw merge syntax, bad URLs): a brand's severity override cannot lower those.
    """

    code: str
    guard: str
    severity: Severity
    title: str
    lowerable: bool = True

    def severity_under(self, overrides: Mapping[str, str]) -> Severity:
        """This code's severity for a brand whose voice.yaml has these ``severity_overrides``
        (an override may raise any code; it lowers only a lowerable one)."""
        wanted = overrides.get(self.code)
        if not wanted or (not self.lowerable and SEVERITY_RANK[wanted] > SEVERITY_RANK[self.severity]):
            return self.severity
        return wanted  # type: ignore[return-value]


@dataclass(frozen=True)
class Guard:
    """One registered guard: pure checks of a plan and/or of one variant."""

    name: str
    description: str
    codes: tuple[Code, ...]
    check_variant: Callable[[VariantContext], Iterable[Finding]] | None = None
    check_plan: Callable[[PlanContext], Iterable[Finding]] | None = None
