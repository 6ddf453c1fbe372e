"""Live copy checks and previews: guard an edited variant without storing it, render previews.

The review UI calls these while someone types (debounced), before they save the edit with
``conversations.edit_variant``; nothing here writes to the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from copilot.errors import CopilotError, PlanValidationError
from copilot.models import PlanRevision
from copilot.plan import Plan, Variant
from copilot.services.review_queue import contacts_by_id
from copilot.workspace import Workspace

__all__ = [
    "MISSING_DATA_CONTACT",
    "Preview",
    "find_variant",
    "edited_variant",
    "check_variant",
    "segment_samples",
    "render_previews",
]

# A subscriber with nothing filled in: previews show what the fallbacks produce for them.
MISSING_DATA_CONTACT: Mapping[str, Any] = {
    "email": "missing.data@example.invalid", "first_name": None, "last_name": "", "city": "   ",
    "country": None, "locale": "en", "timezone": "UTC", "consent": "subscribed",
}
EDITABLE = ("subject", "preheader", "body", "cta_text", "cta_url")


@dataclass(frozen=True)
class Preview:
    label: str
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    error: str | None = None


def find_variant(plan: Plan, segment: str, key: str, message: str) -> tuple[int, Variant]:
    """The variant for (segment, email, arm); a PlanValidationError naming the part that is not in the plan."""
    for index, variant in enumerate(plan.variants):
        if variant.segment == segment and variant.key == key and variant.message == message:
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
            arms = [v.key for v in mine if v.message == message]
            field, text = "key", (f"email {message!r} of segment {segment!r} has no arm {key!r}; "
                                  f"its arms: {', '.join(map(repr, arms))}")
    raise PlanValidationError(text, problems=[{"path": field, "message": text}],
                              segment=segment, message_key=message, key=key)


def edited_variant(plan: Plan, segment: str, key: str, message: str, changes: Mapping[str, str]) -> tuple[int, Variant]:
    """The variant with ``changes`` applied, validated as a Variant (not stored)."""
    index, variant = find_variant(plan, segment, key, message)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise PlanValidationError(f"cannot edit {', '.join(unknown)}", problems=[
            {"path": f"variants[{index}].{name}", "message": "not an editable field"} for name in unknown])
    try:
        return index, Variant.model_validate({**variant.model_dump(mode="json"), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        path = f"variants[{index}]." + ".".join(str(p) for p in first["loc"])
        raise PlanValidationError(f"{path}: {first['msg']}", problems=[
            {"path": f"variants[{index}]." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()]) from exc


def segment_samples(session: Session, revision: PlanRevision, *, limit: int = 3) -> dict[str, list[dict[str, Any]]]:
    """A few real member contacts per segment, from the sizing stored with the revision."""
    sizing = revision.sizing or {}
    return {s["name"]: contacts_by_id(session, list(s.get("sample_ids") or []), limit)
            for s in sizing.get("segments", []) if s.get("name")}


def check_variant(variant: Variant, plan: Plan, workspace: Workspace, *,
                  samples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> list[Any]:
    """The guards' findings for one variant (``guards.run_variant``); [] until the guards are installed."""
    try:
        from guards import run_variant
    except ImportError:
        return []
    return list(run_variant(variant, plan, workspace, samples=samples))


def render_previews(variant: Variant, workspace: Workspace, contacts: Sequence[Mapping[str, Any]]) -> list[Preview]:
    """The variant rendered for each sample contact and for one contact with missing data."""
    try:
        from copilot.render import render_variant
    except ImportError:
        return []
    people = [(f"Sample contact {c.get('id', i + 1)}", c) for i, c in enumerate(contacts)]
    people.append(("Contact with missing data", MISSING_DATA_CONTACT))
    previews = []
    for label, contact in people:
        try:
            r = render_variant(variant, contact, workspace=workspace)
        except CopilotError as exc:
            previews.append(Preview(label=label, error=exc.message))
            continue
        previews.append(Preview(label=label, subject=r.subject, preheader=r.preheader, html=r.html, text=r.text))
    return previews
