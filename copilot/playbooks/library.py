"""Load the playbook library (one YAML file per moment) and the brief reader's vocabulary."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from copilot.errors import PlannerError
from copilot.playbooks.schema import Playbook, Vocabulary
from copilot.workspace import format_loc

__all__ = ["PLAYBOOK_DIR", "load_playbooks", "load_vocabulary", "get_playbook"]

PLAYBOOK_DIR = Path(__file__).resolve().parent
_VOCABULARY = "_vocabulary.yaml"


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlannerError(f"playbook file {path.name} is not valid YAML: {exc}", file=path.name, path="") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = format_loc(err["loc"])
        raise PlannerError(f"playbook file {path.name}: {where}: {err['msg'].removeprefix('Value error, ')}",
                           file=path.name, path=where) from exc


@lru_cache(maxsize=4)
def load_playbooks(folder: Path = PLAYBOOK_DIR) -> tuple[Playbook, ...]:
    """Every playbook in ``folder`` (files not starting with '_'), in their tie-break order."""
    books = [_load(p, Playbook) for p in sorted(folder.glob("*.yaml")) if not p.name.startswith("_")]
    ids = [b.id for b in books]  # type: ignore[attr-defined]
    if len(set(ids)) != len(ids):
        raise PlannerError(f"two playbooks share an id in {folder}", file=str(folder), path="id")
    return tuple(sorted(books, key=lambda b: (b.order, b.id)))  # type: ignore[attr-defined,return-value]


@lru_cache(maxsize=4)
def load_vocabulary(folder: Path = PLAYBOOK_DIR) -> Vocabulary:
    return _load(folder / _VOCABULARY, Vocabulary)  # type: ignore[return-value]


def get_playbook(playbook_id: str, folder: Path = PLAYBOOK_DIR) -> Playbook:
    for book in load_playbooks(folder):
        if book.id == playbook_id:
            return book
    raise PlannerError(f"no playbook {playbook_id!r}", playbook=playbook_id)
