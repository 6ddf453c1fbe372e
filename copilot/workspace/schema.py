"""The documented schema of a brand folder: brand, voice, facts and catalog YAML files.

Every model forbids unknown keys so a typo is an error, not a silently ignored rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Provenance",
    "FieldType",
    "Purpose",
    "Severity",
    "BrandFile",
    "Sender",
    "VoiceFile",
    "EmojiPolicy",
    "FactsFile",
    "Product",
    "Offer",
    "Policy",
    "Claim",
    "CalendarDate",
    "CatalogFile",
    "CatalogField",
    "CatalogEvent",
    "EventProperty",
    "CONTACT_COLUMNS",
    "EVENT_COLUMNS",
]

Provenance = Literal["zero_party", "first_party", "second_party", "third_party", "inferred"]
FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "enum", "list"]
Purpose = Literal["segmentation", "personalization", "analytics"]
Severity = Literal["block", "warn", "info"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]

# Contact fields stored as real columns; every other catalog field lives in the
# contact's JSON ``attributes``. Same for the event properties promoted to columns.
CONTACT_COLUMNS: dict[str, FieldType] = {
    "email": "string",
    "first_name": "string",
    "last_name": "string",
    "city": "string",
    "country": "string",
    "locale": "string",
    "timezone": "string",
    "consent": "enum",
    "signed_up_at": "datetime",
}
EVENT_COLUMNS: dict[str, FieldType] = {"category": "string", "product": "string", "value": "number"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sender(_Strict):
    from_name: str = Field(min_length=1)
    from_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    reply_to: str | None = None
    postal_address: str = Field(min_length=5, description="physical address required in every marketing email")
    unsubscribe_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                          description="mailbox of the List-Unsubscribe mailto link")


class BrandFile(_Strict):
    """brand.yaml: who the brand is."""

    name: str = Field(min_length=1)
    slug: Slug
    website: str = Field(pattern=r"^https?://")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    default_locale: str = "en"
    locales: list[str] = ["en"]
    sender: Sender
    preference_center_url: str = Field(pattern=r"^https?://")


class EmojiPolicy(_Strict):
    allowed: bool = False
    max_per_message: int = Field(default=0, ge=0)
    subject_allowed: bool = False


class VoiceFile(_Strict):
    """voice.yaml: how the brand sounds, and what it never says."""

    tone_words: list[str] = Field(min_length=1)
    description: str = ""
    banned_phrases: list[str] = []
    discouraged_phrases: list[str] = []
    max_exclamation_marks: int = Field(default=1, ge=0)
    emoji: EmojiPolicy = EmojiPolicy()
    reading_grade_target: float = Field(default=8.0, gt=0, le=20)
    subject_max_length: int = Field(default=60, ge=10, le=200)
    cta_rules: dict[str, list[str]] = Field(
        default_factory=dict, description="journey stage -> CTA texts that fit it (case-insensitive)"
    )
    severity_overrides: dict[str, Severity] = Field(
        default_factory=dict, description="finding code -> severity this brand wants instead"
    )


class Product(_Strict):
    sku: str = Field(min_length=1)
    name: str = Field(min_length=1)
    aliases: list[str] = []
    category: str = Field(min_length=1)
    price: Decimal = Field(ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    url: str = Field(pattern=r"^https?://")
    in_stock: bool = True
    previous_price: Decimal | None = Field(default=None, ge=0)


class Offer(_Strict):
    id: Identifier
    name: str
    kind: Literal["percent_off", "amount_off", "free_shipping", "gift", "early_access"]
    value: Decimal | None = Field(default=None, ge=0)
    code: str | None = Field(default=None, pattern=r"^[A-Z0-9_-]{3,32}$")
    starts: date
    ends: date
    min_order: Decimal | None = Field(default=None, ge=0)
    applies_to: list[str] = Field(default_factory=list, description="categories or SKUs; empty means everything")
    audience: str = Field(default="", description="who the offer is for, in words")
    terms: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Offer:
        if self.ends < self.starts:
            raise ValueError(f"ends ({self.ends}) is before starts ({self.starts})")
        if self.kind in {"percent_off", "amount_off"} and self.value is None:
            raise ValueError(f"a {self.kind} offer needs a value")
        if self.kind == "percent_off" and self.value is not None and self.value > 100:
            raise ValueError("a percent_off value cannot exceed 100")
        return self


class Policy(_Strict):
    id: Identifier
    name: str
    text: str
    threshold: Decimal | None = Field(default=None, ge=0, description="e.g. the order value for free shipping")
    days: int | None = Field(default=None, ge=0, description="e.g. the return window")


class Claim(_Strict):
    id: Identifier
    text: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where the claim is proven: a study, a count, a review set")


class CalendarDate(_Strict):
    id: Identifier
    name: str
    starts: date
    ends: date | None = None


class FactsFile(_Strict):
    """facts.yaml: the only prices, offers, products and claims copy may state."""

    products: list[Product] = Field(min_length=1)
    offers: list[Offer] = []
    policies: list[Policy] = []
    claims: list[Claim] = []
    calendar: list[CalendarDate] = []

    @field_validator("offers", "policies", "claims", "calendar")
    @classmethod
    def _unique_ids(cls, items: list) -> list:  # type: ignore[type-arg]
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"id {item.id!r} appears twice")
            seen.add(item.id)
        return items


class _Governed(_Strict):
    description: str = Field(min_length=1)
    provenance: Provenance
    disclosed: bool = Field(description="did the person knowingly give it, or expect us to have it?")
    sensitive: bool = False
    allowed_uses: list[Purpose] = Field(min_length=1)
    freshness_days: int | None = Field(default=None, gt=0, description="older values are stale")
    owner: str = ""


class CatalogField(_Governed):
    name: Identifier
    type: FieldType
    values: list[str] = Field(default_factory=list, description="allowed values of an enum field")

    @model_validator(mode="after")
    def _enum_values(self) -> CatalogField:
        if self.type == "enum" and not self.values:
            raise ValueError(f"enum field {self.name!r} needs its values")
        return self


class EventProperty(_Strict):
    name: Identifier
    type: FieldType
    description: str = ""
    values: list[str] = []


class CatalogEvent(_Governed):
    name: Identifier
    properties: list[EventProperty] = []


class CatalogFile(_Strict):
    """catalog.yaml: every contact field and event, with where it came from."""

    fields: list[CatalogField] = Field(min_length=1)
    events: list[CatalogEvent] = []

    @model_validator(mode="after")
    def _unique_and_core(self) -> CatalogFile:
        for kind, items in (("field", self.fields), ("event", self.events)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{kind} {item.name!r} appears twice")
                seen.add(item.name)
        names = {f.name for f in self.fields}
        missing = [n for n in ("email", "consent") if n not in names]
        if missing:
            raise ValueError(f"the catalog must describe the core fields: {', '.join(missing)}")
        for f in self.fields:
            expected = CONTACT_COLUMNS.get(f.name)
            if expected is not None and expected != f.type:
                raise ValueError(f"field {f.name!r} is a built-in column of type {expected}, not {f.type}")
        return self
