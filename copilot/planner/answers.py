"""The shapes the model answers in (round one: reply + plan outline; round two: one segment's copy).

They are derived from the plan model (``Plan`` without its copy, ``Variant`` without its
segment) so a change to the plan model changes the response formats with it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from copilot.plan import Plan, Variant
from copilot.planner.strict_schema import drop_nulls, nulls_that_mean_something, strict_json_schema
from copilot.workspace import format_loc

__all__ = [
    "PlanOutline",
    "VariantDraft",
    "PlanningAnswer",
    "RevisionAnswer",
    "CopyAnswer",
    "ClarifyAnswer",
    "AnswerProblem",
    "parse_answer",
    "response_format",
]

_STRICT = ConfigDict(extra="forbid")


def _without(model: type[BaseModel], leave_out: set[str], name: str, doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in model.model_fields.items() if n not in leave_out}
    derived = create_model(name, __config__=_STRICT, __doc__=doc, **fields)
    derived.model_rebuild()
    return derived


PlanOutline = _without(Plan, {"schema_version", "brief", "variants"}, "PlanOutline",
                       "A plan without its copy: segments, trigger, suppression, offers.")
VariantDraft = _without(Variant, {"segment"}, "VariantDraft", "One email of a segment (the segment is implied).")


class PlanningAnswer(BaseModel):
    """Round one of a new plan. ``reply`` comes first so it can stream while the rest is written."""

    model_config = _STRICT

    reply: str = Field(description="what you propose and why, to the marketer")
    questions: list[str] = Field(description="questions for the marketer; usually empty")
    notes: list[str] = Field(description="notes for the reviewer, e.g. an instruction you ignored")
    plan: PlanOutline | None = None  # type: ignore[valid-type]


class RevisionAnswer(PlanningAnswer):
    copy_to_write: list[str] = Field(description="segments whose copy must be written or rewritten")


class CopyAnswer(BaseModel):
    model_config = _STRICT

    variants: list[VariantDraft] = Field(min_length=1)  # type: ignore[valid-type]


class ClarifyAnswer(BaseModel):
    model_config = _STRICT

    reply: str
    questions: list[str]


class AnswerProblem(Exception):
    """The model's answer cannot be used as it is; ``problems`` go back to it in the repair round."""

    def __init__(self, summary: str, problems: list[dict[str, str]]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems


_KEEP_NULL = nulls_that_mean_something(Plan)


def parse_answer(model: type[BaseModel], content: str | None) -> Any:
    """The answer text as ``model``, or AnswerProblem saying exactly what is wrong and where."""
    if content is None or not content.strip():
        raise AnswerProblem("the answer was empty", [{"path": "(answer)", "message": "the answer was empty"}])
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise AnswerProblem(f"the answer is {message}", [{"path": "(answer)", "message": message}]) from exc
    try:
        return model.model_validate(drop_nulls(data, _KEEP_NULL))
    except ValidationError as exc:
        problems = [{"path": format_loc(e["loc"]), "message": e["msg"]} for e in exc.errors()[:20]]
        first = problems[0]
        raise AnswerProblem(f"the answer does not fit the format: {first['path']}: {first['message']}",
                            problems) from exc


_FORMATS: dict[type[BaseModel], dict[str, Any]] = {}


def response_format(model: type[BaseModel]) -> dict[str, Any]:
    """The ``response_format`` argument for ``model``: a strict json_schema (built once)."""
    if model not in _FORMATS:
        _FORMATS[model] = {"type": "json_schema", "json_schema": {
            "name": model.__name__, "strict": True, "schema": strict_json_schema(model)}}
    return _FORMATS[model]
