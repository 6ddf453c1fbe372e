"""Eval assertions that read the brand's workspace: roles, another brand's words, locales, send dates,
and offers stated in the brand's own currency and languages."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
from support.fakes import demo_plan_data

from copilot.errors import EvalError
from copilot.workspace import Workspace, load_workspace
from evals.assertions import Scope, evaluate
from evals.results import PlannerAnswer, RenderRecord, TurnResult
from evals.spec import AssertionSpec, load_suite

BRANDS = Path(__file__).resolve().parents[2] / "copilot" / "brands"


@pytest.fixture(scope="module")
def sprig() -> Workspace:
    return load_workspace(BRANDS / "sprig")


@pytest.fixture(scope="module")
def alpenglow() -> Workspace:
    return load_workspace(BRANDS / "alpenglow")


def render(text: str, *, subject: str = "A note", segment: str = "Lapsed customers",
           cta_url: str = "https://sprigkitchen.example/") -> RenderRecord:
    return RenderRecord(segment=segment, variant="A", message="email_1", contact="a@example.com", subject=subject,
                        text=text, cta_text="See what's cooking", cta_url=cta_url)


def check(spec: dict[str, Any], workspace: Workspace, plan: dict[str, Any] | None,
          renders: list[RenderRecord] | None = None):  # type: ignore[no-untyped-def]
    answer = PlannerAnswer(planner="scripted", plan=plan)
    t = TurnResult(index=0, message="brief", request_hash="h", answer=answer, renders=renders or [])
    return asyncio.run(evaluate(AssertionSpec.model_validate(spec), Scope(turn=t, turns=[t], level="test",
                                                                           workspace=workspace)))


def sprig_plan() -> dict[str, Any]:
    """The demo's plan shape rewritten with Sprig Kitchen's own fields, events and copy."""
    data = demo_plan_data(title="Welcome back", offers=["back_to_table"])
    data["segments"][0]["rule"] = {"type": "all", "rules": [
        {"type": "field", "field": "circle_tier", "op": "eq", "value": "harvest"},
        {"type": "last_performed", "event": "order_completed", "op": "older_than_days", "days": 120}]}
    data["segments"][0]["hypothesis"]["attribute"] = "circle_tier"
    data["segments"][0]["field_rationales"] = [{"field": "circle_tier", "rationale": "Harvest members get it first"}]
    data["segments"][1]["rule"] = {"type": "field", "field": "plan_status", "op": "eq", "value": "cancelled"}
    for v in data["variants"]:
        v["subject"], v["body"] = "Dinner is back on", "Take $30 off your next box with code BACKTOTABLE."
        v["cta_url"] = "https://sprigkitchen.example/account/restart"
    return data


def test_role_used_finds_the_field_or_event_playing_each_role(demo_workspace: Workspace, sprig: Workspace) -> None:
    plan = demo_plan_data()  # loyalty_tier (tier) and order_placed (purchase); no last_order_at
    assert check({"type": "role_used", "value": ["tier", "purchase"]}, demo_workspace, plan).passed
    partial = check({"type": "role_used", "value": ["tier", "last_purchase_at"]}, demo_workspace, plan)
    assert (partial.passed, partial.score) == (False, 0.5)
    assert "not used: last_purchase_at (last_order_at)" in partial.reason
    # Sprig's tier is circle_tier and its purchase event order_completed: the same roles, other names.
    assert check({"type": "role_used", "value": ["tier", "purchase"]}, sprig, sprig_plan()).passed


def test_role_used_fails_for_a_role_the_catalog_lacks_or_an_unknown_role(demo_workspace: Workspace) -> None:
    absent = check({"type": "role_used", "value": "trial_ends_at"}, demo_workspace, demo_plan_data())
    assert not absent.passed and "the catalog has no field or event for trial_ends_at" in absent.reason
    unknown = check({"type": "role_used", "value": "favourite_colour"}, demo_workspace, demo_plan_data())
    assert not unknown.passed and "unknown role" in unknown.reason
    assert not check({"type": "role_used", "value": "tier"}, demo_workspace, None).passed


def test_no_words_from_flags_another_brands_fields_products_and_site(sprig: Workspace) -> None:
    leaked = check({"type": "no_words_from", "value": "demo"}, sprig, demo_plan_data(),
                   [render("Your Tempo Fly is waiting.")])
    assert not leaked.passed
    assert "'loyalty_tier' in the plan's rules or trigger" in leaked.reason
    assert "'Tempo Fly' in Lapsed customers/email_1/A" in leaked.reason
    site = check({"type": "no_words_from", "value": "demo"}, sprig, sprig_plan(),
                 [render("Dinner is back on.", cta_url="https://northpeak.example/sale")])
    assert not site.passed and "northpeak.example" in site.reason


def test_no_words_from_passes_clean_copy_and_shared_names(sprig: Workspace) -> None:
    plan = sprig_plan()
    # email_opened is an event both brands have: a shared name is nobody's own word.
    plan["suppression"] = {"exclusions": [{"type": "event", "event": "email_opened",
                                           "window": {"kind": "within_days", "days": 3}}]}
    result = check({"type": "no_words_from", "value": "demo"}, sprig, plan,
                   [render("Take $30 off your next box with code BACKTOTABLE. Tempo is everything on a weeknight.")])
    assert result.passed, result.reason
    assert check({"type": "no_words_from", "value": "demo"}, sprig, None).passed  # a question uses no words


def locale_plan(locales: dict[str, str]) -> dict[str, Any]:
    data = demo_plan_data()
    base = data["variants"][0]
    data["segments"] = data["segments"][:1]
    data["variants"] = []
    for loc, body in locales.items():
        variant = copy.deepcopy(base)
        variant.update(locale=loc, body=body)
        data["variants"].append(variant)
    return data


def test_locales_covered_needs_copy_in_every_locale_the_brand_lists(alpenglow: Workspace) -> None:
    english_only = check({"type": "locales_covered"}, alpenglow, locale_plan({"en": "Hello"}))
    assert not english_only.passed and english_only.score == pytest.approx(1 / 3)
    assert "Lapsed VIPs/email_1/A has no de copy" in english_only.reason
    full = locale_plan({"en": "Hello", "de": "Hallo", "fr": "Bonjour"})
    assert check({"type": "locales_covered"}, alpenglow, full).passed
    assert check({"type": "locales_covered", "value": ["en", "de"]}, alpenglow, locale_plan({"en": "Hi", "de": "Hallo"})).passed


def test_locales_covered_counts_an_untranslated_copy_as_missing(alpenglow: Workspace) -> None:
    copied = check({"type": "locales_covered"}, alpenglow,
                   locale_plan({"en": "Hello", "de": "Hello", "fr": "Bonjour"}))
    assert not copied.passed and "de copy is the en copy unchanged" in copied.reason


def test_send_between_reads_the_scheduled_send_or_the_send_window(demo_workspace: Workspace) -> None:
    plan = demo_plan_data()  # send_at 2027-02-10
    assert check({"type": "send_between", "value": ["2027-02-01", "2027-02-14"]}, demo_workspace, plan).passed
    late = check({"type": "send_between", "value": ["2027-02-01", "2027-02-07"]}, demo_workspace, plan)
    assert not late.passed and "send_at is 2027-02-10, outside 2027-02-01..2027-02-07" in late.reason
    event = demo_plan_data(trigger={"kind": "event", "entry_event": "cart_abandoned",
                                    "steps": [{"type": "send", "message": "email_1"}]})
    assert not check({"type": "send_between", "value": ["2027-02-01", "2027-02-07"]}, demo_workspace, event).passed
    windowed = {**event, "send_window": {"start": "2027-02-03", "end": "2027-02-20"}}
    assert check({"type": "send_between", "value": ["2027-02-01", "2027-02-07"]}, demo_workspace, windowed).passed


def test_send_between_with_a_bad_value_is_refused_when_the_suite_loads(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\ntests:\n  - id: t\n    brief: x\n    assert:\n"
                     "      - {type: send_between, value: [2027-02-09, 2027-02-01]}\n", encoding="utf-8")
    with pytest.raises(EvalError) as err:
        load_suite(suite)
    assert "tests[0].assert[0]" in str(err.value) and "after the last" in str(err.value)


def test_offer_in_copy_reads_the_brands_currency_and_languages(alpenglow: Workspace, sprig: Workspace) -> None:
    plan = demo_plan_data(offers=["travel_again"])
    spec = {"type": "offer_in_copy", "value": "travel_again", "segment": "Lapsed customers"}
    for stated in ("€150 off with code AGAIN150", "150 € Rabatt mit dem Code AGAIN150",
                   "150,00 € de réduction, code AGAIN150"):
        result = check(spec, alpenglow, plan, [render(stated)])
        assert result.passed, (stated, result.reason)
    for wrong in ("$150 off with code AGAIN150", "1150 € off with code AGAIN150", "€150 off"):
        assert not check(spec, alpenglow, plan, [render(wrong)]).passed, wrong
    shipping = check({"type": "offer_in_copy", "value": "pantry_ship_free"}, sprig,
                     demo_plan_data(offers=["pantry_ship_free"]),
                     [render("Envío gratis en la despensa con el código PANTRYSHIP.")])
    assert shipping.passed, shipping.reason
