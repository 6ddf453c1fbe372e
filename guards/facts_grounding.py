"""Grounding for the facts guard: what a field states (guards/facts_claims.py) checked against
the fact sheet and the plan's offers over its send window; the plan's own offers checked too;
and subject, preheader and CTA held to the figures the body states."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any

from rapidfuzz import fuzz

from copilot.text import Token, format_money, normalize, tokenize
from copilot.workspace import Offer, Policy, Product
from guards.context import PROSE_FIELDS, PlanContext, VariantContext
from guards.facts_claims import MODEL_SUFFIX, POLICY_TOPICS, Amount, FieldClaims, NameRun, StatedDate
from guards.facts_index import FactIndex, claim_stems
from guards.finding import Code, Finding

__all__ = ["CODES", "Stated", "check_plan", "ground_field", "contradictions"]


def _code(code: str, severity: str, title: str) -> Code:
    return Code(code, "facts", severity, title)  # type: ignore[arg-type]


PRICE_MISMATCH = _code("FACT_PRICE_MISMATCH", "block", "A product's price differs from the fact sheet")
AMOUNT_UNGROUNDED = _code("FACT_AMOUNT_UNGROUNDED", "block", "A money amount matches no price, offer or threshold")
CURRENCY_MISMATCH = _code("FACT_CURRENCY_MISMATCH", "block", "A money amount is in a currency the brand does not sell in")
DISCOUNT_UNGROUNDED = _code("FACT_DISCOUNT_UNGROUNDED", "block", "A discount matches none of the plan's offers")
OFFER_NOT_IN_PLAN = _code("FACT_OFFER_NOT_IN_PLAN", "block", "The copy states an offer the plan does not include")
OFFER_SCOPE = _code("FACT_OFFER_SCOPE", "block", "A discount is tied to a product the offer does not apply to")
CODE_UNKNOWN = _code("FACT_CODE_UNKNOWN", "block", "A discount code is not on the fact sheet")
OFFER_UNKNOWN = _code("FACT_OFFER_UNKNOWN", "block", "The plan lists an offer id that is not on the fact sheet")
OFFER_INACTIVE = _code("FACT_OFFER_INACTIVE", "block", "An offer is not active for the whole send window")
NO_SEND_WINDOW = _code("FACT_NO_SEND_WINDOW", "warn", "No send window: offers and deadlines could not be checked")
DATE_UNGROUNDED = _code("FACT_DATE_UNGROUNDED", "block", "A date or deadline matches no offer or calendar date")
SHIPPING_UNGROUNDED = _code("FACT_SHIPPING_UNGROUNDED", "block", "Free shipping is promised beyond the policy or offer")
POLICY_MISMATCH = _code("FACT_POLICY_MISMATCH", "block", "A returns or guarantee promise differs from the policy")
PRODUCT_UNKNOWN = _code("FACT_PRODUCT_UNKNOWN", "block", "A product name is not on the fact sheet")
OUT_OF_STOCK = _code("FACT_PRODUCT_OUT_OF_STOCK", "warn", "The copy features a product that is out of stock")
CLAIM_UNSOURCED = _code("FACT_CLAIM_UNSOURCED", "warn", "A superlative or proof claim has no listed source")
TESTIMONIAL_UNSOURCED = _code("FACT_TESTIMONIAL_UNSOURCED", "warn", "A quote or testimonial has no listed source")
TESTIMONIAL_INVENTED = _code("FACT_TESTIMONIAL_INVENTED", "block", "A quote matches none of the approved testimonials")
FORBIDDEN_CLAIM = _code("FACT_FORBIDDEN_CLAIM", "block", "The copy makes a claim the brand may not make")
CONTRADICTION = _code("FACT_CONTRADICTION", "block", "Subject, preheader or CTA states a figure the body contradicts")
CODES = (PRICE_MISMATCH, AMOUNT_UNGROUNDED, CURRENCY_MISMATCH, DISCOUNT_UNGROUNDED, OFFER_NOT_IN_PLAN, OFFER_SCOPE,
         CODE_UNKNOWN, OFFER_UNKNOWN, OFFER_INACTIVE, NO_SEND_WINDOW, DATE_UNGROUNDED, SHIPPING_UNGROUNDED,
         POLICY_MISMATCH, PRODUCT_UNKNOWN, OUT_OF_STOCK, CLAIM_UNSOURCED, TESTIMONIAL_UNSOURCED, TESTIMONIAL_INVENTED, FORBIDDEN_CLAIM, CONTRADICTION)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Stated = dict[str, set[str]]


def check_plan(ctx: PlanContext) -> Iterator[Finding]:
    plan, ws = ctx.plan, ctx.workspace
    for offer_id in plan.offers:
        if offer_id not in ws.offers_by_id:
            yield ctx.finding(OFFER_UNKNOWN, message=f"the plan uses offer {offer_id!r}, which is not on the fact sheet",
                              evidence={"offer": offer_id, "known": sorted(ws.offers_by_id)},
                              fix="Use an offer id from facts.yaml, or add the offer there first.")
    window = plan.send_window
    if window is None:
        if any(o.ends is not None for o in ctx.offers):
            yield ctx.finding(NO_SEND_WINDOW, message=(
                "the plan has no send window, so its offers could not be checked against their dates"),
                evidence={"offers": list(plan.offers)}, fix="Set send_window (start and end dates).")
        return
    for offer in ctx.offers:
        if offer.starts > window.start or (offer.ends is not None and offer.ends < window.end):
            yield ctx.finding(OFFER_INACTIVE, message=(
                f"offer {offer.id!r} runs {offer.starts} to {offer.ends}, but the plan sends {window.start} to "
                f"{window.end}"), evidence={"offer": offer.id, "starts": str(offer.starts), "ends": str(offer.ends or ""),
                                           "send_start": str(window.start), "send_end": str(window.end)},
                fix="Move the send window inside the offer's dates, or pick an offer that is active then.")


# What copy says to promise an offer more widely than its conditions (English; the terms' own words pass).
_STOREWIDE = re.compile(r"(?i)\b(?:everything|storewide|store-wide|sitewide|site-wide|all products|any product"
                        r"|every product|anything|the whole (?:store|shop|range|site))\b")
_NO_MINIMUM = re.compile(r"(?i)\bno minimum\b|\bwhatever (?:you spend|the (?:price|total))\b|\bany (?:amount|total)\b")
_EVERY_TIME = re.compile(r"(?i)\b(?:every|each) (?:order|booking|purchase|time|box|delivery|visit|month|week|stay"
                         r"|class|ticket|pack|renewal|trip|journey|use)\b|\bas (?:often|many times) as you"
                         r"\b|\bagain and again\b|\bunlimited (?:times|uses)\b")
_EVERYONE = re.compile(r"(?i)\b(?:every|all|any) (?:customers?|clients?|members?|readers?|donors?|shoppers?|travell?ers?)\b"
                       r"|\bnew or (?:returning|existing|old)\b|\b(?:returning|existing) (?:customers?|clients?|members?)\b"
                       r"|\beven if you(?:'ve|’ve| have) (?:[\w-]+ ){0,4}before\b|\beveryone\b")
_GENERIC = frozenset({"your", "with", "from", "this", "that", "when", "free", "offer", "sale", "order", "next"})


@lru_cache(maxsize=256)
def _offer_stems_of(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w for t in texts for w in claim_stems(t) if len(w) >= 4 and w not in _GENERIC and w != "#")


def _offer_stems(offer: Offer) -> frozenset[str]:
    """The distinctive words of an offer's name and of the words its marketers use for it."""
    return _offer_stems_of((offer.name, *offer.words))


