"""Generated edge-case contacts for render checks: every merge field missing, empty, blank,
None, NaN, a null word, very long, non-Latin, right-to-left, emoji, HTML, template syntax."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from copilot.workspace import Workspace

__all__ = ["Profile", "edge_profiles", "typical_contact", "is_name_field", "is_region_field", "MISSING",
           "NAME_FIELD_NAMES", "UNKNOWN_REGION"]

MISSING = object()  # the key is left out of the contact entirely

# One value per profile, given to every string merge field at once.
_STRING_EDGES: dict[str, Any] = {
    "missing": MISSING,
    "empty": "",
    "whitespace": " \t\n ",
    "none": None,
    "nan": math.nan,
    "null_word": "null",
    "punctuation_only": "-",
    "very_long": "Maximiliana-" * 50,
    "non_latin": "Zoë Łukasz Nguyễn",
    # CJK, right-to-left scripts and an emoji sequence in one value: one render covers them all.
    "cjk_rtl_emoji": "李小龙 محمد שרה 🏃\u200d♀️",
    "html": "<script>alert(1)</script>",
    "html_attribute": '"><img src=x onerror=alert(1)>',
    "template_syntax": "{{ 7*7 }}",
    "ssti": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "legacy_merge_tag": "*|FNAME|*",
}
_OTHER_EDGES: dict[str, Any] = {"missing": MISSING, "none": None, "nan": math.nan, "empty": ""}
_NUMBER_EDGES = {"zero": 0, "negative": -1, "huge": 10**12}
# Edge values that stand for "no usable value": a field the segment rule guarantees never has them.
_BLANK_EDGES = frozenset({"missing", "empty", "none", "nan"})  # what the segment engine's `exists` rules out
# A country or region code no copy expects (ISO 3166 leaves ZZ unassigned): a region line must read
# for it too ("Free shipping to ZZ" does not).
UNKNOWN_REGION = "ZZ"
_REGION_WORDS = frozenset({"country", "region", "state", "province", "territory", "market", "county"})
# A number as a database hands it over: copy that prints it shows every decimal.
_FLOAT_EDGE = 1234.5678
# Fields that hold a person's name (besides a catalog field whose role is first_name).
NAME_FIELD_NAMES = frozenset({"first_name", "last_name", "full_name", "name", "nickname", "preferred_name",
                              "given_name", "family_name", "display_name"})
_TYPICAL_STRINGS = {"first_name": "Alex", "last_name": "Rivera", "city": "Portland", "country": "US",
                    "locale": "en", "email": "alex@example.com", "timezone": "America/Los_Angeles"}
_TYPICAL_BY_TYPE: dict[str, Any] = {"integer": 3, "number": 42.5, "boolean": True, "date": "2026-05-01",
                                     "datetime": "2026-05-01T09:00:00+00:00", "list": ["road"], "string": "Sample"}


@dataclass(frozen=True)
class Profile:
    name: str
    contact: Mapping[str, Any]
    synthetic: bool = True  # False for caller-supplied sample contacts (no output in evidence)


def _type_of(name: str, workspace: Workspace) -> str:
    field = workspace.field(name)
    return field.type if field is not None else "string"


def typical_contact(names: Iterable[str], workspace: Workspace) -> dict[str, Any]:
    """Plausible values for ``names``, typed by the catalog."""
    contact: dict[str, Any] = {}
    for name in names:
        field = workspace.field(name)
        kind = _type_of(name, workspace)
        if kind == "enum" and field is not None and field.values:
            contact[name] = field.values[0]
        elif kind == "string":
            contact[name] = _TYPICAL_STRINGS.get(name, "Sample")
        else:
            contact[name] = _TYPICAL_BY_TYPE.get(kind, "Sample")
    return contact


def edge_profiles(names: Iterable[str], workspace: Workspace, *, guaranteed: Iterable[str] = (),
                  pinned: Mapping[str, set[str]] | None = None) -> list[Profile]:
    """The typical contact first, then one profile per edge case (values typed by the catalog).

    ``guaranteed``: fields the segment rule guarantees a non-blank value for (no blank edges for them;
    a stored "null" or markup is still possible); ``pinned``: fields the rule restricts to some values
    (every profile holds one of them, and no unknown-region profile is made for them)."""
    names = sorted(set(names))
    guaranteed = set(guaranteed)
    pinned = pinned or {}
    typical = typical_contact(names, workspace)
    for name, values in pinned.items():
        if name in typical and values:
            typical[name] = sorted(values)[0]
    profiles = [Profile("typical", typical)]
    text_names = [n for n in names if _type_of(n, workspace) in {"string", "enum"}]
    numeric = [n for n in names if _type_of(n, workspace) in {"integer", "number"}]
    for label, value in _STRING_EDGES.items():
        contact = dict(typical)
        for name in names:
            if name in pinned or (name in guaranteed and label in _BLANK_EDGES):
                continue  # the rule pins the value, or guarantees one: never blank
            edge = value if name in text_names else _OTHER_EDGES.get(label, typical[name])
            if edge is MISSING:
                contact.pop(name, None)
            else:
                contact[name] = edge
        profiles.append(Profile(label, contact))
    for label, value in _NUMBER_EDGES.items():
        if numeric:
            profiles.append(Profile(label, {**typical, **{n: value for n in numeric}}))
    regions = [n for n in names if is_region_field(n, workspace) and n not in pinned]
    if regions:
        profiles.append(Profile("unknown_region", {**typical, **{n: UNKNOWN_REGION for n in regions}}))
    floats = [n for n in names if _type_of(n, workspace) == "number"]
    if floats:
        profiles.append(Profile("unrounded_number", {**typical, **{n: _FLOAT_EDGE for n in floats}}))
    return profiles


def is_name_field(name: str, workspace: Workspace) -> bool:
    """True for a field that holds a person's name (greetings print it)."""
    field = workspace.field(name)
    if field is not None and field.type not in {"string", "enum"}:
        return False
    return name in NAME_FIELD_NAMES or (field is not None and field.role == "first_name")


def is_region_field(name: str, workspace: Workspace) -> bool:
    """True for a text field that holds a country or region (its name says so: country, region, state ...)."""
    field = workspace.field(name)
    if field is not None and field.type not in {"string", "enum"}:
        return False
    return bool(set(name.lower().split("_")) & _REGION_WORDS)
