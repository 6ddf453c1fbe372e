"""View models: turn a stored revision (plan, sizing, findings) into what the plan templates show.

Presentation only: segment rows, the trigger as a timeline, copy split around finding spans so
the template can highlight them, and previews. No database access and no rules here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copilot.plan import COPY_FIELDS, BranchStep, DelayStep, Plan, SendStep, Variant, WaitStep
from copilot.delivery.message import from_header
from copilot.planner.timeline import describe_entry, describe_recurring, span
from copilot.render import markdown_to_html_text
from copilot.services.copy_check import Preview, render_previews
from copilot.workspace import Workspace
from guards import Finding
from guards.fallbacks import LOCALE_DEFAULT

__all__ = ["Piece", "FieldView", "VariantView", "PlanView", "PlanNote", "plan_view", "highlight",
           "variant_view", "FIELD_LABELS", "ONCE_PER_PLAN", "REQUIRED_COPY"]

FIELD_LABELS = {f.name: f.label for f in COPY_FIELDS}
# Findings about the plan's audience rather than one variant's copy: the plan shows each code once,
# naming the variants it concerns, instead of repeating it under every variant.
ONCE_PER_PLAN: Mapping[str, str] = {LOCALE_DEFAULT.code: LOCALE_DEFAULT.title}  # code -> the note's title
REQUIRED_COPY = ("subject", "body")  # a variant without these sends nothing worth reading


@dataclass(frozen=True)
class Piece:
    text: str
    findings: tuple[Any, ...] = ()  # findings whose span covers this piece (highlighted)

    @property
    def severity(self) -> str:
        order = {"block": 0, "warn": 1, "info": 2}
        return min((f.severity for f in self.findings), key=lambda s: order.get(s, 3), default="")


@dataclass
class FieldView:
    name: str
    label: str
    value: str
    pieces: list[Piece]
    kind: str = "text"  # text, markdown or url, as the plan model declares the field
    html: str | None = None  # markdown fields: the HTML the e-mail's body gets (copilot.render's converter)


@dataclass
class VariantView:
    index: int
    variant: Variant
    fields: list[FieldView]
    findings: list[Any]
    previews: list[Preview] = field(default_factory=list)
    empty_fields: list[str] = field(default_factory=list)  # labels of required copy left blank
    reaches_nobody: bool = False  # its segment has 0 contacts

    @property
    def dom_id(self) -> str:
        return f"variant-{self.index}"

    @property
    def counts(self) -> dict[str, int]:
        """Findings by severity, for the variant's card."""
        out = {"block": 0, "warn": 0, "info": 0}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    @property
    def sample(self) -> Preview | None:
        """The first preview that rendered (a real sample contact when the segment has one)."""
        return next((p for p in self.previews if not p.error), None)


@dataclass
class PlanNote:
    """One plan-wide finding code, shown once: its title, severity and the variants it concerns."""

    code: str
    title: str
    severity: str
    findings: list[Any]


