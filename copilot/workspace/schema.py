"""The documented schema of a brand folder: brand, voice, facts and catalog YAML files.

Every model forbids unknown keys so a typo is an error, not a silently ignored rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Provenance",
    "FieldType",
    "Purpose",
    "Severity",
    "BrandFile",
    "Sender",
    "ReviewPolicy",
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
    "AudienceDefinition",
    "ProductPrice",
    "Shipping",
    "ForbiddenClaim",
    "Testimonial",
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


class ReviewPolicy(_Strict):
    """How this workspace runs the review gate beyond the fixed rules (docs/access.md)."""

    authors_may_schedule: bool = Field(
        default=False, description="the author of an approved draft may schedule (and resume) it themselves")


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
    customer_words: list[str] = Field(default_factory=list, description="what the brand calls its customers "
                                                                         "(runners, members, donors, guests)")
    timezone: str = Field(default="UTC", description="IANA zone the brand plans in (dates start from today there)")
    review_policy: ReviewPolicy = ReviewPolicy()


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
        default_factory=dict, description="journey stage -> CTA texts that fit it (case-insensitive); a stage "
                                          "may also be {allowed: [...], forbidden: [...]}"
    )
    cta_forbidden: dict[str, list[str]] = Field(
        default_factory=dict, description="journey stage -> CTA texts or offers the stage must never use "
                                          "(filled from cta_rules' forbidden lists)"
    )
    severity_overrides: dict[str, Severity] = Field(
        default_factory=dict, description="finding code -> severity this brand wants instead"
    )
    example_lines: list[str] = Field(default_factory=list, description="lines in the brand's voice, to imitate")
    sign_off: str = Field(default="", description="how emails end, e.g. 'See you on the trail, the Northpeak team'")
    allowed_caps: list[str] = Field(default_factory=list, description="words the brand writes in capitals "
                                                                        "(acronyms, names); never shouting")

    @model_validator(mode="before")
    @classmethod
    def _split_cta_rules(cls, data: Any) -> Any:
        """A stage written as {allowed, forbidden} becomes its allowed list plus cta_forbidden."""
        if not isinstance(data, dict) or not isinstance(data.get("cta_rules"), dict):
            return data
        rules, forbidden = {}, dict(data.get("cta_forbidden") or {})
        for stage, rule in data["cta_rules"].items():
            if isinstance(rule, dict):
                unknown = set(rule) - {"allowed", "forbidden"}
                if unknown:
                    raise ValueError(f"cta_rules.{stage}: unknown key(s) {', '.join(sorted(unknown))}; "
                                     "a stage is a list of CTA texts or {allowed: [...], forbidden: [...]}")
                rules[stage] = list(rule.get("allowed") or [])
                if rule.get("forbidden"):
                    forbidden[stage] = list(rule["forbidden"])
            else:
                rules[stage] = rule
        return {**data, "cta_rules": rules, "cta_forbidden": forbidden}


Translations = dict[str, dict[str, str]]  # locale -> {key: text in that language}


class ProductPrice(_Strict):
    """One of several prices of a product: a size, an edition, or a plan with a billing period."""

    label: str = Field(min_length=1, description="e.g. '250 g', 'Hardcover', 'Annual plan'")
    price: Decimal = Field(ge=0)
    period: Literal["one_time", "week", "month", "year"] = "one_time"
    sku: str | None = None


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
    prices: list[ProductPrice] = Field(default_factory=list, description="sizes, editions or plans; 'price' "
                                                                         "is the lowest ('from') price")
    description: str = Field(default="", description="what it is, in the brand's words (copy may use it)")
    benefits: list[str] = Field(default_factory=list, description="what it does for the person, one line each")
    translations: Translations = Field(default_factory=dict, description="locale -> {name, description}")


class Offer(_Strict):
    id: Identifier
    name: str
    kind: Literal["percent_off", "amount_off", "free_shipping", "gift", "early_access"]
    value: Decimal | None = Field(default=None, ge=0)
    code: str | None = Field(default=None, pattern=r"^[A-Z0-9_-]{3,32}$")
    starts: date
    ends: date | None = Field(default=None, description="last valid day; none for an offer that runs "
                                                        "until further notice")
    min_order: Decimal | None = Field(default=None, ge=0)
    applies_to: list[str] = Field(default_factory=list, description="categories or SKUs; empty means everything")
    audience: str = Field(default="", description="who the offer is for, in words")
    words: list[str] = Field(default_factory=list, description="how the brand's marketers name the offer in a "
                                                               "brief (\"the gift match\", \"dollar for dollar\")")
    terms: str = Field(min_length=1)
    new_customers_only: bool = False
    once_per_customer: bool = False
    combinable: bool = Field(default=True, description="false when it cannot be combined with other offers")
    url: str | None = Field(default=None, pattern=r"^https?://", description="the page the offer's CTA links to")
    translations: Translations = Field(default_factory=dict, description="locale -> {name, terms}")

    @model_validator(mode="after")
    def _consistent(self) -> Offer:
        if self.ends is not None and self.ends < self.starts:
            raise ValueError(f"ends ({self.ends}) is before starts ({self.starts})")
        if self.kind in {"percent_off", "amount_off"} and self.value is None:
            raise ValueError(f"a {self.kind} offer needs a value")
        if self.kind == "percent_off" and self.value is not None and self.value > 100:
            raise ValueError("a percent_off value cannot exceed 100")
        return self

    def valid_on(self, day: date) -> bool:
        """Is the offer valid on ``day`` (started, and not ended)?"""
        return self.starts <= day and (self.ends is None or day <= self.ends)

    def ends_by(self, day: date) -> bool:
        """Has the offer ended by ``day`` (its last day is before it)?"""
        return self.ends is not None and self.ends < day


class Policy(_Strict):
    id: Identifier
    name: str
    text: str
    threshold: Decimal | None = Field(default=None, ge=0, description="e.g. the order value for free shipping")
    days: int | None = Field(default=None, ge=0, description="e.g. the return window")
    translations: Translations = Field(default_factory=dict, description="locale -> {name, text}")


class Shipping(_Strict):
    """What delivery costs: the standard fee and the order value from which it is free."""

    fee: Decimal | None = Field(default=None, ge=0, description="standard shipping fee; None when always free")
    free_over: Decimal | None = Field(default=None, ge=0, description="orders at or over this ship free")
    regions: list[str] = Field(default_factory=list, description="two-letter country codes it applies to; "
                                                                  "empty means everywhere the brand ships")
    text: str = Field(default="", description="the policy in the brand's words")
    translations: Translations = Field(default_factory=dict)


class ForbiddenClaim(_Strict):
    """A claim the brand must never make (a regulator's, a lawyer's or the brand's own rule)."""

    id: Identifier
    text: str = Field(min_length=1, description="the claim, e.g. 'cures back pain'")
    reason: str = Field(min_length=1, description="why it is forbidden")
    examples: list[str] = Field(default_factory=list, description="other ways people say it")


class Testimonial(_Strict):
    """An approved quote: copy may quote it word for word, attributed as here."""

    id: Identifier
    quote: str = Field(min_length=1)
    author: str = Field(min_length=1, description="as it may be shown, e.g. 'Dana, Portland'")
    source: str = Field(min_length=1, description="where it was given and the permission to use it")


class Claim(_Strict):
    id: Identifier
    text: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where the claim is proven: a study, a count, a review set")


class CalendarDate(_Strict):
    id: Identifier
    name: str
    starts: date
    ends: date | None = None
    words: list[str] = Field(default_factory=list, description="how the brand's marketers name it in a brief "
                                                               "(\"the Dolomites Q&A\")")
    translations: Translations = Field(default_factory=dict, description="locale -> {name}")


class FactsFile(_Strict):
    """facts.yaml: the only prices, offers, products and claims copy may state."""

    products: list[Product] = Field(min_length=1)
    offers: list[Offer] = []
    policies: list[Policy] = []
    claims: list[Claim] = []
    calendar: list[CalendarDate] = []
    shipping: Shipping | None = None
    forbidden_claims: list[ForbiddenClaim] = []
    testimonials: list[Testimonial] = []

    @field_validator("offers", "policies", "claims", "calendar", "forbidden_claims", "testimonials")
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
    given_for: list[Purpose] = Field(default_factory=list, description="uses the person knowingly gave it for "
                                                                        "(lets a sensitive field serve them)")
    freshness_days: int | None = Field(default=None, gt=0, description="older values are stale")
    owner: str = ""
    role: str | None = Field(default=None, description="what it means for planning (docs/workspace.md, Roles)")
    words: list[str] = Field(default_factory=list, description="the brand's own words for it, for briefs")


class CatalogField(_Governed):
    name: Identifier
    type: FieldType
    values: list[str] = Field(default_factory=list, description="allowed values of an enum field")
    value_words: dict[str, list[str]] = Field(default_factory=dict,
                                              description="enum value -> the brand's words for people with it")
    thresholds: dict[str, float] = Field(default_factory=dict,
                                         description="named cut-offs of a number field, e.g. {high: 400}: what "
                                                     "counts as a high value for this brand")

    @model_validator(mode="after")
    def _enum_values(self) -> CatalogField:
        if self.type == "enum" and not self.values:
            raise ValueError(f"enum field {self.name!r} needs its values")
        unknown = sorted(set(self.value_words) - set(self.values))
        if unknown:
            raise ValueError(f"value_words of {self.name!r} names {', '.join(map(repr, unknown))}, not among its "
                             f"values ({', '.join(self.values)})")
        return self


class EventProperty(_Strict):
    name: Identifier
    type: FieldType
    description: str = ""
    values: list[str] = []


class CatalogEvent(_Governed):
    name: Identifier
    properties: list[EventProperty] = []


class AudienceDefinition(_Strict):
    """A group of people the brand names in its own words, and the rule (plan rule syntax) that finds them."""

    label: str = Field(min_length=1)
    phrases: list[str] = Field(min_length=1, description="how briefs name the group")
    rule: dict[str, Any] = Field(description="a plan rule over this catalog's fields and events")


class CatalogFile(_Strict):
    """catalog.yaml: every contact field and event, with where it came from."""

    fields: list[CatalogField] = Field(min_length=1)
    events: list[CatalogEvent] = []
    audiences: list[AudienceDefinition] = Field(default_factory=list,
                                                description="named groups the brand's briefs use")

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
