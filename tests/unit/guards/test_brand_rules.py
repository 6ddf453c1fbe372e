"""Facts and tone rules that read each brand's own files (issue 18): forbidden claims and their
paraphrases, approved testimonials, weekdays written with dates, offer conditions, size and plan
prices, a brand's own dollar, disguised banned phrases, emoji as graphemes, forbidden CTAs."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.plan import Plan
from copilot.text import find_money, skeleton, skeleton_phrase
from guards import run_plan


def codes(plan: Plan, ws: Any, guard: str) -> set[str]:
    return {f.code for f in run_plan(plan, ws) if f.guard == guard}


def with_offer(plan: Plan, offer: str, start: str, end: str) -> Plan:
    data = plan.model_dump(mode="json")
    data["offers"] = [offer]
    data["send_window"] = {"start": start, "end": end}
    return Plan.model_validate(data)


def test_a_brand_writing_its_own_dollar_reads_dollar_sign_as_it() -> None:
    assert find_money("Unlimited is $189 a month.", "en", currencies=("CAD",))[0].currency == "CAD"
    assert find_money("coûte 189 $ par mois", "fr", currencies=("CAD",))[0].currency == "CAD"
    assert find_money("is $189", "en", currencies=("EUR",))[0].currency == "USD"  # a euro brand's "$" is US dollars


def test_skeleton_reads_spacing_hyphens_and_look_alikes_as_the_letters() -> None:
    letters, where = skeleton("A hidd3n-gem, N0 pain; tіme")  # the last "і" is Cyrillic
    assert letters == "ahiddengemnopaintime" and len(where) == len(letters) and where[1] == 2
    assert skeleton_phrase("you're missing out") == ("youremissingout", "youaremissingout")


@pytest.mark.parametrize(("line", "expected"), [
    ("These are not hand-outs.", {"TONE_BANNED_PHRASE"}),
    ("We don't give hand outs.", {"TONE_BANNED_PHRASE"}),
    ("Dwight hands out boxes on Thursdays.", set()),
    ("The needs of our neighbors change with the season.", set()),
    ("We are SO grateful.", {"TONE_ALL_CAPS"}),
    ("Harbor Table (EIN 94-3217788) buys USDA rice.", set()),
])
def test_banned_phrases_hold_against_spelling_tricks_and_not_against_other_words(
        brand_workspace, brand_plan, line: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("harbortable")
    plan = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nThanks for reading our notes. {line}")
    assert codes(plan, ws, "tone") - {"TONE_CTA_STAGE"} == expected


@pytest.mark.parametrize(("emoji", "expected"), [("💪🏽", set()), ("👨‍👩‍👧", set()), ("🇨🇦", set()),
                                                 ("💪🏽 🚴", {"TONE_EMOJI"})])
def test_emoji_count_as_graphemes(brand_workspace, brand_plan, emoji: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("kinetichouse")  # one emoji per email
    plan = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nSee you Tuesday {emoji}", cta_text="Read more")
    assert codes(plan, ws, "tone") & {"TONE_EMOJI"} == expected


def test_a_cta_on_the_stage_forbidden_list_blocks(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("hollisvane")
    plan = brand_plan(ws, cta_text="Buy now")
    data = plan.model_dump(mode="json")
    data["goal"] = "cart"
    found = [f for f in run_plan(Plan.model_validate(data), ws) if f.code.startswith("TONE_CTA")]
    assert [(f.code, f.severity) for f in found] == [("TONE_CTA_FORBIDDEN", "block")]


@pytest.mark.parametrize(("line", "expected"), [
    ("All our journeys are carbon neutral.", {"FACT_FORBIDDEN_CLAIM"}),
    ("The Dolomites Hut-to-Hut needs no fitness at all: anyone can do it.", {"FACT_FORBIDDEN_CLAIM"}),
    ("The Dolomites Hut-to-Hut is grade 4: long days that need good fitness.", set()),
    ("98% of our travellers say they would travel with us again.", set()),
    ("87% of our travellers come back within two years.", {"FACT_CLAIM_UNSOURCED"}),
    ("“The huts were warmer than any hotel, and our leader knew the name of every peak.” (Ingrid, Hamburg)", set()),
    ("“The huts were warmer than a hotel, and our leader knew every peak by name.” (Ingrid, Hamburg)",
     {"FACT_TESTIMONIAL_UNSOURCED"}),
    ("“Best week of my life, I cried when it ended.” (Tom, Leeds)", {"FACT_TESTIMONIAL_INVENTED"}),
    ("Our live Dolomites Q&A is on Thursday, February 18.", set()),
    ("Our live Dolomites Q&A is on Tuesday, February 18.", {"FACT_DATE_UNGROUNDED"}),
    ("The Dolomites Hut-to-Hut is €2,890 per person in a single room.", set()),
])
def test_claims_quotes_dates_and_prices_are_held_to_the_brand_fact_sheet(
        brand_workspace, brand_plan, line: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("alpenglow")
    plan = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\n{line}")
    assert codes(plan, ws, "facts") == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("Your next journey of €1,000 or more is €150 less with code AGAIN150; it works once per traveller.", set()),
    ("Take €150 off any journey with code AGAIN150, with no minimum spend.", {"FACT_OFFER_SCOPE"}),
    ("Take €150 off your next journey of €500 or more with code AGAIN150.", {"FACT_OFFER_SCOPE"}),
    ("Take €150 off with code AGAIN150 and use it on every booking you make.", {"FACT_OFFER_SCOPE"}),
])
def test_a_sentence_about_an_offer_keeps_its_conditions(
        brand_workspace, brand_plan, line: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("alpenglow")
    plan = with_offer(brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\n{line}"), "travel_again", "2027-02-10", "2027-02-12")
    assert codes(plan, ws, "facts") == expected


def test_offer_for_new_customers_promised_to_everyone(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("hollisvane")
    ok = "If you have not ordered from us yet, take 10% off your first order with code FIRSTHV10."
    wrong = "Every customer, new or returning, can take 10% off with code FIRSTHV10."
    for line, expected in ((ok, set()), (wrong, {"FACT_OFFER_SCOPE"})):
        plan = with_offer(brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\n{line}"), "first_order_10",
                          "2027-02-01", "2027-02-03")
        assert codes(plan, ws, "facts") == expected, line
