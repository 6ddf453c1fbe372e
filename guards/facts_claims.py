"""What one field of copy states, for the facts guard to ground (guards/facts_grounding.py): the
products it names (and names that look like products), discounts, amounts, codes, dates and
relative deadlines, shipping and returns promises, proof claims and quotes.

Read in the variant's language with copilot.text's recognisers ("29,99 €", "20 % de descuento",
"bis 3. Dezember"); English words count too, since copy in any language says "20% OFF".
Nothing here knows what is true: only what is said, where, and in what role.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from copilot.text import (
    NUMBER_WORDS,
    Token,
    alternation,
    amount_role,
    code_context,
    deadline_words,
    find_dates,
    find_durations,
    find_free_shipping,
    find_introduced_codes,
    find_money,
    find_percents,
    find_relative_deadlines,
    find_weekdays,
    languages,
    normalize,
    numbers_in,
    percent_role,
    sentence_bounds,
    stem,
    tokenize,
)
from guards.facts_index import FactIndex, Mention, blank_spans

__all__ = ["POLICY_TOPICS", "FieldClaims", "NameRun", "Pack", "Discount", "Amount", "CodeWord", "StatedDate", "RelativeDeadline",
           "ShippingPromise", "PolicyDays", "ProofClaim", "Quote", "read_field", "reading_languages"]

Span = tuple[int, int]

_CODE_WORD = re.compile(r"\b[A-Z0-9][A-Z0-9_-]{2,31}\b")
_NOT_CODES = frozenset({"USA", "USD", "EUR", "GBP", "VIP", "FAQ", "GPS", "XXL", "ASAP", "FREE", "THE", "AND", "NEW", "SALE",
                        "CODE", "HTML", "UTC", "EST", "PST", "RSVP", "OK", "PS"})
_COMMON_AFTER_CODE = frozenset({"the", "your", "below", "above", "at", "is", "for", "to", "and", "when", "in", "on", "you"})
_OFFER_TALK = re.compile(r"(?i)%|\bpercent\b|[$€£]\s?\d|\b(?:offers?|sale|discount|code|coupon|deal|prices?)\b"
                         r"|\bfree (?:shipping|delivery|returns)\b"
                         r"|\b(?:oferta|descuento|rebajas|código|cupón|precio|angebot|rabatt|gutschein|preis|sale"
                         r"|offre|réduction|remise|promo|prix|soldes)\b")
# Which policies a sentence speaks of, by the words it uses (any supported language).
POLICY_TOPICS = {"return": ("return", "refund", "devoluc", "reembols", "rückgabe", "rücksend", "erstatt", "retour",
                             "rembours"),
                  "exchange": ("exchange", "fit", "cambio", "umtausch", "échange"),
                  "guarantee": ("guarantee", "fit", "garantía", "garantie")}
# No leading \b on the alternatives: it defeats re's first-character skip (2x slower);
# the word boundary before a match is checked in _claims instead.
_CLAIM = re.compile(
    r"best[- ]?sell(?:ing|ers?)\b|#\s?1\b|number one\b|no\.\s?1\b|top[- ]rated\b|highest[- ]rated\b"
    r"|most popular\b|award[- ]winning\b|(?:clinically|scientifically|lab)[- ](?:proven|tested)\b|proven to\b"
    r"|(?:doctor|podiatrist|coach)[- ]recommended\b|\d(?:\.\d)? out of (?:5|five)\b"
    rf"|(?:\d+|{alternation(w for w, v in NUMBER_WORDS['en'].items() if 1 <= v <= 10 and ' ' not in w)}) (?:out of|in) (?:10|ten)\b"
    r"|rated \d(?:\.\d)?\b|\d{1,3}(?:,\d{3})+\+? (?:runners|customers|reviews|reviewers|testers|people)\b"
    r"|(?:the )?(?:lightest|fastest|most comfortable|best) (?:running |trail )?(?:shoes?|socks?|gear|tee|vest|shorts?|tights?)\b"
    r"|world'?s (?:best|lightest|fastest)\b|loved by (?:thousands|millions)\b|\d+(?:\.\d+)?\s?% of\b"
    # a statistic or a count: "9 out of 10 members", "over 25,000 travellers", "4.2 million meals", "a million readers"
    r"|\d{1,3}(?:,\d{3})+\+? (?:[a-z]+s|people)\b|(?:\d+(?:\.\d+)?|a|one|two|three|four|five|ten) (?:million|thousand|billion) (?:[a-z]+s|people)\b"
    # a superlative placed in the world or a place: "the best studio in Montreal", "the most beautiful railway in the world"
    r"|the (?:(?:very|single) )?(?:best|finest|greatest|biggest|largest|most [a-z]+|[a-z]{3,}iest)(?: [a-z-]+){0,3}"
    r" (?:in (?:the world|the country|town|the city|europe|america|britain|the uk|the us|canada)|anywhere|ever made|on the market|of all time)\b")
# A superlative placed in a named place: "the best studio in Montreal", "the tastiest meal kit in America".
_PLACED = re.compile(r"\b[Tt]he (?:(?:very|single) )?(?:best|finest|greatest|biggest|largest|most [a-z]+|[a-z]{3,}iest)"
                     r"(?: [a-z-]+){0,3} in (?:the )?[A-Z][a-z]+")
_CLAIM_NEEDLES = ("best", "#", "number one", "no.", "rated", "popular", "award", "proven", "tested", "recommended",
                  "out of", " in 10", " in ten", "lightest", "fastest", "comfortable", "world", "loved", "% of", "customers",
                  "reviews", "reviewers", "testers", "people", ",", "million", "thousand", "billion", "the ")
_QUOTE = re.compile(r"“(?P<a>[^”]{12,}?)”|(?:^|(?<=[\s(]))\"(?P<b>[A-Za-z][^\"\n]{12,}?)\"(?=[\s.,;:!?)—-]|$)"
                    r"|«\s?(?P<c>[^»]{12,}?)\s?»|„(?P<d>[^“”]{12,}?)[“”]", re.M)
_QUOTE_NEEDLES = ('"', "“", "«", "„")
_PRODUCT_NOUN = re.compile(r"^\s*(?:running |trail )?(?:shoes?|sneakers?|trainers?|tee|t-shirt|shirt|shorts?|tights?|socks?|vest|jacket|tabs|bottle)\b", re.I)
_WEEKDAY_JOIN = re.compile(r",?\s{1,2}(?:the\s|le\s|el\s|den\s)?")  # "Sunday, February 14", "Sunday the 14th", "samedi le 7"
_CLAUSE = re.compile(r"[;:]|,\s|\s[-–—]\s")
_PLAIN_WORDS = frozenset({"best", "new", "our", "your", "the", "this", "these", "great", "free", "all", "every", "fresh",
                          "classic", "favorite", "favourite", "comfy", "light", "fast", "winter", "summer", "spring"})
_ARTICLES = frozenset({"a", "an", "the", "our", "your", "this", "these", "that", "every", "each", "my"})
_PACK_SIZE = re.compile(r"[ \t]*\((\d+)\)")
MODEL_SUFFIX = re.compile(r"^(?:\d+[A-Za-z]?|[A-Z]{1,4}|Pro|Max|Plus|Lite|Elite|Ultra|Mini)$")


@dataclass(frozen=True)
class NameRun:
    """Capitalised words in a row that may name a product ("Trail Blazer Pro")."""

    start: int
    end: int
    words: tuple[Token, ...]
    known: tuple[Mention, ...]  # fact-sheet products named inside the run
    covered: bool  # inside a longer known name ("Electrolyte Tabs" of "Electrolyte Tabs (30)")
    sentence_start_only: bool  # one word, capitalised only because a sentence starts there
    noun_after: bool  # followed by a product noun ("Vortex running shoes")


@dataclass(frozen=True)
class Pack:
    """A known name followed by a pack size in brackets ("Electrolyte Tabs (60)")."""

    mention: Mention
    span: Span
    text: str


@dataclass(frozen=True)
class Discount:
    span: Span
    value: Decimal  # percent off


@dataclass(frozen=True)
class Amount:
    span: Span
    value: Decimal
    currency: str
    role: str  # discount | threshold | ceiling | previous | ""
    products: tuple[Mention, ...]  # the product it is said of, if any
    shipping_sentence: bool  # in a sentence promising free shipping (checked with the promise)


@dataclass(frozen=True)
class CodeWord:
    word: str
    span: Span
    looks_like_code: bool  # written as a code would be, or introduced as one


@dataclass(frozen=True)
class StatedDate:
    span: Span
    text: str
    month: int
    day: int
    year: int | None
    deadline: bool  # a deadline word precedes it in its sentence
    offer_talk: bool  # its sentence speaks of an offer, a price or a code
    sentence: Span
    weekday: int | None = None  # the weekday written with it ("Sunday 7 February"; Monday 0)


@dataclass(frozen=True)
class RelativeDeadline:
    span: Span
    text: str
    when: int | str  # a weekday (Monday 0) or today, tonight, tomorrow, midnight


@dataclass(frozen=True)
class ShippingPromise:
    span: Span
    amounts: tuple[Decimal, ...]  # amounts said in the same sentence


@dataclass(frozen=True)
class PolicyDays:
    span: Span
    text: str
    days: Decimal
    topics: tuple[str, ...]


@dataclass(frozen=True)
class ProofClaim:
    span: Span
    phrase: str
    clause: Span
    numbers: frozenset[Decimal]  # other numbers in its clause
    skus: frozenset[str]  # products named in its clause


@dataclass(frozen=True)
class Quote:
    span: Span
    text: str


# How far either side of a figure its sentence is read for context words (a deadline word before a
# date, offer talk around it): sentences are shorter; copy without sentence ends is not read whole.
SENTENCE_REACH = 300


@dataclass
class FieldClaims:
    name: str
    text: str
    sentences: list[Span]
    mentions: list[Mention]
    packs: list[Pack] = field(default_factory=list)
    runs: list[NameRun] = field(default_factory=list)
    discounts: list[Discount] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    codes: list[CodeWord] = field(default_factory=list)
    dates: list[StatedDate] = field(default_factory=list)
    relative: list[RelativeDeadline] = field(default_factory=list)
    shipping: list[ShippingPromise] = field(default_factory=list)
    policy_days: list[PolicyDays] = field(default_factory=list)
    claims: list[ProofClaim] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)

    def sentence(self, at: int) -> Span:
        """The sentence around ``at``, at most SENTENCE_REACH characters either side of it: what a
        figure's context words are looked for in, so copy with no sentence ends (a body of "$9 $9 ...")
        costs the same per figure as ordinary copy (a bisect, not a scan of every sentence)."""
        i = bisect_right(self._starts, at) - 1
        a, b = self.sentences[i] if i >= 0 and at < self.sentences[i][1] else (0, len(self.text))
        return max(a, at - SENTENCE_REACH), min(b, at + SENTENCE_REACH)

    @cached_property
    def _starts(self) -> list[int]:
        return [a for a, _ in self.sentences]

    def mentions_in(self, a: int, b: int) -> list[Mention]:
        """Product mentions starting in [a, b), by bisect (mentions are read in text order)."""
        starts = self._mention_starts
        return self.mentions[bisect_left(starts, a):bisect_left(starts, b)]

    @cached_property
    def _mention_starts(self) -> list[int]:
        return [m.start for m in self.mentions]


def reading_languages(locale: str) -> tuple[str, ...]:
    """The variant's language first (its number format), then English (copy everywhere says "OFF")."""
    return languages((locale, "en"))


