"""Load a brand folder into a validated, immutable Workspace."""

from __future__ import annotations

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
            problems.append({"file": name, "path": format_loc(err["loc"]), "message": msg})
        return None, problems


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
    for i, f in enumerate(catalog.fields):
        if f.name == "locale" and brand.default_locale not in brand.locales:
            problems.append({"file": "brand.yaml", "path": "default_locale",
                             "message": "default_locale must be one of locales"})
        if f.sensitive and "personalization" in f.allowed_uses:
            problems.append({"file": "catalog.yaml", "path": f"fields[{i}].allowed_uses",
                             "message": f"sensitive field {f.name!r} cannot allow personalization"})
    return problems


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
    if not problems:
        problems += _cross_check(parsed["brand.yaml"], parsed["facts.yaml"], parsed["catalog.yaml"])
    if problems:
        first = problems[0]
        summary = "; ".join(f"{p['file']}: {p['path']}: {p['message']}" for p in problems[:5])
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
