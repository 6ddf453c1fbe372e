"""Turn a playbook's copy patterns into plan variants, with facts taken only from the fact sheet.

``[[...]]`` placeholders are filled from the workspace (brand, offer terms and dates,
policies, claims, products); a paragraph whose placeholder has nothing to say is dropped
rather than padded with invented text. ``{{ ... }}`` merge fields stay for send time, each
declared with its fallback; a merge field the catalog does not allow in copy is replaced
by its fallback text.

Longer than most modules on purpose: every placeholder's filling (money, dates, offers, claims,
products in each language) reads the same CopyContext, and splitting them would pass it around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from babel.dates import format_date

from copilot.plan import PROSE_FIELD_NAMES, MergeField, Rule, Variant
from copilot.playbooks import CopyOverride, CopySpec, MessageSpec, Playbook, SegmentSpec
from copilot.playbooks.catalogs import reads_as, translate
from copilot.rules import pinned_values
from copilot.text import format_amount, language_of, normalize, similarity
from copilot.workspace import CalendarDate, Claim, Offer, Product, Workspace

__all__ = ["CopyContext", "PLANNER_STRINGS", "money", "long_date", "localized", "offer_short", "offer_sentence",
           "write_variants"]

_PLACEHOLDER = re.compile(r"\[\[([a-z_]+(?::[a-z0-9_]+|~[a-z0-9 -]+)?)\]\]")
_MERGE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")

# The copy this module writes itself, translated through locales/<lang>/common.po.
_OFFER_WORDS = {"percent_off": "{value}% off", "amount_off": "{value} off", "free_shipping": "Free shipping",
                "early_access": "Early access"}
_CODE_SENTENCE = "Use code **{code}** at checkout."
_UNTIL_SENTENCE = "Valid until {date}."
# [[period]] / [[period_adj]] are English words in English copy ("This [[period]] at ..."); other languages
# read them with what must agree with the noun ("esta semana", "cada mes"), under these gettext contexts.
_PERIOD, _PERIOD_ADJ, _CUSTOMERS = "[[period]]", "[[period_adj]]", "[[customers]]"
_PERIODS = {"week": "weekly", "fortnight": "fortnightly", "month": "monthly"}
# (English, gettext context, note for translators): scripts/extract_playbook_strings.py writes them to common.po
PLANNER_STRINGS: tuple[tuple[str, str | None, str], ...] = (
    *((text, None, f"[[offer_short]] for an offer of kind {kind}" + ("; {value} is the amount" if "{" in text else ""))
      for kind, text in _OFFER_WORDS.items()),
    (_CODE_SENTENCE, None, "after the offer's terms in [[offer_sentence]]; keep the Markdown bold"),
    (_UNTIL_SENTENCE, None, "after the offer's terms in [[offer_sentence]]; {date} is the long date"),
    *((word, _PERIOD, "[[period]]: write it with its demonstrative, as 'this ...' reads in your language "
                      "(es 'esta semana', de 'diese Woche', fr 'cette semaine')") for word in _PERIODS),
    ("customers", _CUSTOMERS, "[[customers]] in other languages than English (brand.yaml's customer_words are "
                              "English): the plural noun, as 'other customers', 'our most loyal customers' read"),
    *((adj, _PERIOD_ADJ, "[[period_adj]]: write it as how often, as 'every ...' reads in your language "
                         "(es 'cada semana', de 'jede Woche', fr 'chaque semaine')") for adj in _PERIODS.values()),
)


def _english(locale: str) -> bool:
    return language_of(locale) == "en"


def money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """$140, $14.50, €38, CA-dollar amounts as Canadians write them (the fact sheet's number, unrounded);
    '140 €' / '45 $' as other locales write it. copilot.text.format_amount owns the formatting."""
    return format_amount(amount, currency, locale)


def long_date(day: date, locale: str = "en") -> str:
    if not _english(locale):
        return format_date(day, format="long", locale=locale.replace("-", "_"))
    return f"{day:%B} {day.day}, {day.year}"


def localized(item: object, key: str, locale: str, missing: set[str] | None = None) -> str:
    """A fact's text (``key``) in ``locale`` from its ``translations``; English (noted in ``missing``) without one."""
    text = str(getattr(item, key))
    if _english(locale):
        return text
    lang = language_of(locale)
    translations = getattr(item, "translations", {}) or {}
    found = (translations.get(locale) or translations.get(lang) or {}).get(key)
    if found:
        return str(found)
    if missing is not None:
        missing.add(f"the {key} of {getattr(item, 'name', None) or getattr(item, 'id', '')}")
    return text


def offer_short(offer: Offer, currency: str, locale: str = "en") -> str:
    words = _OFFER_WORDS
    if offer.kind not in words or (offer.kind in {"percent_off", "amount_off"} and offer.value is None):
        return localized(offer, "name", locale)
    value = (f"{offer.value.normalize():f}" if offer.kind == "percent_off" and offer.value is not None
             else money(offer.value, currency, locale) if offer.value is not None else "")
    pattern = words[offer.kind]
    return (translate(pattern, locale) or pattern).format(value=value)


def offer_sentence(offer: Offer, locale: str = "en", missing: set[str] | None = None) -> str:
    """The offer exactly as the fact sheet states it (in ``locale`` from its translations): name, terms,
    code, end date."""
    terms = localized(offer, "terms", locale, missing).strip()
    text = f"**{localized(offer, 'name', locale, missing)}:** {terms}"
    if offer.code and offer.code not in terms:
        pattern = _CODE_SENTENCE
        text += " " + (translate(pattern, locale) or pattern).format(code=offer.code)
    if offer.ends is not None and long_date(offer.ends, locale) not in terms:
        pattern = _UNTIL_SENTENCE
        text += " " + (translate(pattern, locale) or pattern).format(date=long_date(offer.ends, locale))
    return text


def offer_period(offer: Offer) -> str:
    """'November 1, 2026 to March 19, 2027', or 'from November 1, 2026' for an offer with no end."""
    return (f"{long_date(offer.starts)} to {long_date(offer.ends)}" if offer.ends is not None
            else f"from {long_date(offer.starts)}, no end date")


@dataclass
class CopyContext:
    """What the copy may state for this plan (all from the workspace or the brief's exact words)."""

    workspace: Workspace
    offer: Offer | None = None
    offer_for_all: bool = False  # the marketer asked for it (vs. the planner suggesting it)
    product: Product | None = None
    category: str | None = None
    send_date: date | None = None
    sunset: date | None = None
    offer_messages: set[str] = field(default_factory=set)
    tones: tuple[str, ...] = ()
    period: str = "month"  # a recurring send's cadence: week, fortnight or month ("This week at ...")
    locale: str = "en"  # the language this copy is written in
    event: CalendarDate | Product | None = None  # what an invitation invites to (its name), when named
    event_day: date | None = None  # the day of that event
    missing: set[str] = field(default_factory=set)  # what had no translation into ``locale``

    def t(self, text: str) -> str:
        """A playbook's copy string in this copy's language (English, noted as missing, without one)."""
        found = translate(text, self.locale)
        if found is None:
            self.missing.add("some of the playbook's copy")
            return text
        return found

    def _word(self, word: str, context: str) -> str:
        """One of the copywriter's own words (``context``: the placeholder it fills) in this copy's language."""
        found = translate(word, self.locale, context)
        if found is None:
            self.missing.add("some of the playbook's copy")
            return word
        return found

    def _product_claim(self) -> str:
        """The fact sheet's claim about the product, word for word: in English copy only (claims are stated
        as sourced, so another language leaves it out and notes it, as [[claim~...]] does)."""
        claim = _product_claim(self.workspace, self.product)
        if claim is None:
            return ""
        if not _english(self.locale):
            self.missing.add(f"the claim {claim.id}")
            return ""
        return claim.text if claim.text.endswith(".") else claim.text + "."

    def _next_moment(self) -> str:
        after = self.send_date or date.min
        upcoming: list[CalendarDate] = sorted((c for c in self.workspace.facts.calendar if c.starts > after),
                                              key=lambda c: c.starts)
        if not upcoming:
            return ""
        c = upcoming[0]
        when = long_date(c.starts, self.locale) if c.ends is None else (
            f"{long_date(c.starts, self.locale)} – {long_date(c.ends, self.locale)}")
        return f"{localized(c, 'name', self.locale, self.missing)}, {when}"

    def _event_line(self) -> str:
        """'**Mobility Workshop**, February 20, 2027' (the date alone when the event has no name)."""
        if self.event_day is None:
            return ""
        day = long_date(self.event_day, self.locale)
        if self.event is None:
            return day
        return f"**{localized(self.event, 'name', self.locale, self.missing)}**, {day}"

    def value(self, name: str, segment_line: str) -> str:
        ws, offer, product, loc, missing = self.workspace, self.offer, self.product, self.locale, self.missing
        currency = ws.brand.currency
        if name.startswith("policy:"):
            policy = next((p for p in ws.facts.policies if p.id == name.split(":", 1)[1]), None)
            return localized(policy, "text", loc, missing) if policy else ""
        if name.startswith("policy~"):
            word = name.split("~", 1)[1].lower()
            policy = next((p for p in ws.facts.policies if word in f"{p.id} {p.name}".lower()), None)
            return localized(policy, "text", loc, missing) if policy else ""
        if name.startswith("claim~"):
            word = name.split("~", 1)[1].lower()
            claim = next((c for c in ws.facts.claims if word in c.text.lower()), None)
            if claim is not None and not _english(loc):
                missing.add(f"the claim {claim.id}")  # claims are stated as sourced, in English only
                return ""
            return claim.text + "." if claim and not claim.text.endswith(".") else (claim.text if claim else "")
        simple = {
            "brand": ws.brand.name,
            "website": ws.brand.website.rstrip("/"),
            # what the brand calls its customers ("runners", "members"), plural; "customers" when it says nothing
            # (brand.yaml's words are English: other languages read the catalog's word for customers)
            "customers": (next((w for w in ws.brand.customer_words if w.endswith("s")), "customers")
                          if _english(loc) else self._word("customers", _CUSTOMERS)),
            "preference_center": ws.brand.preference_center_url,
            "segment_line": segment_line,
            "offer_sentence": offer_sentence(offer, loc, missing) if offer else "",
            "offer_short": offer_short(offer, currency, loc) if offer else "",
            "offer_name": localized(offer, "name", loc, missing) if offer else "",
            "offer_code": offer.code or "" if offer else "",
            "offer_ends": long_date(offer.ends, loc) if offer and offer.ends else "",
            "product_name": localized(product, "name", loc, missing) if product else "",
            "product_price": money(product.price, ws.currency_of(product), loc) if product else "",
            "product_previous_price": (money(product.previous_price, ws.currency_of(product), loc)
                                       if product and product.previous_price else ""),
            "product_url": product.url if product else "",
            # where the email's call to action should land: the offer's page, else the product's, else home
            "landing_url": (offer.url if offer and offer.url else product.url if product else ws.brand.website),
            "product_claim": self._product_claim(),
            "product_benefits": _product_benefits(product, loc, missing),
            "product_line": (f"**{localized(product, 'name', loc, missing)}**, "
                             f"{money(product.price, ws.currency_of(product), loc)}" if product else ""),
            "category": (self.category or "").replace("_", " "),
            "next_moment": self._next_moment(),
            "period": self._word(self.period, _PERIOD),
            "period_adj": self._word(_PERIODS.get(self.period, f"{self.period}ly"), _PERIOD_ADJ),
            "sunset_date": long_date(self.sunset, loc) if self.sunset else "",
            "deadline_sentence": "",
            "event_date": long_date(self.event_day, loc) if self.event_day else "",
            "event_line": self._event_line(),
        }
        return simple.get(name, "")

    def fill(self, text: str, segment_line: str = "") -> str | None:
        """``text`` with its placeholders filled, or None when one of them has nothing to say."""
        empty = False

        def sub(m: re.Match[str]) -> str:
            nonlocal empty
            value = self.value(m.group(1), segment_line)
            if not value.strip():
                empty = True
            return value

        out = _PLACEHOLDER.sub(sub, text)
        return None if empty else out


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]+", text.lower())}