def read_field(index: FactIndex, name: str, text: str, locale: str = "en") -> FieldClaims:
    """Everything ``text`` (one prose field) states that the fact sheet must back (cached on the
    index: a reviewer's re-check reads the same copy again)."""
    key = (name, text, locale)
    cached = index.claims_cache.get(key)
    if cached is None:
        if len(index.claims_cache) > 4096:
            index.claims_cache.clear()
        cached = index.claims_cache[key] = _read_field(index, name, text, locale)
    return cached  # type: ignore[return-value]


def _read_field(index: FactIndex, name: str, text: str, locale: str) -> FieldClaims:
    langs = reading_languages(locale)
    currencies = index.currencies
    toks = tokenize(text)
    out = FieldClaims(name, text, sentence_bounds(text), index.mentions(toks))
    used: list[Span] = [(m.start, m.end) for m in out.mentions]
    _products(out, index, toks)
    for p in find_percents(text, langs):
        if percent_role(text, p, langs) == "discount":  # "95% of testers" is a proof claim, read with the claims
            out.discounts.append(Discount((p.start, p.end), p.value))
            used.append((p.start, p.end))
    shipping = find_free_shipping(text, langs)
    for m in find_money(text, langs, currencies=currencies):
        a, b = out.sentence(m.start)
        out.amounts.append(Amount((m.start, m.end), m.amount, m.currency, amount_role(text, m, langs),
                                  tuple(_products_near(out, m.start)), any(a <= s < b for s, _ in shipping)))
        used.append((m.start, m.end))
    _codes(out, text, used, langs)
    _dates(out, text, used, langs)
    for span in shipping:
        a, b = out.sentence(span[0])
        said = tuple(x.value for x in out.amounts if a <= x.span[0] < b)
        out.shipping.append(ShippingPromise(span, said))
    low = text.lower()
    for d in find_durations(text, langs, roles=False, articles=False):
        if d.unit != "day":
            continue
        sentence = low[slice(*out.sentence(d.start))]
        topics = tuple(t for t, words in POLICY_TOPICS.items() if any(w in sentence for w in words))
        if topics:
            out.policy_days.append(PolicyDays((d.start, d.start + len(d.text)), d.text, Decimal(str(d.days)).normalize(),
                                              topics))
    _claims(out, text, low, used, langs)
    return out


