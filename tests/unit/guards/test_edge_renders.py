"""Edge-profile and sample renders of the fallbacks guard, for several brands and languages: empty
greetings in any language, placeholder and form-letter fallbacks, lists printed as Python prints them,
raw dates and numbers, and names printed as stored."""

from __future__ import annotations

import pytest

from guards import run_plan


def fallbacks(ws, plan, samples=None):  # type: ignore[no-untyped-def]
    return [f for f in run_plan(plan, ws, samples=samples) if f.guard == "fallbacks"]


def codes(ws, plan, samples=None):  # type: ignore[no-untyped-def]
    return {f.code for f in fallbacks(ws, plan, samples)}


@pytest.mark.parametrize("brand, locale, greeting", [
    ("demo", "en", "Hi {{ first_name }},"),
    ("demo", "es", "Hola {{ first_name }},"),
    ("demo", "de", "Hallo {{ first_name }},"),
    ("sprig", "es", "¡Hola {{ first_name }}!"),
    ("alpenglow", "de", "Sehr geehrte Frau {{ last_name }},"),
    ("alpenglow", "fr", "Bonjour {{ first_name }} !"),
    ("kinetichouse", "en", "Hey there {{ first_name }}:"),
])
def test_an_empty_greeting_is_caught_in_any_language(brand_workspace, brand_plan, brand, locale, greeting) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    field = "last_name" if "last_name" in greeting else "first_name"
    body = f"{greeting}\n\nThanks for being here."
    empty = brand_plan(ws, locale=locale, body=body, merge_fields=[{"name": field, "fallback": ""}])
    found = [f for f in fallbacks(ws, empty) if f.code == "FB_EMPTY_SALUTATION"]
    assert len(found) == 1 and found[0].severity == "block", [f.message for f in fallbacks(ws, empty)]
    filled = brand_plan(ws, locale=locale, body=body, merge_fields=[{"name": field, "fallback": "Alex"}])
    assert "FB_EMPTY_SALUTATION" not in codes(ws, filled)


@pytest.mark.parametrize("brand", ["demo", "harbortable"])
@pytest.mark.parametrize("fallback, code", [
    ("[Name]", "FB_PLACEHOLDER_FALLBACK"), ("First Name", "FB_PLACEHOLDER_FALLBACK"),
    ("{name}", "FB_PLACEHOLDER_FALLBACK"), ("FIRST_NAME", "FB_PLACEHOLDER_FALLBACK"),
    ("Customer", "FB_GENERIC_FALLBACK"), ("Valued Member", "FB_GENERIC_FALLBACK"), ("Cliente", "FB_GENERIC_FALLBACK"),
    ("there", None), ("friend", None), ("Alex", None),
])
def test_placeholder_and_form_letter_fallbacks(brand_workspace, brand_plan, brand, fallback, code) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    declared = brand_plan(ws, merge_fields=[{"name": "first_name", "fallback": fallback}])
    inline = brand_plan(ws, body=f"Hi {{{{ first_name | fallback('{fallback}') }}}},\n\nThanks for reading.",
                        merge_fields=[])
    for plan in (declared, inline):
        found = codes(ws, plan) & {"FB_PLACEHOLDER_FALLBACK", "FB_GENERIC_FALLBACK"}
        assert found == ({code} if code else set()), (fallback, [f.message for f in fallbacks(ws, plan)])
    if code:
        finding = next(f for f in fallbacks(ws, inline) if f.code == code)
        assert inline.variants[0].body[finding.span[0]:finding.span[1]] == fallback


def test_a_generic_word_is_fine_as_the_fallback_of_a_field_that_is_not_a_name(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("demo")
    plan = brand_plan(ws, body="Hi {{ first_name }},\n\nNews for {{ city | fallback('every member') }}.")
    assert "FB_GENERIC_FALLBACK" not in codes(ws, plan)


@pytest.mark.parametrize("brand, field", [("alpenglow", "interests"), ("sprig", "allergies")])
def test_a_list_printed_as_python_prints_it_blocks(brand_workspace, brand_plan, brand, field) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    merge = [{"name": "first_name", "fallback": "there"}, {"name": field, "fallback": "our picks"}]
    raw = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nPicked for you: {{{{ {field} }}}}.", merge_fields=merge)
    found = [f for f in fallbacks(ws, raw) if f.code == "FB_PRINTED_STRUCTURE"]
    assert len(found) == 1 and found[0].severity == "block" and "join" in (found[0].fix or "")
    joined = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nPicked for you: {{{{ {field} | join(', ') }}}}.",
                        merge_fields=merge)
    assert "FB_PRINTED_STRUCTURE" not in codes(ws, joined)