def _prices(product: Product) -> set[Decimal]:
    """Every price of a product: its 'from' price and each size, edition or plan price."""
    return {product.price, *(x.price for x in product.prices)}


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


class _Grounding:
    """Grounds one field's claims in order; ``stated`` collects figures for the contradiction check."""

    def __init__(self, ctx: VariantContext, index: FactIndex, claims: FieldClaims) -> None:
        self.ctx, self.index, self.c, self.text = ctx, index, claims, claims.text
        self.stated: Stated = {"percent": set(), "amount_off": set(), "code": set(), "date": set()}
        self._about_cache: dict[tuple[int, int], list[Offer]] = {}
        self._starts: dict[int, list[int]] = {}

    def finding(self, code: Code, span: tuple[int, int], message: str, fix: str | None = None,
                **evidence: object) -> Finding:
        return self.ctx.finding(code, field=self.c.name, span=span, message=message,  # type: ignore[arg-type]
                                evidence={"text": self.text[span[0]:span[1]], **evidence}, fix=fix)

    def run(self) -> Iterator[Finding]:
        for step in (self._products, self._discounts, self._amounts, self._codes, self._dates, self._shipping,
                     self._policies, self._claims, self._forbidden, self._quotes, self._conditions):
            yield from step()

    # -- products -------------------------------------------------------------------------
    def _unknown(self, span: tuple[int, int], near: tuple[str, Product, float] | None, message: str) -> Finding:
        return self.finding(PRODUCT_UNKNOWN, span, message + (f" (did you mean {near[1].name}?)" if near else ""),
                            "Name the product exactly as facts.yaml does.", suggestion=near[1].name if near else None)

    def _products(self) -> Iterator[Finding]:
        if self.c.name == "body":
            for m in self.c.mentions:
                if not m.product.in_stock:
                    yield self.finding(OUT_OF_STOCK, (m.start, m.end), f"{m.product.name} is out of stock",
                                       "Feature a product that is in stock.", sku=m.product.sku)
        for p in self.c.packs:
            yield self._unknown(p.span, self.index.nearest(p.text, 70), f"{p.text!r} is not on the fact sheet")
        for run in self.c.runs:
            yield from self._run(run)

    def _run(self, run: NameRun) -> Iterator[Finding]:
        if run.known and (run.known[0].start, run.known[-1].end) == (run.start, run.end):
            return  # the whole run is a known product
        if run.known:  # "Cloudstride 4": a known name plus a model suffix it does not have
            tail = [t for t in run.words if t.start >= run.known[-1].end]
            if tail and MODEL_SUFFIX.match(tail[0].text):
                phrase = self.text[run.known[-1].start:tail[0].end]
                yield self._unknown((run.known[-1].start, tail[0].end), self.index.nearest(phrase, 70),
                                    f"{phrase!r} is not on the fact sheet")
            return
        if run.covered or run.sentence_start_only:
            return
        words = [t.text for t in run.words]
        best = None
        for n in range(min(4, len(words)), 0, -1):
            for k in range(len(words) - n + 1):
                sub = " ".join(words[k:k + n])
                if len(sub) < 5:
                    continue
                near = self.index.nearest(sub, 85)
                if near and (best is None or near[2] > best[2]):
                    best = (*near, run.words[k].start, run.words[k + n - 1].end)
            if best:
                break
        if best:
            yield self._unknown((best[3], best[4]), best[:3], f"{self.text[best[3]:best[4]]!r} is not on the fact sheet")
        elif run.noun_after:
            yield self.finding(PRODUCT_UNKNOWN, (run.start, run.end), f"{self.text[run.start:run.end]!r} looks like a "
                               "product name that is not on the fact sheet", "Name a product from facts.yaml.")

    # -- discounts and amounts ------------------------------------------------------------
    def _discounts(self) -> Iterator[Finding]:
        for d in self.c.discounts:
            self.stated["percent"].add(_num(d.value))
            yield from self._ground_discount(d.span, "percent_off", d.value, f"{_num(d.value)}% off")

    def _ground_discount(self, span: tuple[int, int], kind: str, value: Decimal, label: str) -> Iterator[Finding]:
        plan_offers = [o for o in self.ctx.offers if o.kind == kind and o.value == value]
        if plan_offers:
            offer = plan_offers[0]
            if offer.applies_to:
                for m in self._products_near(span[0]):
                    if m.product.sku not in offer.applies_to and m.product.category not in offer.applies_to:
                        yield self.finding(OFFER_SCOPE, span, (
                            f"{label} ({offer.id}) does not apply to {m.product.name}; it covers "
                            f"{', '.join(offer.applies_to)}"), "Tie the discount to a product it covers.",
                            offer=offer.id, product=m.product.sku)
            return
        others = [o for o in self.ctx.workspace.facts.offers if o.kind == kind and o.value == value]
        if others:
            yield self.finding(OFFER_NOT_IN_PLAN, span, (
                f"{label} is offer {others[0].id!r}, which this plan does not include"),
                f"Add {others[0].id} to the plan's offers, or state the plan's own offer.", offer=others[0].id)
            return
        terms = [f"{o.id}: {o.terms}" for o in self.ctx.offers]
        yield self.finding(DISCOUNT_UNGROUNDED, span, (
            f"{label} matches none of the plan's offers" + (f" ({'; '.join(terms)})" if terms else " (the plan has none)")),
            "State the discount exactly as the offer's terms do.", offers=[o.id for o in self.ctx.offers])

    def _products_near(self, at: int):  # type: ignore[no-untyped-def]
        a, b = self.c.sentence(at)
        inside = self.c.mentions_in(a, b)
        before = [m for m in inside if m.start < at]
        return [before[-1]] if before else inside[:1]

    def _amounts(self) -> Iterator[Finding]:
        ws = self.ctx.workspace
        for a in self.c.amounts:
            said = self.text[a.span[0]:a.span[1]]
            allowed = {ws.currency_of(self._in_currency(p.product, a.currency)) for p in a.products} or {ws.brand.currency}
            if a.currency not in allowed:
                yield self.finding(CURRENCY_MISMATCH, a.span, (
                    f"{said} is in {a.currency}; this brand prices in {', '.join(sorted(allowed))}"),
                    "State prices in the brand's currency.", currency=a.currency)
                continue
            if a.shipping_sentence:
                continue  # thresholds of free shipping are checked with the shipping promise
            if a.role == "discount":
                self.stated["amount_off"].add(_num(a.value))
                yield from self._ground_discount(a.span, "amount_off", a.value, f"{said} off")
                continue
            if a.role == "threshold" and a.products and a.value in _prices(a.products[0].product):
                continue  # a 'from' price: "ab 2.190 €", "from $140"
            if a.role == "threshold":
                known = {p.threshold for p in ws.facts.policies if p.threshold is not None}
                known |= {o.min_order for o in ws.facts.offers if o.min_order is not None}
                if a.value not in known and any(o.min_order is not None for o in self._about(a.span[0])):
                    continue  # the minimum of an offer the sentence states: checked with its conditions
                if a.value not in known and a.products:
                    yield from self._price(a, said)
                    continue
                if a.value not in known:
                    yield self.finding(AMOUNT_UNGROUNDED, a.span, (
                        f"the threshold {said} matches no policy or offer minimum"),
                        "Use the threshold from facts.yaml.", known=sorted(str(k) for k in known))
                continue
            if a.products:
                yield from self._price(a, said)
                continue
            if a.value not in self._all_amounts:
                yield self.finding(AMOUNT_UNGROUNDED, a.span, (
                    f"{said} matches no price, offer or threshold on the fact sheet"),
                    "State only amounts from facts.yaml, next to the product they belong to.")

    def _price(self, a: Amount, said: str) -> Iterator[Finding]:
        ws = self.ctx.workspace
        p = self._in_currency(a.products[0].product, a.currency)
        ok = _prices(p) | self._discounted(p)
        if p.previous_price is not None and a.role == "previous":
            ok.add(p.previous_price)
        if a.value not in ok:
            price = " or ".join(format_money(x, ws.currency_of(p)) for x in sorted(_prices(p)))
            yield self.finding(PRICE_MISMATCH, a.span, f"{p.name} costs {price}, not {said}",
                               f"Use {price}.", sku=p.sku, fact_price=str(p.price))

    def _in_currency(self, product: Product, currency: str) -> Product:
        """The product, or its regional edition priced in ``currency`` ("Pagewise Plus (Europe)" for
        "Plus" at 9,99 €): a fact-sheet product in that currency whose name holds this one's."""
        ws = self.ctx.workspace
        if ws.currency_of(product) == currency:
            return product
        name = normalize(product.name)
        return next((q for q in ws.facts.products if ws.currency_of(q) == currency
                     and name in normalize(q.name)), product)

    # -- offer conditions -----------------------------------------------------------------
    def _about(self, at: int) -> list[Offer]:
        """The plan's offers the sentence around ``at`` states: by code, by discount value, or by two
        words of the offer's name or the words its marketers use for it."""
        a, b = self.c.sentence(at)
        key = (a, b)
        cached = self._about_cache.get(key)
        if cached is not None:
            return cached
        said = self.text[a:b]
        low = said.lower()
        stems = set(claim_stems(said))
        out = []
        for o in self.ctx.offers:
            if o.code and o.code.lower() in low:
                out.append(o)
            elif o.value is not None and o.kind == "percent_off" and any(
                    d.value == o.value for d in self._within(self.c.discounts, a, b)):
                out.append(o)
            elif o.value is not None and o.kind == "amount_off" and any(
                    x.value == o.value and x.role == "discount" for x in self._within(self.c.amounts, a, b)):
                out.append(o)
            elif len(stems & _offer_stems(o)) >= 2:
                out.append(o)
        self._about_cache[key] = out
        return out

    def _within(self, items: list[Any], a: int, b: int) -> list[Any]:
        """The discounts or amounts (in text order) that start in [a, b), by bisect: linear cost overall."""
        starts = self._starts.get(id(items))
        if starts is None:
            starts = self._starts[id(items)] = [x.span[0] for x in items]
        return items[bisect_left(starts, a):bisect_left(starts, b)]

    def _conditions(self) -> Iterator[Finding]:
        """Copy that promises an offer more widely than the fact sheet gives it: everything for an
        offer with products or categories, no or a lower minimum spend, every order for a once-per-
        customer offer, everyone for a new-customers offer, a product outside it beside its code."""
        for a, b in self.c.sentences:
            offers = self._about(a)
            if not offers:
                continue
            said = self.text[a:b]
            for o in offers:
                problem = None
                if o.applies_to and (m := _STOREWIDE.search(said)):
                    problem = f"{m.group(0)!r}: {o.id} covers only {', '.join(o.applies_to)}"
                elif o.min_order is not None and (m := _NO_MINIMUM.search(said)):
                    problem = f"{m.group(0)!r}: {o.id} needs an order of {format_money(o.min_order, self.ctx.workspace.brand.currency)} or more"
                elif o.min_order is not None and (x := next((x for x in self._within(self.c.amounts, a, b)
                                                              if x.role == "threshold" and x.value != o.min_order), None)):
                    problem = (f"{self.text[x.span[0]:x.span[1]]!r}: {o.id} needs an order of "
                               f"{format_money(o.min_order, self.ctx.workspace.brand.currency)} or more")
                elif o.once_per_customer and (m := _EVERY_TIME.search(said)):
                    problem = f"{m.group(0)!r}: {o.id} can be used once per customer"
                elif o.new_customers_only and (m := _EVERYONE.search(said)):
                    problem = f"{m.group(0)!r}: {o.id} is for new customers only"
                elif o.applies_to and o.kind in ("percent_off", "amount_off") and o.code and o.code.lower() in said.lower():
                    outside = [m for m in self.c.mentions_in(a, b) if m.product.sku not in o.applies_to
                               and m.product.category not in o.applies_to]
                    if outside and not any(d.value == o.value for d in self._within(self.c.discounts, a, b)):
                        problem = f"{outside[0].product.name} is not covered by {o.id} ({', '.join(o.applies_to)})"
                if problem:
                    yield self.finding(OFFER_SCOPE, (a, b), problem + f" (terms: {o.terms})",
                                       "State the offer's conditions as its terms do.", offer=o.id)

    def _discounted(self, product: Product) -> set[Decimal]:
        out = set()
        for o in self.ctx.offers:
            if o.applies_to and product.sku not in o.applies_to and product.category not in o.applies_to:
                continue
            for price in _prices(product):
                if o.kind == "percent_off" and o.value is not None:
                    out.add((price * (100 - o.value) / 100).quantize(Decimal("0.01")))
                elif o.kind == "amount_off" and o.value is not None:
                    out.add(price - o.value)
        return out

    @cached_property
    def _all_amounts(self) -> set[Decimal]:
        facts = self.ctx.workspace.facts
        known = {x for p in facts.products for x in _prices(p)}
        known |= {p.previous_price for p in facts.products if p.previous_price}
        known |= {p.threshold for p in facts.policies if p.threshold is not None}
        known |= {o.value for o in facts.offers if o.kind == "amount_off" and o.value is not None}
        known |= {o.min_order for o in facts.offers if o.min_order is not None}
        return known | self.index.text_amounts

    # -- codes ----------------------------------------------------------------------------
    def _codes(self) -> Iterator[Finding]:
        for c in self.c.codes:
            offer = self.index.codes.get(c.word.upper())
            if offer is not None:
                self.stated["code"].add(offer.code or "")
                if offer.id not in self.ctx.plan.offers:
                    yield self.finding(OFFER_NOT_IN_PLAN, c.span, (
                        f"code {c.word} belongs to offer {offer.id!r}, which this plan does not include"),
                        f"Add {offer.id} to the plan's offers, or use the plan's own code.", offer=offer.id)
            elif c.looks_like_code and c.word.upper() not in self.index.caps_words:
                self.stated["code"].add(c.word.upper())
                yield self.finding(CODE_UNKNOWN, c.span, f"code {c.word} is not on the fact sheet",
                                   "Use the code of one of the plan's offers, exactly.",
                                   known=sorted(o.code for o in self.ctx.offers if o.code))

    # -- dates ----------------------------------------------------------------------------
    def _dates(self) -> Iterator[Finding]:
        plan, ws = self.ctx.plan, self.ctx.workspace
        offer_ends = {o.ends for o in self.ctx.offers if o.ends is not None}
        fact_dates = {d for o in ws.facts.offers for d in (o.starts, o.ends) if d is not None}
        fact_dates |= {d for c in ws.facts.calendar for d in (c.starts, c.ends) if d is not None}
        if plan.send_window:
            fact_dates |= {plan.send_window.start, plan.send_window.end}
        for d in self.c.dates:
            self.stated["date"].add(f"{d.month:02d}-{d.day:02d}")
            wrong = self._wrong_weekday(d)
            if wrong:
                yield self.finding(DATE_UNGROUNDED, d.span, wrong, "Name the weekday that date falls on, or drop it.")
                continue
            pool = offer_ends | self._calendar_in(d.sentence) if d.deadline else fact_dates
            if plan.send_window and not d.offer_talk:
                # "If you don't click by December 6, we'll take you off the list": an
                # operational date, grounded by the send window (up to a week after it).
                start, end = plan.send_window.start, plan.send_window.end + timedelta(days=7)
                pool = pool | {start + timedelta(days=i) for i in range(min((end - start).days, 92) + 1)}
            if not any(x.month == d.month and x.day == d.day and (d.year is None or x.year == d.year) for x in pool):
                what = "deadline" if d.deadline else "date"
                ends = ", ".join(f"{o.id} ends {o.ends:%B} {o.ends.day}, {o.ends.year}" for o in self.ctx.offers
                                 if o.ends is not None)
                yield self.finding(DATE_UNGROUNDED, d.span, (
                    f"the {what} {d.text!r} matches no " + ("end date of the plan's offers" if d.deadline
                                                             else "offer or calendar date") + (f" ({ends})" if ends else "")),
                    "State the offer's end date exactly as facts.yaml has it.")
        for r in self.c.relative:
            problem = self._relative_problem(r.when, offer_ends)
            if problem:
                yield self.finding(DATE_UNGROUNDED, r.span, f"{r.text!r}: {problem}",
                                   "Name the offer's real end date instead of a relative day.")

    def _wrong_weekday(self, d: StatedDate) -> str | None:
        """'Saturday 7 February' when 7 February is a Sunday (the year said, else the first year in
        which the date is not more than a month before the send window)."""
        window = self.ctx.plan.send_window
        if d.weekday is None or (d.year is None and window is None):
            return None
        years = [d.year] if d.year is not None else [window.start.year, window.start.year + 1]  # type: ignore[union-attr]
        for year in years:
            try:
                day = date(year, d.month, d.day)
            except ValueError:
                return None
            if d.year is not None or window is None or day >= window.start - timedelta(days=31):
                break
        if day.weekday() == d.weekday:
            return None
        return f"{d.text!r} falls on a {_WEEKDAYS[day.weekday()]} in {day.year}, not a {_WEEKDAYS[d.weekday]}"

    def _calendar_in(self, sentence: tuple[int, int]) -> set[date]:
        said = normalize(self.text[sentence[0]:sentence[1]])
        return {d for c in self.ctx.workspace.facts.calendar if normalize(c.name) in said
                for d in (c.starts, c.ends) if d is not None}

    def _relative_problem(self, when: int | str, offer_ends: set[date]) -> str | None:
        window = self.ctx.plan.send_window
        if window is None:
            return "the plan has no send window, so this relative deadline cannot be checked"
        days = [window.start + timedelta(days=i) for i in range(min((window.end - window.start).days, 31) + 1)]
        if isinstance(when, int):
            meant = {d + timedelta(days=(when - d.weekday()) % 7) for d in days}
        elif when == "tomorrow":
            meant = {d + timedelta(days=1) for d in days}
        else:  # today, tonight, midnight
            meant = set(days)
        wrong = sorted(meant - offer_ends)
        if not wrong:
            return None
        return (f"for recipients on {wrong[0]:%a %d %b %Y} that means {wrong[0]}, but no offer of this plan ends then"
                if offer_ends else "no offer of this plan ends then")

    # -- shipping and policies ------------------------------------------------------------
    def _shipping(self) -> Iterator[Finding]:
        ws = self.ctx.workspace
        offer = next((o for o in self.ctx.offers if o.kind == "free_shipping"), None)
        policy = next((p for p in ws.facts.policies if "shipping" in (p.id + p.name).lower()), None)
        sheet = ws.facts.shipping
        if policy is None and sheet is not None and (sheet.free_over is not None or sheet.fee is None):
            # the fact sheet's shipping section: free over its threshold, or always free when it has no fee
            policy = Policy(id="shipping", name="Shipping", text=sheet.text or "shipping", threshold=sheet.free_over)
        for s in self.c.shipping:
            if offer is not None:
                if offer.min_order is not None and offer.min_order not in s.amounts:
                    yield self.finding(SHIPPING_UNGROUNDED, s.span, (
                        f"offer {offer.id} gives free shipping over {format_money(offer.min_order, ws.brand.currency)}"),
                        "State the offer's minimum order.", offer=offer.id)
            elif policy is None:
                yield self.finding(SHIPPING_UNGROUNDED, s.span, "free shipping is neither a policy nor one of the "
                                   "plan's offers", "Add the free-shipping offer to the plan, or remove the promise.")
            elif policy.threshold is not None and policy.threshold not in s.amounts:
                threshold = format_money(policy.threshold, ws.brand.currency)
                said = f" (the copy says {', '.join(str(x) for x in s.amounts)})" if s.amounts else ""
                yield self.finding(SHIPPING_UNGROUNDED, s.span, (
                    f"free shipping applies only to orders over {threshold}{said}"),
                    f"Say 'free shipping on orders over {threshold}'.", policy=policy.id, threshold=str(policy.threshold))

    def _policies(self) -> Iterator[Finding]:
        # an offer's own terms, as the fact sheet words them (in any of its languages), state its own day counts
        terms = [t for o in self.ctx.offers
                 for t in (o.terms, *(str(x["terms"]) for x in (o.translations or {}).values() if x.get("terms")))]
        quoted = [(i, i + len(t)) for t in terms if t.strip() for i in _occurrences(self.text, t.strip())]
        for p in self.c.policy_days:
            if any(a <= p.span[0] and p.span[1] <= b for a, b in quoted):
                continue
            policies = [x for x in self.ctx.workspace.facts.policies if x.days is not None
                        and any(w in (x.id + " " + x.name + " " + x.text).lower()
                                for t in p.topics for w in POLICY_TOPICS[t])]
            if not any(x.days == p.days for x in policies):
                known = ", ".join(f"{x.name}: {x.days} days" for x in policies) or "no such policy"
                yield self.finding(POLICY_MISMATCH, p.span, f"{p.text!r} differs from the policy ({known})",
                                   "Use the policy's number of days.", policies=[x.id for x in policies])

    # -- claims ---------------------------------------------------------------------------
    def _claims(self) -> Iterator[Finding]:
        reported: set[tuple[int, int]] = set()
        for c in self.c.claims:
            if c.clause in reported or self._sourced(c.phrase, c.numbers, c.skus):
                continue
            reported.add(c.clause)
            yield self.finding(CLAIM_UNSOURCED, c.span, (
                f"{self.text[c.span[0]:c.span[1]]!r} is a claim with no source on the fact sheet"),
                "Use a claim from facts.yaml word for word, or remove it.",
                sentence=self.text[c.clause[0]:c.clause[1]].strip()[:200])

    def _sourced(self, phrase: str, numbers: frozenset[Decimal], skus: frozenset[str]) -> bool:
        index = self.index
        return any(fuzz.partial_ratio(phrase, norm) >= 80 and numbers <= claim_numbers and skus <= claim_skus
                   for norm, claim_numbers, claim_skus in zip(index.claim_norms, index.claim_numbers,
                                                              index.claim_products, strict=True))

    def _forbidden(self) -> Iterator[Finding]:
        """The brand's forbidden claims, by their text or an example, as word stems in order within
        one sentence (any figure for a figure; a phrase of three words or more may have up to three
        other words inside it: "every penny of your gift goes to food")."""
        if not self.index.forbidden:
            return
        toks = tokenize(self.text)
        stems = claim_stems(self.text)
        reported: set[str] = set()
        for i, first in enumerate(stems):
            for form, claim in self.index.forbidden.get(first, ()):
                if claim.id in reported:
                    continue
                end = _in_order(stems, toks, i, form, self.c.sentence(toks[i].start)[1], 3 if len(form) >= 3 else 0)
                if end is None:
                    continue
                reported.add(claim.id)
                span = (toks[i].start, toks[end].end)
                yield self.finding(FORBIDDEN_CLAIM, span, (
                    f"{self.text[span[0]:span[1]]!r} makes the claim {claim.text!r}, which the brand may not make: "
                    f"{claim.reason}"), "Remove the claim; say only what the fact sheet's claims state.",
                    claim=claim.id)

    def _quotes(self) -> Iterator[Finding]:
        """A quote matching an approved testimonial (facts.yaml testimonials) word for word passes, as
        does a sourced claim in quotation marks; a reworded testimonial warns; any other quote is
        invented and blocks."""
        for q in self.c.quotes:
            if len(q.text.split()) < 4:
                continue
            norm = normalize(q.text)
            if any(norm == t or (len(norm) >= 20 and norm in t) for t in self.index.testimonial_norms):
                continue
            if any(fuzz.token_set_ratio(norm, c) >= 85 for c in self.index.claim_norms):
                continue
            near = max((fuzz.ratio(norm, t) for t in self.index.testimonial_norms), default=0.0)
            if near >= 60:
                yield self.finding(TESTIMONIAL_UNSOURCED, q.span, (
                    "this quote rewords an approved testimonial; quote it word for word"),
                    "Quote the testimonial exactly as facts.yaml has it.", similarity=round(near))
                continue
            yield self.finding(TESTIMONIAL_INVENTED, q.span, (
                "this quote matches none of the approved testimonials (facts.yaml testimonials)"),
                "Quote only approved testimonials, word for word, or remove the quote.")