def _product_claim(ws: Workspace, product: Product | None) -> Claim | None:
    """The fact sheet's claim about this product, when there is one."""
    if product is None:
        return None
    for claim in ws.facts.claims:
        words = _words(claim.text)
        for name in (product.name, *product.aliases):
            wanted = {w for w in _words(name) if w not in {"pack", "pk"}}
            if wanted and wanted <= words:
                return claim
    return None


def _product_benefits(product: Product | None, locale: str, missing: set[str]) -> str:
    """What the product does for the person, as the fact sheet lists it (one bullet each); its
    benefits have no translations, so other languages leave them out and say so."""
    if product is None or not product.benefits:
        return ""
    if not _english(locale):
        missing.add(f"the benefits of {product.sku}")
        return ""
    return "\n".join(f"- {b}" for b in product.benefits)


def _cta(text: str, playbook: Playbook, workspace: Workspace, locale: str = "en", about: str = "") -> str:
    """The playbook's CTA when the brand's voice lists it for the playbook's stage, else the
    stage's first CTA (the tone guard checks the CTA against that stage's list). In another
    language: the brand's CTA that the catalog's translation of a listed English one gives, else of the
    listed CTAs in that language (voice.yaml mixes languages in one list) the one naming what the email
    is ``about``, the one closest to the translated CTA, or the first; else the translated playbook CTA.
    In English too, a listed CTA naming what the email is about wins over the first."""
    allowed = workspace.voice.cta_rules.get(playbook.stage)
    if not allowed or text.lower() in {a.lower() for a in allowed}:
        return text
    wanted = {w for w in _letters(about) if len(w) > 3}
    if not _english(locale):
        translated = [translate(a, locale) for a in allowed]
        listed = {a.lower() for a in allowed}
        found = next((tr for tr in translated if tr and tr.lower() in listed), None)
        if found:
            return found
        # the brand's own CTAs in this language: the one naming what the email is about, else the closest
        # wording to the translated one, else the first
        own = [a for a in allowed if reads_as(a, locale)]
        named = [a for a in own if wanted & _letters(a)]
        if named:
            return max(named, key=lambda a: len(wanted & _letters(a)))
        close = max(own, key=lambda a: similarity(a, text), default=None)
        if close is not None and similarity(close, text) >= _CLOSE_CTA:
            return close
        return own[0] if own else text
    # the listed CTA that names what the email is about ("Sign up for orientation" for an orientation), else the
    # one closest to the playbook's ("Shop the collection" for "See the collection", never "Shop the sale" for news
    # without a sale), else the first
    if wanted and any(wanted & _letters(a) for a in allowed):
        return max(allowed, key=lambda a: len(wanted & _letters(a)))
    close = max(allowed, key=lambda a: similarity(a, text))
    return close if similarity(close, text) >= _CLOSE_CTA else allowed[0]


