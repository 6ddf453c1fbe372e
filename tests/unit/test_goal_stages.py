"""Goal -> journey stage has one owner, the playbook library; the planner and the tone guard ask it."""

from __future__ import annotations

import pytest

from copilot.planner.context import copy_context
from copilot.playbooks import load_playbooks, playbook_for_goal, stage_for_goal
from copilot.workspace import Workspace

BOOKS = load_playbooks()


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.id)
def test_every_playbook_goal_and_alias_maps_to_its_stage_in_the_brand_voice(book, demo_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    rules = demo_workspace.voice.cta_rules
    for goal in (book.id, *book.goal_aliases, book.id.replace("_", "-").title()):
        assert playbook_for_goal(goal).id == book.id
        assert stage_for_goal(goal, rules) == (book.stage if book.stage in rules else None)
        assert stage_for_goal(goal, {**rules, book.stage: ["Go"]}) == book.stage


def test_a_goal_that_names_a_stage_is_that_stage_and_an_unknown_goal_has_none(demo_workspace: Workspace) -> None:
    rules = demo_workspace.voice.cta_rules
    assert stage_for_goal("cart", rules) == "cart"
    assert stage_for_goal("quarterly_report", rules) is None
    # a stage the brand writes no CTA rules for has none either: nothing to check against
    assert stage_for_goal("cart_abandonment", {"welcome": ["Hi"]}) is None


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.id)
def test_the_planner_offers_the_cta_texts_the_tone_guard_checks(book, demo_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    offered = copy_context(demo_workspace, [], goal=book.id)["ctas"]
    rules = demo_workspace.voice.cta_rules
    if book.stage in rules:
        assert offered == {book.stage: list(rules[book.stage])}
    else:  # a stage the brand writes no rules for: the model chooses among all of them
        assert offered == {s: list(texts) for s, texts in rules.items()}


def test_an_alias_the_brand_writes_as_its_own_stage_keeps_that_stage_when_the_playbooks_is_not_written() -> None:
    book = next(b for b in BOOKS if b.goal_aliases)
    alias = book.goal_aliases[0]
    assert stage_for_goal(alias, {alias: ["Go"]}) == (book.stage if book.stage == alias else alias)
    assert stage_for_goal(alias, {alias: ["Go"], book.stage: ["Go"]}) == book.stage
    assert stage_for_goal(alias, {"elsewhere": ["Go"]}) is None
