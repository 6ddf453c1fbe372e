"""Size a plan's segments in the database: disjoint by priority, overlaps, suppression, quiet hours, samples.

Each segment's rule runs once as one SQL query returning its members' ids; the set algebra
(priority, overlaps, suppression) then happens in Python on those ids, so no rule is
evaluated twice. ``segment_members`` answers the same question for one segment in SQL
alone, for previews and sending.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from copilot.errors import NotFoundError
from copilot.models import SuppressedAddress, utcnow
from copilot.plan import Plan, QuietHours
from copilot.segments.english import describe_rule
from copilot.segments.indexes import indexed_attributes
from copilot.segments.sql import RuleCompiler, contacts, events
from copilot.workspace import Workspace

__all__ = [
    "SENT_EVENT",
    "SUPPRESSION_REASONS",
    "SegmentSize",
    "SizingReport",
    "size_plan",
    "segment_members",
    "quiet_hours_moment",
    "in_quiet_hours",
]

# Frequency caps count this event: delivery records one per marketing email sent.
SENT_EVENT = "email_sent"
# A suppressed contact is counted once, under the first reason that applies.
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "suppressed", "excluded", "frequency_capped")


@dataclass
class SegmentSize:
    """One segment of a sized plan. ``size`` is who would be sent to."""

    name: str
    priority: int
    size: int
    raw_size: int  # matches the rule, before priority and suppression
    after_priority: int  # not claimed by a higher-priority segment
    suppressed: dict[str, int]
    quiet_hours: int  # of ``size``: in quiet hours at the send moment (delayed, not removed)
    english: str
    sample_ids: list[int]


@dataclass
class SizingReport:
    """What ``size_plan`` found; ``to_dict()`` is the JSON the API and CLI print."""

    workspace: str
    now: datetime
    audience: int
    segments: list[SegmentSize]
    overlaps: dict[str, dict[str, int]]  # raw: contacts matching both rules, before priority
    suppression: dict[str, int]
    quiet_hours: dict[str, Any]
    total: int
    not_sendable: int
    notes: list[str] = field(default_factory=list)

    def segment(self, name: str) -> SegmentSize | None:
        return next((s for s in self.segments if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.now.isoformat()
        return data


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _ordered(plan: Plan) -> list[Any]:
    return sorted(plan.segments, key=lambda s: s.priority)


def _capped_ids(plan: Plan, workspace: Workspace, now: datetime) -> sa.Select[Any] | None:
    cap = plan.suppression.frequency_cap
    if cap is None or workspace.event(SENT_EVENT) is None:
        return None
    return (
        sa.select(events.c.contact_id)
        .where(events.c.name == SENT_EVENT, events.c.occurred_at > now - timedelta(days=cap.per_days),
               events.c.occurred_at <= now)
        .group_by(events.c.contact_id)
        .having(sa.func.count() >= cap.max_emails)
    )


_suppression_list: sa.Table = SuppressedAddress.__table__  # type: ignore[attr-defined]


def on_suppression_list() -> ColumnElement[bool]:
    """The contact's address is on its workspace's suppression list (bounces, complaints, by hand)."""
    lst = _suppression_list
    return sa.exists(sa.select(sa.literal(1)).select_from(lst).where(
        lst.c.workspace_id == contacts.c.workspace_id, lst.c.email == contacts.c.email))


def _excluded(plan: Plan, compiler: RuleCompiler, *, as_filter: bool = False) -> ColumnElement[bool] | None:
    """Contacts matching any exclusion: planned as a set of its own, or as a filter on candidates."""
    rules = plan.suppression.exclusions
    if not rules:
        return None
    return sa.or_(*[compiler.compile(r, "exists") if as_filter else compiler.compile_segment(r) for r in rules])


def _tune(session: Session) -> None:
    """PostgreSQL settings for this transaction only: sizing is a handful of analytical queries, where
    JIT compilation costs more than it saves and the default 4 MB work_mem makes bitmaps lossy."""
    if _dialect(session) == "postgresql":
        session.connection().execute(sa.select(sa.func.set_config("jit", "off", True),
                                               sa.func.set_config("work_mem", "64MB", True)))


def _compiler(session: Session, workspace: Workspace, plan: Plan, now: datetime) -> RuleCompiler:
    _tune(session)
    dialect = _dialect(session)
    indexed = indexed_attributes(session.connection()) if dialect == "sqlite" else frozenset()
    return RuleCompiler(workspace, plan, now=now, dialect=dialect, indexed_attributes=indexed)


def quiet_hours_moment(plan: Plan, now: datetime) -> tuple[datetime, bool]:
    """The moment quiet hours are judged at, and whether it is a wall-clock time in each recipient's zone.

    A schedule is judged at its send time; event and recurring triggers at ``now``.
    """
    trigger = plan.trigger
    if trigger.kind == "schedule" and trigger.send_at is not None:
        return trigger.send_at, trigger.recipient_local_time
    return now, False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_quiet_hours(quiet: QuietHours, moment: datetime, timezone: str, *, local_wall_clock: bool = False) -> bool:
    """True when ``moment`` falls in the quiet hours of a recipient in ``timezone`` (unknown zones: UTC)."""
    if local_wall_clock:
        local = moment
    else:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC  # type: ignore[assignment]
        local = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=UTC).astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = _minutes(quiet.start), _minutes(quiet.end)
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end  # the quiet window wraps midnight


def _audience(session: Session, workspace_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(contacts).where(contacts.c.workspace_id == workspace_id)
    return int(session.exec(query).one()[0])  # type: ignore[call-overload]


def _rows(session: Session, query: sa.Select[Any]) -> sa.CursorResult[Any]:
    return session.connection().execute(query)


class _Quiet:
    """Which contacts are in quiet hours at the send moment: judged once per time zone."""

    def __init__(self, plan: Plan, now: datetime) -> None:
        self.rule = plan.suppression.quiet_hours
        self.moment, self.wall_clock = quiet_hours_moment(plan, now)
        self.by_zone: dict[str, bool] = {}

    def __call__(self, timezone: str) -> bool:
        quiet = self.by_zone.get(timezone)
        if quiet is None:
            quiet = self.by_zone[timezone] = self.rule is not None and in_quiet_hours(
                self.rule, self.moment, timezone, local_wall_clock=self.wall_clock)
        return quiet


def size_plan(session: Session, workspace: Workspace, workspace_id: int, plan: Plan, *,
              now: datetime | None = None, sample: int = 5) -> SizingReport:
    """Size every segment of ``plan`` on the workspace's audience as of ``now``.

    The plan must be valid for the workspace (``copilot.validation.check_plan``).
    """
    now = (now or utcnow()).astimezone(UTC)
    compiler = _compiler(session, workspace, plan, now)
    ordered = _ordered(plan)
    is_quiet = _Quiet(plan, now)
    raw: dict[str, set[int]] = {}
    consent_of: dict[int, str] = {}  # only contacts who are not subscribed
    quiet_ids: set[int] = set()
    for seg in ordered:
        query = sa.select(contacts.c.id, contacts.c.consent, contacts.c.timezone).where(
            contacts.c.workspace_id == workspace_id, compiler.compile_segment(seg.rule))
        rows = _rows(session, query).all()
        raw[seg.name] = {row[0] for row in rows}
        for cid, consent, tz in rows:  # a few per-row checks; the set algebra below runs in C
            if consent != "subscribed":
                consent_of[cid] = consent
            elif is_quiet(tz):
                quiet_ids.add(cid)
    union: set[int] = set().union(*raw.values()) if raw else set()
    capped_query = _capped_ids(plan, workspace, now)
    capped = {cid for (cid,) in _rows(session, capped_query)} & union if capped_query is not None and union else set()
    excluded_cond = _excluded(plan, compiler)
    excluded: set[int] = set()
    if excluded_cond is not None and union:
        query = sa.select(contacts.c.id).where(contacts.c.workspace_id == workspace_id, excluded_cond)
        excluded = {cid for (cid,) in _rows(session, query)} & union
    listed: set[int] = set()
    if union:
        query = sa.select(contacts.c.id).where(contacts.c.workspace_id == workspace_id, on_suppression_list())
        listed = {cid for (cid,) in _rows(session, query)} & union
    notes = []
    if plan.suppression.frequency_cap and workspace.event(SENT_EVENT) is None:
        notes.append(f"frequency cap not applied: the catalog has no {SENT_EVENT!r} event to count sends")
    unsubscribed = {cid for cid, c in consent_of.items() if c != "bounced"}  # unknown states count as unsubscribed
    bounced = {cid for cid, c in consent_of.items() if c == "bounced"}
    removed = (("unsubscribed", unsubscribed), ("bounced", bounced), ("suppressed", listed), ("excluded", excluded),
               ("frequency_capped", capped))
    claimed: set[int] = set()
    sizes: list[SegmentSize] = []
    totals = dict.fromkeys(SUPPRESSION_REASONS, 0)
    for seg in ordered:
        remaining = raw[seg.name] - claimed
        after_priority = len(remaining)
        claimed |= raw[seg.name]
        counts: dict[str, int] = {}
        for reason, ids in removed:  # each contact counted once, under the first reason
            gone = remaining & ids
            counts[reason] = len(gone)
            totals[reason] += len(gone)
            remaining -= gone
        sizes.append(SegmentSize(
            name=seg.name, priority=seg.priority, size=len(remaining), raw_size=len(raw[seg.name]),
            after_priority=after_priority, suppressed=counts, quiet_hours=len(remaining & quiet_ids),
            english=describe_rule(seg.rule, workspace), sample_ids=heapq.nsmallest(sample, remaining),
        ))
    names = [s.name for s in ordered]
    quiet = plan.suppression.quiet_hours
    quiet_info: dict[str, Any] = {"contacts": sum(s.quiet_hours for s in sizes), "removed": 0}
    if quiet is not None:
        quiet_info.update(start=quiet.start, end=quiet.end, fallback=quiet.fallback,
                          judged_at=is_quiet.moment.isoformat(), recipient_local_time=is_quiet.wall_clock)
    return SizingReport(
        workspace=workspace.slug, now=now, audience=_audience(session, workspace_id), segments=sizes,
        overlaps={a: {b: len(raw[a] & raw[b]) for b in names} for a in names}, suppression=totals,
        quiet_hours=quiet_info, total=sum(s.size for s in sizes), not_sendable=sum(totals.values()), notes=notes,
    )


def segment_members(session: Session, workspace: Workspace, workspace_id: int, plan: Plan, segment_name: str, *,
                    now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of the contacts ``segment_name`` sends to: not in a higher-priority segment, subscribed,
    not on the suppression list, not excluded, not frequency-capped; ascending, at most ``limit``."""
    segment = plan.segment(segment_name)
    if segment is None:
        raise NotFoundError(f"no segment {segment_name!r} in the plan", segment=segment_name)
    now = (now or utcnow()).astimezone(UTC)
    dialect = _dialect(session)
    compiler = _compiler(session, workspace, plan, now)
    conds: list[ColumnElement[bool]] = [
        contacts.c.workspace_id == workspace_id,
        contacts.c.consent == "subscribed",
        compiler.compile_segment(segment.rule),
        sa.not_(on_suppression_list()),
    ]
    # Higher-priority segments and exclusions only filter the candidates the segment's own rule drives.
    conds += [sa.not_(compiler.compile(s.rule, "exists")) for s in _ordered(plan) if s.priority < segment.priority]
    excluded = _excluded(plan, compiler, as_filter=True)
    if excluded is not None:
        conds.append(sa.not_(excluded))
    capped = _capped_ids(plan, workspace, now)
    if capped is not None:
        if dialect == "postgresql":
            sub = capped.subquery()
            conds.append(~sa.exists(sa.select(sa.literal(1)).select_from(sub).where(sub.c.contact_id == contacts.c.id)))
        else:
            conds.append(contacts.c.id.not_in(capped))
    query = sa.select(contacts.c.id).where(*conds).order_by(contacts.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [cid for (cid,) in _rows(session, query)]
