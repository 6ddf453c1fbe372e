"""The same problem repeated through a field is one finding with a count, for any guard and brand:
copy that says one ungrounded amount ten thousand times gives one finding, not ten thousand."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from copilot.text import format_money
from guards import run_plan, run_variant


def _ungrounded_amount(ws) -> str:  # type: ignore[no-untyped-def]
    """An amount in the brand's currency that no price, offer or threshold of its fact sheet has."""
    facts = ws.facts
    known = {p.price for p in facts.products} | {p.threshold for p in facts.policies if p.threshold is not None}
    value = Decimal("9.13")
    while value in known:
        value += 1
    return format_money(value, ws.brand.currency)


@pytest.mark.parametrize("brand", ["demo", "sprig", "hollisvane"])
@pytest.mark.parametrize("times", [3, 1_000, 10_000])
def test_a_repeated_problem_is_one_finding_with_a_count(brand_workspace, brand_plan, brand, times) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    amount = _ungrounded_amount(ws)
    body = "Hi {{ first_name }},\n\n" + f"{amount} " * times
    plan = brand_plan(ws, body=body)
    findings = run_plan(plan, ws)
    per_code = Counter((f.code, f.field) for f in findings)
    assert all(n == 1 for n in per_code.values()), per_code
    amount_findings = [f for f in findings if f.field == "body" and f.evidence.get("text") == amount]
    assert len(amount_findings) == 1, [f.message for f in findings]
    found = amount_findings[0]
    assert found.evidence["count"] == times
    assert len(found.evidence["spans"]) == min(times, 20)
    assert body[found.span[0]:found.span[1]] == amount
    assert f"{times:,} times in the body" in found.message


def test_the_count_does_not_change_the_fingerprint(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    """An acknowledgement of the repeated problem holds when the copy repeats it once more or once less."""
    ws = brand_workspace("sprig")
    amount = _ungrounded_amount(ws)
    prints = set()
    for times in (1, 2, 7):
        plan = brand_plan(ws, body="Hi {{ first_name }},\n\n" + f"Now {amount}. " * times)
        found = [f for f in run_variant(plan.variants[0], plan, ws) if f.evidence.get("text") == amount]
        assert len(found) == 1
        prints.add(found[0].fingerprint)
    assert len(prints) == 1


def test_different_problems_stay_apart(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("demo")
    body = "Hi {{ first_name }},\n\nOnly $9.13 today. Only $8.17 today. Only $9.13 today."
    findings = [f for f in run_plan(brand_plan(ws, body=body), ws) if f.code == "FACT_AMOUNT_UNGROUNDED"]
    assert sorted((f.evidence["text"], f.evidence.get("count", 1)) for f in findings) == [("$8.17", 1), ("$9.13", 2)]
