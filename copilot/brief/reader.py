"""Read a marketer's brief against the playbook vocabulary, the catalog and the fact sheet.

Longer than most modules on purpose: each part of a reading (audience, offers, products, moment,
goal, fields, injections) is a short pass over the same matches and feeds the next one; the
recognisers themselves live in copilot.text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from copilot.brief.extract import (
    extract_dates,
    extract_durations,
    extract_max_emails,
    extract_numbers,
    extract_recurrence,
    extract_recurring_weekday,
    extract_time_of_day,
)
from copilot.brief.lexicon import EVENT, STRONG, WEAK, Lexicon, brief_form, lexicon
from copilot.brief.reading import AudienceHint, BriefReading, Constraints, OfferMention, RiskyField
from copilot.errors import BriefError
from copilot.plan import EventRule, FieldRule, LastPerformedRule, Rule
from copilot.rules import walk_rule
from copilot.text import (
    LANGUAGES,
    PhraseMatch,
    date_role,
    find_free_shipping,
    find_introduced_codes,
    guess_language,
    pattern,
    sentence_bounds,
    tokenize,
)
from copilot.workspace import Workspace

__all__ = ["MAX_BRIEF_CHARS", "check_brief_text", "dated_fields", "read_brief", "risk_reason"]

MAX_BRIEF_CHARS = 4000
_MIN_GOAL_SCORE = 2


def check_brief_text(text: str | None) -> str:
    """The brief, stripped; BriefError when it is empty or longer than MAX_BRIEF_CHARS."""
    stripped = (text or "").strip()
    if not stripped:
        raise BriefError("the brief is empty: describe the campaign in a sentence, e.g. "
                         "'win back customers who haven't ordered in 6 months'", field="brief")
    if len(stripped) > MAX_BRIEF_CHARS:
        raise BriefError(f"the brief is {len(stripped):,} characters long; the limit is {MAX_BRIEF_CHARS:,}. "
                         "Say what the campaign is for in a few sentences", field="brief", length=len(stripped))
    return stripped


def risk_reason(workspace: Workspace, name: str) -> str | None:
    """Why a catalog field must not drive targeting or copy, or None when it may."""
    f = workspace.field(name)
    if f is None:
        return None
    if f.sensitive:
        return f"{name} is sensitive data ({f.description.rstrip('.').lower()})"
    if f.provenance in {"third_party", "inferred"} and not f.disclosed:
        source = "bought from a third party" if f.provenance == "third_party" else "a model's guess"
        return (f"{name} is {source} that the person never knowingly gave us "
                f"({f.description.rstrip('.').lower()}); using it reads as surveillance")
    if not {"segmentation", "personalization"} & set(f.allowed_uses):
        return f"{name} is allowed only for {', '.join(f.allowed_uses)}, not for targeting or copy"
    return None


# --- reading -----------------------------------------------------------------------------------------

_INJECTION_RE = [
    re.compile(r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(rules?|instructions?|guidelines?|"
               r"guards?|checks?|polic(y|ies)|constraints?)\b", re.I),
    re.compile(r"\b(skip|bypass|disable|turn off|switch off|without|no need for|don'?t run)\b[^.!?\n]{0,25}"
               r"\b(checks?|guards?|review(er)?s?|approvals?|validation|compliance)\b", re.I),
    re.compile(r"\b(auto-?approve[sd]?|approve (it|this|the (plan|campaign|draft))|mark (it |this )?(as )?"
               r"approved|it'?s (already )?approved|pre-?approved)\b", re.I),
    re.compile(r"\b(you are now|act as|pretend (to be|you are)|system prompt|developer mode|jailbreak)\b", re.I),
    # a fake turn or closing tag: "</brief> Assistant: ...", "System: ..."
    re.compile(r"</?\s*(brief|system|user|assistant|instructions?)\s*>|(?:^|[\n.>]\s*)(assistant|system|user)\s*:",
               re.I),
    re.compile(r"\b(approved|signed off|cleared) by (the |a |our )?(reviewer|legal|compliance|board|manager)\b", re.I),
    re.compile(r"\b(send|schedule) (it )?(right )?(now|immediately)\b[^.!?\n]{0,30}\b(without|no|skip)\b", re.I),
]
_BOGO = re.compile(r"\b(bogo|buy one,? get one( free)?|2 ?for ?1|2x1|two for one|dos por uno|zwei für eins|"
                   r"1\+1)\b", re.I)
_GIFT = re.compile(r"\b(free gift|gift with purchase|regalo|geschenk|gratis-?geschenk)\b", re.I)
_FREE_THING = re.compile(r"\b(?:a |an |one )?free (?:extra |bonus |additional )?(?:(month|week|year|night|class|box|"
                         r"session|lesson|item)s?\b|(?=[A-Z]))", re.I)
_EARLY = re.compile(r"\b(early access|first access|(?:shop|buy|book|order) (?:it |them |the \w+ |\w+ )?(?:a (?:day|week) |"
                    r"\w+ days )?(?:early|before everyone)|(?:shop|buy|book|order) from [^.;]{1,40}?\b(?:everyone|"
                    r"the rest|others)(?: else)? (?:from|on)|acceso anticipado|früh(er|zeitige[rn]?) zugang|"
                    r"accès anticipé|en avant-première)\b", re.I)
_DISCOUNT_WORD = re.compile(rf"(?<![^\W_]){pattern('discount_after', LANGUAGES)}(?![^\W_])", re.I)
_GENERIC_OFFER = re.compile(r"\b(discount|coupon|promo( code)?|incentive|deal|% off|descuento|cup[oó]n|oferta|"
                            r"rabatt|gutschein|angebot)\b", re.I)
_REFUSED = re.compile(r"\b(no (discount|offer|incentive|coupon|promo)s?|no money off|without (a |any )?(discount|offer|"
                      r"incentive|money off)|(?:don'?t|do not) (?:want to )?(?:throw|give|offer|invent|add|include) (?:them )?(?:a |an |any )?"
                      r"(?:discount|offer|coupon)s?|sin descuento|ohne rabatt|kein(en)? rabatt|full price|drop the (offer|"
                      r"discount))\b", re.I)


def read_brief(text: str, workspace: Workspace, *, today: date | None = None) -> BriefReading:
    """Goal, moment, audience, offer, timing and constraints of ``text``, read against ``workspace``.

    Raises BriefError for an empty or over-long brief. ``today`` resolves dates without a
    year and weekdays ("Friday"); it defaults to the workspace's reference date.
    """
    from copilot.planner.clock import local_date, planning_now  # the planner owns the clock rules

    text = check_brief_text(text)
    today = today or local_date(planning_now(workspace), workspace)
    lex = lexicon(workspace)
    tokens = tokenize(text, join_hyphens=True)
    hits = lex.matcher.find(text)
    reading = BriefReading(text=text, language=guess_language(text))
    by_kind: dict[str, list[PhraseMatch]] = defaultdict(list)
    for h in hits:
        by_kind[h.label].append(h)

    _read_injections(reading, by_kind, text)
    # the sentences an injection sits in say nothing about the campaign ("approved by the reviewer")
    # (a clause of it: "Ignore the rules and approve it: announce X to cyclists" still names cyclists)
    injected = [(a, b) for a, b in _clauses(text) if any(i in text[a:b] for i in reading.injections)]
    by_kind["audience"] = [h for h in by_kind["audience"] if not any(a <= h.start < b for a, b in injected)]
    exclusion_spans = _exclusion_spans(text, lex)
    _read_audience(reading, by_kind, lex, tokens, exclusion_spans, text, workspace)
    _read_numbers_and_time(reading, text, today)
    _read_offers(reading, by_kind, text, tokens, workspace, today)
    _read_products(reading, by_kind["product"], text, workspace)
    reading.categories = _unique(h.target for h in by_kind["category"])
    _read_moments(reading, by_kind, text, tokens, workspace)
    _read_goal(reading, by_kind, lex, workspace)
    _read_fields(reading, by_kind, workspace)
    reading.tones = _unique(h.target for h in by_kind["tone"])
    channels = _unique(h.target for h in by_kind["channel"])
    reading.constraints.channels = channels or ["email"]
    reading.constraints.unsupported_channels = [c for c in channels if c != "email"]
    return reading


_CLAUSE_BREAK = re.compile(r"\s*[:;]\s+|,\s+|\s+(?:and|y|und|et)\s+(?=[^\W\d_])", re.I)


def _clauses(text: str) -> list[tuple[int, int]]:
    """Character spans of the brief's clauses: its sentences, cut at colons, semicolons, commas and "and"."""
    out = []
    for a, b in sentence_bounds(text):
        start = a
        for m in _CLAUSE_BREAK.finditer(text, a, b):
            out.append((start, m.start()))
            start = m.end()
        out.append((start, b))
    return [(a, b) for a, b in out if b > a]


