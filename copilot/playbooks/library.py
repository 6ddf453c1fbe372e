"""Load the playbook library (one YAML file per moment) and the brief reader's vocabulary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from copilot.errors import PlannerError
from copilot.playbooks.schema import Playbook, Vocabulary
from copilot.workspace import Workspace, format_loc
from copilot.workspace.roles import ROLE_REF, missing_role_text, resolve_role_refs

__all__ = ["PLAYBOOK_DIR", "load_playbooks", "load_vocabulary", "get_playbook", "goal_key", "stage_for_goal",
           "playbook_for_goal", "FittedPlaybook", "fit_playbook"]

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
    names = [n for b in books for n in (b.id, *b.goal_aliases)]  # type: ignore[attr-defined]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise PlannerError(f"two playbooks share an id or goal alias in {folder}: {', '.join(twice)}",
                           file=str(folder), path="id")
    return tuple(sorted(books, key=lambda b: (b.order, b.id)))  # type: ignore[attr-defined,return-value]


@lru_cache(maxsize=4)
def load_vocabulary(folder: Path = PLAYBOOK_DIR) -> Vocabulary:
    return _load(folder / _VOCABULARY, Vocabulary)  # type: ignore[return-value]


def get_playbook(playbook_id: str, folder: Path = PLAYBOOK_DIR) -> Playbook:
    for book in load_playbooks(folder):
        if book.id == playbook_id:
            return book
    raise PlannerError(f"no playbook {playbook_id!r}", playbook=playbook_id)


def goal_key(goal: str) -> str:
    """A goal as playbook ids are written: 'Win-back' and 'win back' are 'win_back'."""
    return "_".join(goal.strip().lower().replace("-", " ").split())


def playbook_for_goal(goal: str, folder: Path = PLAYBOOK_DIR) -> Playbook | None:
    """The playbook a plan's goal names, by id or by one of its goal aliases; None for another goal."""
    key = goal_key(goal)
    for book in load_playbooks(folder):
        if key == book.id or key in book.goal_aliases:
            return book
    return None


def stage_for_goal(goal: str, stages: Iterable[str], folder: Path = PLAYBOOK_DIR) -> str | None:
    """The journey stage (a voice.yaml cta_rules key among ``stages``) whose CTAs fit a plan's goal.

    The one owner of goal -> stage: the playbook's own stage; a goal that is itself a stage name
    (a model may answer 'cart'); None when the brand has no CTA rules for it.
    """
    known = set(stages)
    book = playbook_for_goal(goal, folder)
    if book is not None and book.stage in known:
        return book.stage
    # A goal that is a playbook's alias may still be a stage of the brand's own ('pre_departure'
    # is an alias of the date reminder, whose generic stage the brand may not write rules for).
    key = goal_key(goal)
    return key if key in known else None


@dataclass(frozen=True)
class FittedPlaybook:
    """A playbook with its roles ("@purchase") replaced by one workspace's own fields and events.

    ``missing`` names what the moment itself needs and the catalog lacks (its trigger, waits,
    exits): the moment cannot be planned until it is mapped. ``dropped`` holds the segments left
    out for the same reason, with what each needs.
    """

    book: Playbook
    missing: tuple[str, ...] = ()
    dropped: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def missing_text(self) -> str:
        return "; ".join(missing_role_text(m) for m in self.missing)


_FITTED: dict[tuple[str, str], FittedPlaybook] = {}


def _match_property(trigger: dict[str, Any], workspace: Workspace) -> str | None:
    """The entry event's property that keys one journey: the playbook's when the event has it, else the
    event's own identifier of that kind ("checkout_id" for a cart keyed by "cart_id"), else any identifier,
    else none (one journey per person)."""
    wanted = trigger.get("match_property")
    event = workspace.events_by_name.get(trigger.get("entry_event") or "")
    if not wanted or event is None:
        return wanted if event is None else None
    names = [p.name for p in event.properties]
    if wanted in names:
        return wanted
    ids = [n for n in names if n == "id" or n.endswith("_id")]
    if ids:
        return ids[0]
    # a keyed property other than an id ("product" for a browse): the event's property of the same kind
    return next((n for n in names if n in {"sku", "product", "product_id", "item"}), None)


def fit_playbook(book: Playbook, workspace: Workspace) -> FittedPlaybook:
    """``book`` for ``workspace``: roles resolved to the catalog's names; what cannot be resolved reported."""
    key = (book.model_dump_json(), workspace.content_hash)
    if key in _FITTED:
        return _FITTED[key]
    data = book.model_dump(mode="json")
    date_field, alternatives = data["trigger"]["date_field"], data["trigger"].pop("date_field_or")
    if date_field and resolve_role_refs(date_field, workspace)[1]:
        # the first stand-in the catalog has ("@signed_up_at" for an anniversary without "@anniversary_at")
        data["trigger"]["date_field"] = next((a for a in alternatives if not resolve_role_refs(a, workspace)[1]),
                                             date_field)
    # an exit on an event the catalog does not track can never happen: it is left out, not asked about
    data["trigger"]["exit_conditions"] = [c for c in data["trigger"]["exit_conditions"]
                                          if not resolve_role_refs(c, workspace)[1]]
    trigger, missing = resolve_role_refs(data["trigger"], workspace)
    trigger["match_property"] = _match_property(trigger, workspace)
    data["trigger"] = trigger
    data["events"] = [e for e in resolve_role_refs(data["events"], workspace)[0] if not str(e).startswith(ROLE_REF)]
    lapse, _ = resolve_role_refs(data["lapse"], workspace)
    data["lapse"] = {k: [n for n in v if not str(n).startswith(ROLE_REF)] if isinstance(v, list) else v
                     for k, v in lapse.items()}
    exclusions = []
    for rule in data["suppression"]["exclusions"]:
        resolved, lacking = resolve_role_refs(rule, workspace)
        if not lacking:
            exclusions.append(resolved)
    data["suppression"]["exclusions"] = exclusions
    segments, dropped = [], []
    for seg in data["segments"]:
        resolved, lacking = resolve_role_refs(seg, workspace)
        if lacking:
            dropped.append((seg["name"], tuple(sorted(lacking))))
        else:
            segments.append(resolved)
    if not segments:  # a playbook needs a segment to validate; the caller asks instead of planning
        segments = data["segments"][:1]
        # every segment needs something the catalog lacks: ask for the least that would give one
        fewest = min((lacking for _, lacking in dropped), key=len, default=())
        missing |= set(fewest)
    data["segments"] = segments
    fitted = FittedPlaybook(book=Playbook.model_validate(data), missing=tuple(sorted(missing)),
                            dropped=tuple(dropped))
    if len(_FITTED) > 256:
        _FITTED.clear()
    _FITTED[key] = fitted
    return fitted
