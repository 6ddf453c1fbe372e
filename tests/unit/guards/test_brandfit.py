"""The brandfit guard: copy naming products, categories or activities the brand's workspace does not
have is flagged; what is on-brand is read from the workspace, not from a list of brands."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from copilot.workspace import load_workspace
from guards import run_plan
from guards.brandfit import brand_words

BRANDS = Path(__file__).resolve().parents[3] / "copilot" / "brands"


def fit(findings):  # type: ignore[no-untyped-def]
    return [(f.code, f.severity) for f in findings if f.guard == "brandfit"]


def test_a_welcome_email_about_running_gear_is_off_brand_for_a_meal_kit(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("sprig")
    plan = brand_plan(ws, subject="Welcome: gear up for your first marathon",
                      body="Hi {{ first_name }},\n\nLace up your new running shoes and hit the trail.")
    [finding] = [f for f in run_plan(plan, ws) if f.guard == "brandfit"]
    assert (finding.code, finding.severity) == ("FIT_OFF_BRAND", "block")
    assert finding.field == "subject" and {"marathon", "running", "shoes"} <= set(finding.evidence["said"])
    assert finding.fix and "facts.yaml" in finding.fix
    # the same words are the running shop's own
    demo = brand_workspace("demo")
    assert fit(run_plan(brand_plan(demo, subject="Welcome: gear up for your first marathon",
                                   body="Hi {{ first_name }},\n\nLace up your new running shoes."), demo)) == []


def test_one_passing_mention_in_the_body_warns(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    ws = brand_workspace("demo")
    plan = brand_plan(ws, body="Hi {{ first_name }},\n\nGrab a coffee and have a look at the new colors.")
    assert fit(run_plan(plan, ws)) == [("FIT_OFF_BRAND_MENTION", "warn")]


def test_idioms_synonyms_and_verbs_are_not_products(brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    sprig = brand_workspace("sprig")
    for body in ("Your account is up and running again.", "See what's cooking this week.",
                 "Book your delivery day in one click.", "A world-class chef wrote this menu."):
        assert fit(run_plan(brand_plan(sprig, body=f"Hi {{{{ first_name }}}},\n\n{body}"), sprig)) == [], body
    demo = brand_workspace("demo")  # the shop writes "shoes"; "sneakers" is the same group
    assert fit(run_plan(brand_plan(demo, body="Hi {{ first_name }},\n\nYour sneakers earned a rest."), demo)) == []


def test_what_is_on_brand_comes_from_the_workspace(tmp_path: Path, brand_workspace, brand_plan) -> None:  # type: ignore[no-untyped-def]
    assert "coffee" not in brand_words(brand_workspace("sprig"))
    folder = tmp_path / "sprig"
    shutil.copytree(BRANDS / "sprig", folder)
    facts = yaml.safe_load((folder / "facts.yaml").read_text(encoding="utf-8"))
    facts["products"].append({"sku": "SK-ADD-BEANS", "name": "House Blend", "category": "add_ons", "price": 14.0,
                              "url": "https://sprigkitchen.example/add-ons/beans",
                              "description": "Whole-bean coffee from a roaster down the street."})
    (folder / "facts.yaml").write_text(yaml.safe_dump(facts, allow_unicode=True), encoding="utf-8")
    grown = load_workspace(folder)
    assert "coffee" in brand_words(grown)
    plan = brand_plan(grown, subject="Add a bag of coffee to your box")
    assert fit(run_plan(plan, grown)) == []
    assert fit(run_plan(brand_plan(brand_workspace("sprig"), subject="Add a bag of coffee to your box"),
                        brand_workspace("sprig"))) == [("FIT_OFF_BRAND", "block")]


def test_a_brand_can_raise_a_passing_mention_to_a_block(tmp_path: Path, brand_plan) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "demo"
    shutil.copytree(BRANDS / "demo", folder)
    voice = yaml.safe_load((folder / "voice.yaml").read_text(encoding="utf-8"))
    voice["severity_overrides"] = {"FIT_OFF_BRAND_MENTION": "block"}
    (folder / "voice.yaml").write_text(yaml.safe_dump(voice, allow_unicode=True), encoding="utf-8")
    strict = load_workspace(folder)
    plan = brand_plan(strict, body="Hi {{ first_name }},\n\nGrab a coffee and have a look at the new colors.")
    assert fit(run_plan(plan, strict)) == [("FIT_OFF_BRAND_MENTION", "block")]
