"""Deterministic synthetic contacts and events, generated in fixed chunks with numpy.

Each contact follows a lifecycle archetype (new subscriber, browser, cart
abandoner, first-time / repeat / VIP / lapsed buyer, inactive reader ...) placed
in time relative to ``now``; attributes such as ``order_count`` or
``email_engagement`` are computed from the events generated, so they agree.
Only what the workspace's catalog declares is emitted.

Longer than most modules on purpose: the archetypes and the event streams they imply share
one vectorised state per chunk; split apart, each part would need all of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from copilot.audience.pools import MARKETS, MarketPool, market_pools
from copilot.workspace import CONTACT_COLUMNS, Workspace

__all__ = ["GEN_CHUNK", "ARCHETYPES", "AudienceChunk", "EventBlock", "generate_audience"]

# Contacts per generated chunk. Fixed, so rows never depend on how the caller batches
# writes, and a bigger audience starts with the same people (whole chunks).
GEN_CHUNK = 5_000
DAY = 86_400


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    signup_days: tuple[float, float]
    orders: tuple[int, int]
    last_order_days: tuple[float, float]
    views: float  # Poisson mean of product views
    email_recent: float  # Poisson mean of opens in the last 90 days
    email_old: float  # Poisson mean of older opens


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("new_subscriber", 0.06, (0, 14), (0, 0), (0, 0), 1.2, 1.5, 0.0),
    Archetype("browser", 0.17, (15, 540), (0, 0), (0, 0), 2.5, 1.0, 0.9),
    Archetype("reader", 0.10, (30, 900), (0, 0), (0, 0), 0.8, 3.0, 1.8),
    Archetype("cart_abandoner", 0.07, (10, 700), (0, 2), (30, 400), 3.0, 1.5, 0.9),
    Archetype("first_time_buyer", 0.13, (5, 500), (1, 1), (0.5, 120), 1.0, 1.5, 0.6),
    Archetype("repeat_buyer", 0.15, (120, 1100), (2, 5), (0.5, 170), 1.0, 2.0, 1.2),
    Archetype("vip", 0.04, (365, 1500), (5, 14), (0.5, 75), 1.5, 3.5, 1.8),
    Archetype("lapsed_buyer", 0.14, (250, 1500), (1, 5), (181, 720), 0.8, 0.3, 0.8),
    Archetype("inactive_subscriber", 0.14, (200, 1500), (0, 0), (0, 0), 0.3, 0.0, 1.0),
)
_ARCH = {a.name: i for i, a in enumerate(ARCHETYPES)}

# Values the demo brand's catalog declares; other catalogs get only what fits them.
ACTIVITIES = ("road", "trail", "track", "treadmill")
INCOME_BANDS = ("low", "middle", "high")
RACES = (
    "Portland Half Marathon", "Chicago Marathon", "Berlin Marathon", "Valencia Marathon",
    "Madrid Half Marathon", "Vienna City Marathon", "London Marathon", "local 10K", "first 5K",
    "Western States 100", "Sydney Marathon", "Mexico City Marathon",
)
INJURIES = (
    "plantar fasciitis mentioned in chat", "recovering from shin splints", "IT band trouble",
    "knee pain on long runs", "Achilles tendinitis", "stress fracture last season",
)
SIGNUP_SOURCES = ("popup", "checkout", "footer", "quiz")
# Newsletter sends kept as events (frequency caps look back a few weeks at most).
_SENDS_KEPT = 2
# Reserved example domains: a demo can never email a real person.
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")


@dataclass
class EventBlock:
    """Events of one chunk, sorted by contact then time. ``contact`` indexes the chunk."""

    contact: np.ndarray  # int64
    name: list[str]
    occurred_at: np.ndarray  # int64 UTC epoch seconds
    category: list[str | None]
    product: list[str | None]
    value: list[float | None]
    properties: list[str]  # JSON text

    def __len__(self) -> int:
        return len(self.name)


@dataclass
class AudienceChunk:
    """Contacts ``start .. start+len-1`` of the audience, with their events."""

    start: int
    email: list[str]
    first_name: list[str | None]
    last_name: list[str | None]
    city: list[str | None]
    country: list[str | None]
    locale: list[str]
    timezone: list[str]
    consent: list[str]
    consent_updated_at: np.ndarray  # int64 epoch seconds
    signed_up_at: np.ndarray  # int64 epoch seconds
    attributes: list[str]  # JSON text
    archetype: list[str]
    events: EventBlock

    def __len__(self) -> int:
        return len(self.email)


class _Fit:
    """What the workspace's catalog lets the generator emit."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        products = [p for p in workspace.facts.products]
        self.sku = np.array([p.sku for p in products], dtype=object)
        self.category = np.array([p.category for p in products], dtype=object)
        self.price = np.array([float(p.price) for p in products])
        in_stock = np.array([p.in_stock for p in products])
        self.buyable = np.flatnonzero(in_stock) if in_stock.any() else np.arange(len(products))
        self.out_of_stock = np.flatnonzero(~in_stock)

    def attribute(self, name: str, type_: str, values: tuple[str, ...] = ()) -> bool:
        """True when the catalog has ``name`` as a non-column field of this type (and these enum values)."""
        field = self.workspace.field(name)
        if field is None or name in CONTACT_COLUMNS or field.type != type_:
            return False
        return not values or set(values) <= set(field.values)

    def event(self, name: str) -> bool:
        return self.workspace.event(name) is not None

    def prop(self, event: str, prop: str) -> bool:
        spec = self.workspace.event(event)
        return spec is not None and any(p.name == prop for p in spec.properties)


