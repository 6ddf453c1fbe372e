"""Turn a playbook's copy patterns into plan variants, with facts taken only from the fact sheet.

``[[...]]`` placeholders are filled from the workspace (brand, offer terms and dates,
policies, claims, products); a paragraph whose placeholder has nothing to say is dropped
rather than padded with invented text. ``{{ ... }}`` merge fields stay for send time, each
declared with its fallback; a merge field the catalog does not allow in copy is replaced
by its fallback text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from copilot.plan import PROSE_FIELD_NAMES, MergeField, Variant
from copilot.playbooks import CopyOverride, CopySpec, MessageSpec, Playbook, SegmentSpec
from copilot.workspace import CalendarDate, Offer, Product, Workspace

__all__ = ["CopyContext", "money", "long_date", "offer_short", "offer_sentence", "write_variants"]

_PLACEHOLDER = re.compile(r"\[\[([a-z_]+(?::[a-z0-9_]+|~[a-z0-9 -]+)?)\]\]")
_MERGE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal, currency: str) -> str:
    """$140, $14.50, €38 (the fact sheet's number, unrounded)."""
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def offer_short(offer: Offer, currency: str) -> str:
    if offer.kind == "percent_off" and offer.value is not None:
        return f"{offer.value.normalize():f}% off"
    if offer.kind == "amount_off" and offer.value is not None:
        return f"{money(offer.value, currency)} off"
    if offer.kind == "free_shipping":
        return "Free shipping"
    if offer.kind == "early_access":
        return "Early access"
    return offer.name


def offer_sentence(offer: Offer) -> str:
    """The offer exactly as the fact sheet states it: name, terms, code, end date."""
    text = f"**{offer.name}:** {offer.terms.strip()}"
    if offer.code and offer.code not in offer.terms:
        text += f" Use code **{offer.code}** at checkout."
    if offer.ends is not None and long_date(offer.ends) not in offer.terms:
        text += f" Valid until {long_date(offer.ends)}."
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

    def _next_moment(self) -> str:
        after = self.send_date or date.min
        upcoming: list[CalendarDate] = sorted((c for c in self.workspace.facts.calendar if c.starts > after),
                                              key=lambda c: c.starts)
        if not upcoming:
            return ""
        c = upcoming[0]
        when = long_date(c.starts) if c.ends is None else (
            f"{c.starts:%B} {c.starts.day} to {long_date(c.ends)}")
        return f"{c.name}, {when}"

    def value(self, name: str, segment_line: str) -> str:
        ws, offer, product = self.workspace, self.offer, self.product
        currency = ws.brand.currency
        if name.startswith("policy:"):
            policy = next((p for p in ws.facts.policies if p.id == name.split(":", 1)[1]), None)
            return policy.text if policy else ""
        if name.startswith("claim~"):
            word = name.split("~", 1)[1].lower()
            claim = next((c for c in ws.facts.claims if word in c.text.lower()), None)
            return claim.text + "." if claim and not claim.text.endswith(".") else (claim.text if claim else "")
        simple = {
            "brand": ws.brand.name,
            "website": ws.brand.website.rstrip("/"),
            # what the brand calls its customers ("runners", "members"), plural; "customers" when it says nothing
            "customers": next((w for w in ws.brand.customer_words if w.endswith("s")), "customers"),
            "preference_center": ws.brand.preference_center_url,
            "segment_line": segment_line,
            "offer_sentence": offer_sentence(offer) if offer else "",
            "offer_short": offer_short(offer, currency) if offer else "",
            "offer_name": offer.name if offer else "",
            "offer_code": offer.code or "" if offer else "",
            "offer_ends": long_date(offer.ends) if offer and offer.ends else "",
            "product_name": product.name if product else "",
            "product_price": money(product.price, ws.currency_of(product)) if product else "",
            "product_previous_price": (money(product.previous_price, ws.currency_of(product))
                                       if product and product.previous_price else ""),
            "product_url": product.url if product else "",
            # where the email's call to action should land: the offer's page, else the product's, else home
            "landing_url": (offer.url if offer and offer.url else product.url if product else ws.brand.website),
            "product_claim": _product_claim(ws, product),
            "product_line": (f"**{product.name}**, {money(product.price, ws.currency_of(product))}"
                             if product else ""),
            "category": (self.category or "").replace("_", " "),
            "next_moment": self._next_moment(),
            "period": self.period,
            "period_adj": f"{self.period}ly",
            "sunset_date": long_date(self.sunset) if self.sunset else "",
            "deadline_sentence": "",
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


def _product_claim(ws: Workspace, product: Product | None) -> str:
    """The fact sheet's claim about this product, word for word, when there is one."""
    if product is None:
        return ""
    for claim in ws.facts.claims:
        words = _words(claim.text)
        for name in (product.name, *product.aliases):
            wanted = {w for w in _words(name) if w not in {"pack", "pk"}}
            if wanted and wanted <= words:
                return claim.text if claim.text.endswith(".") else claim.text + "."
    return ""


def _cta(text: str, playbook: Playbook, workspace: Workspace) -> str:
    """The playbook's CTA when the brand's voice lists it for the playbook's stage, else the
    stage's first CTA (the tone guard checks the CTA against that stage's list)."""
    allowed = workspace.voice.cta_rules.get(playbook.stage)
    if not allowed or text.lower() in {a.lower() for a in allowed}:
        return text
    return allowed[0]


def _pick(base: str | None, with_offer: str | None, offer_here: bool) -> str | None:
    return with_offer if offer_here and with_offer else base


def _render(copy: CopySpec, override: CopySpec | CopyOverride | None, ctx: CopyContext, playbook: Playbook,
            segment: SegmentSpec, message: MessageSpec, offer_here: bool) -> dict[str, object]:
    ws = ctx.workspace
    if not offer_here:
        ctx = replace(ctx, offer=None)  # no offer wording at all where this segment does not get it
    line = segment.lines.get(message.key, "")
    line = (ctx.fill(line) or "") if line else ""
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
    limit = ws.voice.subject_max_length
    candidates = [ctx.fill(s) for s in subjects if s]
    fitting = [c for c in candidates if c is not None and len(_MERGE.sub("x" * 8, c)) <= limit]
    # the playbook schema guarantees the last candidate always fills
    filled_subject = fitting[0] if fitting else next(c for c in reversed(candidates) if c is not None)
    paragraphs = []
    for para in spec.body:
        if "[[offer_sentence]]" in para and not offer_here:
            continue
        filled = ctx.fill(para, line)
        if filled is not None and filled.strip():
            paragraphs.append(filled.strip())
    return {
        "subject": filled_subject,
        "preheader": ctx.fill(preheader) or "",
        "body": "\n\n".join(paragraphs),
        "cta_text": _cta(ctx.fill(cta) or cta, playbook, ws),
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
                   ctx: CopyContext, personalizable: set[str]) -> list[Variant]:
    """Variants A (and B where the playbook tests something) per segment and message.

    ``segments`` pairs the plan's segment name with its playbook spec; ``personalizable``
    names the catalog fields copy may merge.
    """
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
                                   locale=ctx.workspace.brand.default_locale, **parts))  # type: ignore[arg-type]
    return out