@dataclass
class PlanView:
    plan: Plan
    segments: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]
    suppression: dict[str, int]
    sizing_notes: list[str]
    total: int | None
    timeline: list[dict[str, Any]]
    rules: list[str]
    variants: list[VariantView]
    plan_findings: list[Any]
    notes: list[PlanNote] = field(default_factory=list)
    timeline_frame: str = "UTC"  # what the timeline's times are in (the brand's zone, recipients' clocks, ...)
    sender: str = ""  # the From line of every message ("Name <address>")
    # _plan.html rendered for this view (rendering.plan_html), per revision and way of showing it
    rendered: dict[tuple[Any, ...], str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def audience(self) -> list[dict[str, Any]]:
        """The segments for the summary: size as a share of the largest (a bar) and the other segments
        each overlaps before priority ("also in Lapsed buyers: 120")."""
        largest = max((s["size"] or 0 for s in self.segments), default=0)
        names = [s["name"] for s in self.segments]
        cells = {row["name"]: row["cells"] for row in self.overlaps}
        out = []
        for s in self.segments:
            row = cells.get(s["name"], [])
            shared = [(other, n) for other, n in zip(names, row, strict=False) if other != s["name"] and n]
            out.append({**s, "share": round(100 * (s["size"] or 0) / largest) if largest else 0, "shared": shared})
        return out

    @property
    def empty_segments(self) -> list[str]:
        """Segments sized at 0 contacts: nobody gets their copy."""
        return [s["name"] for s in self.segments if s["size"] == 0]

    @property
    def empty_variants(self) -> list[VariantView]:
        return [v for v in self.variants if v.empty_fields]


def highlight(text: str, findings: Sequence[Any]) -> list[Piece]:
    """Split ``text`` at every finding span boundary; each piece knows the findings covering it."""
    spans = [(f, max(0, f.span[0]), min(len(text), f.span[1])) for f in findings
             if f.span is not None and f.span[1] > f.span[0]]
    cuts = sorted({0, len(text), *(s for _, s, _ in spans), *(e for _, _, e in spans)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        if end <= start:
            continue
        covering = tuple(f for f, s, e in spans if s <= start and end <= e)
        pieces.append(Piece(text[start:end], covering))
    return pieces or [Piece(text)]


def _belongs(f: Finding, v: Variant, default_locale: str) -> bool:
    """The finding is about this variant: its segment, arm, email and language (a finding names a
    language only for a variant in another than the brand's default)."""
    return f.segment == v.segment and f.variant == v.key and (f.message_key is None or f.message_key == v.message) \
        and (getattr(f, "locale", None) or default_locale) == v.locale


def variant_view(index: int, variant: Variant, findings: Sequence[Any], *, workspace: Workspace | None = None,
                 contacts: Sequence[Mapping[str, Any]] = ()) -> VariantView:
    mine = list(findings)
    fields = []
    for spec, value in variant.copy_items():
        fields.append(FieldView(spec.name, spec.label, value or "",
                                highlight(value or "", [f for f in mine if f.field == spec.name]), spec.kind,
                                html=markdown_to_html_text(value)[0] if spec.kind == "markdown" and value else None))
    previews = render_previews(variant, workspace, contacts) if workspace is not None else []
    empty = [f.label for f in fields if f.name in REQUIRED_COPY and not f.value.strip()]
    return VariantView(index=index, variant=variant, fields=fields, findings=mine, previews=previews,
                       empty_fields=empty)


def _describe(rule: Any, workspace: Workspace | None) -> str:
    try:
        from copilot.segments import describe_rule
    except ImportError:
        return rule.model_dump_json(exclude_defaults=True)
    return describe_rule(rule, workspace)


class _Clock:
    """Where a step falls: on the brand's calendar when the trigger has a start time, else as time since
    the contact entered ("day 0", "+2 days")."""

    def __init__(self, start: datetime | None, zone: ZoneInfo, *, wall_clock: bool) -> None:
        self.start, self.zone, self.wall_clock = start, zone, wall_clock

    def at(self, hours: float, *, at_most: bool = False) -> str:
        prefix = "by " if at_most else ""
        if self.start is None:
            return prefix + ("day 0" if hours == 0 else f"+{span(hours)}")
        moment = self.start + timedelta(hours=hours)
        if not self.wall_clock:
            moment = moment.astimezone(self.zone)
        return prefix + f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"


def _steps(steps: Sequence[Any], workspace: Workspace | None, clock: _Clock, depth: int = 0,
           offset: float = 0.0, waited: bool = False) -> tuple[list[dict[str, Any]], float]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, DelayStep):
            offset += step.hours
            label = f"Wait {span(step.hours)}" + (f", then until {step.at_local_time} local time"
                                                 if step.at_local_time else "")
            out.append({"kind": "delay", "label": label, "depth": depth, "at": None})
        elif isinstance(step, SendStep):
            out.append({"kind": "send", "label": f"Send {step.message}", "depth": depth,
                        "at": clock.at(offset, at_most=waited), "message": step.message})
        elif isinstance(step, WaitStep):
            then = "leave the journey" if step.on_event == "exit" else "continue"
            out.append({"kind": "wait", "depth": depth, "at": None,
                        "label": f"Wait up to {span(step.timeout_hours)} for {step.event}; if it happens, {then}"})
            offset += step.timeout_hours
            waited = True
        elif isinstance(step, BranchStep):
            out.append({"kind": "branch", "label": f"If {_describe(step.rule, workspace)}", "depth": depth, "at": None})
            then_items, _ = _steps(step.then_steps, workspace, clock, depth + 1, offset, waited)
            out.extend(then_items)
            if step.else_steps:
                out.append({"kind": "branch", "label": "Otherwise", "depth": depth, "at": None})
                else_items, _ = _steps(step.else_steps, workspace, clock, depth + 1, offset, waited)
                out.extend(else_items)
    return out, offset


def _send_moment(send_at: datetime | None, timezone: str, *, recipient_local_time: bool) -> str:
    """"One send on November 2, 2026 at 10:00 ...": the wall-clock time the reviewer plans with."""
    if send_at is None:
        return "One send (no time set)"
    if recipient_local_time:  # a wall-clock time in every recipient's zone; the offset means nothing
        return f"One send on {_day(send_at)} at {send_at:%H:%M} in each recipient's local time"
    aware = send_at if send_at.tzinfo else send_at.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    local = aware.astimezone(zone)
    text = f"One send on {_day(local)} at {local:%H:%M} {timezone}"
    if local.utcoffset() != aware.astimezone(UTC).utcoffset():
        text += f" ({aware.astimezone(UTC):%H:%M} UTC)"
    return text


def _day(moment: datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


def _zone(name: str) -> tuple[ZoneInfo, str]:
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), "UTC"


def _timeline(plan: Plan, workspace: Workspace | None) -> tuple[list[dict[str, Any]], str]:
    """The trigger's steps, each send with when it goes out, and what those times are in: the brand's
    zone for a scheduled send, each recipient's clock for a local-time one, else time since entry."""
    t = plan.trigger
    zone, zone_name = _zone(workspace.brand.timezone if workspace is not None else t.timezone)
    start: datetime | None = None
    wall_clock = False
    if t.kind == "event":
        entry = f"Enters when {t.entry_event} happens"
        if t.match_property:
            entry += f" (keyed by {t.match_property})"
        entry += {"once": "; enters once", "always": "; may enter again",
                  "after_days": f"; may enter again after {t.reentry_days} days"}[t.reentry]
    elif t.kind == "schedule":
        entry = _send_moment(t.send_at, zone_name if not t.recipient_local_time else t.timezone,
                             recipient_local_time=t.recipient_local_time)
        if t.send_at is not None:
            wall_clock = t.recipient_local_time
            start = t.send_at.replace(tzinfo=None) if wall_clock else (
                t.send_at if t.send_at.tzinfo else t.send_at.replace(tzinfo=UTC))
    elif t.kind in {"date", "threshold"}:
        entry = describe_entry(t).capitalize()
    else:
        entry = f"Repeats {describe_recurring(t)}"
    clock = _Clock(start, zone, wall_clock=wall_clock)
    steps, _ = _steps(t.steps, workspace, clock)
    items = [{"kind": "entry", "label": entry, "depth": 0, "at": None}, *steps]  # the entry names its own time
    items.extend({"kind": "exit", "label": f"Leaves on {c.event}", "depth": 0, "at": None} for c in t.exit_conditions)
    if start is None:
        frame = "time since a contact enters"
    elif wall_clock:
        frame = "each recipient's local time"
    else:
        frame = zone_name
    return items, frame


def _rules(plan: Plan, workspace: Workspace | None) -> list[str]:
    s = plan.suppression
    rules = ["Only subscribed contacts (consent is always required)"]
    if s.frequency_cap:
        rules.append(f"At most {s.frequency_cap.max_emails} emails per {s.frequency_cap.per_days} days")
    if s.quiet_hours:
        rules.append(f"Quiet hours {s.quiet_hours.start}-{s.quiet_hours.end} recipient time "
                     f"({'send at the next allowed time' if s.quiet_hours.fallback == 'next_allowed' else 'skip'})")
    rules.extend(f"Excluded: {_describe(r, workspace)}" for r in s.exclusions)
    return rules


def plan_view(plan: Plan, sizing: Mapping[str, Any] | None, findings: Sequence[Any], *,
              workspace: Workspace | None = None,
              samples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> PlanView:
    sizing = sizing or {}
    sized = {s.get("name"): s for s in sizing.get("segments", [])}
    segments = []
    for seg in sorted(plan.segments, key=lambda s: s.priority):
        size = sized.get(seg.name, {})
        segments.append({
            "name": seg.name, "priority": seg.priority, "description": seg.description,
            "size": size.get("size"), "raw_size": size.get("raw_size"),
            "english": size.get("english") or _describe(seg.rule, workspace),
            "suppressed": size.get("suppressed") or {}, "quiet_hours": size.get("quiet_hours"),
            "hypothesis": seg.hypothesis, "rationales": seg.field_rationales,
        })
    names = [s["name"] for s in segments]
    raw_overlaps = sizing.get("overlaps") or {}
    overlaps = [{"name": a, "cells": [raw_overlaps.get(a, {}).get(b) for b in names]} for a in names] \
        if raw_overlaps else []
    all_findings = list(findings)
    notes: dict[str, PlanNote] = {}
    for f in all_findings:
        if f.code in ONCE_PER_PLAN:
            note = notes.setdefault(f.code, PlanNote(f.code, ONCE_PER_PLAN[f.code], f.severity, []))
            note.findings.append(f)
    noted = {id(f) for note in notes.values() for f in note.findings}
    empty_segments = {s["name"] for s in segments if s["size"] == 0}
    variants = []
    claimed: set[int] = set(noted)
    # the default language's variants come first in a plan, which is all a view without a workspace can go by
    default_locale = workspace.brand.default_locale if workspace is not None else (
        plan.variants[0].locale if plan.variants else "en")
    for index, variant in enumerate(plan.variants):
        mine = [f for f in all_findings if _belongs(f, variant, default_locale) and id(f) not in noted]
        claimed.update(id(f) for f in mine)
        view = variant_view(index, variant, mine, workspace=workspace,
                            contacts=(samples or {}).get(variant.segment, ()))
        view.reaches_nobody = variant.segment in empty_segments
        variants.append(view)
    timeline, frame = _timeline(plan, workspace)
    return PlanView(
        plan=plan, segments=segments, overlaps=overlaps, suppression=dict(sizing.get("suppression") or {}),
        sizing_notes=list(sizing.get("notes") or []), total=sizing.get("total"),
        timeline=timeline, rules=_rules(plan, workspace), variants=variants,
        plan_findings=[f for f in all_findings if id(f) not in claimed], notes=list(notes.values()),
        timeline_frame=frame, sender=from_header(workspace) if workspace is not None else "",
    )