_CLOSE_CTA = 65  # "Actualizar mis datos de pago" is the brand's "Actualiza tus datos de pago" (84); not "Compra tu boleto"


def _letters(text: str) -> set[str]:
    """A text's words in their matching form, in any language ("orientación" -> "orientacion")."""
    return {w.rstrip("s") for w in normalize(text).split()}


def _pick(base: str | None, with_offer: str | None, offer_here: bool) -> str | None:
    return with_offer if offer_here and with_offer else base


def _render(copy: CopySpec, override: CopySpec | CopyOverride | None, ctx: CopyContext, playbook: Playbook,
            segment: SegmentSpec, message: MessageSpec, offer_here: bool) -> dict[str, object]:
    ws = ctx.workspace
    if not offer_here:
        ctx = replace(ctx, offer=None)  # no offer wording at all where this segment does not get it
    line = segment.lines.get(message.key, "")
    line = (ctx.fill(ctx.t(line)) or "") if line else ""
    spec = copy
    merge = dict(copy.merge)
    if isinstance(override, CopySpec):
        spec, merge = override, dict(override.merge)
    merge.update(segment.merge)
    subjects = [spec.subject_with_offer if offer_here else None, spec.subject, spec.subject_plain]
    preheader = _pick(spec.preheader, spec.preheader_with_offer, offer_here) or ""
    cta = _pick(spec.cta, spec.cta_with_offer, offer_here)
    if isinstance(override, CopyOverride):
        merge.update(override.merge)
        if override.tests == "subject":
            subjects = [override.subject_with_offer if offer_here else None, override.subject,
                        override.subject_plain]
        elif override.tests == "preheader":
            preheader = override.preheader or ""
        else:
            cta = _pick(override.cta, override.cta_with_offer, offer_here)
    assert cta is not None
    merge = {name: ctx.t(fallback) for name, fallback in merge.items()}  # "there" in "Hi {{ first_name }},"
    limit = ws.voice.subject_max_length
    candidates = [ctx.fill(ctx.t(s)) for s in subjects if s]
    fitting = [c for c in candidates if c is not None and len(_MERGE.sub("x" * 8, c)) <= limit]
    # the playbook schema guarantees the last candidate always fills
    filled_subject = fitting[0] if fitting else next(c for c in reversed(candidates) if c is not None)
    paragraphs = []
    body = list(spec.body)
    if offer_here and not any("[[offer_sentence]]" in para for para in body):
        # an offer this email carries is stated in full even where the moment's copy has no place for it
        # (a renewal reminder with the brief's switch-to-annual offer), before the closing paragraph
        body.insert(max(1, len(body) - 1) if len(body) > 2 else len(body), "[[offer_sentence]]")
    for para in body:
        if "[[offer_sentence]]" in para and not offer_here:
            continue
        filled = ctx.fill(ctx.t(para), line)
        if filled is not None and filled.strip():
            paragraphs.append(filled.strip())
    return {
        "subject": filled_subject,
        "preheader": ctx.fill(ctx.t(preheader)) or "",
        "body": "\n\n".join(paragraphs),
        "cta_text": _cta(ctx.fill(ctx.t(cta)) or ctx.t(cta), playbook, ws, ctx.locale,
                         about=localized(ctx.event, "name", ctx.locale) if ctx.event is not None else ""),
        "cta_url": ctx.fill(spec.cta_link) or ws.brand.website,
        "merge": merge,
    }