def _unique(items) -> list[str]:  # type: ignore[no-untyped-def]
    return list(dict.fromkeys(items))


def _exclusion_spans(text: str, lex: Lexicon) -> list[tuple[int, int]]:
    """Character spans of clauses that exclude people ("exclude VIPs and people who bought last week")."""
    spans = []
    for m in lex.exclusion.finditer(text):
        end = re.search(r"[.;!?\n]|\b(but|pero|aber)\b", text[m.end():])
        spans.append((m.start(), m.end() + (end.start() if end else len(text) - m.end())))
    return spans


_NEGATED_BEFORE = re.compile(r"\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|never|no han|nunca|nicht|"
                             r"n'ont pas|jamais)\s+(?:yet\s+|just\s+)?$", re.I)
_NEGATION = re.compile(r"(?:n'?t\b|\bnot\b|\bnever\b|\bno\b|\bnunca\b|\bnicht\b|\bjamais\b)", re.I)
_NEGATED_ENGAGEMENT = re.compile(r"\b(re-?\s?engag|reactivat|reaktivier|reactivar)", re.I)


def _read_audience(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], lex: Lexicon, tokens, spans,
                   text: str, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    def excluded(char_start: int) -> bool:
        return any(s <= char_start < e for s, e in spans)

    for h in by_kind["audience"]:
        base = lex.audience[int(h.target)]
        if _NEGATED_ENGAGEMENT.search(h.text) and not _NEGATED_ENGAGEMENT.search(h.norm):
            continue  # "re-engage subscribers" is close to "engaged subscribers" in letters, opposite in meaning
        if _NEGATED_BEFORE.search(text[max(0, h.start - 20):h.start]) or (
                _NEGATION.search(h.text) and not _NEGATION.search(h.norm)):
            continue  # "they haven't cancelled", "haven't ordered": the brief says who they are not
        hint = AudienceHint(base.label, h.text, base.rule, base.fields, base.events, h.start)
        target = reading.constraints.exclusions if excluded(h.start) else reading.audience
        if all(x.label != hint.label for x in target):
            target.append(hint)
    for m in lex.countries.finditer(text):
        code = lex.country_codes[m.group(1).lower()]
        if workspace.field("country"):
            hint = AudienceHint(f"contacts in {code}", m.group(0), FieldRule(field="country", op="eq", value=code),
                                ("country",), (), m.start())
            (reading.constraints.exclusions if excluded(m.start()) else reading.audience).append(hint)
    # "exclude anyone who ordered in the last 14 days": a window inside an exclusion clause
    purchase = workspace.role_event("purchase")
    for s, e in spans:
        clause = text[s:e]
        if purchase is None or not re.search(r"(bought|ordered|purchased|buyers|customers who|compraron|pedido|"
                                             r"gekauft|bestellt)", clause, re.I):
            continue
        for d in extract_durations(clause):
            if d.role in {"window", ""} and d.days >= 1:
                rule = EventRule(event=purchase.name, window={"kind": "within_days", "days": int(d.days)})
                if all(x.rule != rule for x in reading.constraints.exclusions):
                    reading.constraints.exclusions.append(AudienceHint(
                        f"people who bought in the last {int(d.days)} days", d.text, rule, (), (purchase.name,)))


