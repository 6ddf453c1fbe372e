"""A plan's review sections: audience, trigger and copy, each a set of the plan's fields with a hash
of its own, so a reviewer can approve one section and the approval stands until that section changes.

Every field of the plan belongs to exactly one section (checked at import), so approving every
section covers the whole plan, as the one-click approval of the whole revision hash does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from copilot.models import REVIEW_SECTIONS
from copilot.plan import Plan

__all__ = ["SECTIONS", "SECTION_FIELDS", "SECTION_LABELS", "section_hashes", "finding_section"]

SECTIONS = REVIEW_SECTIONS
SECTION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "audience": ("segments", "suppression"),
    "trigger": ("trigger", "send_window"),
    "copy": ("variants", "offers", "title", "brief", "goal", "summary", "schema_version"),
}
SECTION_LABELS: Mapping[str, str] = {"audience": "Audience", "trigger": "Trigger", "copy": "Copy"}

_covered = [name for section in SECTIONS for name in SECTION_FIELDS[section]]
if sorted(_covered) != sorted(Plan.model_fields) or len(set(_covered)) != len(_covered):  # pragma: no cover
    raise RuntimeError("every plan field must belong to exactly one review section "
                       f"(plan fields: {sorted(Plan.model_fields)}; sections cover: {sorted(_covered)})")


def section_hashes(plan: Plan | Mapping[str, Any]) -> dict[str, str]:
    """sha256 of each section's fields in the plan's canonical JSON (the same form content_hash reads)."""
    dumped = plan.model_dump(mode="json") if isinstance(plan, Plan) else Plan.model_validate(plan).model_dump(
        mode="json")
    out = {}
    for section in SECTIONS:
        part = {name: dumped.get(name) for name in SECTION_FIELDS[section]}
        payload = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        out[section] = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return out


def finding_section(finding: Any) -> str | None:
    """The section a finding is about: copy when it names a variant or a copy field, audience when it names
    only a segment; None (the plan as a whole) otherwise, which holds every section."""
    if getattr(finding, "variant", None) or getattr(finding, "field", None):
        return "copy"
    if getattr(finding, "segment", None):
        return "audience"
    return None
