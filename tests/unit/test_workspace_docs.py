"""docs/workspace.md documents every key of every workspace file."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from copilot.workspace import FILES

DOC = Path(__file__).parents[2] / "docs" / "workspace.md"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in its fields (lists, dicts, optionals)."""
    found = [model]
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in found:
                found += [m for m in _models(tp) if m not in found]
            stack += list(typing.get_args(tp))
    return found


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    return {part.splitlines()[0].strip(): part for part in parts[1:]}


def test_every_key_of_every_file_is_in_its_section_of_the_docs() -> None:
    sections = _sections()
    missing = []
    for filename, model in FILES.items():
        section = sections.get(filename, "")
        documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
        for m in _models(model):
            missing += [f"{filename}: {m.__name__}.{name}" for name in m.model_fields if name not in documented]
    assert missing == []


def test_every_enumerated_value_of_the_schema_is_in_the_docs() -> None:
    from copilot.workspace import schema

    text = DOC.read_text(encoding="utf-8")
    for alias in (schema.Provenance, schema.FieldType, schema.Purpose, schema.Severity):
        for value in typing.get_args(alias):
            assert f"`{value}`" in text, value
    offer_kinds = typing.get_args(schema.Offer.model_fields["kind"].annotation)
    assert all(f"`{kind}`" in text for kind in offer_kinds)