def _field_of_type(ws, kind: str) -> str:  # type: ignore[no-untyped-def]
    kinds = {"date": {"date", "datetime"}, "number": {"number"}}[kind]
    return next(f.name for f in ws.catalog.fields if f.type in kinds)


@pytest.mark.parametrize("brand", ["demo", "harbortable", "pagewise"])
@pytest.mark.parametrize("kind", ["date", "number"])
def test_raw_dates_and_unrounded_numbers_warn(brand_workspace, brand_plan, brand, kind) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    try:
        field = _field_of_type(ws, kind)
    except StopIteration:
        pytest.skip(f"{brand} has no {kind} field for personalization")
    merge = [{"name": "first_name", "fallback": "there"}, {"name": field, "fallback": "a while"}]
    plan = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nYours since {{{{ {field} }}}}.", merge_fields=merge)
    found = [f for f in fallbacks(ws, plan) if f.code == "FB_RAW_VALUE"]
    assert len(found) == 1 and found[0].severity == "warn", [f.message for f in fallbacks(ws, plan)]
    # The copy's own dates and figures are not the render's doing.
    clean = brand_plan(ws, body="Hi {{ first_name }},\n\nOur 2026-05-01 notes say 1.2345 more.")
    assert "FB_RAW_VALUE" not in codes(ws, clean)


@pytest.mark.parametrize("brand", ["demo", "hollisvane"])
@pytest.mark.parametrize("stored", ["JOHN", "jo.smith@example.com", "asdf"])
def test_a_name_printed_as_stored_warns_with_the_as_name_rule(brand_workspace, brand_plan, brand, stored) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    samples = {"Everyone": [{"first_name": "Ana"}, {"first_name": stored}]}
    found = [f for f in fallbacks(ws, brand_plan(ws), samples) if f.code == "FB_NAME_AS_IS"]
    assert len(found) == 1 and found[0].severity == "warn"
    assert 'as_name("there")' in (found[0].fix or "")
    assert stored not in found[0].message.replace(repr(stored), "")  # named once, as evidence
    tidy = brand_plan(ws, body="Hi {{ first_name | as_name('there') }},\n\nThanks for reading our notes.",
                      merge_fields=[])
    assert "FB_NAME_AS_IS" not in codes(ws, tidy, samples)
    assert "FB_NAME_AS_IS" not in codes(ws, brand_plan(ws), {"Everyone": [{"first_name": "Zoë"}, {"first_name": "Ana"}]})


@pytest.mark.parametrize("brand", ["demo", "sprig"])
def test_stacked_spam_triggers_block_and_one_alone_warns(brand_workspace, brand_plan, brand) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    stacked = brand_plan(ws, body="Hi {{ first_name }},\n\nRisk free and no obligation, so claim your prize today.")
    found = [f for f in run_plan(stacked, ws) if f.code == "TONE_SPAM_STACKED"]
    assert len(found) == 1 and found[0].severity == "block" and len(found[0].evidence["phrases"]) >= 2
    apart = brand_plan(ws, body="Hi {{ first_name }},\n\nIt is risk free.\n\nThanks for reading our notes.")
    codes_apart = {f.code: f.severity for f in run_plan(apart, ws)}
    assert "TONE_SPAM_STACKED" not in codes_apart and codes_apart.get("TONE_SPAM_PHRASE") == "warn"


@pytest.mark.parametrize("brand", ["sprig", "kinetichouse", "hollisvane"])
def test_shouting_blocks_but_the_brands_own_capitals_and_codes_do_not(brand_workspace, brand_plan, brand) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace(brand)
    own = " ".join(ws.voice.allowed_caps[:2])
    calm = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nNotes on {own} for you this week.")
    assert "TONE_ALL_CAPS" not in {f.code for f in run_plan(calm, ws)}
    loud = brand_plan(ws, body=f"Hi {{{{ first_name }}}},\n\nThis is HUGE news about {own}.")
    found = [f for f in run_plan(loud, ws) if f.code == "TONE_ALL_CAPS"]
    assert len(found) == 1 and found[0].severity == "block" and found[0].evidence["words"] == ["HUGE"]
