"""Eval suite files: YAML (plus optional CSV rows) parsed into typed, validated specs.

A suite names its threshold and shared defaults; each test gives a brief or a
multi-turn conversation and the assertions its answer must meet. Every problem is
reported with its file and the path inside it, e.g. ``tests[3].assert[0].type``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from copilot.errors import EvalError
from copilot.plan import COPY_FIELD_NAMES
from copilot.workspace import format_loc

__all__ = [
    "AssertionSpec",
    "TurnSpec",
    "TestSpec",
    "SuiteSpec",
    "load_suite",
    "resolve_suite_path",
    "SUITES_DIR",
    "DEFAULT_NOW",
]

SUITES_DIR = Path(__file__).resolve().parent / "suites"
# Planners take "now" from the request; a fixed default keeps plans (and so scores)
# reproducible. Inside the demo brand's winback and welcome offer windows.
DEFAULT_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# A rendered email's parts: each copy field, the body as plain text or HTML, or all visible parts.
RenderField = Literal[(*COPY_FIELD_NAMES, "text", "html", "any")]  # type: ignore[valid-type]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AssertionSpec(_Spec):
    """One check on an answer. ``negate``, ``weight``, ``threshold`` and ``metric`` work for every type.

    Each assertion scores 0..1; negation turns the score into 1 - score; it passes when the
    (negated) score reaches ``threshold`` (the type's default when unset, usually 1.0).
    Weight 0 makes it informational: reported, never failing the test.
    """

    type: str
    value: Any = None
    min: float | None = None
    max: float | None = None
    field: RenderField | None = None
    segment: str | None = None
    path: str | None = None
    flags: str = ""
    negate: bool = False
    weight: float = Field(default=1.0, ge=0)
    threshold: float | None = Field(default=None, ge=0, le=1)
    metric: str | None = None
    description: str = ""

    @property
    def label(self) -> str:
        """A short human label such as ``not goal=winback``."""
        bits = [self.type]
        if self.value is not None:
            bits.append(f"={self.value}" if not isinstance(self.value, list) else f"={','.join(map(str, self.value))}")
        if self.min is not None or self.max is not None:
            bits.append(f"[{'' if self.min is None else _num(self.min)}..{'' if self.max is None else _num(self.max)}]")
        if self.field:
            bits.append(f"@{self.field}")
        return ("not " if self.negate else "") + "".join(bits)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class TurnSpec(_Spec):
    """One marketer message of a conversation, with assertions on the answer to it."""

    message: str
    assert_: list[AssertionSpec] = Field(default_factory=list, alias="assert")


class TestSpec(_Spec):
    __test__ = False  # not a pytest class

    id: str = Field(min_length=1, max_length=120)
    description: str = ""
    brief: str | None = None
    conversation: list[TurnSpec] | None = None
    workspace: str = "demo"
    now: datetime = DEFAULT_NOW
    contacts: str | list[dict[str, Any]] = "demo"
    tags: list[str] = Field(default_factory=list)
    threshold: float | None = Field(default=None, ge=0, le=1)
    assert_: list[AssertionSpec] = Field(default_factory=list, alias="assert")
    every_turn: list[AssertionSpec] = Field(default_factory=list, description="checked on each turn's answer")

    @field_validator("conversation", mode="before")
    @classmethod
    def _turns(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"message": t} if isinstance(t, str) else t for t in value]
        return value

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _one_input(self) -> TestSpec:
        if (self.brief is None) == (self.conversation is None):
            raise ValueError("give exactly one of 'brief' or 'conversation'")
        if self.conversation is not None and not self.conversation:
            raise ValueError("'conversation' needs at least one turn")
        return self

    @property
    def turns(self) -> list[TurnSpec]:
        """The marketer's messages in order (a single brief is a one-turn conversation)."""
        if self.conversation is not None:
            return list(self.conversation)
        return [TurnSpec(message=self.brief or "")]


class SuiteSpec(_Spec):
    suite: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    kind: Literal["plan", "guards"] = "plan"
    threshold: float = Field(default=1.0, ge=0, le=1)
    defaults: dict[str, Any] = Field(default_factory=dict)
    tests: list[TestSpec] = Field(default_factory=list)
    csv: list[str] = Field(default_factory=list)
    cases: list[str] = Field(default_factory=list, description="guard suites: globs of guard case files")
    min_verdict_score: float | None = Field(
        default=None, ge=0, le=1,
        description="guard suites: the suite fails when any guard's precision or recall for 'flagged' "
                    "(warn or block) or for 'block' is below this")
    path: Path | None = Field(default=None, exclude=True)

    def workspace_dir(self, name: str) -> Path | None:
        """None for the bundled demo brand, else the folder (relative to the suite file)."""
        if name == "demo":
            return None
        folder = Path(name)
        if not folder.is_absolute() and self.path is not None:
            folder = self.path.parent / folder
        return folder.resolve()


_DEFAULTABLE = {"workspace", "now", "contacts", "tags", "threshold", "assert", "every_turn"}


def resolve_suite_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bare name looked up in evals/suites/ (``adversarial`` -> adversarial.yaml)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if path.suffix == "" and len(path.parts) == 1:
        for ext in (".yaml", ".yml"):
            candidate = SUITES_DIR / f"{path.name}{ext}"
            if candidate.exists():
                return candidate
    raise EvalError(f"suite {str(name_or_path)!r} not found (a file path, or a name in {SUITES_DIR})",
                    file=str(name_or_path), path="(file)")


def load_suite(name_or_path: str | Path) -> SuiteSpec:
    """Read and validate a suite file; CSV rows become tests; defaults are applied to every test."""
    path = resolve_suite_path(name_or_path)
    raw = _read_yaml(path)
    problems: list[dict[str, Any]] = []
    tests = raw.get("tests") or []
    if not isinstance(tests, list):
        raise _error(path, [{"path": "tests", "message": "expected a list of tests"}])
    csv_files = raw.get("csv") or []
    if isinstance(csv_files, str):
        csv_files = [csv_files]
        raw["csv"] = csv_files
    for rel in csv_files:
        tests = tests + _csv_tests(path.parent / rel, rel, problems)
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append({"path": "defaults", "message": "expected a mapping"})
        defaults = {}
    for key in defaults:
        if key not in _DEFAULTABLE:
            problems.append({"path": f"defaults.{key}", "message": f"unknown default (allowed: {', '.join(sorted(_DEFAULTABLE))})"})
    raw["tests"] = [_with_defaults(t, defaults) for t in tests]
    if problems:
        raise _error(path, problems)
    try:
        spec = SuiteSpec.model_validate({**raw, "path": path.resolve()})
    except ValidationError as exc:
        raise _error(path, _pydantic_problems(exc)) from exc
    problems.extend(_check_assertions(spec))
    seen: set[str] = set()
    for i, test in enumerate(spec.tests):
        if test.id in seen:
            problems.append({"path": f"tests[{i}].id", "message": f"duplicate test id {test.id!r}"})
        seen.add(test.id)
    if spec.kind == "plan" and not spec.tests:
        problems.append({"path": "tests", "message": "a plan suite needs at least one test (in 'tests' or 'csv')"})
    if spec.kind == "guards" and not spec.cases:
        problems.append({"path": "cases", "message": "a guards suite needs 'cases': globs of guard case files"})
    if problems:
        raise _error(path, problems)
    return spec


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _error(path, [{"path": "(file)", "message": f"not UTF-8 text ({exc.reason})"}]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise _error(path, [{"path": where, "message": f"malformed YAML: {getattr(exc, 'problem', None) or exc}"}]) from exc
    if not isinstance(data, dict):
        raise _error(path, [{"path": "(top level)", "message": "expected a mapping with 'suite' and 'tests'"}])
    return data


def _with_defaults(test: Any, defaults: dict[str, Any]) -> Any:
    if not isinstance(test, dict):
        return test  # pydantic reports the type problem with its index
    merged = {k: v for k, v in defaults.items() if k != "assert"}
    merged.update(test)
    # Shared assertions come first, then the test's own (as promptfoo's defaultTest does);
    # a test that expects no plan (a question, a refusal) opts out with default_assert: false.
    inherit = merged.pop("default_assert", True)
    shared = list(defaults.get("assert") or []) if inherit is not False else []
    merged["assert"] = shared + list(test.get("assert") or [])
    return merged


_FLAG_YES = {"yes", "true", "1", "y"}
_FLAG_NO = {"no", "false", "0", "n"}


def _csv_tests(path: Path, rel: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a CSV: columns id, brief, description, workspace, tags (;-separated), and
    ``assert:<type>`` columns whose cell is the value (YAML: a scalar, a [list] or a {mapping}
    of options). For value-less types a cell of yes / no asserts or negates it; empty cells skip."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append({"path": f"csv ({rel})", "message": f"file not found: {path}"})
        return []
    rows = list(csv.DictReader(text.splitlines()))
    tests = []
    for line, row in enumerate(rows, start=2):
        test: dict[str, Any] = {"assert": []}
        for column, cell in row.items():
            if column is None:
                problems.append({"path": f"{rel} line {line}", "message": "more cells than header columns"})
                continue
            column = column.strip()
            cell = (cell or "").strip()
            if not cell:
                continue
            if column.startswith("assert:"):
                test["assert"].append(_csv_assertion(column.removeprefix("assert:").strip(), cell))
            elif column == "tags":
                test["tags"] = [t.strip() for t in cell.split(";") if t.strip()]
            elif column in {"id", "brief", "description", "workspace", "now", "threshold"}:
                test[column] = cell
            else:
                problems.append({"path": f"{rel} column {column!r}", "message":
                                 "unknown column (use id, brief, description, workspace, now, threshold, tags, assert:<type>)"})
        tests.append(test)
    return tests


def _csv_assertion(kind: str, cell: str) -> dict[str, Any]:
    if cell.lower() in _FLAG_YES:
        return {"type": kind}
    if cell.lower() in _FLAG_NO:
        return {"type": kind, "negate": True}
    try:
        value = yaml.safe_load(cell)
    except yaml.YAMLError:
        value = cell
    if isinstance(value, dict):
        return {"type": kind, **value}
    return {"type": kind, "value": value}


def _check_assertions(spec: SuiteSpec) -> list[dict[str, Any]]:
    from evals.assertions import ASSERTIONS  # the registry validates each spec's parameters

    problems = []
    for i, test in enumerate(spec.tests):
        groups: list[tuple[str, Iterable[AssertionSpec]]] = [(f"tests[{i}].assert", test.assert_),
                                                             (f"tests[{i}].every_turn", test.every_turn)]
        groups += [(f"tests[{i}].conversation[{t}].assert", turn.assert_) for t, turn in enumerate(test.conversation or [])]
        for where, items in groups:
            for j, item in enumerate(items):
                kind = ASSERTIONS.get(item.type)
                if kind is None:
                    problems.append({"path": f"{where}[{j}].type",
                                     "message": f"unknown assertion type {item.type!r} (known: {', '.join(sorted(ASSERTIONS))})"})
                    continue
                problem = kind.check_spec(item)
                if problem:
                    problems.append({"path": f"{where}[{j}]", "message": f"{item.type}: {problem}"})
    return problems


def _pydantic_problems(exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple("assert" if part == "assert_" else part for part in err["loc"])
        out.append({"path": format_loc(loc), "message": err["msg"].removeprefix("Value error, ")})
    return out


def _error(path: Path, problems: list[dict[str, Any]]) -> EvalError:
    for p in problems:
        p.setdefault("file", str(path))
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return EvalError(f"suite {path}: {first['path']}: {first['message']}{more}",
                     file=str(path), path=first["path"], problems=problems)


def select_tests(suite: SuiteSpec, pattern: str | None = None, first: int | None = None) -> SuiteSpec:
    """The suite with only the tests whose id matches ``pattern`` (a regex, searched, case-insensitive),
    then only the first ``first`` of those. Guard suites are returned whole (their cases are files)."""
    if suite.kind != "plan" or (pattern is None and first is None):
        return suite
    tests = suite.tests
    if pattern is not None:
        try:
            matcher = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise EvalError(f"--filter {pattern!r} is not a valid regular expression: {exc}", path="--filter") from exc
        tests = [t for t in tests if matcher.search(t.id)]
    if first is not None:
        tests = tests[:first]
    return suite.model_copy(update={"tests": tests})