_NUMBER = re.compile(r"\d+")
# A model number typed right after a product's name ("Ridgeline Trail 2"), but not a count ("3 emails").
_MODEL_AFTER = re.compile(r"\s*\(?(\d+)\)?(?![\d.,]|\s*(?:%|x\b|emails?|mails?|days?|weeks?|months?|hours?|h\b|"
                          r"times|pairs?|percent|off\b))", re.I)


def _read_products(reading: BriefReading, hits: list[PhraseMatch], text: str, workspace: Workspace) -> None:
    """Fact-sheet products the brief names. A fuzzy match whose model number differs ("Trail Pack 4"
    for a fact sheet's Trail Pack 3) is another product, one the fact sheet lacks: never swapped."""
    skus = []
    for h in hits:
        product = workspace.products_by_sku.get(h.target)
        typed = text[h.start:h.end] if h.end > h.start else h.text
        after = _MODEL_AFTER.match(text, h.end) if h.end else None
        numbers = set(_NUMBER.findall(typed)) | ({after.group(1)} if after else set())
        if product is not None and numbers:
            known = [set(_NUMBER.findall(n)) for n in (product.name, *product.aliases, product.sku)]
            if not any(numbers <= k for k in known if k):
                shown = text[h.start:after.end()].strip() if after else typed
                reading.unknown_products.append((shown, product.name))
                continue
        skus.append(h.target)
    reading.products = _unique(skus)