def _merge_fields(parts: dict[str, object], merge: dict[str, str], ws: Workspace,
                  allowed: set[str]) -> list[MergeField]:
    """Declare every merge field used; swap in the fallback text for fields copy may not use."""
    used: list[str] = []
    for key in PROSE_FIELD_NAMES:
        text = str(parts[key])
        for name in _MERGE.findall(text):
            if name not in allowed:
                text = re.sub(r"\{\{\s*" + name + r"\s*\}\}", merge[name], text)
            elif name not in used:
                used.append(name)
        parts[key] = text
    return [MergeField(name=n, fallback=merge[n]) for n in used]


def write_variants(playbook: Playbook, segments: list[tuple[str, SegmentSpec]], messages: list[MessageSpec],
                   ctx: CopyContext, personalizable: set[str], locales: list[str] | None = None,
                   rules: dict[str, Rule] | None = None) -> list[Variant]:
    """Variants A (and B where the playbook tests something) per segment and message, in each of
    ``locales`` (default: the brand's default language).

    ``segments`` pairs the plan's segment name with its playbook spec; ``personalizable``
    names the catalog fields copy may merge. What had no translation is left in ``ctx.missing``
    as "locale: what". ``rules`` (segment name -> the plan's rule) lets a segment pinned to some
    languages ("Spanish speakers") get copy in those only.
    """
    out: list[Variant] = []
    written = locales or [ctx.workspace.brand.default_locale]
    for locale in written:
        local = replace(ctx, locale=locale, missing=set())
        mine = [(name, seg) for name, seg in segments
                if locale in _segment_locales((rules or {}).get(name, seg.rule), written, ctx.workspace)]
        out += _variants_in(playbook, mine, messages, local, personalizable)
        ctx.missing |= {f"{locale}: {what}" for what in local.missing}
    return out


