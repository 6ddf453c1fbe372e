"""Moments beyond retail (issue 16): birthdays, trials ending, failed payments, milestones, event
invitations, expiring points and anniversaries, planned offline for bundled brands of different
verticals. Each expectation was written from the brand's catalog, fact sheet and voice before the
planner ran: the goal, the trigger's kind, the brand's own field or event for the moment's role,
copy free of every other brand's names, and a precise question when the brand lacks the role."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from copilot.plan import Plan
from copilot.planner.base import PlanRequest
from copilot.planner.offline import OfflinePlanner
from copilot.playbooks import get_playbook, load_playbooks
from copilot.validation import validate_plan
from copilot.workspace import Workspace, load_workspace

BRANDS_DIR = Path(__file__).resolve().parents[2] / "copilot" / "brands"
BRANDS = sorted(p.name for p in BRANDS_DIR.iterdir() if (p / "brand.yaml").exists())
NOW = datetime(2027, 2, 1, 14, 0, tzinfo=UTC)


@cache
def brand(name: str) -> Workspace:
    return load_workspace(BRANDS_DIR / name)


def plan_for(name: str, brief: str):  # type: ignore[no-untyped-def]
    return OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=brand(name), now=NOW))


def copy_of(plan: Plan) -> str:
    return "\n".join(f"{v.subject}\n{v.preheader}\n{v.body}\n{v.cta_text}\n{v.cta_url}" for v in plan.variants)


def other_brands_words(name: str) -> set[str]:
    """Every other bundled brand's name, site and product names (the words one brand's copy must not borrow)."""
    words: set[str] = set()
    for other in BRANDS:
        if other == name:
            continue
        ws = brand(other)
        words |= {ws.brand.name, ws.brand.website.split("//")[-1].rstrip("/")}
        words |= {p.name for p in ws.facts.products if len(p.name) > 4}
    return words - {w for w in words if w in brand(name).brand.name}


def assert_planned(name: str, brief: str, goal: str, kind: str) -> Plan:
    result = plan_for(name, brief)
    assert result.plan is not None, (name, brief, result.questions)
    plan = result.plan
    assert plan.goal == goal, (name, brief, plan.goal)
    assert plan.trigger.kind == kind
    assert validate_plan(plan, brand(name)) == []
    text = copy_of(plan)
    leaked = [w for w in other_brands_words(name) if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
    assert not leaked, (name, leaked)
    assert "[[" not in text and "None" not in text
    return plan


def assert_asks_for(name: str, brief: str, role: str) -> None:
    result = plan_for(name, brief)
    assert result.plan is None, (name, brief)
    assert any(f"role: {role}" in q for q in result.questions), result.questions


def test_the_new_moments_are_in_the_library_with_their_stages() -> None:
    stages = {b.id: b.stage for b in load_playbooks()}
    assert stages["birthday"] == "birthday"
    assert stages["trial_ending"] == "trial"
    assert stages["payment_failed"] == "payment"


# -- birthday -------------------------------------------------------------------------------------

def test_birthday_on_a_fashion_brand_uses_its_birthday_field_and_its_birthday_offer() -> None:
    # hollisvane: field `birthday` (a date named as its role), offer birthday_gift "in their birthday month"
    plan = assert_planned("hollisvane", "birthdays", "birthday", "date")
    assert plan.trigger.date_field == "birthday" and plan.trigger.every_year
    assert plan.offers == ["birthday_gift"]
    assert "£20 off" in copy_of(plan)
    # the brand's own CTA for its birthday stage
    assert {v.cta_text for v in plan.variants} == {"Use your birthday gift"}


def test_birthday_on_a_meal_kit_brand_without_a_birthday_offer_is_a_plain_greeting() -> None:
    # sprig: field `birthday`; no birthday offer on its fact sheet; voice's birthday stage CTAs
    plan = assert_planned("sprig", "birthday emails", "birthday", "date")
    assert plan.trigger.date_field == "birthday" and plan.trigger.every_year
    assert plan.offers == []
    assert {v.cta_text for v in plan.variants if v.locale == "en"} <= {"Pick your birthday dinner", "Use your points"}


def test_birthday_copy_never_names_an_age() -> None:
    text = copy_of(assert_planned("kinetichouse", "birthdays", "birthday", "date")).lower()
    assert not re.search(r"years old|turning|\bage\b", text)


def test_birthday_for_a_brand_without_a_birthday_field_asks_for_the_role() -> None:
    # alpenglow's only birth date is date_of_birth, for insurance: no field plays the birthday role
    assert_asks_for("alpenglow", "birthday email to every traveller", "birthday")


# -- trial ending ---------------------------------------------------------------------------------

def test_trial_ending_on_a_reading_app_times_from_its_trial_end_date() -> None:
    # pagewise: trial_end_date plays trial_ends_at; Plus lists its benefits; the trial policy says how to cancel
    plan = assert_planned("pagewise", "trialists whose trial ends in three days - remind them what Plus includes "
                                      "and how to cancel", "trial_ending", "date")
    assert plan.trigger.date_field == "trial_end_date" and plan.trigger.offset_days == -3
    text = copy_of(plan)
    assert "Offline reading on up to 3 devices" in text
    assert "unless you cancel at least 24 hours before it ends" in text
    assert plan.offers == []
    assert not re.search(r"last chance|hurry|don't lose", text, re.I)


def test_trial_ending_brief_days_replace_the_playbooks() -> None:
    plan = assert_planned("pagewise", "remind people a week before their trial ends", "trial_ending", "date")
    assert plan.trigger.offset_days == -7


@pytest.mark.parametrize("name", ["kinetichouse", "hollisvane"])
def test_trial_ending_for_brands_without_trials_asks_for_the_role(name: str) -> None:
    assert_asks_for(name, "remind people their free trial ends soon", "trial_ends_at")


# -- payment failed -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "brief", "event", "ctas"), [
    # kinetichouse: event payment_failed; payment stage CTAs; a half-off return offer it must not carry
    ("kinetichouse", "members whose card payment failed - a plain email to update their card, no promotions",
     "payment_failed", {"Update your card", "Update your payment details"}),
    # pagewise: invoice_payment_failed implies the role; payment stage lists one CTA
    ("pagewise", "renewal payment failed - ask them to update their payment method", "invoice_payment_failed",
     {"Update your payment method"}),
    # harbortable (a food bank): payment_failed; its payment stage forbids asking for more
    ("harbortable", "monthly donors whose card failed - a short note to update their payment details",
     "payment_failed", {"Update your payment details"}),
])
def test_payment_failed_is_a_plain_service_message(name: str, brief: str, event: str, ctas: set[str]) -> None:
    plan = assert_planned(name, brief, "payment_failed", "event")
    assert plan.trigger.entry_event == event
    assert plan.offers == []
    assert {v.cta_text for v in plan.variants if v.locale == "en"} <= ctas
    text = copy_of(plan)
    for offer in brand(name).facts.offers:
        assert offer.terms not in text and (not offer.code or offer.code not in text)


def test_payment_failed_carries_no_offer_even_when_the_brief_names_one() -> None:
    # kinetichouse's fact sheet has half_off_return; a service message still carries none
    plan = assert_planned("kinetichouse", "members whose card payment failed, with half off their first month back",
                          "payment_failed", "event")
    assert plan.offers == []


def test_payment_failed_for_a_brand_without_the_event_asks_for_that_role_only() -> None:
    # hollisvane tracks no failed payments (nor cancellations: an exit it cannot have is left out, not asked)
    result = plan_for("hollisvane", "customers whose payment failed")
    assert result.plan is None
    assert any("role: payment_failed" in q and "role: cancellation" not in q for q in result.questions)


# -- milestone ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "brief", "field", "value"), [
    # kinetichouse: classes_attended plays usage_count; "50th" is the threshold
    ("kinetichouse", "congratulate clients when they reach their 50th class", "classes_attended", 50),
    # pagewise: books_finished plays usage_count
    ("pagewise", "celebrate readers when they finish their 25th book", "books_finished", 25),
    # harbortable: volunteer_hours plays usage_count, a plain number this time
    ("harbortable", "celebrate volunteers when they reach 100 volunteer hours", "volunteer_hours", 100),
])
def test_milestone_enters_once_when_the_count_reaches_the_briefs_number(name: str, brief: str, field: str,
                                                                      value: int) -> None:
    plan = assert_planned(name, brief, "milestone", "threshold")
    condition = plan.trigger.condition
    assert condition is not None and condition.model_dump(include={"field", "op", "value"}) == {
        "field": field, "op": "gte", "value": value}
    assert plan.offers == []
    assert not re.search(r"buy now|upgrade now|achetez", copy_of(plan), re.I)


def test_milestone_without_a_number_keeps_the_default_and_says_so() -> None:
    result = plan_for("pagewise", "milestones")
    assert result.plan is not None and result.plan.trigger.condition.value == 10  # type: ignore[union-attr]
    assert any("gives no number" in n and "books_finished" in n for n in result.notes)


def test_milestone_for_a_brand_without_a_usage_count_asks_for_the_role() -> None:
    # hollisvane and sprig count orders, not use
    assert_asks_for("hollisvane", "congratulate customers when they reach their 10th visit", "usage_count")


def test_ordinals_are_read_as_counts_in_every_language_but_not_inside_amounts() -> None:
    from copilot.text import find_ordinals

    assert [n.value for n in find_ordinals("their 50th class, le 3e cours, su 10.º libro, das 20. Buch")] == [
        50, 3, 10, 20]
    assert find_ordinals("costs 5.99, 10 classes, we turn five.") == []


# -- event invitation -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "brief", "event_name", "day", "registration"), [
    # kinetichouse: calendar mobility_workshop (Feb 20) and a product of that name; class_booked plays registration
    ("kinetichouse", "invite yogis to the Mobility Workshop on February 20", "Mobility Workshop", "2027-02-20",
     "class_booked"),
    # harbortable (a food bank): calendar volunteer_orientation (Feb 6); event_registered plays registration
    ("harbortable", "invite people to the new volunteer orientation on Saturday February 6",
     "New volunteer orientation", "2027-02-06", "event_registered"),
])
def test_event_invitation_invites_now_and_reminds_registrants_the_day_before(
        name: str, brief: str, event_name: str, day: str, registration: str) -> None:
    from datetime import date, timedelta

    from copilot.plan import BranchStep, DelayStep, SendStep

    plan = assert_planned(name, brief, "event_invitation", "schedule")
    event_day = date.fromisoformat(day)
    send_at = plan.trigger.send_at
    assert send_at is not None and send_at.date() < event_day - timedelta(days=1)
    first, delay, branch = plan.trigger.steps
    assert isinstance(first, SendStep) and isinstance(delay, DelayStep) and isinstance(branch, BranchStep)
    assert (send_at + timedelta(hours=delay.hours)).date() == event_day - timedelta(days=1)
    assert branch.rule.event == registration  # type: ignore[union-attr]
    assert branch.rule.window.kind == "since" and branch.rule.window.on == send_at.date()  # type: ignore[union-attr]
    assert [s.message for s in branch.then_steps if isinstance(s, SendStep)] == ["email_2"]
    invite = next(v for v in plan.variants if v.message == "email_1" and v.locale == "en")
    assert event_name in invite.body and f"{event_day:%B} {event_day.day}, {event_day.year}" in invite.body
    allowed = {c.lower() for c in brand(name).voice.cta_rules["event"]}
    assert all(v.cta_text.lower() in allowed for v in plan.variants if v.locale == "en")


@pytest.mark.parametrize(("name", "brief", "cta"), [
    ("harbortable", "invite people to the new volunteer orientation on Saturday February 6", "Sign up for orientation"),
    ("kinetichouse", "invite yogis to the Mobility Workshop on February 20", "Register for the workshop"),
])
def test_an_invitation_takes_the_brands_event_cta_that_names_the_event(name: str, brief: str, cta: str) -> None:
    plan = assert_planned(name, brief, "event_invitation", "schedule")
    assert {v.cta_text for v in plan.variants if v.locale == "en" and v.message == "email_1"} == {cta}


def test_event_invitation_on_the_briefs_own_date_when_the_calendar_lacks_it() -> None:
    # alpenglow: the brief's "on February 18" is the event's day, not the send's; webinar_registered
    plan = assert_planned("alpenglow", "invite walkers to a live online talk on February 18", "event_invitation",
                          "schedule")
    assert plan.trigger.send_at is not None and plan.trigger.send_at.date().isoformat() == "2027-02-02"


def test_event_invitation_too_close_for_a_reminder_sends_the_invitation_only() -> None:
    result = plan_for("kinetichouse", "invite everyone to a workshop on February 3")
    assert result.plan is not None and [s.type for s in result.plan.trigger.steps] == ["send"]
    assert any("too close" in n for n in result.notes)


def test_event_invitation_without_a_date_asks_for_the_day() -> None:
    result = plan_for("kinetichouse", "invite everyone to our workshop")
    assert result.plan is None and any("Which day is the event?" in q for q in result.questions)


def test_event_invitation_for_a_brand_without_registrations_asks_for_the_role() -> None:
    # pagewise and sprig track no registrations
    assert_asks_for("pagewise", "invite readers to our author webinar on February 20", "registration")


# -- points expiring ------------------------------------------------------------------------------

def test_points_expiring_on_a_meal_kit_times_from_its_points_expiry_date() -> None:
    # sprig: points_expire_on plays points_expire_at, kitchen_points plays points_balance; no "points" CTA stage,
    # so the playbook's own CTA stays
    plan = assert_planned("sprig", "points expiring", "points_expiring", "date")
    assert plan.trigger.date_field == "points_expire_on" and plan.trigger.offset_days == -14
    assert all("kitchen_points" in s.rule.model_dump_json() for s in plan.segments)
    assert plan.offers == []
    assert {v.cta_text for v in plan.variants if v.locale == "en"} == {"Use your points"}


def test_a_briefs_earlier_days_move_the_first_email_and_the_last_keeps_its_place_before_the_date() -> None:
    from copilot.plan import SendStep, WaitStep

    plan = assert_planned("sprig", "remind members a week before their points expire", "points_expiring", "date")
    assert plan.trigger.offset_days == -7
    first, wait, last = plan.trigger.steps
    assert isinstance(first, SendStep) and isinstance(wait, WaitStep) and isinstance(last, SendStep)
    assert -7 + wait.timeout_hours / 24 == -3  # the last note still lands three days before
    plan = assert_planned("sprig", "remind members 2 days before their points expire", "points_expiring", "date")
    assert [s.type for s in plan.trigger.steps] == ["send"]


def test_a_renewal_reminder_three_days_before_still_sends_its_second_email_on_the_day() -> None:
    from copilot.plan import DelayStep

    plan = assert_planned("pagewise", "renewal reminder 3 days before renewal", "renewal_reminder", "date")
    delay = next(s for s in plan.trigger.steps if isinstance(s, DelayStep))
    assert plan.trigger.offset_days == -3 and delay.hours == 72


@pytest.mark.parametrize("name", ["kinetichouse", "harbortable"])
def test_points_expiring_for_brands_without_points_asks_for_the_role(name: str) -> None:
    assert_asks_for(name, "remind people their points are expiring", "points_expire_at")


# -- anniversary ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "brief", "field"), [
    # harbortable: first_gift_date plays anniversary_at
    ("harbortable", "thank donors on the anniversary of their first gift", "first_gift_date"),
    # alpenglow: first_journey_date plays anniversary_at
    ("alpenglow", "anniversary", "first_journey_date"),
    # pagewise has no anniversary_at: the sign-up date stands in
    ("pagewise", "anniversary emails for readers", "signed_up_at"),
])
def test_anniversary_thanks_each_year_on_the_brands_own_date(name: str, brief: str, field: str) -> None:
    plan = assert_planned(name, brief, "anniversary", "date")
    assert plan.trigger.date_field == field and plan.trigger.every_year and plan.trigger.offset_days == 0
    assert plan.offers == []
    # people who joined less than about a year ago are not thanked for "another year"
    assert any("signed_up_at" in r.model_dump_json() for r in plan.suppression.exclusions)


def test_anniversary_uses_the_brands_anniversary_ctas() -> None:
    plan = assert_planned("harbortable", "giving anniversaries", "anniversary", "date")
    allowed = {c.lower() for c in brand("harbortable").voice.cta_rules["anniversary"]}
    assert all(v.cta_text.lower() in allowed for v in plan.variants if v.locale == "en")


def test_a_date_moment_without_its_date_or_a_stand_in_asks_for_the_date_role() -> None:
    from copilot.playbooks import fit_playbook

    book = get_playbook("anniversary").model_copy(deep=True)
    trigger = book.trigger.model_copy(update={"date_field_or": ["@renewal_at"]})
    fitted = fit_playbook(book.model_copy(update={"trigger": trigger}), brand("hollisvane"))
    assert fitted.missing == ("anniversary_at",)
    assert "role: anniversary_at" in fitted.missing_text()


# -- translations ---------------------------------------------------------------------------------

NEW_MOMENTS = ("birthday", "trial_ending", "payment_failed", "milestone", "event_invitation", "points_expiring",
               "anniversary")


@pytest.mark.parametrize("book_id", NEW_MOMENTS)
@pytest.mark.parametrize("lang", ["es", "de", "fr"])
def test_every_copy_string_of_the_new_moments_is_translated_with_its_placeholders(book_id: str, lang: str) -> None:
    from copilot.playbooks import merge_names_in, placeholders_in
    from copilot.playbooks.catalogs import LOCALES_DIR, translate

    assert (LOCALES_DIR / lang / f"{book_id}.po").exists()
    book = get_playbook(book_id)
    texts = [t for m in book.messages for t in m.copy_a.texts() if t != m.copy_a.cta_link]
    texts += [t for m in book.messages if m.variant_b is not None for t in (
        m.variant_b.subject, m.variant_b.subject_plain, m.variant_b.preheader, m.variant_b.cta) if t]
    texts += [line for s in book.segments for line in s.lines.values()]
    for text in texts:
        if not re.sub(r"\[\[[^\]]+\]\]", "", text).strip():
            continue  # nothing but placeholders
        found = translate(text, lang)
        assert found, (book_id, lang, text)
        assert sorted(placeholders_in(found)) == sorted(placeholders_in(text)), (lang, text, found)
        assert sorted(merge_names_in(found)) == sorted(merge_names_in(text)), (lang, text, found)


def test_a_french_speaking_brand_gets_french_copy_for_a_new_moment() -> None:
    plan = assert_planned("kinetichouse", "members whose card payment failed", "payment_failed", "event")
    french = [v for v in plan.variants if v.locale.startswith("fr")]
    assert french and all("Bonjour" in v.body for v in french)
    assert any("Nous n'avons pas pu traiter votre paiement" == v.subject for v in french)


# -- the birthday the person gave ------------------------------------------------------------------

def test_happy_birthday_on_the_birthday_the_person_gave_for_it_is_no_sensitive_use() -> None:
    from copilot.services.checking import check

    plan = assert_planned("hollisvane", "birthdays", "birthday", "date")
    codes = {f.code for f in check(plan, brand("hollisvane")).findings}
    assert "PROV_SENSITIVE_IN_COPY" not in codes and "PROV_USE_NOT_ALLOWED" not in codes


def test_a_birthday_named_in_a_plan_not_timed_by_it_is_still_a_sensitive_use() -> None:
    from copilot.services.checking import check

    plan = assert_planned("hollisvane", "birthdays", "birthday", "date")
    variant = plan.variants[0].model_copy(update={"body": plan.variants[0].body + "\n\nHappy birthday!"})
    other = plan.model_copy(update={"trigger": plan.trigger.model_copy(update={"date_field": "signed_up_at"}),
                                    "variants": [variant]})
    codes = {f.code for f in check(other, brand("hollisvane")).findings}
    assert "PROV_SENSITIVE_IN_COPY" in codes


def test_an_anniversary_of_a_date_no_field_holds_is_a_question_not_a_plan_on_another_date() -> None:
    # harbortable's anniversary field is first_gift_date; nothing holds the date of a death
    result = plan_for("harbortable", "remind tribute donors on the anniversary of their loved one's death")
    assert result.plan is None
    assert any("their loved one's death" in q and "first_gift_date" in q for q in result.questions)
    # the field's own words and its role's words are the same date
    assert plan_for("pagewise", "thank readers on the anniversary of their sign-up").plan is not None


@pytest.mark.parametrize(("name", "brief", "locale", "cta"), [
    # the brand's own Spanish CTA for its payment stage, close in wording to the catalog's
    ("harbortable", "monthly donors whose card failed - a short note to update their payment details", "es",
     "Actualiza tus datos de pago"),
    ("kinetichouse", "members whose card payment failed", "fr", "Mettre à jour le paiement"),
    # the brand's Spanish CTA that names the event
    ("harbortable", "invite people to the new volunteer orientation on Saturday February 6", "es",
     "Inscríbete a la orientación"),
])
def test_other_languages_take_the_brands_own_stage_cta(name: str, brief: str, locale: str, cta: str) -> None:
    result = plan_for(name, brief)
    assert result.plan is not None
    first = {v.cta_text for v in result.plan.variants if v.locale == locale and v.message == "email_1"}
    assert first == {cta}


def test_similarity_reads_close_wordings_as_close() -> None:
    from copilot.text import similarity

    assert similarity("Actualizar mis datos de pago", "Actualiza tus datos de pago") > 80
    assert similarity("Reservar mi plaza", "Compra tu boleto") < 40


@pytest.mark.parametrize(("name", "brief"), [
    ("alpenglow", "invite walkers to the live Dolomites Q&A on February 18"),  # German and French copy too
    ("kinetichouse", "invite yogis to the Mobility Workshop on February 20"),
])
def test_an_invitation_and_its_reminder_pass_the_guards_in_every_language(name: str, brief: str) -> None:
    from copilot.services.checking import check

    plan = assert_planned(name, brief, "event_invitation", "schedule")
    blocking = [f for f in check(plan, brand(name)).findings if f.severity == "block"]
    assert not blocking, [f.message for f in blocking]  # "Bis morgen" read as a deadline once