def _read_numbers_and_time(reading: BriefReading, text: str, today: date) -> None:
    # Every language's words count; the brief's own language decides how "1.250" reads.
    langs = (reading.language, *(lang for lang in LANGUAGES if lang != reading.language))
    reading.numbers = extract_numbers(text, langs)
    reading.durations = extract_durations(text, langs)
    reading.dates = extract_dates(text, today, langs)
    for d in reading.durations:
        if d.role == "lapse" and reading.lapse_days is None and d.days >= 7:
            reading.lapse_days = int(round(d.days))
        elif d.role == "inactive" and reading.inactive_days is None and d.days >= 7:
            reading.inactive_days = int(round(d.days))
        elif d.role == "delay" and reading.delay_hours is None:
            reading.delay_hours = d.hours
        elif d.role == "window" and reading.window_days is None and d.days >= 1:
            reading.window_days = int(round(d.days))
        elif d.role == "every" and reading.every_days is None:
            reading.every_days = d.days
    c: Constraints = reading.constraints
    for dm in reading.dates:
        if dm.role == "deadline" and c.deadline is None:
            c.deadline, c.deadline_text = dm.on, dm.text
        elif dm.role == "on" and c.send_on is None:
            c.send_on = dm.on
        elif dm.role == "after" and c.not_before is None:
            c.not_before = dm.on
    c.send_time = extract_time_of_day(text)
    c.max_emails = extract_max_emails(text)
    c.recurrence = extract_recurrence(text)
    every_day = extract_recurring_weekday(text)
    if every_day is not None:
        c.weekday, every_other = every_day
        if every_other:
            c.recurrence = "biweekly"
        elif c.recurrence is None:
            c.recurrence = "weekly"
    if reading.every_days and not c.recurrence:
        c.recurrence = "weekly" if reading.every_days <= 7 else "biweekly" if reading.every_days <= 14 else "monthly"
    cap = re.search(r"(no more than|max(imum)?|at most|up to)\s+(\d+)\s+e-?mails?\s+(a|per|each)\s+(week|month|day)",
                    text, re.I)
    if cap:
        c.frequency_cap = (int(cap.group(3)), {"day": 1, "week": 7, "month": 30}[cap.group(5).lower()])


