"""facts: every price, discount, code, date, shipping or returns promise, product, proof claim
and testimonial in the copy is grounded in the fact sheet and the plan's offers over its send
window; nothing is passed for lack of evidence, and subject, preheader, CTA and body agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from rapidfuzz import fuzz

from copilot.workspace import Product
from guards.context import PROSE_FIELDS, PlanContext, VariantContext
from guards.facts_index import FactIndex, Mention, blank_spans, fact_index, numbers_in
from guards.finding import Code, Finding, Guard
from guards.text import NUMBER_WORDS, NUMBER_WORDS_RE, ascii_lower, normalize, parse_number, sentence_bounds, tokens

__all__ = ["GUARD"]


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
CONTRADICTION = _code("FACT_CONTRADICTION", "block", "Subject, preheader or CTA states a figure the body contradicts")

_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "usd": "USD", "dollar": "USD", "dollars": "USD", "eur": "EUR",
             "euro": "EUR", "euros": "EUR", "gbp": "GBP", "pound": "GBP", "pounds": "GBP"}
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
# Patterns run on the ASCII-lower-cased text (same offsets; case-sensitive patterns are much
# faster in Python's re); the *_WORDS variants add spelled-out numbers and run only when
# the text has a number word.
_MONEY_TAIL = r"\s?(?P<word>usd|eur|gbp|dollars?|euros?|pounds?)\b"
_MONEY = re.compile(rf"(?P<sym>[$€£])\s?(?P<a>{_AMOUNT})|(?P<b>{_AMOUNT}){_MONEY_TAIL}")
_MONEY_WORDS = re.compile(rf"(?P<sym>[$€£])\s?(?P<a>{_AMOUNT})|(?P<b>{_AMOUNT}|\b{NUMBER_WORDS_RE}){_MONEY_TAIL}")
_PERCENT_TAIL = r"\s*(?:%|\s?percent\b|\s?per\s?cent\b|\s?pct\b)|\b(?P<half>half)[- ](?:off|price)\b"
_PERCENT = re.compile(rf"(?P<n>\d+(?:\.\d+)?){_PERCENT_TAIL}")
_PERCENT_WORDS = re.compile(rf"(?P<n>\d+(?:\.\d+)?|\b{NUMBER_WORDS_RE}){_PERCENT_TAIL}")
_DISCOUNT_AFTER = re.compile(r"^\s*(?:off|discount|savings?|less|reduction|taken off)\b", re.I)
_SHARE_AFTER = re.compile(r"^\s*(?:of|in|more|merino|cotton|wool|recycled|natural|organic|sure|guaranteed)\b", re.I)
_DISCOUNT_BEFORE = re.compile(r"(?:save|saving|take|get|enjoy|discount of|up to|an extra|extra)\s*$", re.I)
_AMOUNT_OFF = re.compile(r"^\s*(?:off|discount)\b", re.I)
_THRESHOLD_BEFORE = re.compile(r"(?:over|above|orders? of|spend|more than|minimum(?: order)?(?: of)?|at least)\s*$", re.I)
_PREVIOUS_BEFORE = re.compile(r"(?:was|were|originally|regularly|usually|before|down from|~~)\s*$", re.I)
_CODE_WORD = re.compile(r"\b[A-Z0-9][A-Z0-9_-]{2,31}\b")
_CODE_AFTER = re.compile(r"(?i)\b(?:code|coupon|promo(?:\s+code)?|voucher)\s*[:=]?\s*[\"“']?([A-Za-z0-9_-]{3,32})")
_CODE_CONTEXT = re.compile(r"(?i)\b(?:code|coupon|promo|voucher|use|enter|apply)\W*$")
_NOT_CODES = frozenset({"USA", "USD", "EUR", "GBP", "VIP", "FAQ", "GPS", "XXL", "ASAP", "FREE", "THE", "AND", "NEW", "SALE",
                        "CODE", "HTML", "UTC", "EST", "PST", "RSVP", "OK", "PS"})
_COMMON_AFTER_CODE = frozenset({"the", "your", "below", "above", "at", "is", "for", "to", "and", "when", "in", "on", "you"})
_MONTHS = {m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DATE = re.compile(
    rf"\b(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH})\b(?:,?\s+(?P<y2>\d{{4}}))?"
    r"|\b(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})\b")
_DEADLINE_WORDS = re.compile(r"(?i)\b(?:ends?|ending|until|till|thru|through|by|before|expires?|expiring|valid|last day|closes?)\b")
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RELATIVE = re.compile(
    r"\b(?:ends?|ending|until|till|thru|through|by|before|expires?|expiring|closes?|valid (?:until|through))\s+"
    r"(?:this\s+|next\s+)?(?P<when>monday|tuesday|wednesday|thursday|friday|saturday|sunday|tonight|tomorrow|today|midnight)\b"
    r"|\b(?P<only>today|tonight) only\b")
_FREE_SHIPPING = re.compile(r"\bfree (?:standard |express |2-day |two-day )?(?:shipping|delivery)\b|\bships? (?:for )?free\b")
_DAYS = re.compile(r"\b(?P<n>\d+)[- ]day\b|\bwithin (?P<m>\d+) days\b")
_DAYS_WORDS = re.compile(rf"\b(?P<n>\d+|{NUMBER_WORDS_RE})[- ]day\b|\bwithin (?P<m>\d+|{NUMBER_WORDS_RE}) days\b")
_POLICY_TOPICS = {"return": ("return", "refund"), "exchange": ("exchange", "fit"), "guarantee": ("guarantee", "fit")}
# No leading \b on the alternatives: it defeats re's first-character skip (2x slower);
# the word boundary before a match is checked in _claims instead.
_CLAIM = re.compile(
    r"best[- ]?sell(?:ing|ers?)\b|#\s?1\b|number one\b|no\.\s?1\b|top[- ]rated\b|highest[- ]rated\b"
    r"|most popular\b|award[- ]winning\b|(?:clinically|scientifically|lab)[- ](?:proven|tested)\b|proven to\b"
    r"|(?:doctor|podiatrist|coach)[- ]recommended\b|\d(?:\.\d)? out of (?:5|five)\b|(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) out of (?:10|ten)\b"
    r"|rated \d(?:\.\d)?\b|\d{1,3}(?:,\d{3})+\+? (?:runners|customers|reviews|reviewers|testers|people)\b"
    r"|(?:the )?(?:lightest|fastest|most comfortable|best) (?:running |trail )?(?:shoes?|socks?|gear|tee|vest|shorts?|tights?)\b"
    r"|world'?s (?:best|lightest|fastest)\b|loved by (?:thousands|millions)\b|\d+% of (?:runners|customers|testers|reviewers|people)\b")
_QUOTE = re.compile(r"“(?P<a>[^”]{12,}?)”|(?:^|(?<=[\s(]))\"(?P<b>[A-Za-z][^\"\n]{12,}?)\"(?=[\s.,;:!?)—-]|$)", re.M)
_PRODUCT_NOUN = re.compile(r"^\s*(?:running |trail )?(?:shoes?|sneakers?|trainers?|tee|t-shirt|shirt|shorts?|tights?|socks?|vest|jacket|tabs|bottle)\b", re.I)
_MONEY_NEEDLES = ("$", "€", "£", "usd", "eur", "gbp", "dollar", "euro", "pound")
_DATE_NEEDLES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "-0", "-1")
_RELATIVE_NEEDLES = ("day", "tonight", "tomorrow", "midnight")
_QUOTE_NEEDLES = ('"', "“")
_CLAIM_NEEDLES = ("best", "#", "number one", "no.", "rated", "popular", "award", "proven", "tested", "recommended",
                  "out of", "lightest", "fastest", "comfortable", "world", "loved", "% of", "runners", "customers",
                  "reviews", "reviewers", "testers", "people")
_OFFER_TALK = re.compile(r"(?i)%|\bpercent\b|[$€£]\s?\d|\b(?:offers?|sale|discount|code|coupon|deal|prices?)\b"
                         r"|\bfree (?:shipping|delivery|returns)\b")
_CLAUSE = re.compile(r"[;:]|,\s|\s[-–—]\s")
_PLAIN_WORDS = frozenset({"best", "new", "our", "your", "the", "this", "these", "great", "free", "all", "every", "fresh",
                          "classic", "favorite", "favourite", "comfy", "light", "fast", "winter", "summer", "spring"})
_PACK_SIZE = re.compile(r"[ \t]*\((\d+)\)")
_MODEL_SUFFIX = re.compile(r"^(?:\d+[A-Za-z]?|[A-Z]{1,4}|Pro|Max|Plus|Lite|Elite|Ultra|Mini)$")


def check_plan(ctx: PlanContext) -> Iterator[Finding]:
    plan, ws = ctx.plan, ctx.workspace
    for offer_id in plan.offers:
        if offer_id not in ws.offers_by_id:
            yield ctx.finding(OFFER_UNKNOWN, message=f"the plan uses offer {offer_id!r}, which is not on the fact sheet",
                              evidence={"offer": offer_id, "known": sorted(ws.offers_by_id)},
                              fix="Use an offer id from facts.yaml, or add the offer there first.")
    window = plan.send_window
    if window is None:
        if plan.offers:
            yield ctx.finding(NO_SEND_WINDOW, message=(
                "the plan has no send window, so its offers could not be checked against their dates"),
                evidence={"offers": list(plan.offers)}, fix="Set send_window (start and end dates).")
        return
    for offer in ctx.offers:
        if offer.starts > window.start or offer.ends < window.end:
            yield ctx.finding(OFFER_INACTIVE, message=(
                f"offer {offer.id!r} runs {offer.starts} to {offer.ends}, but the plan sends {window.start} to "
                f"{window.end}"), evidence={"offer": offer.id, "starts": str(offer.starts), "ends": str(offer.ends),
                                           "send_start": str(window.start), "send_end": str(window.end)},
                fix="Move the send window inside the offer's dates, or pick an offer that is active then.")


def check_variant(ctx: VariantContext) -> Iterator[Finding]:
    index = fact_index(ctx.workspace)
    stated: dict[str, dict[str, set[str]]] = {}
    for name in PROSE_FIELDS:
        text = ctx.prose[name]
        if not text.strip():
            continue
        reader = _FieldReader(ctx, index, name, text)
        yield from reader.read()
        stated[name] = reader.stated
    yield from _contradictions(ctx, stated)


class _FieldReader:
    """Reads one field's claims in order; ``stated`` collects figures for the contradiction check."""

    def __init__(self, ctx: VariantContext, index: FactIndex, name: str, text: str) -> None:
        self.ctx, self.index, self.name, self.text = ctx, index, name, text
        self.toks = tokens(text)
        self.mentions = index.mentions(self.toks)
        self.sentences = sentence_bounds(text)
        self.stated: dict[str, set[str]] = {"percent": set(), "amount_off": set(), "code": set(), "date": set()}
        self.used: list[tuple[int, int]] = [(m.start, m.end) for m in self.mentions]
        self.low = ascii_lower(text)
        self.number_words = any(w in self.low for w in NUMBER_WORDS)

    def scan(self, pattern: re.Pattern[str], needles: tuple[str, ...], *, words: re.Pattern[str] | None = None,
             lower: bool = True) -> list[re.Match[str]]:
        """Matches of ``pattern`` (or of ``words`` when the text spells a number) in the lower-cased
        text (``lower``) or as written; skipped when none of ``needles`` occurs: most fields
        state no date, quote or claim, and the regexes cost more than the test."""
        if not any(n in self.low for n in needles):
            return []
        chosen = words if words is not None and self.number_words else pattern
        return list(chosen.finditer(self.low if lower else self.text))

    def finding(self, code: Code, span: tuple[int, int], message: str, fix: str | None = None, **evidence: object) -> Finding:
        return self.ctx.finding(code, field=self.name, span=span, message=message,  # type: ignore[arg-type]
                                evidence={"text": self.text[span[0]:span[1]], **evidence}, fix=fix)

    def sentence(self, at: int) -> tuple[int, int]:
        return next(((a, b) for a, b in self.sentences if a <= at < b), (0, len(self.text)))

    def clause(self, at: int) -> tuple[int, int]:
        """The part of the sentence around ``at`` between ';', ':', ', ' or dashes."""
        a, b = self.sentence(at)
        cuts = [a] + [m.end() for m in _CLAUSE.finditer(self.text, a, b)] + [b]
        start = max(c for c in cuts if c <= at)
        end = min((c for c in cuts if c > at), default=b)
        return start, end

    def products_near(self, at: int) -> list[Mention]:
        a, b = self.sentence(at)
        inside = [m for m in self.mentions if a <= m.start < b]
        before = [m for m in inside if m.start < at]
        return [before[-1]] if before else inside[:1]

    def read(self) -> Iterator[Finding]:
        yield from self._products()
        yield from self._percents()
        yield from self._money()
        yield from self._codes()
        yield from self._dates()
        yield from self._shipping_and_policies()
        yield from self._claims()
        yield from self._quotes()

    # -- products -------------------------------------------------------------------------
    def _products(self) -> Iterator[Finding]:
        if self.name == "body":
            for m in self.mentions:
                if not m.product.in_stock:
                    yield self.finding(OUT_OF_STOCK, (m.start, m.end), f"{m.product.name} is out of stock",
                                       "Feature a product that is in stock.", sku=m.product.sku)
        for m in self.mentions:  # "Electrolyte Tabs (60)" when only the 30-pack exists
            pack = _PACK_SIZE.match(self.text, m.end)
            if pack and m.product.name.strip() != f"{m.text} ({pack.group(1)})":
                near = self.index.nearest(self.text[m.start:pack.end()], 70)
                yield self.finding(PRODUCT_UNKNOWN, (m.start, pack.end()), (
                    f"{self.text[m.start:pack.end()]!r} is not on the fact sheet"
                    + (f" (did you mean {near[1].name}?)" if near else "")),
                    "Name the product exactly as facts.yaml does.", suggestion=near[1].name if near else None)
        toks, i = self.toks, 0
        covered = {(m.start, m.end) for m in self.mentions}
        while i < len(toks):
            if not toks[i].text[:1].isupper() or toks[i].norm in self.index.brand_words:
                i += 1
                continue
            j = i + 1
            while j < len(toks) and j - i < 5 and (toks[j].text[:1].isupper() or _MODEL_SUFFIX.match(toks[j].text)) \
                    and self.text[toks[j - 1].end:toks[j].start] in {"", " ", "-", " - "}:
                j += 1
            run = toks[i:j]
            i = j
            start, end = run[0].start, run[-1].end
            inside = [m for m in self.mentions if start <= m.start and m.end <= end]
            if inside and (inside[0].start, inside[-1].end) == (start, end):
                continue  # the whole run is a known product
            if inside:  # "Cloudstride 4": a known name plus a model suffix it does not have
                tail = [t for t in run if t.start >= inside[-1].end]
                if not tail or not _MODEL_SUFFIX.match(tail[0].text):
                    continue
                phrase = self.text[inside[-1].start:tail[0].end]
                near = self.index.nearest(phrase, 70)
                yield self.finding(PRODUCT_UNKNOWN, (inside[-1].start, tail[0].end), (
                    f"{phrase!r} is not on the fact sheet" + (f" (did you mean {near[1].name}?)" if near else "")),
                    "Name the product exactly as facts.yaml does.", suggestion=near[1].name if near else None)
                continue
            if any(a <= start and end <= b for a, b in covered):
                continue  # inside a longer known name: "Electrolyte Tabs" of "Electrolyte Tabs (30)"
            if len(run) == 1 and self._sentence_start_only(run):
                continue  # capitalised only because a sentence starts there
            words = [t.text for t in run]
            best = None
            for n in range(min(4, len(words)), 0, -1):
                for k in range(len(words) - n + 1):
                    sub = " ".join(words[k:k + n])
                    if len(sub) < 5:
                        continue
                    near = self.index.nearest(sub, 85)
                    if near and (best is None or near[2] > best[2]):
                        best = (*near, run[k].start, run[k + n - 1].end)
                if best:
                    break
            if best:
                phrase = self.text[best[3]:best[4]]
                yield self.finding(PRODUCT_UNKNOWN, (best[3], best[4]), (
                    f"{phrase!r} is not on the fact sheet (did you mean {best[1].name}?)"),
                    "Name the product exactly as facts.yaml does.", suggestion=best[1].name)
            elif len(run) >= 1 and _PRODUCT_NOUN.match(self.text[end:end + 20]) and not self._sentence_start_only(run):
                phrase = self.text[start:end]
                yield self.finding(PRODUCT_UNKNOWN, (start, end), f"{phrase!r} looks like a product name that is not "
                                   "on the fact sheet", "Name a product from facts.yaml.")

    def _sentence_start_only(self, run: list) -> bool:  # type: ignore[type-arg]
        a, _ = self.sentence(run[0].start)
        return len(run) == 1 and (run[0].norm in _PLAIN_WORDS or not re.sub(r"[\W_]", "", self.text[a:run[0].start]))

    # -- discounts ------------------------------------------------------------------------
    def _percents(self) -> Iterator[Finding]:
        for m in self.scan(_PERCENT, ("%", "percent", "per cent", "pct", "half"), words=_PERCENT_WORDS):
            value = Decimal(50) if m.group("half") else parse_number(m.group("n"))
            if value is None:
                continue
            after, before = self.text[m.end():m.end() + 25], self.text[max(0, m.start() - 20):m.start()]
            if not (m.group("half") or _DISCOUNT_AFTER.match(after)
                    or (_DISCOUNT_BEFORE.search(before) and not _SHARE_AFTER.match(after))):
                continue  # "95% of testers" is a proof claim, read by _claims
            self.used.append(m.span())
            self.stated["percent"].add(_num(value))
            yield from self._ground_discount(m.span(), "percent_off", value, f"{_num(value)}% off")

    def _ground_discount(self, span: tuple[int, int], kind: str, value: Decimal, label: str) -> Iterator[Finding]:
        plan_offers = [o for o in self.ctx.offers if o.kind == kind and o.value == value]
        if plan_offers:
            offer = plan_offers[0]
            if offer.applies_to:
                for m in self.products_near(span[0]):
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

    # -- money ----------------------------------------------------------------------------
    def _money(self) -> Iterator[Finding]:
        ws = self.ctx.workspace
        for m in self.scan(_MONEY, _MONEY_NEEDLES, words=_MONEY_WORDS):
            raw = m.group("a") or m.group("b")
            value = parse_number(raw)
            if value is None:
                continue
            span = m.span()
            self.used.append(span)
            currency = _CURRENCY[(m.group("sym") or m.group("word")).lower()]
            after, before = self.text[span[1]:span[1] + 20], self.text[max(0, span[0] - 25):span[0]]
            products = self.products_near(span[0])
            allowed = {ws.currency_of(p.product) for p in products} or {ws.brand.currency}
            if currency not in allowed:
                yield self.finding(CURRENCY_MISMATCH, span, (
                    f"{self.text[span[0]:span[1]]} is in {currency}; this brand prices in {', '.join(sorted(allowed))}"),
                    "State prices in the brand's currency.", currency=currency)
                continue
            if _FREE_SHIPPING.search(self.low[slice(*self.sentence(span[0]))]):
                continue  # thresholds of free shipping are checked with the shipping promise
            if _AMOUNT_OFF.match(after):
                self.stated["amount_off"].add(_num(value))
                yield from self._ground_discount(span, "amount_off", value, f"{self.text[span[0]:span[1]]} off")
                continue
            if _THRESHOLD_BEFORE.search(before):
                known = {p.threshold for p in ws.facts.policies if p.threshold is not None}
                known |= {o.min_order for o in ws.facts.offers if o.min_order is not None}
                if value not in known:
                    yield self.finding(AMOUNT_UNGROUNDED, span, (
                        f"the threshold {self.text[span[0]:span[1]]} matches no policy or offer minimum"),
                        "Use the threshold from facts.yaml.", known=sorted(str(k) for k in known))
                continue
            if products:
                p = products[0].product
                ok = {p.price} | self._discounted(p)
                if p.previous_price is not None and _PREVIOUS_BEFORE.search(before):
                    ok.add(p.previous_price)
                if value not in ok:
                    yield self.finding(PRICE_MISMATCH, span, (
                        f"{p.name} costs {_money(p.price, ws.currency_of(p))}, not {self.text[span[0]:span[1]]}"),
                        f"Use {_money(p.price, ws.currency_of(p))}.", sku=p.sku, fact_price=str(p.price))
                continue
            known = self._all_amounts()
            if value not in known:
                yield self.finding(AMOUNT_UNGROUNDED, span, (
                    f"{self.text[span[0]:span[1]]} matches no price, offer or threshold on the fact sheet"),
                    "State only amounts from facts.yaml, next to the product they belong to.")

    def _discounted(self, product: Product) -> set[Decimal]:
        out = set()
        for o in self.ctx.offers:
            if o.applies_to and product.sku not in o.applies_to and product.category not in o.applies_to:
                continue
            if o.kind == "percent_off" and o.value is not None:
                out.add((product.price * (100 - o.value) / 100).quantize(Decimal("0.01")))
            elif o.kind == "amount_off" and o.value is not None:
                out.add(product.price - o.value)
        return out

    def _all_amounts(self) -> set[Decimal]:
        facts = self.ctx.workspace.facts
        known = {p.price for p in facts.products} | {p.previous_price for p in facts.products if p.previous_price}
        known |= {p.threshold for p in facts.policies if p.threshold is not None}
        known |= {o.value for o in facts.offers if o.kind == "amount_off" and o.value is not None}
        known |= {o.min_order for o in facts.offers if o.min_order is not None}
        return known

    # -- codes ----------------------------------------------------------------------------
    def _codes(self) -> Iterator[Finding]:
        seen: set[int] = set()
        candidates = [(m.group(0), m.span(), False) for m in _CODE_WORD.finditer(self.text)]
        candidates += [(m.group(1), m.span(1), True) for m in _CODE_AFTER.finditer(self.text)]
        for word, span, after_code in candidates:
            if span[0] in seen or any(a <= span[0] < b for a, b in self.used):
                continue
            seen.add(span[0])
            offer = self.index.codes.get(word.upper())
            if offer is not None:
                self.stated["code"].add(offer.code or "")
                if offer.id not in self.ctx.plan.offers:
                    yield self.finding(OFFER_NOT_IN_PLAN, span, (
                        f"code {word} belongs to offer {offer.id!r}, which this plan does not include"),
                        f"Add {offer.id} to the plan's offers, or use the plan's own code.", offer=offer.id)
                continue
            has_digit, has_alpha = any(c.isdigit() for c in word), any(c.isalpha() for c in word)
            before = self.text[max(0, span[0] - 20):span[0]]
            looks_like = (word.isupper() or word.isdigit() is False and after_code) and word.upper() not in _NOT_CODES
            if after_code and (word.lower() in _COMMON_AFTER_CODE
                               or not (word.isupper() or any(c.isdigit() for c in word))):
                continue  # "no code needed": codes are written in capitals or carry digits
            if looks_like and has_alpha and (
                    (has_digit and len(word) >= 4 and word.isupper()) or after_code or _CODE_CONTEXT.search(before)):
                self.stated["code"].add(word.upper())
                yield self.finding(CODE_UNKNOWN, span, f"code {word} is not on the fact sheet",
                                   "Use the code of one of the plan's offers, exactly.",
                                   known=sorted(o.code for o in self.ctx.offers if o.code))

    # -- dates ----------------------------------------------------------------------------
    def _dates(self) -> Iterator[Finding]:
        plan, ws = self.ctx.plan, self.ctx.workspace
        offer_ends = {o.ends for o in self.ctx.offers}
        fact_dates = {d for o in ws.facts.offers for d in (o.starts, o.ends)}
        fact_dates |= {d for c in ws.facts.calendar for d in (c.starts, c.ends) if d is not None}
        if plan.send_window:
            fact_dates |= {plan.send_window.start, plan.send_window.end}
        for m in self.scan(_DATE, _DATE_NEEDLES, lower=False):
            month_text = m.group("m1") or m.group("m2")
            try:
                month = _MONTHS[month_text[:3].lower()] if month_text else int(m.group("m3"))
                day = int(m.group("d1") or m.group("d2") or m.group("d3"))
                year_text = m.group("y1") or m.group("y2") or m.group("y3")
                year = int(year_text) if year_text else None
                if year:
                    date(year, month, day)
            except (ValueError, KeyError):
                continue
            span = m.span()
            self.used.append(span)
            self.stated["date"].add(f"{month:02d}-{day:02d}")
            a, b = self.sentence(span[0])
            deadline = bool(_DEADLINE_WORDS.search(self.text[a:span[0]]))
            pool = offer_ends | self._calendar_in_sentence(span[0]) if deadline else fact_dates
            if plan.send_window and not _OFFER_TALK.search(self.text[a:b]):
                # "If you don't click by December 6, we'll take you off the list": an
                # operational date, grounded by the send window (up to a week after it).
                start, end = plan.send_window.start, plan.send_window.end + timedelta(days=7)
                pool = pool | {start + timedelta(days=i) for i in range(min((end - start).days, 92) + 1)}
            if not any(d.month == month and d.day == day and (year is None or d.year == year) for d in pool):
                what = "deadline" if deadline else "date"
                ends = ", ".join(f"{o.id} ends {o.ends:%B} {o.ends.day}, {o.ends.year}" for o in self.ctx.offers)
                yield self.finding(DATE_UNGROUNDED, span, (
                    f"the {what} {m.group(0)!r} matches no " + ("end date of the plan's offers" if deadline
                                                                else "offer or calendar date") + (f" ({ends})" if ends else "")),
                    "State the offer's end date exactly as facts.yaml has it.")
        for m in self.scan(_RELATIVE, _RELATIVE_NEEDLES):
            when = (m.group("when") or m.group("only")).lower()
            self.used.append(m.span())
            problem = self._relative_problem(when, offer_ends)
            if problem:
                yield self.finding(DATE_UNGROUNDED, m.span(), f"{self.text[slice(*m.span())]!r}: {problem}",
                                   "Name the offer's real end date instead of a relative day.")

    def _calendar_in_sentence(self, at: int) -> set[date]:
        a, b = self.sentence(at)
        sentence = normalize(self.text[a:b])
        return {d for c in self.ctx.workspace.facts.calendar if normalize(c.name) in sentence
                for d in (c.starts, c.ends) if d is not None}

    def _relative_problem(self, when: str, offer_ends: set[date]) -> str | None:
        window = self.ctx.plan.send_window
        if window is None:
            return "the plan has no send window, so this relative deadline cannot be checked"
        days = [window.start + timedelta(days=i) for i in range(min((window.end - window.start).days, 31) + 1)]
        if when in _WEEKDAYS:
            target = _WEEKDAYS.index(when)
            meant = {d + timedelta(days=(target - d.weekday()) % 7) for d in days}
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
    def _shipping_and_policies(self) -> Iterator[Finding]:
        ws = self.ctx.workspace
        for m in self.scan(_FREE_SHIPPING, ("free", "ship")):
            a, b = self.sentence(m.start())
            amounts = [parse_number(x.group("a") or x.group("b")) for x in _MONEY.finditer(self.low[a:b])]
            amounts = [x for x in amounts if x is not None]
            offer = next((o for o in self.ctx.offers if o.kind == "free_shipping"), None)
            policy = next((p for p in ws.facts.policies if "shipping" in (p.id + p.name).lower()), None)
            if offer is not None:
                if amounts and offer.min_order is not None and offer.min_order not in amounts:
                    yield self.finding(SHIPPING_UNGROUNDED, m.span(), (
                        f"offer {offer.id} gives free shipping over {_money(offer.min_order, ws.brand.currency)}"),
                        "State the offer's minimum order.", offer=offer.id)
                continue
            if policy is None:
                yield self.finding(SHIPPING_UNGROUNDED, m.span(), "free shipping is neither a policy nor one of the "
                                   "plan's offers", "Add the free-shipping offer to the plan, or remove the promise.")
            elif policy.threshold is not None and policy.threshold not in amounts:
                said = f" (the copy says {', '.join(str(x) for x in amounts)})" if amounts else ""
                yield self.finding(SHIPPING_UNGROUNDED, m.span(), (
                    f"free shipping applies only to orders over {_money(policy.threshold, ws.brand.currency)}{said}"),
                    f"Say 'free shipping on orders over {_money(policy.threshold, ws.brand.currency)}'.",
                    policy=policy.id, threshold=str(policy.threshold))
        for m in self.scan(_DAYS, ("day",), words=_DAYS_WORDS):
            days = parse_number(m.group("n") or m.group("m"))
            a, b = self.sentence(m.start())
            sentence = self.text[a:b].lower()
            topics = [t for t, words in _POLICY_TOPICS.items() if any(w in sentence for w in words)]
            if days is None or not topics:
                continue
            policies = [p for p in ws.facts.policies if p.days is not None
                        and any(w in (p.id + " " + p.name + " " + p.text).lower() for t in topics for w in _POLICY_TOPICS[t])]
            if not any(p.days == days for p in policies):
                known = ", ".join(f"{p.name}: {p.days} days" for p in policies) or "no such policy"
                yield self.finding(POLICY_MISMATCH, m.span(), f"{self.text[slice(*m.span())]!r} differs from the policy ({known})",
                                   "Use the policy's number of days.", policies=[p.id for p in policies])

    # -- claims ---------------------------------------------------------------------------
    def _claims(self) -> Iterator[Finding]:
        reported: set[tuple[int, int]] = set()
        quoted = [q.span() for q in self.scan(_QUOTE, _QUOTE_NEEDLES, lower=False)]
        for m in self.scan(_CLAIM, _CLAIM_NEEDLES):
            if m.start() and (self.low[m.start() - 1].isalnum() or self.low[m.start() - 1] == "_"):
                continue  # not at a word start ("unbest-selling")
            if any(qa <= m.start() < qb for qa, qb in quoted):
                continue  # a quote is checked as a testimonial
            a, b = self.clause(m.start())
            if (a, b) in reported:
                continue
            if not self._claim_sourced(m.group(0), a, b):
                reported.add((a, b))
                yield self.finding(CLAIM_UNSOURCED, m.span(), (
                    f"{self.text[slice(*m.span())]!r} is a claim with no source on the fact sheet"),
                    "Use a claim from facts.yaml word for word, or remove it.", sentence=self.text[a:b].strip()[:200])

    def _claim_sourced(self, phrase: str, a: int, b: int) -> bool:
        sentence = self.text[a:b]
        mentions = [m for m in self.mentions if a <= m.start < b]
        skip = [(m.start - a, m.end - a) for m in mentions]
        skip += [(x - a, y - a) for x, y in self.used if a <= x < b]
        numbers = numbers_in(blank_spans(sentence, skip))
        skus = {m.product.sku for m in mentions}
        key = normalize(phrase)
        for norm, claim_numbers, claim_skus in zip(self.index.claim_norms, self.index.claim_numbers,
                                                  self.index.claim_products, strict=True):
            if fuzz.partial_ratio(key, norm) >= 80 and numbers <= claim_numbers and skus <= claim_skus:
                return True
        return False

    def _quotes(self) -> Iterator[Finding]:
        for m in self.scan(_QUOTE, _QUOTE_NEEDLES, lower=False):
            quote = m.group("a") or m.group("b")
            if len(quote.split()) < 4:
                continue
            norm = normalize(quote)
            if any(fuzz.token_set_ratio(norm, c) >= 85 for c in self.index.claim_norms):
                continue
            yield self.finding(TESTIMONIAL_UNSOURCED, m.span(), (
                "this quote is not a claim or testimonial with a source on the fact sheet"),
                "Quote only testimonials listed in facts.yaml claims, with their source.")


