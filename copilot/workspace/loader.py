"""Load a brand folder into a validated, immutable Workspace."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from copilot.errors import WorkspaceError
from copilot.workspace.roles import ROLES, implied_event_role
from copilot.workspace.schema import (
    CONTACT_COLUMNS,
    BrandFile,
    CatalogEvent,
    CatalogField,
    CatalogFile,
    FactsFile,
    Offer,
    Product,
    VoiceFile,
)

__all__ = ["Workspace", "load_workspace", "demo_workspace_dir", "format_loc", "FILES"]

FILES: dict[str, type[BaseModel]] = {
    "brand.yaml": BrandFile,
    "voice.yaml": VoiceFile,
    "facts.yaml": FactsFile,
    "catalog.yaml": CatalogFile,
}


def demo_workspace_dir() -> Path:
    """The demo brand shipped with the product."""
    return Path(__file__).resolve().parent.parent / "brands" / "demo"


def format_loc(loc: Iterable[Any]) -> str:
    """('offers', 2, 'ends') -> 'offers[2].ends'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class Workspace:
    """One brand's world: voice rules, fact sheet and data catalog."""

    path: Path
    brand: BrandFile
    voice: VoiceFile
    facts: FactsFile
    catalog: CatalogFile
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def slug(self) -> str:
        return self.brand.slug

    @property
    def name(self) -> str:
        return self.brand.name

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of all four files: identifies a workspace version."""
        payload = {
            "brand": self.brand.model_dump(mode="json"),
            "voice": self.voice.model_dump(mode="json"),
            "facts": self.facts.model_dump(mode="json"),
            "catalog": self.catalog.model_dump(mode="json"),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @cached_property
    def fields_by_name(self) -> dict[str, CatalogField]:
        return {f.name: f for f in self.catalog.fields}

    @cached_property
    def events_by_name(self) -> dict[str, CatalogEvent]:
        return {e.name: e for e in self.catalog.events}

    @cached_property
    def offers_by_id(self) -> dict[str, Offer]:
        return {o.id: o for o in self.facts.offers}

    @cached_property
    def products_by_sku(self) -> dict[str, Product]:
        return {p.sku: p for p in self.facts.products}

    def field(self, name: str) -> CatalogField | None:
        return self.fields_by_name.get(name)

    def event(self, name: str) -> CatalogEvent | None:
        return self.events_by_name.get(name)

    def is_column(self, field_name: str) -> bool:
        """True when the contact field is a table column, False when it lives in attributes."""
        return field_name in CONTACT_COLUMNS

    def currency_of(self, product: Product) -> str:
        return product.currency or self.brand.currency

    @cached_property
    def roles(self) -> dict[str, str]:
        """role -> the catalog field or event that plays it (see copilot.workspace.roles)."""
        return _roles(self.catalog)

    def role_field(self, role_name: str) -> CatalogField | None:
        """The contact field that plays ``role_name`` ("last_purchase_at"), or None when the catalog has none."""
        name = self.roles.get(role_name)
        return self.fields_by_name.get(name) if name else None

    def role_event(self, role_name: str) -> CatalogEvent | None:
        """The event that plays ``role_name`` ("purchase"), or None when the catalog has none."""
        name = self.roles.get(role_name)
        return self.events_by_name.get(name) if name else None

    def role_of(self, name: str) -> str | None:
        """The role a field or event of this catalog plays, if any."""
        return next((r for r, n in self.roles.items() if n == name), None)


def _roles(catalog: CatalogFile) -> dict[str, str]:
    """Declared roles, then roles implied by a name: a field named as its role, an event named as in
    Segment's spec or a common name ("order_completed" plays purchase). A declared role wins."""
    out: dict[str, str] = {}
    for item in (*catalog.fields, *catalog.events):
        if item.role:
            out.setdefault(item.role, item.name)
    for f in catalog.fields:
        r = ROLES.get(f.name)
        if r is not None and r.kind == "field" and f.type in r.types:
            out.setdefault(f.name, f.name)
    for e in catalog.events:
        implied = implied_event_role(e.name)
        if implied:
            out.setdefault(implied, e.name)
    return out


