"""Assertions that read the brand's workspace: roles, another brand's words, locales and send dates.

They let a suite written for any brand state its expectations in the brand's own terms ("the
field playing the renewal role is used", "copy exists in every language the brand writes in")
instead of naming one brand's fields in the assertion code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from copilot.plan import Plan
from copilot.workspace import Workspace, load_workspace
from copilot.workspace.roles import ROLES
from copilot.workspace.schema import CONTACT_COLUMNS
from evals.assertions.base import Outcome, Scope, assertion
from evals.assertions.copy_checks import render_text
from evals.assertions.plan_checks import _no_plan_reason, _walk, plan_fields, values_of
from evals.spec import AssertionSpec

__all__ = ["plan_events", "brand_words", "BRANDS_DIR"]

BRANDS_DIR = Path(__file__).resolve().parents[2] / "copilot" / "brands"


def plan_events(plan: Plan) -> set[str]:
    """Every event the plan uses: the entry event, rules (segments, branches, exclusions), waits and exits."""
    data = plan.model_dump(mode="json")
    used = {n["event"] for n in _walk(data) if isinstance(n.get("event"), str)}
    if plan.trigger.entry_event:
        used.add(plan.trigger.entry_event)
    return used


@assertion("role_used", needs=("value",))
def role_used(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The catalog field or event playing each listed role (e.g. renewal_at, purchase) is used in the
    plan's rules, trigger, merge fields or copy; score = share used. A role the catalog lacks fails."""
    plan = scope.turn.answer.plan_model()
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    wanted = values_of(spec)
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        return Outcome(0, f"unknown role(s): {', '.join(unknown)} (roles: docs/workspace.md)")
    used = plan_fields(plan) | plan_events(plan)
    missing, absent = [], []
    for name in wanted:
        player = scope.workspace.roles.get(name)
        if player is None:
            absent.append(name)
        elif player not in used:
            missing.append(f"{name} ({player})")
    bad = len(missing) + len(absent)
    parts = []
    if absent:
        parts.append(f"the catalog has no field or event for {', '.join(absent)}")
    if missing:
        parts.append(f"not used: {', '.join(missing)}")
    players = ", ".join(f"{r}={scope.workspace.roles[r]}" for r in wanted if r in scope.workspace.roles)
    return Outcome((len(wanted) - bad) / len(wanted), "; ".join(parts) if parts else f"uses {players}")


@lru_cache(maxsize=16)
def _other_workspace(name: str) -> Workspace:
    path = Path(name)
    if not path.is_absolute() and len(path.parts) == 1:
        path = BRANDS_DIR / name
    return load_workspace(path)


def _host(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/", 1)[0].lower()


def brand_words(workspace: Workspace) -> set[str]:
    """The words that identify a brand: its name and website host, product names, aliases and
    their translations, offer codes, its slug, and its catalog's own field and event names (built-in contact
    columns such as ``city`` are everyone's, and a name without ``_`` is an ordinary word in copy)."""
    words = {workspace.brand.name, workspace.brand.slug, _host(workspace.brand.website)}
    for product in workspace.facts.products:
        words.update([product.name, *product.aliases])
        words.update(t["name"] for t in product.translations.values() if t.get("name"))
    words.update(o.code for o in workspace.facts.offers if o.code)
    names = [*(f.name for f in workspace.catalog.fields), *(e.name for e in workspace.catalog.events)]
    words.update(n for n in names if "_" in n and n not in CONTACT_COLUMNS)
    return {w.strip() for w in words if w and w.strip()}


def _word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(words), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![^\W_])", re.IGNORECASE)


