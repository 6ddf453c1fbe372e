"""Roles: what a catalog field or event means for planning, whatever the brand calls it.

Playbooks, the brief reader and the prompts speak of roles ("the last purchase time", "the
purchase event"), never of one brand's field names. A brand's catalog says which of its fields
and events plays which role (``role: last_purchase_at`` on its ``last_order_date`` field). Events
named as in Segment's tracking spec ("Order Completed", "Product Viewed", "Trial Started" ...)
or by their common names take their role without being told, so existing data maps without work.
This module is the one list of roles; ``docs/workspace.md`` documents it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Role", "ROLES", "FIELD_ROLES", "EVENT_ROLES", "role", "implied_event_role", "resolve_role_refs",
           "role_refs", "missing_role_text", "ROLE_REF"]

# In playbooks and shared vocabulary, "@role" stands for the catalog field or event that plays the
# role; a rule's value may be "@top" / "@members" (a tier field's highest value / every value but
# the lowest) or "@high" (a number field's cut-off named in its catalog ``thresholds``).
ROLE_REF = "@"
_VALUE_TOKENS = ("@top", "@members", "@high")


@dataclass(frozen=True)
class Role:
    name: str
    kind: Literal["field", "event"]
    meaning: str  # what it means, in words a marketer reads
    types: tuple[str, ...] = ()  # catalog field types that can hold it (fields only)
    words: tuple[str, ...] = ()  # how briefs name it, in English (brands add their own words)
    implied_by: tuple[str, ...] = ()  # event names that play this role unless the catalog says otherwise


_DATES = ("date", "datetime")
_NUMBERS = ("integer", "number")

FIELD_ROLES: tuple[Role, ...] = (
    Role("first_name", "field", "the person's first name, for greetings", ("string",)),
    Role("locale", "field", "the language the person reads", ("string", "enum")),
    Role("signed_up_at", "field", "when the person subscribed or created an account", _DATES,
         ("signed up", "joined", "subscribed")),
    Role("last_purchase_at", "field", "when the person last bought (ordered, booked, donated)", _DATES,
         ("last order", "last purchase", "last bought", "last booking", "last donation")),
    Role("order_count", "field", "how many purchases the person has made", _NUMBERS,
         ("orders", "purchases", "repeat buyers", "one-time buyers")),
    Role("lifetime_value", "field", "how much the person has spent in all", _NUMBERS,
         ("big spenders", "high spenders", "lifetime value", "total spent")),
    Role("tier", "field", "the person's loyalty or membership tier (values listed lowest first)", ("enum",),
         ("tier", "loyalty tier", "members", "top tier")),
    Role("points_balance", "field", "the loyalty points the person holds", _NUMBERS,
         ("points", "points balance", "reward points")),
    Role("points_expire_at", "field", "when the person's points expire", _DATES,
         ("points expiring", "points expire", "expiring points")),
    Role("preferred_category", "field", "the product category the person prefers", ("enum", "string"),
         ("preferred category", "favourite category", "favorite category", "likes")),
    Role("birthday", "field", "the person's birthday (given for a birthday message)", _DATES,
         ("birthday", "birth date", "born")),
    Role("anniversary_at", "field", "the date the person's relationship with the brand began", _DATES,
         ("anniversary", "member since")),
    Role("plan", "field", "the subscription plan the person is on", ("enum", "string"),
         ("plan", "subscription plan", "free plan", "paid plan")),
    Role("renewal_at", "field", "when the person's subscription or membership renews or expires", _DATES,
         ("renewal", "renews", "renewal date", "membership expires", "expiry", "expires")),
    Role("trial_ends_at", "field", "when the person's free trial ends", _DATES,
         ("trial ends", "trial ending", "end of trial", "trial expires")),
    Role("last_active_at", "field", "when the person last used the product, visited or attended", _DATES,
         ("last active", "last login", "last visit", "last class", "inactive")),
    Role("engagement", "field", "how engaged the person is with email, as buckets", ("enum",),
         ("engaged", "engagement", "active readers")),
    Role("usage_count", "field", "how much the person has used the product (sessions, classes, books ...)",
         _NUMBERS, ("usage", "sessions", "milestone")),
)

EVENT_ROLES: tuple[Role, ...] = (
    Role("purchase", "event", "the person bought (an order, a booking, a donation, a paid subscription)",
         words=("bought", "ordered", "purchased", "order", "purchase", "buyers", "customers"),
         implied_by=("order_completed", "order_placed", "purchase", "purchased", "checkout_completed",
                     "order_created")),
    Role("delivery", "event", "the person's order arrived",
         words=("delivered", "arrived", "arrives", "received", "box arrives", "order arrives"),
         implied_by=("order_delivered", "order_fulfilled", "shipment_delivered")),
    Role("cart", "event", "the person left items in a cart or checkout",
         words=("cart", "abandoned cart", "abandoned basket", "checkout", "panier", "carrito", "warenkorb"),
         implied_by=("cart_abandoned", "checkout_abandoned", "cart_viewed", "product_added", "checkout_started")),
    Role("browse", "event", "the person viewed a product or page",
         words=("viewed", "browsed", "looked at", "browsers", "consulté", "ont consulté", "vieron", "angesehen"),
         implied_by=("product_viewed", "product_list_viewed", "page_viewed", "item_viewed")),
    Role("signup", "event", "the person subscribed or created an account",
         words=("signed up", "new subscribers", "joined", "registered"),
         implied_by=("signed_up", "account_created", "subscribed", "user_signed_up")),
    Role("trial_start", "event", "the person started a free trial",
         words=("trial", "started a trial", "trialists"),
         implied_by=("trial_started",)),
    Role("cancellation", "event", "the person cancelled a subscription or membership",
         words=("cancelled", "canceled", "churned"),
         implied_by=("subscription_cancelled", "subscription_canceled", "membership_cancelled")),
    Role("payment_failed", "event", "a payment of the person's failed",
         words=("failed payment", "payment failed", "card declined"),
         implied_by=("payment_failed", "invoice_payment_failed")),
    Role("upgrade", "event", "the person moved to a higher plan",
         words=("upgraded", "upgrade"),
         implied_by=("subscription_upgraded", "plan_upgraded")),
    Role("activation", "event", "the person completed an onboarding or activation step",
         words=("activated", "onboarding", "set up", "completed setup"),
         implied_by=("onboarding_step_completed", "account_activated", "activated")),
    Role("feature_use", "event", "the person used a feature of the product",
         words=("used", "feature", "adopted"),
         implied_by=("feature_used",)),
    Role("review", "event", "the person wrote a review",
         words=("reviewed", "left a review", "reviewers", "rated", "rate the", "ask for a review"),
         implied_by=("review_submitted", "review_written", "product_reviewed")),
    Role("restock_request", "event", "the person asked to be told when an item is back",
         words=("back in stock", "notify me", "waitlist"),
         implied_by=("back_in_stock_requested", "waitlist_joined")),
    Role("registration", "event", "the person registered for an event, class or webinar",
         words=("registered", "booked", "rsvp", "signed up for"),
         implied_by=("event_registered", "class_booked", "webinar_registered", "rsvp")),
    Role("attendance", "event", "the person attended an event or class",
         words=("attended", "came to", "showed up"),
         implied_by=("event_attended", "class_attended", "checked_in")),
    Role("email_open", "event", "the person opened a marketing email",
         words=("opened", "opens"), implied_by=("email_opened",)),
    Role("email_click", "event", "the person clicked a link in a marketing email",
         words=("clicked", "clicks"), implied_by=("email_clicked", "email_link_clicked")),
    Role("email_sent", "event", "a marketing email was sent to the person (frequency caps count it)",
         implied_by=("email_sent", "email_delivered")),
)

ROLES: dict[str, Role] = {r.name: r for r in (*FIELD_ROLES, *EVENT_ROLES)}
_IMPLIED = {name: r.name for r in EVENT_ROLES for name in r.implied_by}


def role(name: str) -> Role | None:
    return ROLES.get(name)


def implied_event_role(event_name: str) -> str | None:
    """The role an event named like Segment's spec or a common name plays ('Order Completed' -> purchase)."""
    key = "_".join(event_name.strip().lower().replace("-", " ").split())
    return _IMPLIED.get(key)


