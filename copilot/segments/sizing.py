"""Size a plan's segments in the database: disjoint by priority, overlaps, suppression, quiet hours, samples.

Each segment's rule runs once, materialized, inside one SQL statement that also does the
set algebra (priority, overlaps, suppression) and returns only group counts and a few
sample ids: no contact id crosses into Python. ``segment_members`` answers the same
question for one segment, for previews and sending.
"""

from __future__ import annotations

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
    "suppression_reason",
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


def _compiler(session: Session, workspace: Workspace, plan: Plan, now: datetime,
              workspace_id: int | None = None) -> RuleCompiler:
    _tune(session)
    dialect = _dialect(session)
    indexed = indexed_attributes(session.connection())
    return RuleCompiler(workspace, plan, now=now, dialect=dialect, indexed_attributes=indexed,
                        workspace_id=workspace_id)


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


def suppression_reason(plan: Plan, workspace: Workspace, compiler: Any, now: datetime,
                       dialect: str, *, capped: sa.Select[Any] | None = None) -> ColumnElement[Any]:
    """CASE expression: the first reason a contact may not be sent to, or NULL.

    Order: unsubscribed, bounced, suppressed (on the workspace's suppression list), excluded (the
    plan's exclusions), frequency_capped (sends in the cap's window across all campaigns). ``capped``,
    when given, is the frequency-capped ids already as a set (sizing's materialized CTE), tested with IN.
    """
    whens: list[tuple[ColumnElement[bool], str]] = [
        (sa.and_(contacts.c.consent != "subscribed", contacts.c.consent != "bounced"), "unsubscribed"),
        (contacts.c.consent == "bounced", "bounced"),
        (on_suppression_list(), "suppressed"),
    ]
    excluded = _excluded(plan, compiler, as_filter=True)
    if excluded is not None:
        whens.append((excluded, "excluded"))
    if capped is not None:
        whens.append((contacts.c.id.in_(capped), "frequency_capped"))
        return sa.case(*whens, else_=sa.null())
    capped = _capped_ids(plan, workspace, now)
    if capped is not None:
        if dialect == "postgresql":
            sub = capped.subquery()
            cond = sa.exists(sa.select(sa.literal(1)).select_from(sub).where(sub.c.contact_id == contacts.c.id))
        else:
            cond = contacts.c.id.in_(capped)
        whens.append((cond, "frequency_capped"))
    return sa.case(*whens, else_=sa.null())


def _membership(session: Session, workspace: Workspace, workspace_id: int, plan: Plan, now: datetime,
                sample: int) -> sa.Select[Any]:
    """One statement doing the whole set algebra in the database.

    Each segment's rule runs once, materialized (``s0``, ``s1``... in priority order); their
    union is joined to contacts once to flag membership and the first suppression reason
    that applies; the result is grouped by (flags, reason, time zone when sendable) and, for
    each segment, the ``sample`` smallest ids it sends to are appended. So what comes back
    is a few hundred group counts, never the members.
    """
    compiler = _compiler(session, workspace, plan, now, workspace_id)
    ordered = _ordered(plan)
    c = contacts.c
    segs = []
    for i, seg in enumerate(ordered):
        segs.append(compiler.segment_ids(seg.rule, workspace_id).cte(f"s{i}").prefix_with("MATERIALIZED"))
        # A later segment's "in segment X" reads X's materialized set instead of evaluating X's rule again.
        compiler.materialized[seg.name] = segs[-1]
    members = sa.union(*[sa.select(seg.c.id) for seg in segs]).cte("members")
    capped_query = _capped_ids(plan, workspace, now)
    capped = None if capped_query is None else sa.select(
        capped_query.cte("capped").prefix_with("MATERIALIZED").c.contact_id)
    reason = suppression_reason(plan, workspace, compiler, now, _dialect(session), capped=capped)
    flags = [members.c.id.in_(sa.select(seg.c.id)).label(f"f{i}") for i, seg in enumerate(segs)]
    judged = (sa.select(members.c.id, *flags, reason.label("reason"), c.timezone)
              .select_from(members.join(contacts, c.id == members.c.id))
              # Sets driven from event indexes are not narrowed to the workspace: the join does it.
              .where(c.workspace_id == workspace_id)
              .cte("judged").prefix_with("MATERIALIZED"))
    j = judged.c
    names = [f"f{i}" for i in range(len(segs))]
    zone = sa.case((j.reason.is_(None), j.timezone), else_=sa.null()).label("zone")
    groups = sa.select(sa.literal(0).label("kind"), *[j[n] for n in names], j.reason, zone,
                       sa.func.count().label("n")).group_by(*[j[n] for n in names], j.reason, zone)
    parts: list[sa.Select[Any]] = [groups]
    for i in range(len(segs)):
        owned = sa.and_(j.reason.is_(None), *[j[n] == sa.false() for n in names[:i]], j[names[i]] == sa.true())
        top = sa.select(j.id).where(owned).order_by(j.id).limit(sample).subquery(f"top{i}")
        parts.append(sa.select(sa.literal(i + 1), *[sa.null() for _ in names], sa.null(), sa.null(), top.c.id))
    return sa.union_all(*parts)  # type: ignore[return-value]