def _products_near(out: FieldClaims, at: int) -> list[Mention]:
    a, b = out.sentence(at)
    inside = out.mentions_in(a, b)
    before = [m for m in inside if m.start < at]
    return [before[-1]] if before else inside[:1]


def _products(out: FieldClaims, index: FactIndex, toks: tuple[Token, ...]) -> None:
    text = out.text
    for m in out.mentions:  # "Electrolyte Tabs (60)" when only the 30-pack exists
        pack = _PACK_SIZE.match(text, m.end)
        if pack and m.product.name.strip() != f"{m.text} ({pack.group(1)})":
            out.packs.append(Pack(m, (m.start, pack.end()), text[m.start:pack.end()]))
    # Mentions by start, looked up by bisect: a body of thousands of product names costs the same per
    # name as one that says it once (no scan of every mention per run of capitalised words).
    ordered = sorted(out.mentions, key=lambda m: (m.start, m.end))
    starts = [m.start for m in ordered]
    longest = max((m.end - m.start for m in ordered), default=0)

    def inside(start: int, end: int) -> tuple[Mention, ...]:
        k = bisect_left(starts, start)
        found = []
        while k < len(ordered) and ordered[k].start < end:
            if ordered[k].end <= end:
                found.append(ordered[k])
            k += 1
        return tuple(found)

    def covered(start: int, end: int) -> bool:
        k = bisect_right(starts, start) - 1
        while k >= 0 and ordered[k].start >= start - longest:
            if ordered[k].end >= end:
                return True
            k -= 1
        return False

    i = 0
    while i < len(toks):
        if not toks[i].text[:1].isupper() or toks[i].norm in index.brand_words or (
                toks[i].norm in _ARTICLES and i + 1 < len(toks) and toks[i + 1].text[:1].isupper()):
            i += 1  # an article or determiner before a name ("A Table Keeper gift") is not part of it
            continue
        j = i + 1
        while j < len(toks) and j - i < 5 and (toks[j].text[:1].isupper() or MODEL_SUFFIX.match(toks[j].text)) \
                and text[toks[j - 1].end:toks[j].start] in {"", " ", "-", " - "}:
            j += 1
        run = toks[i:j]
        i = j
        start, end = run[0].start, run[-1].end
        known = inside(start, end)
        a, _ = out.sentence(start)
        alone = len(run) == 1 and (run[0].norm in _PLAIN_WORDS or not re.sub(r"[\W_]", "", text[a:start]))
        out.runs.append(NameRun(start, end, tuple(run), known, covered(start, end),
                                alone, bool(_PRODUCT_NOUN.match(text[end:end + 20])) or _category_after(index, text, end)))