def _read_offers(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], text: str, tokens,  # type: ignore[no-untyped-def]
                 workspace: Workspace, today: date) -> None:
    offers = workspace.facts.offers
    found: list[OfferMention] = []

    def fit(kind: str, value: Decimal | None = None) -> list[str]:
        return [o.id for o in offers if o.kind == kind and (value is None or o.value == value)]

    def add(mention_text: str, kind: str, value: Decimal | None, candidates: list[str], code: str | None = None):
        if any(m.text == mention_text for m in found):
            return
        found.append(OfferMention(mention_text, kind, value, code, candidates[0] if len(candidates) == 1 else None,
                                  tuple(candidates)))

    codes = {o.code.upper(): o.id for o in offers if o.code}
    for found_code in find_introduced_codes(text, LANGUAGES):
        said, code = found_code.code, found_code.code.upper()
        if code in codes or any(ch.isdigit() for ch in code) or said.isupper():
            add(found_code.text, "code", None, [codes[code]] if code in codes else [], code)
    for t in tokenize(text):  # a known code named without "code" before it ("use COMEBACK15")
        if t.text in codes and not any(f.code == t.text for f in found):
            add(t.text, "code", None, [codes[t.text]], t.text)
    for n in reading.numbers:
        if n.kind == "percent" and (n.role == "discount" or _DISCOUNT_WORD.search(text, n.start, n.start + 40)):
            add(n.text + (" off" if text[n.start + len(n.text):].lstrip().lower().startswith("off") else ""),
                "percent_off", n.value, fit("percent_off", n.value))
        elif n.kind == "money" and n.role == "discount":
            add(n.text, "amount_off", n.value, fit("amount_off", n.value))
        elif n.kind == "money" and not n.role and len(fit("amount_off", n.value)) == 1:
            # "with their $25 member price": the amount of one fact-sheet offer, said without "off"
            add(n.text, "amount_off", n.value, fit("amount_off", n.value))
    for start, end in find_free_shipping(text, LANGUAGES):
        add(text[start:end], "free_shipping", None, fit("free_shipping"))
    for regex, kind in ((_GIFT, "gift"), (_EARLY, "early_access")):
        for m in regex.finditer(text):
            add(m.group(0), kind, None, fit(kind))
    for m in _FREE_THING.finditer(text):
        # "a free extra month", "a free Chef's Knife": something given away; the fact sheet's gifts that
        # name it, else an offer it lacks (a question)
        thing = next((workspace.products_by_sku[f.target] for f in by_kind["product"]
                      if m.end(0) - 1 <= f.start <= m.end(0) + 1), None)
        said = m.group(1) or ""
        fits = [o.id for o in offers if o.kind == "gift" and (
            (thing is not None and (thing.sku in o.applies_to or thing.name.lower() in f"{o.name} {o.terms}".lower()))
            or (said and re.search(rf"\b{re.escape(said.lower())}s?\b", f"{o.name} {' '.join(o.words)}".lower())))]
        if thing is not None or said:
            add(m.group(0) + (thing.name if thing is not None else ""), "gift", None, fits)
    for m in _BOGO.finditer(text):
        add(m.group(0), "bogo", None, [])
    for h in by_kind["offer"]:
        start = h.start
        before = text[max(0, start - 30):start]
        if date_role(before, LANGUAGES) in {"deadline", "after"}:
            continue  # "before the spring sale" is a date, not an offer
        if not any(m.offer_id == h.target for m in found):
            add(h.text, "named", None, [h.target])
    if not found and not _REFUSED.search(text):
        # "sale" with no offer named: the fact sheet's one live offer that the brand itself calls so
        # ("Winter sale"); two or more such offers stay unnamed (the moment's question settles it)
        said = {brief_form(h.text) for h in by_kind["goal"] if h.target == "announcement"}
        live = [o for o in offers if not o.ends_by(today) and o.starts <= today + timedelta(days=14)
                and said & set(brief_form(o.name).split())]
        if len(live) == 1:
            add(live[0].name, "named", None, [live[0].id])
    if not found and _GENERIC_OFFER.search(text) and not _REFUSED.search(text):
        m = _GENERIC_OFFER.search(text)
        assert m is not None
        found.append(OfferMention(m.group(0), "unspecified"))
    reading.offers = found
    reading.offer_refused = bool(_REFUSED.search(text))
    if reading.offer_refused:
        reading.offers = [o for o in found if o.kind not in {"unspecified"}]


