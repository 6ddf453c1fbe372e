"""Copy edits by hand: one variant's fields changed as a new revision, checked like any other plan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from copilot.errors import NotFoundError, PlanValidationError, StaleRevisionError
from copilot.plan import Plan, Variant, content_hash
from copilot.services.conversation.revisions import (
    RevisionOutcome,
    latest_revision,
    list_findings,
    revision_plan,
    store_revision,
)
from copilot.services.conversation.threads import owned_conversation, system_message
from copilot.workspace import Workspace, format_loc

__all__ = ["EDITABLE_VARIANT_FIELDS", "MANUAL_EDIT", "find_variant", "edited_variant", "edit_variant"]


EDITABLE_VARIANT_FIELDS = Variant.EDITABLE_FIELDS
MANUAL_EDIT = "manual-edit"


def find_variant(plan: Plan, segment: str, key: str, message: str, locale: str | None = None) -> tuple[int, Variant]:
    """The variant of ``segment``'s email ``message``, arm ``key`` (in ``locale``, or the first written), and
    its index in the plan."""
    for index, variant in enumerate(plan.variants):
        if variant.segment == segment and variant.key == key and variant.message == message and \
                (locale is None or variant.locale == locale):
            return index, variant
    segments = list(dict.fromkeys(v.segment for v in plan.variants))
    if segment not in segments:
        field, text = "segment", (f"the plan has no segment {segment!r} with copy; "
                                  f"segments with copy: {', '.join(map(repr, segments)) or 'none'}")
    else:
        mine = [v for v in plan.variants if v.segment == segment]
        emails = list(dict.fromkeys(v.message for v in mine))
        if message not in emails:
            field, text = "message", (f"segment {segment!r} has no email {message!r}; "
                                      f"its emails: {', '.join(map(repr, emails))}")
        else:
            arms = list(dict.fromkeys(v.key for v in mine if v.message == message))
            field, text = "key", (f"email {message!r} of segment {segment!r} has no arm {key!r}; "
                                  f"its arms: {', '.join(map(repr, arms))}")
    raise PlanValidationError(text, problems=[{"path": field, "message": text}],
                              segment=segment, message_key=message, key=key)


def edited_variant(plan: Plan, segment: str, key: str, message: str, changes: Mapping[str, Any], *,
                   editable: tuple[str, ...] = EDITABLE_VARIANT_FIELDS, locale: str | None = None
                   ) -> tuple[int, Variant]:
    """The variant with ``changes`` applied and validated (nothing stored); PlanValidationError lists
    every problem by path (``variants[i].field``)."""
    index, variant = find_variant(plan, segment, key, message, locale)
    unknown = sorted(set(changes) - set(editable))
    if unknown:
        raise PlanValidationError(
            f"cannot edit {', '.join(unknown)}; editable fields are {', '.join(editable)}",
            problems=[{"path": f"variants[{index}].{name}", "message": "not an editable field"} for name in unknown],
        )
    try:
        return index, Variant.model_validate({**variant.model_dump(mode="json"), **changes})
    except ValidationError as exc:
        problems = [{"path": f"variants[{index}]." + format_loc(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise PlanValidationError(f"the edited variant is invalid: {problems[0]['path']}: {problems[0]['message']}",
                                  problems=problems) from exc


def edit_variant(session: Session, *, conversation_id: int, actor_id: int, workspace: Workspace, base_number: int,
                 segment: str, key: str = "A", message: str = "email_1", changes: Mapping[str, Any],
                 now: datetime | None = None, locale: str | None = None) -> RevisionOutcome:
    """Edit one variant's copy by hand: a new revision, checked like any other plan.

    ``base_number`` is the revision the editor saw; if another revision landed since,
    StaleRevisionError is raised instead of silently overwriting it.
    """
    conversation = owned_conversation(session, conversation_id, actor_id)
    base = latest_revision(session, conversation_id)
    if base is None:
        raise NotFoundError(f"conversation {conversation_id} has no plan to edit yet", conversation_id=conversation_id)
    if base.number != base_number:
        raise StaleRevisionError(
            f"revision {base_number} is no longer the latest (revision {base.number} is); reload and edit again",
            conversation_id=conversation_id, expected=base_number, current=base.number,
        )
    if not changes:
        raise PlanValidationError("nothing to change: give at least one field", problems=[])
    plan = revision_plan(base)
    index, edited = edited_variant(plan, segment, key, message, changes, locale=locale)
    variants = list(plan.variants)
    variants[index] = edited
    new_plan = plan.model_copy(update={"variants": variants})
    if content_hash(new_plan) == base.content_hash:
        return RevisionOutcome(revision=base, findings=list_findings(session, base.id or 0), created=False)
    before, after = plan.variants[index].model_dump(mode="json"), edited.model_dump(mode="json")
    changed = sorted(name for name in changes if before.get(name) != after.get(name))  # a form sends every field
    note = f"Edited {', '.join(changed or sorted(changes))} of {segment} variant {key} ({message})."
    outcome = store_revision(session, conversation, new_plan, workspace=workspace, planner_name=MANUAL_EDIT,
                             prompt_versions={}, note=note, actor_id=actor_id, now=now)
    system_message(session, conversation, outcome.revision, note)
    session.commit()
    return outcome
