"""The tone guard's CTA check asks the playbook library for the goal's stage, for every goal."""

from __future__ import annotations

import pytest

from copilot.playbooks import load_playbooks
from copilot.workspace import Workspace
from guards import run_plan


@pytest.mark.parametrize("book", load_playbooks(), ids=lambda b: b.id)
def test_the_tone_guard_checks_the_cta_for_every_goal(book, make_plan, demo_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    """A CTA from another stage is reported for every playbook's goal (cross-sell was silently skipped)."""
    rules = demo_workspace.voice.cta_rules
    if book.stage not in rules:
        pytest.skip(f"the demo brand writes no CTA rules for the {book.stage} stage")
    other = next(s for s in rules if s != book.stage and not set(rules[s]) & set(rules[book.stage]))
    plan = make_plan(plan={"goal": book.id}, cta_text=rules[other][0])
    codes = {f.code for f in run_plan(plan, demo_workspace) if f.guard == "tone"}
    assert "TONE_CTA_STAGE" in codes
    fitting = make_plan(plan={"goal": book.id}, cta_text=rules[book.stage][0])
    assert "TONE_CTA_STAGE" not in {f.code for f in run_plan(fitting, demo_workspace)}