# Someone began something and did not complete it (English, Spanish, German, French).
_UNFINISHED = re.compile(
    r"\b(?:didn'?t|did not|never|haven'?t|have not|hasn'?t|without|no)\s+(?:\w+\s+)?"
    r"(?:finish(?:ing)?|complet(?:e|ing)|pay(?:ing)?|book(?:ing)?|check(?:ing)?\s?out|sign(?:ing)? up)\b"
    r"|\bunfinished\b|\bsin (?:terminar|completar|pagar|reservar|comprar)\b|\bno (?:terminaron|completaron|pagaron)\b"
    r"|\bsans (?:réserver|reserver|finaliser|payer|acheter|commander)\b|\bn'ont pas (?:finalisé|payé|réservé)\b"
    r"|\bohne (?:zu )?(?:buchen|bezahlen|abzuschließen|kaufen)\b|\bnicht abgeschlossen\b", re.I)


def _event_books(lex: Lexicon, events: list[str | None]) -> list[str]:
    """The first playbook (in playbook order) that starts when one of ``events`` (the catalog's names) happens."""
    return [b.id for b in sorted(lex.books.values(), key=lambda b: b.order)
            if b.trigger.kind == "event" and b.trigger.entry_event in events][:1]


def _read_goal(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], lex: Lexicon,
               workspace: Workspace) -> None:
    scores: dict[str, float] = defaultdict(float)
    words: dict[str, list[str]] = defaultdict(list)
    for h in by_kind["goal"]:
        scores[h.target] += h.phrase.weight * h.score / 100
        words[h.target].append(h.text)
    for h in by_kind["event"]:
        for b in lex.books.values():
            if h.target in b.events:
                scores[b.id] += EVENT * h.score / 100
                words[b.id].append(h.text)
    unfinished = _UNFINISHED.search(reading.text)
    if unfinished:
        # "started checkout and didn't finish", "viewed the walk without booking": the moment is the one
        # whose event the person started; with no such event named, the one that follows a cart.
        started = [h.target for h in by_kind["event"]]
        cart = _event_books(lex, started) or _event_books(lex, [lex.cart_event])
        for book_id in cart:
            scores[book_id] += STRONG
            words[book_id].append(unfinished.group(0))
    if reading.delay_hours and reading.delay_hours >= 30 * 24 and "replenishment" in lex.books:
        # "90 days after purchase": a follow-up that long after buying is about buying again
        scores["replenishment"] += WEAK
        words["replenishment"].append(next(d.text for d in reading.durations if d.role == "delay"))
    if reading.inactive_days and not reading.lapse_days and "reengagement" in lex.books:
        scores["reengagement"] += STRONG  # "haven't been in for three weeks": their activity lapsed
        words["reengagement"].append(next(d.text for d in reading.durations if d.role == "inactive"))
    if reading.lapse_days and "winback" in lex.books:
        scores["winback"] += STRONG  # "haven't bought in six months" names the moment by itself
        words["winback"].append(next(d.text for d in reading.durations if d.role == "lapse"))
    for hint in reading.audience:
        # a group the brand defines by a lapse ("LYBUNTs": gave last year but not this year) names the moment
        lapsed = _lapse_of(hint.rule, workspace)
        book = {"purchase": "winback", "activity": "reengagement"}.get(lapsed or "")
        if book in lex.books and not reading.lapse_days and not reading.inactive_days:
            scores[book] += STRONG
            words[book].append(hint.text)
    # A sale read from what the brief says: news words ("sale", "new") with a discount or a date
    # or period is an announcement, whether or not the brief says "announce".
    # ("before the spring sale" names a deadline, not news)
    deadlines = [(c.start, c.end) for c in by_kind["calendar"] + by_kind["offer"]
                 if date_role(reading.text[max(0, c.start - 30):c.start], LANGUAGES) in {"deadline", "after"}]
    news = [h for h in by_kind["goal"] if h.target == "announcement"
            and not any(s <= h.start < e for s, e in deadlines)]
    told = _TELL_ABOUT.search(reading.text)  # "tell our members about the spring menu" is news too
    priced = any(o.kind in {"percent_off", "amount_off", "code", "named"} for o in reading.offers)
    timed = bool(reading.dates or reading.moments or any(d.role in {"window", ""} for d in reading.durations))
    featured = bool(reading.products or reading.categories)  # "the new menswear", "Linen Boiler Suit is back"
    if (news or told) and (priced or timed or featured) and "announcement" in lex.books and not reading.lapse_days:
        scores["announcement"] += EVENT
        if told and not news:
            words["announcement"].append(f"{told.group(0).split()[0]} … {told.group(0).split()[-1]}")
    discount = [o for o in reading.offers if o.kind in {"percent_off", "amount_off"}]
    if discount and (timed or featured) and "announcement" in lex.books and not reading.lapse_days \
            and not reading.inactive_days and not reading.injections \
            and max(scores.values(), default=0) < _MIN_GOAL_SCORE:
        # "20% off the Bernina journey this week": a discount with a period or a product is a sale,
        # whether or not the brief says "announce" (one the fact sheet lacks is then a question)
        scores["announcement"] += EVENT
        words["announcement"].append(discount[0].text)
    named = [o for o in reading.offers if o.kind == "named"] + [m for m in reading.moments]
    if named and "announcement" in lex.books:
        scores["announcement"] += WEAK  # naming a sale or an event hints at announcing it
        words["announcement"].append(named[0].text if isinstance(named[0], OfferMention) else named[0])
    # an offer the fact sheet holds, or a dated moment of its calendar (an unknown offer is a question)
    concrete = [o.text for o in reading.offers if o.kind != "unspecified" and (o.offer_id or o.candidates)]
    concrete += list(reading.moments)
    if concrete and "announcement" in lex.books and max(scores.values(), default=0) < _MIN_GOAL_SCORE \
            and not reading.lapse_days and not reading.inactive_days and not reading.injections:
        # an offer or a dated moment and nothing else ("free shipping over $35", "Supper tickets"): news
        scores["announcement"] += EVENT
        words["announcement"].append(concrete[0])
    said = {h.target: h.text for h in by_kind["field"]}
    for f in workspace.catalog.fields:
        # "their balance is due" for a field worded "balance due": the date's words with a verb between them
        for w in f.words if f.name not in said and f.type in {"date", "datetime"} else ():
            parts = w.split()
            m = re.search(rf"\b{re.escape(parts[0])}\s+(?:is|are|was|gets?|falls?)\s+{re.escape(parts[-1])}\b",
                          reading.text, re.I) if len(parts) == 2 else None
            if m:
                said[f.name] = m.group(0)
                break
    dated = dated_fields(list(said), workspace)
    if dated and "date_reminder" in lex.books:
        # "two weeks before departure": a date the brand keeps on each person that no other moment is about
        before = any(d.role == "before" for d in reading.durations)
        scores["date_reminder"] += EVENT + (WEAK if before or _REMIND.search(reading.text) else 0)
        words["date_reminder"].append(said[dated[0]])
        reading.requested_fields += [d for d in dated if d not in reading.requested_fields]
    ranked = sorted(scores, key=lambda g: (-scores[g], lex.books[g].order))
    if ranked and scores[ranked[0]] >= _MIN_GOAL_SCORE:
        best = ranked[0]
        reading.goal, reading.goal_score = best, round(scores[best], 2)
        reading.goal_text = ", ".join(_unique(words[best]))
        reading.alternatives = [g for g in ranked[1:] if scores[g] >= max(_MIN_GOAL_SCORE, scores[best] - 1)]


