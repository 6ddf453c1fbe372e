"""Follow-up messages: a new plan revision from the previous one and what the marketer asked to change.

Simple edits apply to the previous plan directly (drop a segment, exclude a group, fewer
emails, a warmer or shorter tone). A message that changes what the plan is built from
(offer, audience, product, timing) re-plans from the previous brief plus the message, then
carries the earlier edits (dropped segments, exclusions, tone) over to the new revision.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from rapidfuzz import fuzz

from copilot.brief import AudienceHint, BriefReading, normalize, read_brief
from copilot.plan import Plan, SendStep, Variant
from copilot.planner.audience import rule_names
from copilot.planner.base import AudienceStats
from copilot.planner.clock import local_date
from copilot.planner.compose import Draft, compose_plan
from copilot.planner.timing import keep_sends, sent_messages
from copilot.playbooks import get_playbook, load_vocabulary
from copilot.workspace import Workspace

__all__ = ["revise", "apply_tone", "drop_segments", "limit_emails", "carry_over"]

_DROP = re.compile(r"\b(drop|remove|delete|lose|cut|get rid of|take out|without the|no more|quita|quitar|elimina|"
                   r"eliminar|entferne|entfernen|lösche|streiche)\b\s+(?:the\s+|el\s+|la\s+|los\s+|das\s+|die\s+|"
                   r"den\s+)?(.+?)(?:\s+(?:segment|segments|group|audience|segmento|gruppe))?\s*(?:[.,;!?]|\band\b|$)",
                   re.I)


def _hint_segments(plan: Plan, hint: AudienceHint) -> list[str]:
    """Segments whose rule tests what the hint names (its field, or its event)."""
    out = []
    for seg in plan.segments:
        fields, events = rule_names(seg.rule)
        if (set(hint.fields) & fields) or (not hint.fields and set(hint.events) & events):
            out.append(seg.name)
    return out


def drop_segments(plan: Plan, message: str, hints: list[AudienceHint]) -> tuple[Plan, list[str], list[AudienceHint]]:
    """Remove the segments the message names ("drop the VIP segment", "quita el segmento de los grandes
    compradores"): by name, or by the group the words stand for. Returns the new plan, the dropped
    names, and the named groups no segment is about (the caller excludes those instead)."""
    targets: list[str] = []
    missing: list[AudienceHint] = []
    for m in _DROP.finditer(message):
        said = normalize(m.group(2))
        if not said:
            continue
        by_name = [seg.name for seg in plan.segments
                   if fuzz.partial_ratio(said, normalize(seg.name)) >= 85
                   or fuzz.token_set_ratio(said, normalize(seg.name)) >= 85]
        named = [h for h in hints if m.start(2) <= h.start < m.end(2)]
        found = list(by_name)
        for hint in named:
            matches = _hint_segments(plan, hint)
            if matches and len(matches) < len(plan.segments):
                found += matches
            elif not by_name:
                missing.append(hint)
        targets += [n for n in found if n not in targets]
    keep = [s for s in plan.segments if s.name not in targets]
    if not targets or not keep:
        return plan, [], missing
    segments = [s.model_copy(update={"priority": i}) for i, s in enumerate(keep, 1)]
    variants = [v for v in plan.variants if v.segment not in targets]
    return plan.model_copy(update={"segments": segments, "variants": variants}), targets, missing


def _tone_copy() -> dict[str, dict[str, str]]:
    return load_vocabulary().tone_copy


def apply_tone(variants: list[Variant], tones: list[str], brand: str) -> tuple[list[Variant], list[str]]:
    """Warmer / shorter / more formal copy; 'more urgent' is declined (the voice rules out pressure)."""
    notes = []
    out = list(variants)
    copy = _tone_copy()
    for tone in tones:
        spec = copy.get(tone)
        if spec is None:
            continue
        if spec.get("decline"):
            notes.append(spec["decline"])
            continue
        changed = []
        for v in out:
            paragraphs = v.body.split("\n\n")
            if tone == "shorter":
                paragraphs = [p for i, p in enumerate(paragraphs) if i < 2 or "**" in p]
            if spec.get("opener") and spec["opener"] not in v.body:
                at = 1 if paragraphs and paragraphs[0].rstrip().endswith(",") else 0
                paragraphs.insert(at, spec["opener"])
            closing = spec.get("closing", "").replace("[[brand]]", brand)
            if closing and closing not in v.body:
                paragraphs.append(closing)
            body = "\n\n".join(paragraphs)
            if spec.get("greeting_from") and spec.get("greeting_to"):
                body = body.replace(spec["greeting_from"], spec["greeting_to"], 1)
            changed.append(v.model_copy(update={"body": body}))
        out = changed
        notes.append(spec.get("note", f"Made the copy {tone}."))
    return out, notes


def _has_tone(plan: Plan, tone: str, brand: str) -> bool:
    spec = _tone_copy().get(tone, {})
    marker = spec.get("opener") or spec.get("closing", "").replace("[[brand]]", brand)
    return bool(marker) and all(marker in v.body for v in plan.variants)


def _replans(msg: BriefReading, plan: Plan) -> bool:
    c = msg.constraints
    return bool(msg.offers or msg.offer_refused or msg.audience or msg.products or msg.categories
                or msg.lapse_days or c.deadline or c.send_on or c.send_time or c.recurrence or c.weekday is not None
                or msg.delay_hours or (msg.goal and msg.goal != plan.goal and msg.goal_score >= 3))


def _merge(base: BriefReading, msg: BriefReading, plan: Plan) -> BriefReading:
    """The previous brief's reading, overridden by what the follow-up says."""
    merged = base
    merged.text = f"{plan.brief}\n{msg.text}"
    if msg.goal and msg.goal != plan.goal and msg.goal_score >= 3:
        merged.goal, merged.goal_text, merged.alternatives = msg.goal, msg.goal_text, []
    else:
        merged.goal = plan.goal
    if msg.offers or msg.offer_refused:
        merged.offers, merged.offer_refused = msg.offers, msg.offer_refused
    merged.audience = base.audience + [h for h in msg.audience if all(h.label != b.label for b in base.audience)]
    merged.constraints.exclusions = base.constraints.exclusions + msg.constraints.exclusions
    for attr in ("products", "categories"):
        if getattr(msg, attr):
            setattr(merged, attr, getattr(msg, attr))
    for attr in ("lapse_days", "delay_hours", "window_days"):
        if getattr(msg, attr):
            setattr(merged, attr, getattr(msg, attr))
    for attr in ("deadline", "deadline_text", "send_on", "not_before", "send_time", "max_emails", "recurrence",
                 "frequency_cap"):
        if getattr(msg.constraints, attr):
            setattr(merged.constraints, attr, getattr(msg.constraints, attr))
    if msg.constraints.recurrence:  # a new cadence keeps the day only when it names one
        merged.constraints.weekday = msg.constraints.weekday
    merged.injections = msg.injections
    merged.risky_fields = msg.risky_fields
    merged.language = msg.language
    merged.constraints.unsupported_channels = msg.constraints.unsupported_channels
    return merged


def limit_emails(plan: Plan, limit: int) -> Plan:
    steps = keep_sends(list(plan.trigger.steps), limit)
    kept = set(sent_messages(steps))
    return plan.model_copy(update={
        "trigger": plan.trigger.model_copy(update={"steps": steps}),
        "variants": [v for v in plan.variants if v.message in kept],
    })


def carry_over(new: Plan, old: Plan, workspace: Workspace) -> tuple[Plan, list[str]]:
    """Keep the earlier revision's edits: dropped segments, added exclusions, tone."""
    notes: list[str] = []
    if new.goal == old.goal:
        book = get_playbook(new.goal)
        offered = {s.name for s in book.segments}
        old_names = {s.name for s in old.segments}
        gone = [s.name for s in new.segments if s.name in offered and s.name not in old_names]
        if gone and len(gone) < len(new.segments):
            keep = [s for s in new.segments if s.name not in gone]
            new = new.model_copy(update={
                "segments": [s.model_copy(update={"priority": i}) for i, s in enumerate(keep, 1)],
                "variants": [v for v in new.variants if v.segment not in gone]})
    have = {json.dumps(r.model_dump(mode="json"), sort_keys=True) for r in new.suppression.exclusions}
    extra = [r for r in old.suppression.exclusions
             if json.dumps(r.model_dump(mode="json"), sort_keys=True) not in have]
    if extra:
        new = new.model_copy(update={"suppression": new.suppression.model_copy(
            update={"exclusions": list(new.suppression.exclusions) + extra})})
    tones = [t for t in _tone_copy() if _has_tone(old, t, workspace.name)]
    if tones:
        variants, _ = apply_tone(list(new.variants), tones, workspace.name)
        new = new.model_copy(update={"variants": variants})
    old_sends = sum(isinstance(s, SendStep) for s in old.trigger.steps)
    new_sends = sum(isinstance(s, SendStep) for s in new.trigger.steps)
    if new.goal == old.goal and new_sends > old_sends >= 1:
        new = limit_emails(new, old_sends)
    return new, notes


def _in_drop_clause(message: str, hint: AudienceHint) -> bool:
    return any(m.start(2) <= hint.start < m.end(2) for m in _DROP.finditer(message))


def _add_exclusions(plan: Plan, hints: list[AudienceHint]) -> tuple[Plan, list[AudienceHint]]:
    have = {json.dumps(r.model_dump(mode="json"), sort_keys=True) for r in plan.suppression.exclusions}
    added = [h for h in hints if json.dumps(h.rule.model_dump(mode="json"), sort_keys=True) not in have]
    if not added:
        return plan, []
    suppression = plan.suppression.model_copy(
        update={"exclusions": list(plan.suppression.exclusions) + [h.rule for h in added]})
    return plan.model_copy(update={"suppression": suppression}), added


def revise(plan: Plan, message: str, workspace: Workspace, *, now: datetime,
           audience: AudienceStats | None = None) -> tuple[Draft, BriefReading]:
    """A new revision of ``plan`` from a follow-up ``message``.

    When the message changes nothing (an instruction the planner ignores, a tone it declines,
    words it does not understand) the previous plan comes back unchanged, with notes or a question.
    """
    msg = read_brief(message, workspace, today=local_date(now, workspace))
    drop_hints = [h for h in msg.audience if _in_drop_clause(message, h)]
    msg.audience = [h for h in msg.audience if h not in drop_hints]
    editing = bool(_DROP.search(message) or msg.constraints.exclusions)
    if editing and msg.goal != plan.goal:
        msg.goal = None  # "drop the VIP segment" edits this plan; it is not a VIP campaign
    notes: list[str] = []
    questions: list[str] = []
    new = plan
    if _replans(msg, plan):
        base = read_brief(plan.brief[-4000:], workspace, today=local_date(now, workspace))
        merged = _merge(base, msg, plan)
        draft = compose_plan(merged, get_playbook(merged.goal or plan.goal), workspace, now=now, audience=audience)
        if draft.plan is None:
            return Draft(plan, draft.questions, draft.notes), msg
        new, carried = carry_over(draft.plan, plan, workspace)
        notes += draft.notes + carried
        questions += draft.questions
    new, dropped, unmatched = drop_segments(new, message, drop_hints)
    if dropped:
        notes.append(f"Dropped {', '.join(dropped)}; the remaining segments moved up in priority.")
    if unmatched:
        new, added = _add_exclusions(new, unmatched)
        for h in added:
            notes.append(f"This plan has no segment for {h.label}, so I excluded them instead.")
    elif _DROP.search(message) and not dropped and "segment" in message.lower():
        questions.append("Which segment should I drop? This plan has: "
                         + ", ".join(s.name for s in new.segments) + ".")
    if msg.constraints.exclusions:
        new, added = _add_exclusions(new, msg.constraints.exclusions)
        if added:
            notes.append("Excluded " + ", ".join(h.label for h in added) + ".")
    if msg.constraints.max_emails:
        new = limit_emails(new, msg.constraints.max_emails)
        notes.append(f"The journey now sends at most {msg.constraints.max_emails} email(s).")
    if msg.tones:
        variants, tone_notes = apply_tone(list(new.variants), msg.tones, workspace.name)
        new = new.model_copy(update={"variants": variants})
        notes += tone_notes
    if new == plan:
        if not notes and not questions and not msg.injections:
            questions.append("I didn't catch what to change, so the plan is as it was. You can say, for example, "
                             "“drop the VIP segment”, “exclude people who bought last week”, “make it warmer” or "
                             "“use free shipping”.")
        return Draft(plan, questions, notes), msg
    return Draft(new.model_copy(update={"brief": f"{plan.brief}\n{message}"}), questions, notes), msg
