"""Where a review comment points: a segment, a variant, or one field of a variant.

An anchor names its target by what a person reads (the segment's name; the variant's segment, email,
arm and language; the field's name), not by position, so it still finds its part in a later revision
that kept it. It is stored with the comment (the comment's audit row, ``data["anchor"]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from copilot.errors import ReviewInputError
from copilot.plan import COPY_FIELD_NAMES, COPY_FIELDS, Plan, Variant

__all__ = ["ANCHOR_KINDS", "parse_anchor", "anchor_key", "anchor_label", "anchor_options", "variant_key"]

ANCHOR_KINDS = ("segment", "variant", "field")
_FIELD_LABELS = {f.name: f.label for f in COPY_FIELDS}


def variant_key(variant: Variant | Mapping[str, Any]) -> str:
    """The key a variant's anchors share: segment / email / arm / language."""
    get = variant.get if isinstance(variant, Mapping) else lambda name: getattr(variant, name)
    return "variant:" + "/".join(str(get(n) or "") for n in ("segment", "message", "key", "locale"))


def anchor_key(anchor: Mapping[str, Any]) -> str:
    """A string naming the anchored part: "segment:<name>", "variant:<seg>/<email>/<arm>/<lang>", the same
    with "#<field>" for a field (the review page files comments under these keys)."""
    if anchor.get("kind") == "segment":
        return f"segment:{anchor.get('segment')}"
    key = variant_key(anchor)
    return key + f"#{anchor.get('field')}" if anchor.get("kind") == "field" else key


def anchor_label(anchor: Mapping[str, Any]) -> str:
    """What the anchored part is called on the page: "segment Lapsed buyers", "Lapsed buyers · variant A
    (email_1) · Subject"."""
    if anchor.get("kind") == "segment":
        return f"segment {anchor.get('segment')}"
    text = f"{anchor.get('segment')} · variant {anchor.get('key')} ({anchor.get('message')}"
    text += f", {anchor.get('locale')})" if anchor.get("locale") else ")"
    if anchor.get("kind") == "field":
        text += f" · {_FIELD_LABELS.get(str(anchor.get('field')), anchor.get('field'))}"
    return text


def _variant_anchor(variant: Variant, kind: str, field: str | None = None) -> dict[str, Any]:
    anchor = {"kind": kind, "segment": variant.segment, "message": variant.message, "key": variant.key,
              "locale": variant.locale}
    if field is not None:
        anchor["field"] = field
    return anchor


def anchor_options(plan: Plan) -> list[tuple[str, str]]:
    """Every part of ``plan`` a comment may point at, as (form value, label), segments first."""
    anchors: list[dict[str, Any]] = [{"kind": "segment", "segment": s.name}
                                     for s in sorted(plan.segments, key=lambda s: s.priority)]
    for variant in plan.variants:
        anchors.append(_variant_anchor(variant, "variant"))
        anchors.extend(_variant_anchor(variant, "field", name) for name in COPY_FIELD_NAMES)
    return [(json.dumps(a, sort_keys=True, ensure_ascii=False), anchor_label(a)) for a in anchors]


def parse_anchor(raw: str | Mapping[str, Any] | None, plan: Plan) -> dict[str, Any] | None:
    """The anchor a form or API call gave (JSON text or a mapping), checked against ``plan``; None for a
    comment on the whole draft. ReviewInputError (field "anchor") names what is wrong."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as exc:
        raise ReviewInputError("the comment's anchor is not readable; pick the part from the list",
                               field="anchor") from exc
    if not isinstance(data, dict) or data.get("kind") not in ANCHOR_KINDS:
        raise ReviewInputError(f"a comment anchors to one of: {', '.join(ANCHOR_KINDS)}", field="anchor")
    kind = data["kind"]
    segment = str(data.get("segment") or "")
    if kind == "segment":
        if plan.segment(segment) is None:
            raise ReviewInputError(f"the plan has no segment {segment!r}", field="anchor")
        return {"kind": kind, "segment": segment}
    wanted = {n: str(data.get(n) or "") for n in ("segment", "message", "key", "locale")}
    variant = next((v for v in plan.variants if all(str(getattr(v, n)) == wanted[n] for n in wanted)), None)
    if variant is None:
        raise ReviewInputError(f"the plan has no variant {anchor_label({**wanted, 'kind': 'variant'})}",
                               field="anchor")
    if kind == "variant":
        return _variant_anchor(variant, kind)
    field = str(data.get("field") or "")
    if field not in COPY_FIELD_NAMES:
        raise ReviewInputError(f"{field!r} is not a copy field; fields: {', '.join(COPY_FIELD_NAMES)}",
                               field="anchor")
    return _variant_anchor(variant, kind, field)