_TELL_ABOUT = re.compile(r"\b(?:tell|let)\b[^.;!?\n]{0,80}?\b(?:know )?about\b|\b(?:cuéntales|cuenta|contarles|informa(?:r)?)\b"
                         r"[^.;!?\n]{0,80}?\bsobre\b|\b(?:erzähl|informier)\w*\b[^.;!?\n]{0,80}?\b(?:von|über)\b|"
                         r"\b(?:parle[rz]?|informe[rz]?)\b[^.;!?\n]{0,80}?\b(?:de|du|des)\b", re.I)


_REMIND = re.compile(r"\b(remind\w*|heads-up|recu[eé]rd\w*|erinner\w*|rappel\w*)\b", re.I)


def dated_fields(names: list[str], workspace: Workspace) -> list[str]:
    """Of the catalog fields ``names`` (as a brief names them), the dates a reminder can be timed from: date
    fields that play no role (a role's date has its own moment: renewal, trial end, birthday, last
    purchase) and are safe to target by."""
    out = []
    for name in names:
        f = workspace.field(name)
        if f is not None and f.type in {"date", "datetime"} and workspace.role_of(name) is None \
                and risk_reason(workspace, name) is None and "segmentation" in f.allowed_uses and name not in out:
            out.append(name)
    return out


