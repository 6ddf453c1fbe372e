"""What the model may see, as plain data for the prompt templates: catalog, public facts, voice, counts.

Invariant 3 lives here: the context is built from the workspace files and aggregate
counts only. There is no path from a contact row to a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from copilot.plan import Plan, Segment
from copilot.planner.base import AudienceStats, Turn
from copilot.playbooks import stage_for_goal
from copilot.segments import describe_rule
from copilot.workspace import Workspace

__all__ = [
    "workspace_context",
    "copy_context",
    "audience_context",
    "plan_json",
    "segment_context",
    "HistoryWindow",
    "condense_history",
]

_CAMPAIGN_USES = {"segmentation", "personalization"}


def _money(value: Any) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value is not None else ""


def _first_clause(text: str) -> str:
    """'Where they like to run, from the preference quiz' -> 'Where they like to run' (fewer tokens, same sense)."""
    head, _, _ = text.partition(", ")
    if head.count("(") != head.count(")"):  # the comma was inside brackets: keep the whole text
        return text
    return head if len(head) >= 12 else text


def _governance(item: Any) -> str:
    parts = [item.provenance]
    if not item.disclosed:
        parts.append("undisclosed")
    if item.sensitive:
        parts.append("sensitive")
    return ", ".join(parts)


def workspace_context(workspace: Workspace) -> dict[str, Any]:
    """Catalog and offers for planning segments and triggers (cached per loaded workspace)."""
    cached = workspace._cache.get("prompt_context")
    if cached is not None:
        return cached
    # email and consent are handled by the product (address, consent suppression), never by a rule.
    usable = [f for f in workspace.catalog.fields
              if _CAMPAIGN_USES & set(f.allowed_uses) and f.name not in {"email", "consent"}]
    context = {
        "brand": workspace.brand.name,
        "currency": workspace.brand.currency,
        "locales": list(workspace.brand.locales),
        "fields": [
            {"name": f.name, "type": f.type, "choices": list(f.values),
             "governance": _governance(f) + ("" if "segmentation" in f.allowed_uses else ", not for rules"),
             "about": _first_clause(f.description), "role": workspace.role_of(f.name) or "",
             "words": list(f.words)}
            for f in usable
        ],
        "analytics_only": [f.name for f in workspace.catalog.fields
                           if f not in usable and f.name not in {"email", "consent"}],
        "events": [
            {"name": e.name, "governance": _governance(e), "about": _first_clause(e.description),
             "properties": [p.name for p in e.properties], "role": workspace.role_of(e.name) or "",
             "words": list(e.words)}
            for e in workspace.catalog.events
        ],
        "offers": [
            {"id": o.id, "name": o.name, "code": o.code or "", "starts": o.starts.isoformat(),
             "ends": o.ends.isoformat() if o.ends else None, "audience": o.audience}
            for o in workspace.facts.offers
        ],
        "customers": list(workspace.brand.customer_words),
        "audiences": [{"label": a.label, "phrases": list(a.phrases)} for a in workspace.catalog.audiences],
        "calendar": [
            {"name": c.name, "starts": c.starts.isoformat(), "ends": c.ends.isoformat() if c.ends else ""}
            for c in workspace.facts.calendar
        ],
    }
    workspace._cache["prompt_context"] = context
    return context


def _cta_choices(workspace: Workspace, goal: str) -> dict[str, list[str]]:
    rules = workspace.voice.cta_rules
    stage = stage_for_goal(goal, rules)
    if stage is not None:
        return {stage: list(rules[stage])}
    return {s: list(texts) for s, texts in rules.items()}  # unknown goal: let the model pick the stage


def copy_context(workspace: Workspace, offer_ids: Sequence[str], goal: str = "") -> dict[str, Any]:
    """Voice rules and the public facts copy may state; only the offers the plan uses are spelled out,
    and only the CTA texts of the plan's journey stage; product URLs under the brand site are given as
    paths (the same facts in fewer tokens)."""
    voice = workspace.voice
    offers = [workspace.offers_by_id[o] for o in offer_ids if o in workspace.offers_by_id]
    website = workspace.brand.website.rstrip("/")
    return {
        "brand": workspace.brand.name,
        "currency": workspace.brand.currency,
        "website": workspace.brand.website,
        "tone_words": list(voice.tone_words),
        "voice": " ".join(voice.description.split()),
        "banned": list(voice.banned_phrases),
        "max_exclamation_marks": voice.max_exclamation_marks,
        "emoji": ("no emoji" if not voice.emoji.allowed else
                  f"at most {voice.emoji.max_per_message} emoji per email"
                  + ("" if voice.emoji.subject_allowed else ", none in the subject")),
        "subject_max_length": voice.subject_max_length,
        "reading_grade": voice.reading_grade_target,
        "ctas": _cta_choices(workspace, goal),
        "offers": [
            {"id": o.id, "terms": o.terms, "code": o.code or "no code needed"} for o in offers
        ],
        # Out-of-stock products are left out: copy must not send people to what they cannot buy.
        "products": [
            {"name": p.name, "price": _money(p.price),
             "url": p.url[len(website):] if p.url.startswith(website + "/") else p.url}
            for p in workspace.facts.products if p.in_stock
        ],
        "policies": [p.text for p in workspace.facts.policies],
        "claims": [c.text for c in workspace.facts.claims],
        "merge_fields": [f.name for f in workspace.catalog.fields if "personalization" in f.allowed_uses
                         and f.name not in {"email"}],
        # the languages copy is written in: the default first, then each other the brand writes
        "locales": list(dict.fromkeys([workspace.brand.default_locale, *workspace.brand.locales])),
    }


def audience_context(stats: AudienceStats, *, sparse_below: float = 0.9) -> dict[str, Any]:
    """Counts for the prompt; of the fields only the sparse ones (filled for under 90%), as percentages,
    since those are the ones a plan should not lean on."""
    total = stats.contacts or 1
    return {
        "contacts": stats.contacts,
        "subscribed": stats.subscribed,
        "events": dict(sorted(stats.event_contacts.items())),
        "sparse": {name: f"{100 * n / total:.0f}%" for name, n in sorted(stats.field_filled.items())
                   if n < sparse_below * total},
    }


def plan_json(plan: Plan | dict[str, Any]) -> str:
    """A plan as compact JSON without default values (what a revision prompt shows)."""
    data = plan.model_dump(mode="json", exclude_defaults=True) if isinstance(plan, Plan) else plan
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def segment_context(segment: Segment, workspace: Workspace) -> dict[str, Any]:
    return {
        "name": segment.name,
        "description": segment.description,
        "who": describe_rule(segment.rule, workspace),
        "attribute": segment.hypothesis.attribute,
        "tactic": segment.hypothesis.tactic,
        "metric": segment.hypothesis.metric,
    }


@dataclass(frozen=True)
class HistoryWindow:
    turns: list[Turn]
    omitted: int = 0  # older turns left out entirely
    condensed: int = 0  # older turns shortened


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def condense_history(history: Sequence[Turn], *, fits: Any, keep_recent: int = 2,
                     short_chars: int = 160) -> HistoryWindow:
    """The longest version of the conversation so far that ``fits(window)`` accepts.

    First the whole history; then older turns shortened (the last ``keep_recent`` stay
    whole); then the oldest shortened turns dropped one by one. The current message,
    the workspace essentials and the current plan are outside the history and never cut.
    """
    window = HistoryWindow(list(history))
    if fits(window):
        return window
    older, recent = list(history[:-keep_recent] or []), list(history[-keep_recent:]) if keep_recent else []
    if len(history) <= keep_recent:
        older, recent = [], list(history)
    shortened = [Turn(t.role, _shorten(t.content, short_chars)) for t in older]
    window = HistoryWindow(shortened + recent, condensed=len(older))
    omitted = 0
    while not fits(window) and shortened:
        shortened.pop(0)
        omitted += 1
        window = HistoryWindow(shortened + recent, omitted=omitted, condensed=len(shortened))
    while not fits(window) and recent:
        recent.pop(0)
        omitted += 1
        window = HistoryWindow(recent, omitted=omitted)
    return window
