"""The copy template language: the Jinja marketers and models write renders; anything outside it,
and anything too big or too deep, is a RenderError (never a RecursionError or another exception)."""

from __future__ import annotations

import pytest

from copilot import render
from copilot.errors import RenderError
from copilot.plan import MergeField, Variant
from copilot.validation import template_variables


def variant(body: str, **overrides) -> Variant:  # type: ignore[no-untyped-def]
    data = dict(segment="s", subject="A note", preheader="For you", body=body, cta_text="Open",
                cta_url="https://shop.example/", merge_fields=[MergeField(name="first_name", fallback="there")])
    data.update(overrides)
    return Variant(**data)


def body_text(source: str, contact: dict) -> str:  # type: ignore[type-arg]
    v = variant(source)
    fields = render.render_fields(v, render.merge_context(v, contact))
    assert fields.errors == {}, fields.errors
    assert fields.body_text is not None
    return fields.body_text


CONTACT = {"first_name": "Ana", "city": "Austin", "interests": ["hiking", None, "", "rail journeys", "food"],
           "last_order": {"product": "Rye loaf", "total": 12}}


@pytest.mark.parametrize("source, expected", [
    ("{{ interests[0] }}", "hiking"),
    ("{{ interests[-1] }}", "food"),
    ("{{ interests[:2] | join(', ') }}", "hiking, rail journeys"),
    ("{{ contact.city }}", "Austin"),
    ("{{ contact['city'] }}", "Austin"),
    ("{{ last_order.product }} / {{ last_order['total'] }}", "Rye loaf / 12"),
    ("{{ interests | first | title }}", "Hiking"),
    ("{{ interests | last | upper }}", "FOOD"),
    ("{{ interests | length }} interests", "3 interests"),
    ("{{ nickname | default('friend') }}", "friend"),
    ("{{ contact.nickname | default('friend') | capitalize }}", "Friend"),
    ("{% if contact.city %}In {{ contact.city }}{% else %}Near you{% endif %}", "In Austin"),
    ("{% if nickname %}{{ nickname }}{% else %}Hi{% endif %}", "Hi"),
    ("{% if interests | length > 2 %}many{% endif %}", "many"),
    ("{% set greeting = first_name | lower %}{{ greeting }}!", "ana!"),
    ("{% set line %}Hi {{ first_name }}{% endset %}{{ line }}", "Hi Ana"),
    ("{% for i in interests %}{{ loop.index }}. {{ i }}{% if not loop.last %}; {% endif %}{% endfor %}",
     "1. hiking; 2. rail journeys; 3. food"),
    ("{% for i in nothing | default([]) %}{{ i }}{% else %}none{% endfor %}", "none"),
    ("{{ 'Hello ' ~ first_name }}", "Hello Ana"),
    ("{{ first_name if first_name else 'there' }}", "Ana"),
    ("{{ [last_order] | map(attribute='product') | join(', ') }}", "Rye loaf"),
])
def test_the_jinja_marketers_write_renders(source, expected) -> None:  # type: ignore[no-untyped-def]
    assert body_text(source, CONTACT) == expected


def test_contact_namespace_reads_catalog_fields_for_validation_and_guards() -> None:
    info = render.template_info("{{ contact.city }} {{ interests[0] }} {% set x = first_name %}{{ x }}", kind="markdown")
    assert info.error is None
    assert info.names == {"city", "interests", "first_name"}
    assert template_variables("Hi {{ contact.first_name | fallback('there') }}") == {"first_name"}