def generate_audience(workspace: Workspace, *, contacts: int, seed: int = 7,
                      now: datetime | None = None) -> Iterator[AudienceChunk]:
    """Yield the audience in chunks of GEN_CHUNK contacts; same arguments, same rows."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    gen = _Generator(workspace, seed=seed, now_s=int(now.timestamp()))
    for index, start in enumerate(range(0, contacts, GEN_CHUNK)):
        yield gen.chunk(index, start, min(GEN_CHUNK, contacts - start))


class _Generator:
    def __init__(self, workspace: Workspace, *, seed: int, now_s: int) -> None:
        self.fit = _Fit(workspace)
        self.seed = seed
        self.now_s = now_s
        self.pools: tuple[MarketPool, ...] = market_pools(seed)
        self.market_p = np.array([m.weight for m in MARKETS])
        self.market_p /= self.market_p.sum()
        self.arch_p = np.array([a.weight for a in ARCHETYPES])
        self.arch_p /= self.arch_p.sum()
        self._json_cache: dict[tuple[str, str], str] = {}
        self.tables = _Tables(self.pools)

    # -- helpers -------------------------------------------------------------------------

    def _ago(self, days: np.ndarray) -> np.ndarray:
        """Days before now -> epoch seconds (whole seconds)."""
        return self.now_s - np.round(days * DAY).astype(np.int64)

    def _props(self, key: str, value: str) -> str:
        cached = self._json_cache.get((key, value))
        if cached is None:
            cached = self._json_cache[(key, value)] = json.dumps({key: value})
        return cached

    # -- one chunk -----------------------------------------------------------------------

    def chunk(self, index: int, start: int, n: int) -> AudienceChunk:
        rng = np.random.default_rng([self.seed, index])
        arch = rng.choice(len(ARCHETYPES), n, p=self.arch_p)
        market = rng.choice(len(MARKETS), n, p=self.market_p)
        lo = np.array([a.signup_days[0] for a in ARCHETYPES])[arch]
        hi = np.array([a.signup_days[1] for a in ARCHETYPES])[arch]
        signup_ago = rng.uniform(lo, hi)

        # Orders: how many, and how long ago the last one was.
        k_lo = np.array([a.orders[0] for a in ARCHETYPES])[arch]
        k_hi = np.array([a.orders[1] for a in ARCHETYPES])[arch]
        orders = rng.integers(k_lo, k_hi + 1)
        abandoner = arch == _ARCH["cart_abandoner"]
        orders[abandoner & (rng.random(n) < 0.6)] = 0  # most abandoners never bought
        l_lo = np.array([a.last_order_days[0] for a in ARCHETYPES])[arch]
        l_hi = np.array([a.last_order_days[1] for a in ARCHETYPES])[arch]
        last_ago = np.where(orders > 0, rng.uniform(l_lo, np.maximum(l_hi, l_lo)), 0.0)
        # A buyer subscribed before the first order (usually shortly before).
        signup_ago = np.where(orders > 0, np.maximum(signup_ago, last_ago + rng.uniform(0.2, 45, n)), signup_ago)

        # Consent: unsubscribed or bounced at some point after signing up.
        u = rng.random(n)
        new = arch == _ARCH["new_subscriber"]
        unsub = np.where(new, u < 0.02, u < 0.07)
        bounced = ~unsub & (u >= 0.07) & (u < 0.095)
        consent_ago = np.where(unsub | bounced, rng.uniform(0, 1, n) * signup_ago, signup_ago)

        events, derived = self._events(rng, n, arch, signup_ago, orders, last_ago, consent_ago, unsub | bounced)
        return self._contacts(rng, start, n, arch, market, signup_ago, orders, last_ago, consent_ago,
                              unsub, bounced, events, derived)

    # -- events --------------------------------------------------------------------------

    def _events(self, rng: np.random.Generator, n: int, arch: np.ndarray, signup_ago: np.ndarray,
                orders: np.ndarray, last_ago: np.ndarray, consent_ago: np.ndarray,
                opted_out: np.ndarray) -> tuple[_EventParts, dict[str, np.ndarray]]:
        """Every event of the chunk, plus per-contact sums the attributes must agree with."""
        # Every draw happens whatever the catalog holds, so dropping an event from the
        # catalog leaves everything else (and everyone) the same; ``parts.add`` skips it.
        fit = self.fit
        parts = _EventParts(fit)
        idx = np.arange(n)

        source = rng.choice(len(SIGNUP_SOURCES), n, p=[0.45, 0.25, 0.2, 0.1])
        props = [self._props("source", SIGNUP_SOURCES[s]) for s in source] if fit.prop("signed_up", "source") \
            else None
        parts.add("signed_up", idx, self._ago(signup_ago), properties=props)

        # Orders, their product views, deliveries and reviews.
        who = np.repeat(idx, orders)
        order_ago = rng.uniform(last_ago[who], signup_ago[who])
        first_of_each = np.cumsum(orders)[orders > 0] - orders[orders > 0]
        order_ago[first_of_each] = last_ago[orders > 0]  # each buyer's last order is exactly last_ago
        product = fit.buyable[rng.integers(0, len(fit.buyable), len(who))]
        addon = fit.buyable[rng.integers(0, len(fit.buyable), len(who))]
        value = np.round(fit.price[product] + np.where(rng.random(len(who)) < 0.35, fit.price[addon], 0.0), 2)
        derived = {"order_value": np.bincount(who, weights=value, minlength=n)}
        parts.add("order_placed", who, self._ago(order_ago), product=product, value=value)
        # Most orders follow a tracked view of the product (some come straight from an email),
        # never before signing up: then the view falls somewhere between signup and order.
        lead = rng.uniform(0.01, 2, len(who))
        view_ago = np.where(order_ago + lead < signup_ago[who], order_ago + lead,
                            order_ago + (signup_ago[who] - order_ago) * rng.random(len(who)))
        seen = rng.random(len(who)) < 0.5
        parts.add("product_viewed", who[seen], self._ago(view_ago[seen]), product=product[seen])
        deliver_ago = order_ago - rng.uniform(2, 6, len(who))
        delivered = deliver_ago > 0
        parts.add("order_delivered", who[delivered], self._ago(deliver_ago[delivered]), product=product[delivered])
        review_ago = deliver_ago - rng.uniform(2, 20, len(who))
        reviewed = delivered & (review_ago > 0) & (rng.random(len(who)) < 0.15)
        stars = rng.choice(5, len(who), p=[0.03, 0.05, 0.12, 0.3, 0.5]) + 1.0
        parts.add("review_submitted", who[reviewed], self._ago(review_ago[reviewed]),
                  product=product[reviewed], value=stars[reviewed])

        # Browsing: views skew recent, and never before signing up.
        lam = np.array([a.views for a in ARCHETYPES])[arch]
        who_v = np.repeat(idx, rng.poisson(lam))
        ago = np.minimum(signup_ago[who_v], 180.0) * rng.random(len(who_v)) ** 2
        viewed = rng.integers(0, len(fit.sku), len(who_v))
        parts.add("product_viewed", who_v, self._ago(ago), product=viewed)

        # Abandoned carts: every abandoner has one in the last week (most in the last 3 days);
        # anyone may have older ones.
        ab = idx[arch == _ARCH["cart_abandoner"]]
        recent = np.where(rng.random(len(ab)) < 0.7, rng.uniform(0.05, 3, len(ab)), rng.uniform(3, 7, len(ab)))
        older_n = np.where(signup_ago > 8, rng.poisson(0.1, n), 0)
        who_o = np.repeat(idx, older_n)
        older = rng.uniform(8, np.maximum(signup_ago[who_o], 8.01))
        who_c = np.concatenate([ab, who_o])
        ago = np.concatenate([recent, older])
        cart_product = fit.buyable[rng.integers(0, len(fit.buyable), len(who_c))]
        qty = rng.integers(1, 3, len(who_c))
        cart_value = np.round(fit.price[cart_product] * qty, 2)
        ids = rng.integers(0, 2**47, len(who_c))
        props = [json.dumps({"cart_id": f"cart-{c:012x}"}) for c in ids.tolist()] \
            if fit.prop("cart_abandoned", "cart_id") else None
        parts.add("cart_abandoned", who_c, self._ago(ago), product=cart_product, value=cart_value, properties=props)

        if len(fit.out_of_stock):
            who_b = idx[rng.random(n) < 0.03]
            ago = rng.random(len(who_b)) * np.minimum(signup_ago[who_b], 60)
            wanted = fit.out_of_stock[rng.integers(0, len(fit.out_of_stock), len(who_b))]
            parts.add("back_in_stock_requested", who_b, self._ago(ago), product=wanted)

        derived.update(self._email(rng, parts, n, arch, signup_ago, consent_ago, opted_out))
        return parts, derived

    def _email(self, rng: np.random.Generator, parts: _EventParts, n: int, arch: np.ndarray,
               signup_ago: np.ndarray, consent_ago: np.ndarray, opted_out: np.ndarray) -> dict[str, np.ndarray]:
        """The weekly newsletter: the last few sends, and opens and clicks of past issues.

        Nothing reaches or comes from a contact after their unsubscribe or bounce.
        """
        idx = np.arange(n)
        week = 7.0
        # Issues go out on Thursdays at 15:00 UTC (1970-01-01 was a Thursday).
        latest = (self.now_s - 15 * 3600) % (7 * DAY) / DAY  # days since the latest issue

        def subscribed_at(who: np.ndarray, ago: np.ndarray) -> np.ndarray:
            return (ago <= signup_ago[who]) & (~opted_out[who] | (consent_ago[who] < ago))

        for issue in range(_SENDS_KEPT):
            ago = latest + week * issue
            who = idx[subscribed_at(idx, np.full(n, ago))]
            parts.add("email_sent", who, self._ago(np.full(len(who), ago)),
                      properties=self._campaign("email_sent", ago, len(who)))

        recent_n = rng.poisson(np.array([a.email_recent for a in ARCHETYPES])[arch])
        old_n = rng.poisson(np.array([a.email_old for a in ARCHETYPES])[arch])
        # Inactive subscribers have opened nothing for more than four months.
        old_from = np.where(arch == _ARCH["inactive_subscriber"], 128.0, 90.0)
        old_n = np.where(signup_ago > old_from + 1, old_n, 0)
        who_r = np.repeat(idx, recent_n)
        who_o = np.repeat(idx, old_n)
        who = np.concatenate([who_r, who_o])
        drawn = np.concatenate([
            rng.random(len(who_r)) * np.minimum(signup_ago[who_r], 90.0),
            rng.uniform(old_from[who_o], np.minimum(signup_ago[who_o], 540.0).clip(old_from[who_o] + 1)),
        ])
        # Each open belongs to the issue sent before it, opened some hours later.
        issue_ago = latest + week * np.floor((drawn - latest) / week).clip(0)
        ago = issue_ago - np.minimum(rng.exponential(0.4, len(who)), 6.0)
        ago = np.where(ago < 0, issue_ago * rng.random(len(who)), ago)
        keep = subscribed_at(who, issue_ago) & subscribed_at(who, ago)
        who, ago, issue_ago = who[keep], ago[keep], issue_ago[keep]
        clicked = rng.random(len(who)) < 0.22
        click_ago = np.maximum(ago - rng.uniform(0, 0.05, len(who)), 0)
        recent_open = ago <= 90
        parts.add("email_opened", who, self._ago(ago), properties=self._campaign("email_opened", issue_ago))
        parts.add("email_clicked", who[clicked], self._ago(click_ago[clicked]),
                  properties=self._campaign("email_clicked", issue_ago[clicked]))
        return {"recent_opens": np.bincount(who[recent_open], minlength=n),
                "recent_clicks": np.bincount(who[recent_open & clicked], minlength=n)}

    def _campaign(self, event: str, issue_ago: np.ndarray | float, count: int | None = None) -> list[str] | None:
        """``{"campaign": "newsletter-YYYY-MM-DD"}`` per event, when the catalog declares it."""
        if not self.fit.prop(event, "campaign"):
            return None
        days = np.atleast_1d(np.asarray(issue_ago, dtype=float))
        dates = np.datetime_as_string(self._ago(days).astype("datetime64[s]").astype("datetime64[D]")).tolist()
        props = [self._props("campaign", f"newsletter-{d}") for d in dates]
        return props * count if count is not None else props

    # -- contacts ------------------------------------------------------------------------

    def _contacts(self, rng: np.random.Generator, start: int, n: int, arch: np.ndarray, market: np.ndarray,
                  signup_ago: np.ndarray, orders: np.ndarray, last_ago: np.ndarray, consent_ago: np.ndarray,
                  unsub: np.ndarray, bounced: np.ndarray, parts: _EventParts,
                  derived: dict[str, np.ndarray]) -> AudienceChunk:
        t = self.tables
        first_i = rng.integers(0, t.first.shape[1], n)
        last_i = rng.integers(0, t.last.shape[1], n)
        place_i = rng.integers(0, t.city.shape[1], n)
        # Gaps real lists have: no first name or an empty or blank one, no last name, city or country.
        gap = rng.random((5, n))
        first = t.first[market, first_i]
        first = np.where(gap[0] < 0.06, None, np.where(gap[0] < 0.075, "", np.where(gap[0] < 0.085, "  ", first)))
        local_style = rng.integers(0, 3, n).tolist()
        domain = rng.choice(len(_DOMAINS), n, p=[0.55, 0.2, 0.15, 0.1]).tolist()
        emails = []
        for j, (fa, la, style, dom) in enumerate(zip(t.first_ascii[market, first_i].tolist(),
                                                     t.last_ascii[market, last_i].tolist(), local_style, domain,
                                                     strict=True)):
            # The running number keeps addresses unique (names hold no digits).
            number = start + j
            local = f"{fa}.{la}{number}" if style == 0 else f"{fa[0]}{la}{number}" if style == 1 \
                else f"{la}.{fa}{number}"
            emails.append(f"{local}@{_DOMAINS[dom]}")
        consent = np.where(unsub, "unsubscribed", np.where(bounced, "bounced", "subscribed"))
        return AudienceChunk(
            start=start,
            email=emails,
            first_name=first.tolist(),
            last_name=np.where(gap[1] < 0.1, None, t.last[market, last_i]).tolist(),
            city=np.where(gap[2] < 0.08, None, t.city[market, place_i]).tolist(),
            country=np.where(gap[2] < 0.03, None, t.country[market]).tolist(),
            locale=np.where((market == 0) & (gap[4] < 0.04), "es", t.locale[market]).tolist(),
            timezone=np.where(gap[3] < 0.02, "UTC", t.timezone[market, place_i]).tolist(),
            consent=consent.tolist(),
            consent_updated_at=self._ago(consent_ago),
            signed_up_at=self._ago(signup_ago),
            attributes=self._attributes(rng, n, arch, market, orders, last_ago, derived),
            archetype=t.archetype[arch].tolist(),
            events=parts.build(),
        )

    def _attributes(self, rng: np.random.Generator, n: int, arch: np.ndarray, market: np.ndarray,
                    orders: np.ndarray, last_ago: np.ndarray, derived: dict[str, np.ndarray]) -> list[str]:
        """JSON attributes per contact; a missing value is left out (a gap), never null."""
        t, fit = self.tables, self.fit

        def some(p: float, values: np.ndarray) -> np.ndarray:
            return np.where(rng.random(n) < p, values, None)

        member_draw = rng.random(n)
        member = ((orders >= 2) & (member_draw < 0.8)) | ((orders == 1) & (member_draw < 0.3)) | (
            (orders == 0) & (member_draw < 0.05))
        tier = np.where(arch == _ARCH["vip"], "vip", np.where(member, "member", "none"))
        opens, clicks = derived["recent_opens"], derived["recent_clicks"]
        engagement = np.where((clicks >= 1) | (opens >= 3), "active", np.where(opens >= 1, "cooling", "inactive"))
        last_order = np.datetime_as_string(self._ago(last_ago).astype("datetime64[s]")).astype(object) + "+00:00"
        births = np.datetime_as_string(np.datetime64("1950-01-01") + rng.integers(0, 20_000, n)).astype(object)
        race = np.asarray(RACES, dtype=object)[rng.integers(0, len(RACES), n)]
        columns: dict[str, tuple[str, tuple[str, ...], np.ndarray]] = {
            "favorite_activity": ("enum", ACTIVITIES, some(0.6, np.asarray(ACTIVITIES, dtype=object)[
                rng.choice(len(ACTIVITIES), n, p=[0.5, 0.25, 0.1, 0.15])])),
            "shoe_size": ("number", (), some(0.45, rng.integers(10, 28, n) / 2)),
            "weekly_distance_km": ("integer", (), some(0.5, np.clip(rng.lognormal(3.0, 0.6, n), 3, 160).astype(int))),
            "goal_race": ("string", (), some(0.15, np.where(rng.random(n) < 0.07, "", race))),
            "loyalty_tier": ("enum", ("none", "member", "vip"), tier.astype(object)),
            "order_count": ("integer", (), orders),
            "lifetime_value": ("number", (), np.round(derived["order_value"], 2)),
            "last_order_at": ("datetime", (), np.where(orders > 0, last_order, None)),
            "email_engagement": ("enum", ("active", "cooling", "inactive"), engagement.astype(object)),
            "marathon_finisher": ("boolean", (), some(0.2, rng.random(n) < 0.35)),
            "hometown": ("string", (), some(0.3, t.city[market, rng.integers(0, t.city.shape[1], n)])),
            "predicted_income_band": ("enum", INCOME_BANDS, some(0.4, np.asarray(INCOME_BANDS, dtype=object)[
                rng.choice(3, n, p=[0.3, 0.5, 0.2])])),
            "churn_risk_score": ("number", (), np.where((orders > 0) & (rng.random(n) < 0.9), np.round(
                np.clip(last_ago / 400 + rng.normal(0, 0.08, n), 0.01, 0.99), 3), None)),
            "injury_notes": ("string", (), some(0.03, np.asarray(INJURIES, dtype=object)[
                rng.integers(0, len(INJURIES), n)])),
            "birth_date": ("date", (), some(0.35, births)),
        }
        keys, lists = [], []
        for name, (type_, values, column) in columns.items():
            # Every draw above happens whatever the catalog says, so rows stay the same.
            if fit.attribute(name, type_, values):
                keys.append(name)
                lists.append(column.tolist())
        if not keys:
            return ["{}"] * n
        dumps = json.dumps
        return [dumps({k: v for k, v in zip(keys, row, strict=True) if v is not None}) for row in zip(*lists,
                                                                                                     strict=True)]


class _Tables:
    """The market pools as numpy object arrays, indexed [market, i] in one step."""

    def __init__(self, pools: tuple[MarketPool, ...]) -> None:
        def grid(attr: str) -> np.ndarray:
            return np.array([getattr(p, attr) for p in pools], dtype=object)

        self.first, self.last = grid("first_names"), grid("last_names")
        self.first_ascii, self.last_ascii = grid("first_ascii"), grid("last_ascii")
        self.city, self.timezone = grid("cities"), grid("timezones")
        self.country = np.array([p.market.country for p in pools], dtype=object)
        self.locale = np.array([p.market.locale for p in pools], dtype=object)
        self.archetype = np.array([a.name for a in ARCHETYPES], dtype=object)


class _EventParts:
    """Collects events per type (only those the catalog has), then sorts them into one EventBlock."""

    def __init__(self, fit: _Fit) -> None:
        self.fit = fit
        self.who: list[np.ndarray] = []
        self.at: list[np.ndarray] = []
        self.names: list[np.ndarray] = []
        self.product: list[np.ndarray] = []
        self.value: list[np.ndarray] = []
        self.props: list[list[str]] = []
        self.event_names: list[str] = []

    def add(self, name: str, who: np.ndarray, at: np.ndarray, *, product: np.ndarray | None = None,
            value: np.ndarray | None = None, properties: list[str] | None = None) -> None:
        if not self.fit.event(name):
            return
        m = len(who)
        self.event_names.append(name)
        self.names.append(np.full(m, len(self.event_names) - 1, dtype=np.int16))
        self.who.append(np.asarray(who, dtype=np.int64))
        self.at.append(np.asarray(at, dtype=np.int64))
        self.product.append(np.full(m, -1) if product is None else np.asarray(product))
        self.value.append(np.full(m, np.nan) if value is None else np.asarray(value, dtype=float))
        self.props.append(properties if properties is not None else ["{}"] * m)

    def build(self) -> EventBlock:
        fit = self.fit
        if not self.who:
            return EventBlock(np.zeros(0, np.int64), [], np.zeros(0, np.int64), [], [], [], [])
        who = np.concatenate(self.who)
        at = np.concatenate(self.at)
        code = np.concatenate(self.names)
        product = np.concatenate(self.product)
        value = np.concatenate(self.value)
        props = [p for chunk in self.props for p in chunk]
        # Columns are filled only where the catalog declares that property for that event.
        has = {key: np.array([fit.prop(name, key) for name in self.event_names]) for key in
               ("category", "product", "value")}
        order = np.lexsort((code, at, who))
        who, at, code, product, value = who[order], at[order], code[order], product[order], value[order]
        names = np.array(self.event_names, dtype=object)[code].tolist()
        with_product = product >= 0
        sku = np.where(with_product & has["product"][code], fit.sku[np.where(with_product, product, 0)], None)
        cat = np.where(with_product & has["category"][code], fit.category[np.where(with_product, product, 0)], None)
        val = np.where(~np.isnan(value) & has["value"][code], value, np.nan)
        return EventBlock(
            contact=who,
            name=names,
            occurred_at=at,
            category=cat.tolist(),
            product=sku.tolist(),
            value=[None if v != v else v for v in val.tolist()],
            properties=[props[i] for i in order.tolist()],
        )