def _contradictions(ctx: VariantContext, stated: dict[str, dict[str, set[str]]]) -> Iterator[Finding]:
    body = stated.get("body")
    if body is None:
        return
    for name in ("subject", "preheader", "cta_text"):
        for kind, values in stated.get(name, {}).items():
            missing = sorted(values - body[kind]) if body[kind] else []
            if missing:
                yield ctx.finding(CONTRADICTION, field=name, message=(  # type: ignore[arg-type]
                    f"the {name} says {', '.join(missing)} ({kind.replace('_', ' ')}) but the body says "
                    f"{', '.join(sorted(body[kind]))}"), evidence={"kind": kind, "field_values": sorted(values),
                                                                  "body_values": sorted(body[kind])},
                    fix="Make every field state the same offer.")


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _money(value: Decimal, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    text = f"{value:,.2f}".removesuffix(".00")
    return f"{symbol}{text}"


GUARD = Guard(
    name="facts",
    description="Prices, discounts, codes, dates, shipping and returns promises, products, claims and quotes "
                "are grounded in the fact sheet and the plan's offers; fields agree.",
    codes=(PRICE_MISMATCH, AMOUNT_UNGROUNDED, CURRENCY_MISMATCH, DISCOUNT_UNGROUNDED, OFFER_NOT_IN_PLAN, OFFER_SCOPE,
           CODE_UNKNOWN, OFFER_UNKNOWN, OFFER_INACTIVE, NO_SEND_WINDOW, DATE_UNGROUNDED, SHIPPING_UNGROUNDED,
           POLICY_MISMATCH, PRODUCT_UNKNOWN, OUT_OF_STOCK, CLAIM_UNSOURCED, TESTIMONIAL_UNSOURCED, CONTRADICTION),
    check_variant=check_variant,
    check_plan=check_plan,
)