def _read_yaml(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [{"file": path.name, "path": "(file)", "message": "file is missing"}]
    except UnicodeDecodeError as exc:
        return None, [{"file": path.name, "path": "(file)", "message": f"not UTF-8 text ({exc.reason})"}]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [{"file": path.name, "path": where, "message": f"malformed YAML: {problem}"}]
    if not isinstance(data, dict):
        return None, [{"file": path.name, "path": "(top level)", "message": "expected a mapping of keys to values"}]
    return data, []


def _validate(name: str, model: type[BaseModel], data: Any) -> tuple[Any, list[dict[str, Any]]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "literal_error":
                msg = f"{msg} (got {err.get('input')!r})"
            elif err["type"] == "extra_forbidden":
                key = str(err["loc"][-1])
                known = _keys_at(model, err["loc"][:-1])
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                msg = f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                 f" (known keys: {', '.join(known)})" if known else "")
            problems.append({"file": name, "path": format_loc(err["loc"]), "message": msg})
        return None, problems


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows at ``loc`` (for "did you mean"): walks fields, lists and dicts."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside an annotation (Model, list[Model], dict[str, Model], Model | None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _line_of(node: Any, path: str) -> int | None:
    """The line (1-based) of ``path`` ('offers[1].ends') in a composed YAML document."""
    import re

    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, yaml.SequenceNode) or index >= len(node.value):
                break
            node = node.value[index]
        else:
            if not isinstance(node, yaml.MappingNode):
                break
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            key, node = match
            line = key.start_mark.line + 1
            continue
        line = node.start_mark.line + 1
    return line


def _cross_check(brand: BrandFile, facts: FactsFile, catalog: CatalogFile) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    skus = {p.sku for p in facts.products}
    categories = {p.category for p in facts.products}
    for i, offer in enumerate(facts.offers):
        for j, target in enumerate(offer.applies_to):
            if target not in skus and target not in categories:
                problems.append({
                    "file": "facts.yaml",
                    "path": f"offers[{i}].applies_to[{j}]",
                    "message": f"{target!r} is neither a product SKU nor a product category",
                })
    seen_sku: set[str] = set()
    for i, product in enumerate(facts.products):
        if product.sku in seen_sku:
            problems.append({"file": "facts.yaml", "path": f"products[{i}].sku",
                             "message": f"SKU {product.sku!r} appears twice"})
        seen_sku.add(product.sku)
    if brand.default_locale not in brand.locales:
        problems.append({"file": "brand.yaml", "path": "default_locale",
                         "message": f"default_locale {brand.default_locale!r} must be one of locales "
                                    f"({', '.join(brand.locales)})"})
    for i, f in enumerate(catalog.fields):
        if f.sensitive and "personalization" in f.allowed_uses and "personalization" not in f.given_for:
            problems.append({"file": "catalog.yaml", "path": f"fields[{i}].allowed_uses",
                             "message": f"sensitive field {f.name!r} cannot allow personalization unless the "
                                        "person gave it for that (given_for: [personalization])"})
        for j, use in enumerate(f.given_for):
            if use not in f.allowed_uses:
                problems.append({"file": "catalog.yaml", "path": f"fields[{i}].given_for[{j}]",
                                 "message": f"{use} is not among the field's allowed_uses"})
    problems += _check_roles(catalog)
    problems += _check_audiences(catalog)
    return problems


