"""A strict structured-output JSON Schema derived from a pydantic model, and the way back.

OpenAI's strict ``json_schema`` mode accepts a subset of JSON Schema: every property
required, ``additionalProperties: false`` everywhere, ``anyOf`` instead of ``oneOf``, no
defaults or length/pattern keywords. Optional fields become nullable; ``drop_nulls``
turns those nulls back into "not given" so the model's defaults apply. The schema is
derived in code so it can never drift from the plan model; validation of the answer
against the real model (and the workspace) still catches what the subset cannot say.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

__all__ = ["strict_json_schema", "drop_nulls", "nulls_that_mean_something"]

# Keywords the strict subset rejects or that only matter to our own validation.
_DROP = {
    "title", "default", "discriminator", "examples", "$id", "$schema",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minItems", "maxItems", "uniqueItems", "format",
}
_FORMAT_HINTS = {"date": "YYYY-MM-DD", "date-time": "ISO 8601 date-time with time zone, e.g. 2027-03-01T15:00:00Z"}


def _is_nullable(node: dict[str, Any]) -> bool:
    if node.get("type") == "null":
        return True
    if isinstance(node.get("type"), list) and "null" in node["type"]:
        return True
    return any(_is_nullable(option) for option in node.get("anyOf", []))


def _hint(node: dict[str, Any]) -> str | None:
    parts = []
    if node.get("format") in _FORMAT_HINTS:
        parts.append(_FORMAT_HINTS[node["format"]])
    if "pattern" in node:
        parts.append(f"pattern {node['pattern']}")
    return "; ".join(parts) or None


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # A $ref with sibling keywords (pydantic adds description/default) is not allowed in strict mode.
        return {"$ref": node["$ref"]}
    hint = _hint(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "oneOf":
            out["anyOf"] = _convert(value)
        elif key == "allOf" and len(value) == 1:
            out.update(_convert(value[0]))
        elif key == "properties":
            out["properties"] = {name: _convert(prop) for name, prop in value.items()}
        else:
            out[key] = _convert(value)
    if hint:
        out["description"] = f"{out['description']} ({hint})" if out.get("description") else hint
    if out.get("type") == "object" or "properties" in out:
        properties: dict[str, Any] = out.get("properties", {})
        if not properties:
            raise ValueError("strict structured output cannot express a free-form object")
        required = set(node.get("required", []))
        for name, prop in properties.items():
            # A constant (a union's discriminator such as type: "all") stays required and non-null.
            if name not in required and not _is_nullable(prop) and "const" not in prop:
                properties[name] = {"anyOf": [prop, {"type": "null"}]}
        out["type"] = "object"
        out["required"] = list(properties)
        out["additionalProperties"] = False
    return out


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema rewritten for strict structured output (recursive $defs kept)."""
    source = model.model_json_schema()
    defs = source.pop("$defs", {})
    schema = _convert(source)
    if defs:
        schema["$defs"] = {name: _convert(d) for name, d in defs.items()}
    return schema


def nulls_that_mean_something(model: type[BaseModel]) -> frozenset[str]:
    """Property names where null is a real value different from the default (e.g. ``frequency_cap: null``
    means "no cap", while leaving it out means the default cap)."""
    source = model.model_json_schema()
    nodes = [source, *source.get("$defs", {}).values()]
    names: set[str] = set()
    for node in nodes:
        required = set(node.get("required", []))
        for name, prop in node.get("properties", {}).items():
            if name not in required and _is_nullable(prop) and prop.get("default") is not None:
                names.add(name)
    return frozenset(names)


def drop_nulls(data: Any, keep: frozenset[str] = frozenset()) -> Any:
    """Remove null-valued keys (strict mode's "not given"), except the names in ``keep``."""
    if isinstance(data, dict):
        return {k: drop_nulls(v, keep) for k, v in data.items() if v is not None or k in keep}
    if isinstance(data, list):
        return [drop_nulls(item, keep) for item in data]
    return copy.copy(data)