def _in_order(stems: list[str], toks: tuple[Token, ...], i: int, form: tuple[str, ...], stop: int,
              slack: int) -> int | None:
    """The index of the last word when ``form`` follows from word ``i`` on, in order, before
    character ``stop``, with at most ``slack`` other words inside it; None otherwise."""
    j, extra = i + 1, 0
    for want in form[1:]:
        while j < len(stems) and toks[j].start < stop and stems[j] != want:
            j += 1
            extra += 1
            if extra > slack:
                return None
        if j >= len(stems) or toks[j].start >= stop:
            return None
        j += 1
    return j - 1


def ground_field(ctx: VariantContext, index: FactIndex, claims: FieldClaims, stated: dict[str, Stated]
                 ) -> Iterator[Finding]:
    """Findings for one field's claims; what it states goes into ``stated[field]``."""
    grounding = _Grounding(ctx, index, claims)
    yield from grounding.run()
    stated[claims.name] = grounding.stated


def contradictions(ctx: VariantContext, stated: dict[str, Stated]) -> Iterator[Finding]:
    body = stated.get("body")
    if body is None:
        return
    for name in (n for n in PROSE_FIELDS if n != "body"):
        for kind, values in stated.get(name, {}).items():
            missing = sorted(values - body[kind]) if body[kind] else []
            if missing:
                yield ctx.finding(CONTRADICTION, field=name, message=(  # type: ignore[arg-type]
                    f"the {name} says {', '.join(missing)} ({kind.replace('_', ' ')}) but the body says "
                    f"{', '.join(sorted(body[kind]))}"), evidence={"kind": kind, "field_values": sorted(values),
                                                                  "body_values": sorted(body[kind])},
                    fix="Make every field state the same offer.")


def _occurrences(text: str, part: str) -> list[int]:
    out, at = [], text.find(part)
    while at >= 0:
        out.append(at)
        at = text.find(part, at + 1)
    return out