def _check_roles(catalog: CatalogFile) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    taken: dict[str, str] = {}
    for kind, items in (("field", catalog.fields), ("event", catalog.events)):
        for i, item in enumerate(items):
            if item.role is None:
                continue
            where = f"{kind}s[{i}].role"
            r = ROLES.get(item.role)
            if r is None:
                close = difflib.get_close_matches(item.role, list(ROLES), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append({"file": "catalog.yaml", "path": where,
                                 "message": f"unknown role {item.role!r}{hint} (roles: docs/workspace.md)"})
                continue
            if r.kind != kind:
                problems.append({"file": "catalog.yaml", "path": where,
                                 "message": f"{item.role!r} is a role of {r.kind}s, not of {kind}s"})
            elif kind == "field" and item.type not in r.types:  # type: ignore[union-attr]
                problems.append({"file": "catalog.yaml", "path": where,
                                 "message": f"a {item.role} field holds {' or '.join(r.types)}, and "
                                            f"{item.name!r} is {item.type}"})  # type: ignore[union-attr]
            if item.role in taken:
                problems.append({"file": "catalog.yaml", "path": where,
                                 "message": f"role {item.role!r} is played by {taken[item.role]!r} already"})
            taken[item.role] = item.name
    return problems


def _check_audiences(catalog: CatalogFile) -> list[dict[str, Any]]:
    from pydantic import TypeAdapter

    from copilot.plan import EventRule, FieldRule, LastPerformedRule, Rule
    from copilot.rules import walk_rule

    problems: list[dict[str, Any]] = []
    fields = {f.name for f in catalog.fields}
    events = {e.name for e in catalog.events}
    adapter = TypeAdapter(Rule)
    for i, audience in enumerate(catalog.audiences):
        where = f"audiences[{i}].rule"
        try:
            rule = adapter.validate_python(audience.rule)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            problems.append({"file": "catalog.yaml", "path": f"{where}.{format_loc(err['loc'])}",
                             "message": err["msg"]})
            continue
        for path, node in walk_rule(rule, where):
            if isinstance(node, FieldRule) and node.field not in fields:
                problems.append({"file": "catalog.yaml", "path": f"{path}.field",
                                 "message": f"{node.field!r} is not a field of this catalog"})
            elif isinstance(node, (EventRule, LastPerformedRule)) and node.event not in events:
                problems.append({"file": "catalog.yaml", "path": f"{path}.event",
                                 "message": f"{node.event!r} is not an event of this catalog"})
    return problems


def _add_lines(folder: Path, problems: list[dict[str, Any]]) -> None:
    """Give each problem the line of its key in its file (when the file parses)."""
    documents: dict[str, Any] = {}
    for problem in problems:
        if "line" in problem or problem.get("path", "").startswith(("line ", "(")):
            continue
        name = problem["file"]
        if name not in documents:
            try:
                documents[name] = yaml.compose((folder / name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                documents[name] = None
        line = _line_of(documents[name], problem["path"])
        if line is not None:
            problem["line"] = line


def _where(problem: dict[str, Any]) -> str:
    line = f":{problem['line']}" if problem.get("line") else ""
    return f"{problem['file']}{line}: {problem['path']}"


def load_workspace(path: str | Path | None = None) -> Workspace:
    """Load and validate a brand folder; the demo brand when ``path`` is None.

    Raises WorkspaceError listing every problem found (file, path inside it, message).
    """
    folder = Path(path) if path is not None else demo_workspace_dir()
    if not folder.is_dir():
        raise WorkspaceError(f"workspace folder not found: {folder}", file=str(folder), path="", problems=[])
    parsed: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for name, model in FILES.items():
        data, errs = _read_yaml(folder / name)
        if errs:
            problems += errs
            continue
        obj, errs = _validate(name, model, data)
        problems += errs
        parsed[name] = obj
    if all(parsed.get(name) is not None for name in FILES):
        problems += _cross_check(parsed["brand.yaml"], parsed["facts.yaml"], parsed["catalog.yaml"])
    _add_lines(folder, problems)
    if problems:
        first = problems[0]
        summary = "; ".join(_where(p) + f": {p['message']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WorkspaceError(
            f"workspace {folder.name!r} is invalid: {summary}{more}",
            file=first["file"],
            path=first["path"],
            problems=problems,
        )
    return Workspace(
        path=folder.resolve(),
        brand=parsed["brand.yaml"],
        voice=parsed["voice.yaml"],
        facts=parsed["facts.yaml"],
        catalog=parsed["catalog.yaml"],
    )