def size_plan(session: Session, workspace: Workspace, workspace_id: int, plan: Plan, *,
              now: datetime | None = None, sample: int = 5) -> SizingReport:
    """Size every segment of ``plan`` on the workspace's audience as of ``now``.

    The plan must be valid for the workspace (``copilot.validation.check_plan``). The set
    algebra runs in the database (``_membership``): no contact id crosses into Python
    except the few sample ids.
    """
    now = (now or utcnow()).astimezone(UTC)
    ordered = _ordered(plan)
    names = [s.name for s in ordered]
    is_quiet = _Quiet(plan, now)
    count = len(ordered)
    raw = [0] * count
    after_priority = [0] * count
    size = [0] * count
    quiet_of = [0] * count
    pairs = [[0] * count for _ in range(count)]
    suppressed = [dict.fromkeys(SUPPRESSION_REASONS, 0) for _ in range(count)]
    samples: list[list[int]] = [[] for _ in range(count)]
    for row in _rows(session, _membership(session, workspace, workspace_id, plan, now, sample)):
        kind, flags, reason, zone, n = row[0], row[1:count + 1], row[count + 1], row[count + 2], row[count + 3]
        if kind:
            samples[kind - 1].append(n)
            continue
        member_of = [i for i, flag in enumerate(flags) if flag]
        for a in member_of:
            raw[a] += n
            for b in member_of:
                pairs[a][b] += n
        owner = member_of[0]
        after_priority[owner] += n
        if reason is not None:
            suppressed[owner][reason] += n
        else:
            size[owner] += n
            if is_quiet(zone):
                quiet_of[owner] += n
    notes = []
    if plan.suppression.frequency_cap and workspace.event(SENT_EVENT) is None:
        notes.append(f"frequency cap not applied: the catalog has no {SENT_EVENT!r} event to count sends")
    totals = {reason: sum(s[reason] for s in suppressed) for reason in SUPPRESSION_REASONS}
    sizes = [SegmentSize(
        name=seg.name, priority=seg.priority, size=size[i], raw_size=raw[i], after_priority=after_priority[i],
        suppressed=suppressed[i], quiet_hours=quiet_of[i], english=describe_rule(seg.rule, workspace),
        sample_ids=sorted(samples[i]),
    ) for i, seg in enumerate(ordered)]
    quiet = plan.suppression.quiet_hours
    quiet_info: dict[str, Any] = {"contacts": sum(s.quiet_hours for s in sizes), "removed": 0}
    if quiet is not None:
        quiet_info.update(start=quiet.start, end=quiet.end, fallback=quiet.fallback,
                          judged_at=is_quiet.moment.isoformat(), recipient_local_time=is_quiet.wall_clock)
    return SizingReport(
        workspace=workspace.slug, now=now, audience=_audience(session, workspace_id), segments=sizes,
        overlaps={a: {b: pairs[i][k] for k, b in enumerate(names)} for i, a in enumerate(names)},
        suppression=totals, quiet_hours=quiet_info, total=sum(size), not_sendable=sum(totals.values()),
        notes=notes,
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
    compiler = _compiler(session, workspace, plan, now, workspace_id)
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
