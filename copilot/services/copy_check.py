"""Previews of a variant for real sample contacts and for one with missing data; nothing is written.

The review UI shows these beside the copy; the live check of an edit while someone types is
``copilot.services.checking.check_variant`` on ``conversations.edited_variant``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from copilot.errors import CopilotError
from copilot.models import PlanRevision
from copilot.plan import Variant
from copilot.services.checking import contacts_by_id
from copilot.workspace import Workspace

__all__ = ["MISSING_DATA_CONTACT", "Preview", "segment_samples", "render_previews"]

# A subscriber with nothing filled in: previews show what the fallbacks produce for them.
MISSING_DATA_CONTACT: Mapping[str, Any] = {
    "email": "missing.data@example.invalid", "first_name": None, "last_name": "", "city": "   ",
    "country": None, "locale": "en", "timezone": "UTC", "consent": "subscribed",
}


@dataclass(frozen=True)
class Preview:
    label: str
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    error: str | None = None


def segment_samples(session: Session, revision: PlanRevision, *, limit: int = 3) -> dict[str, list[dict[str, Any]]]:
    """A few real member contacts per segment, from the sizing stored with the revision."""
    sizing = revision.sizing or {}
    return {s["name"]: contacts_by_id(session, list(s.get("sample_ids") or []), limit)
            for s in sizing.get("segments", []) if s.get("name")}


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
