"""facts: every price, discount, code, date, shipping or returns promise, product, proof claim
and testimonial in the copy is grounded in the fact sheet and the plan's offers over its send
window; nothing is passed for lack of evidence, and subject, preheader, CTA and body agree.

Two rooms: guards/facts_claims.py reads what each field states (in the variant's language);
guards/facts_grounding.py checks it against the fact sheet and the plan.
"""

from __future__ import annotations

from collections.abc import Iterator

from guards.context import PROSE_FIELDS, VariantContext
from guards.facts_claims import read_field
from guards.facts_grounding import CODES, Stated, check_plan, contradictions, ground_field
from guards.facts_index import fact_index
from guards.finding import Finding, Guard

__all__ = ["GUARD"]


def check_variant(ctx: VariantContext) -> Iterator[Finding]:
    index = fact_index(ctx.workspace)
    stated: dict[str, Stated] = {}
    for name in PROSE_FIELDS:
        text = ctx.prose[name]
        if text.strip():
            claims = read_field(index, name, text, ctx.variant.locale)
            yield from ground_field(ctx, index, claims, stated)
    yield from contradictions(ctx, stated)


GUARD = Guard(
    name="facts",
    description="Prices, discounts, codes, dates, shipping and returns promises, products, claims and quotes "
                "are grounded in the fact sheet and the plan's offers; fields agree.",
    codes=CODES,
    check_variant=check_variant,
    check_plan=check_plan,
)