_APPOSITIVE = re.compile(r",?\s*(?:our|the|a|an)\s+(?:(?:new|latest|brand-new|first|next)\s+){0,2}([a-z]+)")


def _category_after(index: FactIndex, text: str, end: int) -> bool:
    """A name followed by a determiner and one of the brand's own category words ("The Glass Orchard,
    our new mystery"; not "HIIT class": a category word alone is often an ordinary noun)."""
    m = _APPOSITIVE.match(text, end, end + 40)
    return m is not None and stem(m.group(1)) in index.category_words


def _codes(out: FieldClaims, text: str, used: list[Span], langs: tuple[str, ...]) -> None:
    seen: set[int] = set()
    context = code_context(langs)
    candidates = [(m.group(0), m.span(), False) for m in _CODE_WORD.finditer(text)]
    candidates += [(c.code, c.span, True) for c in find_introduced_codes(text, langs)]
    for word, span, after_code in candidates:
        if span[0] in seen or any(a <= span[0] < b for a, b in used):
            continue
        seen.add(span[0])
        has_digit, has_alpha = any(c.isdigit() for c in word), any(c.isalpha() for c in word)
        before = text[max(0, span[0] - 20):span[0]]
        if after_code and (word.lower() in _COMMON_AFTER_CODE or not (word.isupper() or has_digit)):
            out.codes.append(CodeWord(word, span, False))  # "no code needed": codes are capitals or carry digits
            continue
        shaped = (word.isupper() or after_code) and word.upper() not in _NOT_CODES
        looks = shaped and has_alpha and ((has_digit and len(word) >= 4 and word.isupper()) or after_code
                                          or bool(context.search(before)))
        out.codes.append(CodeWord(word, span, looks))


