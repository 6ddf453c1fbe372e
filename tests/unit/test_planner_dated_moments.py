"""Dated moments: the date reminder, timed from the catalog date field the brief names (one no other moment is
about), with the CTA of the brand's journey stage that speaks of that date. Expected answers come from
the bundled brands' catalog.yaml and voice.yaml. And news about a fact-sheet calendar date names it and its day."""

from __future__ import annotations

from datetime import UTC, datetime

from copilot.brief import read_brief
from copilot.planner.base import PlanRequest
from copilot.planner.compose import stage_for_field
from copilot.planner.offline import OfflinePlanner
from copilot.workspace import load_workspace
from copilot.workspace.loader import demo_workspace_dir

BRANDS = demo_workspace_dir().parent
NOW = datetime(2027, 2, 1, 9, tzinfo=UTC)


def _plan(brand: str, brief: str):  # type: ignore[no-untyped-def]
    return OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=load_workspace(BRANDS / brand), now=NOW))


def test_a_brief_naming_a_date_field_is_timed_from_it() -> None:
    result = _plan("alpenglow", "two weeks before departure, send travellers their packing list")
    plan = result.plan
    assert plan is not None and plan.goal == "date_reminder"
    assert (plan.trigger.kind, plan.trigger.date_field, plan.trigger.offset_days) == ("date", "next_departure_date", -14)
    # alpenglow's pre_departure stage is the one whose CTAs fit a departure
    allowed = load_workspace(BRANDS / "alpenglow").voice.cta_rules["pre_departure"]
    assert {v.cta_text for v in plan.variants} <= set(allowed)
    assert plan.offers == []


def test_the_briefs_audience_narrows_the_date_reminder() -> None:
    plan = _plan("kinetichouse", "class-pack holders whose pack expires soon - remind them to book").plan
    assert plan is not None and plan.trigger.date_field == "pack_expires_on"
    fields = {r.field for r in plan.segments[0].rule.rules}  # type: ignore[union-attr]
    assert {"pack_expires_on", "pack_classes_left"} <= fields


def test_a_date_with_a_role_keeps_its_own_moment() -> None:
    # sprig's next_charge_date plays renewal_at: the renewal reminder, not a generic date reminder
    ws = load_workspace(BRANDS / "sprig")
    assert read_brief("remind subscribers two days before their next charge", ws).goal == "renewal_reminder"


def test_the_stage_is_found_by_the_fields_words_or_not_at_all() -> None:
    assert stage_for_field(load_workspace(BRANDS / "kinetichouse"), "pack_expires_on") == "pack_expiry"
    assert stage_for_field(load_workspace(BRANDS / "alpenglow"), "balance_due_date") is None


def test_news_about_a_dated_moment_names_it_and_its_day() -> None:
    plan = _plan("hollisvane", "Mothering Sunday gift guide").plan
    assert plan is not None and plan.goal == "announcement"
    assert all("**Mothering Sunday**, March 7, 2027" in v.body for v in plan.variants)
    # no sale in the fact sheet's sense: the listed CTA closest to the playbook's, not "Shop the sale"
    assert {v.cta_text for v in plan.variants if v.message == "email_1"} == {"Shop the collection"}


def test_the_first_of_something_filters_the_entry_event_by_its_count() -> None:
    # sprig's box_delivered has box_number, "1 for the first box"
    plan = _plan("sprig", "after someone's first box arrives, ask them to rate the recipes").plan
    assert plan is not None
    assert [(f.property, f.op, f.value) for f in plan.trigger.entry_filter] == [("box_number", "eq", 1)]


def test_a_preferred_category_value_limits_a_browse_to_that_category() -> None:
    result = _plan("sprig", "people who browsed Mexican recipes this week but haven't ordered - one gentle email")
    plan = result.plan
    assert plan is not None and plan.goal == "browse_abandonment"
    assert [(f.property, f.value) for f in plan.trigger.entry_filter] == [("category", "mexican")]
    # "haven't ordered" is not the audience of people who have
    assert all("order_completed" not in str(s.rule.model_dump()) or "never" in str(s.rule.model_dump())
               for s in plan.segments if s.description.endswith(")"))
    assert sum(1 for s in plan.trigger.steps if s.type == "send") == 1


def test_a_date_named_with_a_verb_between_its_words_is_found() -> None:
    # alpenglow's balance_due_date is worded "balance due"; briefs say "their balance is due"
    plan = _plan("alpenglow", "remind travellers ten days before their balance is due").plan
    assert plan is not None and (plan.trigger.date_field, plan.trigger.offset_days) == ("balance_due_date", -10)
