"""A capitalised word with digits that is one of the brand's own names (a collection, a calendar date,
an offer) is a name, not an unknown discount code; an invented code still blocks."""

from __future__ import annotations

from copilot.workspace import load_workspace
from copilot.workspace.loader import demo_workspace_dir
from guards import run_plan


def test_a_collection_name_in_capitals_is_not_an_unknown_code(make_plan) -> None:  # type: ignore[no-untyped-def]
    ws = load_workspace(demo_workspace_dir().parent / "hollisvane")
    name = next(c.name for c in ws.facts.calendar if "SS27" in c.name)
    plan = make_plan(body=f"Hi {{{{ first_name }}}},\n\nThe {name} is coming: SS27 is our lightest season yet.",
                     plan={"offers": []})
    codes = [f.code for f in run_plan(plan, ws)]
    assert "FACT_CODE_UNKNOWN" not in codes
    invented = make_plan(body="Hi {{ first_name }},\n\nUse code SPRING27X at checkout.", plan={"offers": []})
    assert "FACT_CODE_UNKNOWN" in [f.code for f in run_plan(invented, ws)]


def test_an_amount_the_fact_sheets_own_terms_state_is_grounded(make_plan) -> None:  # type: ignore[no-untyped-def]
    """harbortable's match offer says 'up to $50,000 in total': copy repeating it is grounded; $60,000 is not."""
    ws = load_workspace(demo_workspace_dir().parent / "harbortable")
    offer = ws.offers_by_id["valentine_match"]
    assert "$50,000" in offer.terms
    stated = make_plan(body="Hi {{ first_name }},\n\nEvery gift is matched, up to $50,000 in total.",
                       plan={"offers": []})
    assert "FACT_AMOUNT_UNGROUNDED" not in [f.code for f in run_plan(stated, ws)]
    invented = make_plan(body="Hi {{ first_name }},\n\nEvery gift is matched, up to $60,000 in total.",
                         plan={"offers": []})
    assert "FACT_AMOUNT_UNGROUNDED" in [f.code for f in run_plan(invented, ws)]