def _dates(out: FieldClaims, text: str, used: list[Span], langs: tuple[str, ...]) -> None:
    deadline = deadline_words(langs)
    dates = find_dates(text, langs)
    weekdays = find_weekdays(text, langs) if dates else []
    named: list[Span] = []  # weekdays written with a date: checked against it, not read as "next Sunday"
    for d in dates:
        if d.year is not None and d.on(date.min) is None:
            continue  # no such day ("February 30, 2027")
        a, b = out.sentence(d.start)
        day = next((w for w in weekdays if w.end <= d.start and _WEEKDAY_JOIN.fullmatch(text[w.end:d.start])), None)
        if day is not None:
            named.append((day.start, day.end))
        out.dates.append(StatedDate((d.start, d.end), d.text, d.month, d.day, d.year,
                                    bool(deadline.search(text, a, d.start)), bool(_OFFER_TALK.search(text, a, b)),
                                    (a, b), day.weekday if day is not None else None))
        used.append((d.start, d.end))
    for r in find_relative_deadlines(text, langs):
        if any(x < r.end and r.start < y for x, y in named):
            continue
        out.relative.append(RelativeDeadline((r.start, r.end), r.text, r.when))
        used.append((r.start, r.end))


def _clause(out: FieldClaims, at: int) -> Span:
    """The part of the sentence around ``at`` between ';', ':', ', ' or dashes."""
    a, b = out.sentence(at)
    cuts = [a] + [m.end() for m in _CLAUSE.finditer(out.text, a, b)] + [b]
    return max(c for c in cuts if c <= at), min((c for c in cuts if c > at), default=b)


def _claims(out: FieldClaims, text: str, low: str, used: list[Span], langs: tuple[str, ...]) -> None:
    quotes = list(_QUOTE.finditer(text)) if any(n in text for n in _QUOTE_NEEDLES) else []
    for q in quotes:
        out.quotes.append(Quote(q.span(), q.group("a") or q.group("b") or q.group("c") or q.group("d")))
    if not any(n in low for n in _CLAIM_NEEDLES):
        return
    placed = list(_PLACED.finditer(text))
    for m in [*_CLAIM.finditer(low), *(p for p in placed if not any(q.start() <= p.start() < q.end()
                                                                   for q in _CLAIM.finditer(low, p.start(), p.end())))]:
        if m.start() and (low[m.start() - 1].isalnum() or low[m.start() - 1] == "_"):
            continue  # not at a word start ("unbest-selling")
        if any(qa <= m.start() < qb for qa, qb in (q.span() for q in quotes)):
            continue  # a quote is checked as a testimonial
        if any(ua <= m.start() < ub for ua, ub in used):
            continue  # a figure already read as money or a date ("€1,000 or more") is no count
        a, b = _clause(out, m.start())
        mentions = out.mentions_in(a, b)
        skip = [(x.start - a, x.end - a) for x in mentions] + [(x - a, y - a) for x, y in used if a <= x < b]
        out.claims.append(ProofClaim(m.span(), normalize(m.group(0)), (a, b),
                                     frozenset(numbers_in(blank_spans(text[a:b], skip), langs)),
                                     frozenset(x.product.sku for x in mentions)))