def _segment_locales(rule: Rule, written: list[str], workspace: Workspace) -> list[str]:
    """The languages a segment gets copy in: those its rule pins it to ("Spanish speakers": es), else all
    written; a pinned language the plan does not write falls back to the first (the default)."""
    field = workspace.role_field("locale")
    pinned = pinned_values(rule, field.name) if field is not None else None
    if pinned is None:
        return written
    base = {language_of(p) for p in pinned}
    mine = [loc for loc in written if loc in pinned or language_of(loc) in base]
    return mine or written[:1]


def _variants_in(playbook: Playbook, segments: list[tuple[str, SegmentSpec]], messages: list[MessageSpec],
                 ctx: CopyContext, personalizable: set[str]) -> list[Variant]:
    out: list[Variant] = []
    for name, seg in segments:
        for message in messages:
            offer_here = bool(ctx.offer) and message.key in ctx.offer_messages and (
                seg.offer == "yes" or (seg.offer == "if_asked" and ctx.offer_for_all))
            for key, override in (("A", None), ("B", message.variant_b)):
                if key == "B" and override is None:
                    continue
                parts = _render(message.copy_a, override, ctx, playbook, seg, message, offer_here)
                merge = parts.pop("merge")
                assert isinstance(merge, dict)
                merge_fields = _merge_fields(parts, merge, ctx.workspace, personalizable)
                out.append(Variant(segment=name, message=message.key, key=key, merge_fields=merge_fields,
                                   locale=ctx.locale, **parts))  # type: ignore[arg-type]
    return out
