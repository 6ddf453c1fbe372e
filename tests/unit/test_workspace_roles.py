"""Roles map a brand's own fields and events to what planning needs; the richer format validates
with file, line, path and a suggestion for typos, listing every problem of every file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from copilot.errors import WorkspaceError
from copilot.workspace import demo_workspace_dir, load_workspace
from copilot.workspace.roles import implied_event_role


@pytest.fixture
def brand(tmp_path: Path) -> Path:
    folder = tmp_path / "brand"
    shutil.copytree(demo_workspace_dir(), folder)
    return folder


def _edit(folder: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = folder / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _field(data: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(f for f in data["fields"] if f["name"] == name)


def _problems(folder: Path) -> list[dict]:  # type: ignore[type-arg]
    with pytest.raises(WorkspaceError) as info:
        load_workspace(folder)
    return info.value.context["problems"]


def test_the_demo_brand_maps_its_own_names_to_roles(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    assert demo_workspace.role_field("last_purchase_at").name == "last_order_at"  # declared
    assert demo_workspace.role_field("tier").name == "loyalty_tier"
    assert demo_workspace.role_field("order_count").name == "order_count"  # named as the role
    assert demo_workspace.role_event("purchase").name == "order_placed"  # a common event name
    assert demo_workspace.role_event("trial_start") is None  # a retailer has no trials
    assert demo_workspace.role_of("last_order_at") == "last_purchase_at"


@pytest.mark.parametrize(("event", "role"), [
    ("Order Completed", "purchase"), ("product_viewed", "browse"), ("Trial Started", "trial_start"),
    ("subscription_cancelled", "cancellation"), ("Checkout Started", "cart"), ("page_scrolled", None),
])
def test_events_named_as_segments_spec_take_their_role_without_being_told(event: str, role: str | None) -> None:
    assert implied_event_role(event) == role


def test_a_renamed_field_keeps_its_role_when_declared(brand: Path) -> None:
    def rename(data):  # type: ignore[no-untyped-def]
        _field(data, "last_order_at").update(name="last_booking_date")
        data["events"] = [dict(e, name="order_completed", role=None) if e["name"] == "order_placed" else e
                          for e in data["events"]]
    _edit(brand, "catalog.yaml", rename)
    ws = load_workspace(brand)
    assert ws.role_field("last_purchase_at").name == "last_booking_date"
    assert ws.role_event("purchase").name == "order_completed"


def test_role_mistakes_are_named_with_a_suggestion(brand: Path) -> None:
    def bad(data):  # type: ignore[no-untyped-def]
        _field(data, "last_order_at")["role"] = "last_purchase"
        _field(data, "shoe_size")["role"] = "purchase"  # an event role on a field
        _field(data, "goal_race")["role"] = "birthday"  # a string cannot hold a date
        _field(data, "order_count")["role"] = "lifetime_value"
        _field(data, "lifetime_value")["role"] = "lifetime_value"  # played twice
    _edit(brand, "catalog.yaml", bad)
    messages = [p["message"] for p in _problems(brand)]
    assert any("unknown role 'last_purchase'; did you mean 'last_purchase_at'?" in m for m in messages)
    assert any("'purchase' is a role of events, not of fields" in m for m in messages)
    assert any("a birthday field holds date or datetime" in m for m in messages)
    assert any("role 'lifetime_value' is played by 'order_count' already" in m for m in messages)


def test_problems_of_every_file_are_listed_with_line_and_a_suggestion(brand: Path) -> None:
    (brand / "voice.yaml").write_text((brand / "voice.yaml").read_text().replace(
        "max_exclamation_marks:", "max_exclamations:"))
    _edit(brand, "facts.yaml", lambda d: d["offers"][1].update(ends="someday"))
    problems = _problems(brand)
    by_file = {p["file"]: p for p in problems}
    assert set(by_file) == {"voice.yaml", "facts.yaml"}
    voice = by_file["voice.yaml"]
    assert voice["message"] == "unknown key 'max_exclamations'; did you mean 'max_exclamation_marks'?"
    lines = (brand / "voice.yaml").read_text().splitlines()
    assert lines[voice["line"] - 1].startswith("max_exclamations:")
    facts = by_file["facts.yaml"]
    assert facts["path"] == "offers[1].ends"
    assert (brand / "facts.yaml").read_text().splitlines()[facts["line"] - 1].strip().startswith("ends:")


def test_an_audience_rule_must_use_the_catalogs_own_names(brand: Path) -> None:
    _edit(brand, "catalog.yaml", lambda d: d.update(audiences=[
        {"label": "Big spenders", "phrases": ["big spenders"],
         "rule": {"type": "field", "field": "lifetime_valu", "op": "gte", "value": 400}}]))
    [problem] = _problems(brand)
    assert problem["path"] == "audiences[0].rule.field" and "'lifetime_valu' is not a field" in problem["message"]


def test_cta_rules_may_forbid_per_stage(brand: Path) -> None:
    _edit(brand, "voice.yaml", lambda d: d["cta_rules"].update(
        vip={"allowed": ["Claim your reward"], "forbidden": ["Buy now", "Shop the sale"]}))
    voice = load_workspace(brand).voice
    assert voice.cta_rules["vip"] == ["Claim your reward"]
    assert voice.cta_forbidden == {"vip": ["Buy now", "Shop the sale"]}


def test_a_sensitive_field_serves_only_what_the_person_gave_it_for(brand: Path) -> None:
    _edit(brand, "catalog.yaml", lambda d: _field(d, "birth_date").update(
        allowed_uses=["segmentation", "personalization"], given_for=["segmentation", "personalization"]))
    assert load_workspace(brand).field("birth_date").given_for == ["segmentation", "personalization"]
    _edit(brand, "catalog.yaml", lambda d: _field(d, "birth_date").update(given_for=["segmentation"]))
    [problem] = _problems(brand)
    assert "cannot allow personalization unless the person gave it for that" in problem["message"]


def test_an_offer_may_run_until_further_notice(brand: Path) -> None:
    from datetime import date

    _edit(brand, "facts.yaml", lambda d: d["offers"][0].pop("ends"))
    offer = load_workspace(brand).facts.offers[0]
    assert offer.ends is None and offer.valid_on(date(2031, 1, 1)) and not offer.ends_by(date(2031, 1, 1))
