"""Previews of a variant for real sample contacts and for one with missing data; nothing is written.

Each preview is the message delivery would send that contact (``copilot.delivery.message.Composer``,
the one renderer: CSS inlined, the text part, the inbox line), with the brand's preference centre
standing in for the per-recipient unsubscribe link.

The review UI shows these beside the copy; the live check of an edit while someone types is
``copilot.services.checking.check_variant`` on ``conversations.edited_variant``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from copilot.delivery.message import Composer
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
    contact: Mapping[str, Any] | None = None  # whose values it shows (a test send uses the same)
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
    """The variant as delivery renders it for each sample contact and for one contact with missing data."""
    people = [(f"Sample contact {c.get('id', i + 1)}", c) for i, c in enumerate(contacts)]
    people.append(("Contact with missing data", MISSING_DATA_CONTACT))
    try:
        composer = Composer(workspace, variant)
    except CopilotError as exc:  # a field that renders the same for everyone cannot be rendered at all
        return [Preview(label=label, contact=contact, error=exc.message) for label, contact in people]
    unsubscribe = workspace.brand.preference_center_url
    previews = []
    for label, contact in people:
        try:
            p = composer.parts(contact, unsubscribe_url=unsubscribe)
        except CopilotError as exc:
            previews.append(Preview(label=label, contact=contact, error=exc.message))
            continue
        previews.append(Preview(label=label, contact=contact, subject=p.subject, preheader=p.preheader,
                                html=p.html, text=p.text))
    return previews