@assertion("no_words_from", needs=("value",))
def no_words_from(spec: AssertionSpec, scope: Scope) -> Outcome:
    """No word that identifies another brand appears in the copy or the plan's fields and events: its
    name, website, product names, offer codes, field and event names (words the brand under test
    shares are allowed). ``value`` names bundled brands (folders of copilot/brands, e.g. demo) or paths."""
    plan = scope.turn.answer.plan_model()
    own = {w.lower() for w in brand_words(scope.workspace)}
    foreign: set[str] = set()
    for name in values_of(spec):
        foreign |= {w for w in brand_words(_other_workspace(name)) if w.lower() not in own}
    pattern = _word_pattern(foreign)
    if plan is None or pattern is None:
        return Outcome(1, f"{_no_plan_reason(scope)}, so no foreign word" if plan is None else "no foreign words")
    hits: list[str] = []
    for name in sorted(plan_fields(plan) | plan_events(plan)):
        if pattern.fullmatch(name):
            hits.append(f"{name!r} in the plan's rules or trigger")
    renders = scope.turn.renders
    dirty = 0
    for r in renders:
        text = "\n".join((render_text(r, "any"), r.cta_url))
        found = pattern.search(text)
        if found:
            dirty += 1
            if len(hits) < 3:
                hits.append(f"{found.group(0)!r} in {r.segment}/{r.message}/{r.variant}")
    checked = len(renders) + 1
    bad = dirty + (1 if any("plan's rules" in h for h in hits) else 0)
    if hits:
        return Outcome((checked - bad) / checked, "; ".join(hits[:3]))
    return Outcome(1, f"none of {len(foreign)} foreign words in {len(renders)} renders or the plan")


def _copy_text(variant: Any) -> tuple[str, ...]:
    return tuple(text for _, text in variant.copy_items(urls=False))


@assertion("locales_covered")
def locales_covered(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Every variant (segment, message, A/B key) has copy in each locale (``value``, default: every
    locale the brand lists), and a locale's copy is not the default locale's copy unchanged;
    score = share of (variant, locale) pairs covered."""
    plan = scope.turn.answer.plan_model()
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    locales = values_of(spec) or list(scope.workspace.brand.locales)
    default = scope.workspace.brand.default_locale
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for v in plan.variants:
        groups.setdefault((v.segment, v.message, v.key), {})[v.locale] = v
    missing: list[str] = []
    for (segment, message, key), by_locale in groups.items():
        base = by_locale.get(default)
        for loc in locales:
            variant = by_locale.get(loc)
            where = f"{segment}/{message}/{key}"
            if variant is None:
                missing.append(f"{where} has no {loc} copy")
            elif loc != default and base is not None and _copy_text(variant) == _copy_text(base):
                missing.append(f"{where} {loc} copy is the {default} copy unchanged")
    total = len(groups) * len(locales)
    if missing:
        more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
        return Outcome((total - len(missing)) / total, "; ".join(missing[:3]) + more)
    return Outcome(1, f"{len(groups)} variant(s) in {', '.join(locales)}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _first_send(plan: Plan) -> tuple[date, str] | None:
    if plan.trigger.kind == "schedule" and plan.trigger.send_at is not None:
        return plan.trigger.send_at.date(), "send_at"
    if plan.send_window is not None:
        return plan.send_window.start, "send window start"
    return None


def _send_window_spec(spec: AssertionSpec) -> str | None:
    value = spec.value
    if not isinstance(value, list) or len(value) != 2:
        return "needs 'value': [first day, last day] (ISO dates)"
    try:
        first, last = (_as_date(v) for v in value)
    except ValueError:
        return f"value {value!r} is not two ISO dates"
    return f"the first day {first} is after the last {last}" if first > last else None


@assertion("send_between", needs=("value",), validate=_send_window_spec)
def send_between(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The plan's first send falls within ``value: [first day, last day]`` (inclusive): a scheduled
    send's date, else the send window's start. A plan with neither fails."""
    problem = _send_window_spec(spec)
    if problem:
        return Outcome(0, problem)
    plan = scope.turn.answer.plan_model()
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    first, last = (_as_date(v) for v in spec.value)
    found = _first_send(plan)
    if found is None:
        return Outcome(0, f"a {plan.trigger.kind} trigger with no send window: no dated first send")
    day, what = found
    ok = first <= day <= last
    return Outcome(1 if ok else 0, f"{what} is {day}" + ("" if ok else f", outside {first}..{last}"))
