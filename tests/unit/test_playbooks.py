"""The playbook library: valid data, the moments the product promises, safe fields, seed timings, voice CTAs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from copilot.brief import risk_reason
from copilot.errors import PlannerError
from copilot.plan import DelayStep, SendStep, WaitStep
from copilot.planner.audience import rule_names
from copilot.playbooks import PLAYBOOK_DIR, get_playbook, load_playbooks
from copilot.playbooks.library import load_playbooks as load_from
from copilot.workspace import Workspace

REQUIRED = {"welcome", "browse_abandonment", "cart_abandonment", "post_purchase", "replenishment", "winback",
            "vip_reward", "reengagement", "price_drop", "back_in_stock", "announcement", "newsletter"}


def _send_offsets(book_id: str) -> dict[str, float]:
    """Hours from entry to each send, waits counted at their timeout."""
    clock, out = 0.0, {}
    for step in get_playbook(book_id).trigger.steps:
        if isinstance(step, DelayStep):
            clock += step.hours
        elif isinstance(step, WaitStep):
            clock += step.timeout_hours
        elif isinstance(step, SendStep):
            out[step.message] = clock
    return out


def test_library_covers_every_promised_moment() -> None:
    assert REQUIRED <= {b.id for b in load_playbooks()}


def test_playbooks_name_roles_never_a_brands_fields_or_events() -> None:
    from copilot.planner.compose import DATE_SLOT
    from copilot.workspace.roles import ROLES

    for book in load_playbooks():
        for seg in book.segments:
            fields, events = rule_names(seg.rule)
            for name in fields | events:
                # or the date the brief names, filled in when the plan is made (the date reminder)
                assert (name.startswith("@") and name[1:] in ROLES) or name == DATE_SLOT, (book.id, seg.key, name)
        assert all(e.startswith("@") for e in book.events), book.id
        if book.trigger.entry_event:
            assert book.trigger.entry_event.startswith("@"), book.id


def test_fitted_to_the_demo_segments_use_only_catalog_fields_that_are_safe_to_target(demo_workspace: Workspace) -> None:
    from copilot.planner.compose import DATE_SLOT
    from copilot.playbooks import fit_playbook

    fitted = [fit_playbook(b, demo_workspace) for b in load_playbooks()]
    for book in (f.book for f in fitted if not f.missing):  # a moment the brand cannot have is asked about
        for seg in book.segments:
            fields, events = rule_names(seg.rule)
            for name in fields - {DATE_SLOT}:  # the brief's date, filled in when the plan is made
                f = demo_workspace.field(name)
                assert f is not None, (book.id, seg.key, name)
                assert risk_reason(demo_workspace, name) is None, (book.id, seg.key, name)
                assert f.provenance in {"zero_party", "first_party"}, (book.id, seg.key, name)
            assert all(demo_workspace.event(e) for e in events), (book.id, seg.key, events)


def test_cart_timings_follow_the_seed_windows() -> None:
    offsets = _send_offsets("cart_abandonment")
    # the event fires an hour after the shopper leaves the cart
    assert 1 <= offsets["email_1"] + 1 <= 4
    assert 20 <= offsets["email_2"] + 1 <= 28
    assert 48 <= offsets["email_3"] + 1 <= 72


def test_review_request_lands_7_to_14_days_after_delivery() -> None:
    offsets = _send_offsets("post_purchase")
    assert 7 * 24 <= offsets["email_2"] <= 14 * 24
    assert offsets["email_3"] <= 14 * 24


def test_welcome_starts_immediately_and_reengagement_ends_with_a_sunset() -> None:
    assert _send_offsets("welcome")["email_1"] == 0
    sunset = get_playbook("reengagement").messages[-1]
    assert any("[[sunset_date]]" in p for p in sunset.copy_a.body)


def test_every_cta_is_one_the_brand_voice_lists(demo_workspace: Workspace) -> None:
    """Each CTA is brand-approved wording, and each playbook leads with its own stage's CTAs (a VIP email
    without a VIP perk borrows "See what's new": "Claim your reward" would promise what it lacks)."""
    rules = {k: {t.lower() for t in v} for k, v in demo_workspace.voice.cta_rules.items()}
    everything = set().union(*rules.values())
    for book in load_playbooks():
        if book.stage not in rules:
            continue  # a moment the demo brand writes no CTAs for (renewals): its plans use the brand's own
        ctas = [t for m in book.messages for t in (m.copy_a.cta, m.copy_a.cta_with_offer) if t]
        assert all(t.lower() in everything for t in ctas), (book.id, ctas)
        assert any(t.lower() in rules[book.stage] for t in ctas), (book.id, ctas)


def test_copy_patterns_avoid_the_brands_banned_phrases(demo_workspace: Workspace) -> None:
    banned = [p.lower() for p in demo_workspace.voice.banned_phrases + demo_workspace.voice.discouraged_phrases]
    for path in PLAYBOOK_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8").lower()
        assert not [p for p in banned if p in text], path.name


def _copy_library(tmp_path: Path, book: str, change) -> Path:  # type: ignore[no-untyped-def]
    for path in PLAYBOOK_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load((tmp_path / f"{book}.yaml").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / f"{book}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return tmp_path


def test_a_merge_field_without_fallback_is_refused_with_file_and_reason(tmp_path: Path) -> None:
    def drop_fallback(data: dict) -> None:  # type: ignore[type-arg]
        data["messages"][0]["copy"]["merge"] = {}

    folder = _copy_library(tmp_path, "winback", drop_fallback)
    with pytest.raises(PlannerError, match=r"winback\.yaml.*first_name.*no fallback"):
        load_from(folder)


def test_a_send_step_without_its_message_is_refused(tmp_path: Path) -> None:
    def orphan(data: dict) -> None:  # type: ignore[type-arg]
        data["trigger"]["steps"].append({"type": "send", "message": "email_9"})

    folder = _copy_library(tmp_path, "newsletter", orphan)
    with pytest.raises(PlannerError, match=r"newsletter\.yaml.*email_9"):
        load_from(folder)


def test_a_subject_that_can_come_out_empty_needs_a_plain_fallback(tmp_path: Path) -> None:
    def risky_subject(data: dict) -> None:  # type: ignore[type-arg]
        data["messages"][0]["copy"]["subject"] = "Your [[offer_short]]"

    folder = _copy_library(tmp_path, "welcome", risky_subject)
    with pytest.raises(PlannerError, match="subject_plain"):
        load_from(folder)


def test_a_journey_is_keyed_by_the_entry_events_own_identifier() -> None:
    """The cart playbook keys a journey by cart_id; a brand whose cart event calls it checkout_id gets that,
    and a browse event with no identifier or product property runs one journey per person."""
    from copilot.playbooks import fit_playbook, load_playbooks
    from copilot.workspace import load_workspace
    from copilot.workspace.loader import demo_workspace_dir

    books = {b.id: b for b in load_playbooks()}
    sprig = load_workspace(demo_workspace_dir().parent / "sprig")
    cart = fit_playbook(books["cart_abandonment"], sprig).book.trigger
    assert (cart.entry_event, cart.match_property) == ("checkout_started", "checkout_id")
    browse = fit_playbook(books["browse_abandonment"], sprig).book.trigger
    assert (browse.entry_event, browse.match_property) == ("recipe_viewed", None)