def role_refs(data: Any) -> set[str]:
    """Every role a playbook fragment refers to ("@purchase" -> "purchase")."""
    if isinstance(data, dict):
        return set().union(*(role_refs(v) for k, v in data.items() if k != "value"))
    if isinstance(data, list):
        return set().union(*(role_refs(v) for v in data)) if data else set()
    if isinstance(data, str) and data.startswith(ROLE_REF) and data not in _VALUE_TOKENS and data[1:] in ROLES:
        return {data[1:]}
    return set()


def resolve_role_refs(data: Any, workspace: Any) -> tuple[Any, set[str]]:
    """``data`` with every "@role" replaced by the workspace's field or event name (and value tokens by
    values), plus the roles (or "role:token") the workspace cannot fill. Nothing is guessed: a missing
    role stays unresolved and is reported."""
    missing: set[str] = set()

    def name_of(ref: str) -> str:
        role_name = ref[1:]
        target = workspace.roles.get(role_name)
        if target is None:
            missing.add(role_name)
            return ref
        return target

    def value_of(token: str, field_name: str) -> Any:
        field = workspace.field(field_name)
        if field is None:
            return token
        if token == "@top" and field.values:
            return field.values[-1]
        if token == "@members" and len(field.values) > 1:
            return list(field.values[1:])
        if token == "@high" and "high" in field.thresholds:
            value = field.thresholds["high"]
            return int(value) if field.type == "integer" and float(value).is_integer() else value
        missing.add(f"{workspace.role_of(field_name) or field_name}:{token[1:]}")
        return token

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items() if k != "value"}
            if "value" in node:
                value = node["value"]
                field = out.get("field") or out.get("property")
                out["value"] = value_of(value, field) if isinstance(value, str) and value in _VALUE_TOKENS \
                    and isinstance(field, str) else walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and node.startswith(ROLE_REF) and node not in _VALUE_TOKENS and node[1:] in ROLES:
            return name_of(node)
        return node

    return walk(data), missing


def missing_role_text(missing: str) -> str:
    """How to give the workspace a role (or a value a role needs), in words."""
    role_name, _, token = missing.partition(":")
    r = ROLES.get(role_name)
    if r is None:
        return missing
    if token == "high":
        return (f"a cut-off for the field that holds {r.meaning} (what counts as high for this brand: "
                f"thresholds: {{high: N}} on the {role_name} field in catalog.yaml)")
    if token in {"top", "members"}:
        return f"the values of the {role_name} field, lowest first (values: [...] in catalog.yaml)"
    kind = "field" if r.kind == "field" else "event"
    return (f"the {kind} for {r.meaning} (mark the catalog {kind} that holds it with role: {role_name} in "
            "catalog.yaml)")
