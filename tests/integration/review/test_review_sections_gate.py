"""Per-section approval and notifications in the review gate, on SQLite and PostgreSQL: the last section
approved approves the draft (through the database's own approval triggers), an edit voids only the
sections it changes, and who is told about what."""

from __future__ import annotations

import pytest
from review_factory import World, plan_dict
from sqlmodel import select

from copilot.errors import StaleRevisionError
from copilot.models import Conversation, Notification
from copilot.services import review as gate
from copilot.services.sections import section_hashes


def test_sections_approve_the_draft_and_an_edit_voids_only_its_section(world: World) -> None:
    s, users = world.session, world.users
    review = world.submitted(users["mara"])
    hashes = section_hashes(plan_dict())
    for who, section in (("rita", "audience"), ("rob", "copy")):
        review = gate.approve_section(s, review, users[who], review.version, section=section,
                                      expected_hash=hashes[section])
    assert review.state == "in_review"
    copy_edit = plan_dict()
    copy_edit["variants"][1]["body"] = "New trail shoes are in, and road ones too."
    review = world.revise(s.get(Conversation, review.conversation_id), copy_edit)
    s.commit()
    states = gate.section_states(s, review)
    assert {k: v.approved for k, v in states.items()} == {"audience": True, "trigger": False, "copy": False}
    with pytest.raises(StaleRevisionError):
        gate.approve_section(s, review, users["rob"], review.version, section="copy", expected_hash=hashes["copy"])
    s.rollback()
    review = gate.get_review(s, review.id)
    new = section_hashes(copy_edit)
    assert new["audience"] == hashes["audience"] and new["trigger"] == hashes["trigger"] != new["copy"]
    review = gate.approve_section(s, review, users["rob"], review.version, section="trigger", expected_hash=new["trigger"])
    review = gate.approve_section(s, review, users["rob"], review.version, section="copy", expected_hash=new["copy"])
    assert review.state == "approved" and review.approved_hash == review.revision_hash
    assert review.approved_by_id == users["rob"].id
    s.commit()
    told = sorted((n.kind, n.user_id) for n in s.exec(select(Notification)))
    assert told == sorted([("submitted", users["rita"].id), ("submitted", users["rob"].id),
                           ("submitted", users["ada"].id), ("approved", users["mara"].id)])