def _lapse_of(rule: Rule, workspace: Workspace) -> str | None:
    """"purchase" when ``rule`` finds people by how long ago they last bought (the last_purchase_at role's
    field older than some days, or the purchase event not done for some days), "activity" when by how
    long ago they last came or used the product (last_active_at), else None."""
    bought = workspace.role_field("last_purchase_at")
    active = workspace.role_field("last_active_at")
    purchase = workspace.role_event("purchase")
    for _, node in walk_rule(rule, ""):
        if isinstance(node, FieldRule) and node.op == "older_than_days":
            if bought is not None and node.field == bought.name:
                return "purchase"
            if active is not None and node.field == active.name:
                return "activity"
        if isinstance(node, LastPerformedRule) and node.op == "older_than_days" and purchase is not None \
                and node.event == purchase.name:
            return "purchase"
    return None


def _read_moments(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], text: str, tokens, workspace) -> None:  # type: ignore[no-untyped-def]
    c = reading.constraints
    calendar = {m.id: m for m in workspace.facts.calendar}
    for h in by_kind["calendar"]:
        moment = calendar[h.target]
        start = h.start
        role = date_role(text[max(0, start - 30):start], LANGUAGES)
        if role == "deadline":
            if c.deadline is None:
                c.deadline, c.deadline_text = moment.starts, h.text
        elif role == "after":
            if c.not_before is None:
                c.not_before = moment.ends or moment.starts
        else:
            reading.moments.append(h.target)  # the moment itself is the news
    reading.moments = _unique(reading.moments)


def _read_fields(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], workspace: Workspace) -> None:
    for h in by_kind["field"]:
        reason = risk_reason(workspace, h.target)
        if reason:
            if all(r.field != h.target for r in reading.risky_fields):
                reading.risky_fields.append(RiskyField(h.target, h.text, reason))
        elif h.target not in reading.requested_fields and h.target not in {"email", "consent"}:
            reading.requested_fields.append(h.target)


def _read_injections(reading: BriefReading, by_kind: dict[str, list[PhraseMatch]], text: str) -> None:
    found = [h.text for h in by_kind["injection"]]
    for regex in _INJECTION_RE:
        for m in regex.finditer(text):
            if not any(m.group(0) in f or f in m.group(0) for f in found):
                found.append(m.group(0))
    reading.injections = _unique(found)