@pytest.mark.parametrize("source, kind", [
    ("{{7+7}}", "expression"),
    ("{{ 7 + 7 }}", "expression"),
    ("{{ 'literal text' }}", "expression"),
    ("{{ points * 2 }}", "expression"),
    ("{% if points + 1 > 5 %}x{% endif %}", "expression"),
    ("{{ -points }}", "expression"),
    ("{{ first_name.upper() }}", "not_allowed"),
    ("{{ contact }}", "not_allowed"),
    ("{% for k in contact %}{{ k }}{% endfor %}", "not_allowed"),
    ("{{ first_name | replace('a', 'b') }}", "not_allowed"),
    ("{{ items | map('upper') | join }}", "not_allowed"),
    ("{{ last_order._secret }}", "not_allowed"),
    ("{{ last_order['__class__'] }}", "not_allowed"),
    ("{% for i in items recursive %}{{ loop(i) }}{% endfor %}", "not_allowed"),
    ("{{ {'a': 1} }}", "not_allowed"),
    ("{% if a %}" * 3000 + "x" + "{% endif %}" * 3000, "limit"),
    ("{% if a %}" * 13 + "x" + "{% endif %}" * 13, "limit"),
    ("{% set x %}" * 20 + "x" + "{% endset %}" * 20, "limit"),
    ("{% for a in i %}{% for b in i %}{% for c in i %}x{% endfor %}{% endfor %}{% endfor %}", "limit"),
    ("{{ " + "(" * 500 + "a" + ")" * 500 + " }}", "limit"),
    ("{{ " + "not " * 3000 + "a }}", "limit"),
    ("{{ a" + " ~ a" * 5000 + " }}", "limit"),
    ("{{ a" + " | upper" * 2000 + " }}", "limit"),
    ("{{ a if b else " * 2000 + "c" + " }}", "limit"),
    ("{{ first_name }}" + "x" * 100_001, "limit"),
])
def test_hostile_and_foreign_templates_are_errors_before_anything_runs(source, kind) -> None:  # type: ignore[no-untyped-def]
    info = render.template_info(source, kind="markdown")
    assert info.error is not None
    assert info.error.context["kind"] == kind, info.error.message
    error = render.render_fields(variant(source), {}).errors["body"]
    assert isinstance(error, RenderError)
    assert error.context["kind"] == kind


def test_nesting_just_inside_the_limits_renders() -> None:
    deep = "{% if first_name %}" * render.MAX_NESTING + "deep" + "{% endif %}" * render.MAX_NESTING
    assert body_text(deep, CONTACT) == "deep"
    loops = "{% for a in interests %}{% for b in interests %}.{% endfor %}{% endfor %}"
    assert body_text(loops, CONTACT) == "." * 9


def test_a_render_that_would_grow_past_the_output_limit_stops_with_an_error() -> None:
    """Two loops over a long list around a long line: the output limit stops it (kind 'limit')."""
    line = "x" * 90_000
    source = "{% for a in interests %}{% for b in interests %}" + line + "{% endfor %}{% endfor %}"
    v = variant(source)
    errors = render.render_fields(v, render.merge_context(v, {"interests": [f"i{n}" for n in range(1000)]})).errors
    assert errors["body"].context["kind"] == "limit"
    assert "200,000" in errors["body"].message


def test_lists_and_mappings_in_contact_values_are_cleaned_and_capped() -> None:
    assert render.clean_value(["a", None, " ", "null", "b"]) == ("a", "b")
    assert render.clean_value([None, ""]) is None
    assert len(render.clean_value([f"x{i}" for i in range(1000)])) == 50
    assert render.clean_value({"a": "x", "_b": "y", "c": None}) == {"a": "x"}
    assert render.clean_value([[["deep"]]]) is None


def test_attributes_reach_data_never_python_objects() -> None:
    source = "{{ first_name.upper | default('no method') }} {{ interests.append | default('no method') }}"
    assert body_text(source, CONTACT) == "no method no method"


@pytest.mark.parametrize("value, shown", [
    ("JOHN", "John"), ("mary-jane o'BRIEN", "mary-jane o'BRIEN"), ("ana@example.com", "there"), ("asdf", "there"),
    ("x", "there"), ("test123", "there"), ("Zoë", "Zoë"), ("李小龙", "李小龙"), ("", "there"),
])
def test_as_name_tidies_or_replaces_names_that_should_not_greet_anyone(value, shown) -> None:  # type: ignore[no-untyped-def]
    assert body_text("{{ first_name | as_name('there') }}", {"first_name": value}) == shown
