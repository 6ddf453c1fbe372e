"""The journey engine: from a scheduled review to send decisions in the ledger.

Every campaign runs the same way. Contacts *enter* (a one-off or recurring send freezes the audience
at the scheduled moment, in chunks of contact ids; an event journey enters a contact per entry event)
and each entry steps through the plan's program (``copilot.delivery.program``): delays (to a local
time of day), waits for an event (exit or continue), branches, exits, and sends. A send step writes
one ledger row (queued, suppressed with its reason, or held out) in the same transaction that moves
the entry past it, so a step is decided at most once per contact and entry, whatever crashes.

One worker at a time works on a delivery (a lease on its row); senders (``copilot.delivery.sender``)
take the queued rows from there.

Longer than most modules on purpose: entering, stepping and deciding share one transaction per
chunk, and splitting them would split that transaction's reasoning.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from copilot.delivery.program import (
    Instruction,
    compile_steps,
    cron_next,
    local_time_on,
    next_local_time,
    quiet_until,
    zone,
)
from copilot.errors import ReviewStateError, StaleRevisionError
from copilot.models import Delivery, DeliveryEntry, Review, SendRecord, WorkspaceRecord, utcnow
from copilot.plan import Plan
from copilot.segments.decisions import decisions_query
from copilot.segments.sizing import _compiler
from copilot.segments.sql import contacts, events
from copilot.services import review as gate
from copilot.workspace import Workspace

__all__ = [
    "Campaign",
    "PumpResult",
    "worker_id",
    "stable_bucket",
    "start_due",
    "pump",
    "running_deliveries",
    "workspace_lookup",
    "owner_is_gone",
    "WorkspaceFor",
]

WorkspaceFor = Callable[[int], Workspace]

deliveries: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
entries_t: sa.Table = DeliveryEntry.__table__  # type: ignore[attr-defined]
ledger: sa.Table = SendRecord.__table__  # type: ignore[attr-defined]
reviews: sa.Table = Review.__table__  # type: ignore[attr-defined]

# Freeze and advance in batches this size: memory stays flat whatever the audience.
CHUNK = 2000
# Local-time sends start when the earliest zone (UTC+14) reaches the scheduled wall-clock time.
EARLIEST_OFFSET = timedelta(hours=14)
LEASE = timedelta(seconds=60)
# Event ids looked at again behind the watermark (see _enter_from_events).
OVERLAP = 1000


def worker_id() -> str:
    """Who holds a lease or a claim: host, process id and start time (a restarted pid differs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_START}"


_START = int(_time.time())


def stable_bucket(salt: str, contact_id: int, buckets: int) -> int:
    """The same contact always lands in the same bucket for the same salt (control group, A/B arm)."""
    digest = hashlib.blake2b(f"{salt}:{contact_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


# -- one campaign's fixed facts --------------------------------------------------------------

@dataclass
class Campaign:
    """A delivery with its verified plan and what follows from it (program, arms, salts)."""

    delivery: Delivery
    review: Review
    plan: Plan
    workspace: Workspace
    program: list[Instruction] = field(init=False)
    arms: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.program = compile_steps(self.plan.trigger)
        self.arms = {}
        for v in self.plan.variants:
            keys = self.arms.setdefault(v.segment, [])
            if v.key not in keys:
                keys.append(v.key)
        for keys in self.arms.values():
            keys.sort()

    @property
    def salt(self) -> str:
        return f"{self.review.id}:{self.delivery.snapshot_hash}"

    @property
    def key(self) -> str:
        """The campaign key recorded on email_sent events."""
        return f"review-{self.review.id}"

    def control(self, contact_id: int) -> bool:
        percent = self.delivery.control_percent
        return percent > 0 and stable_bucket("control:" + self.salt, contact_id, 10_000) < percent * 100

    def arm(self, segment: str | None, contact_id: int) -> str | None:
        keys = self.arms.get(segment or "")
        if not keys:
            return None
        return keys[stable_bucket("arm:" + self.salt, contact_id, len(keys))]


def load_campaign(session: Session, workspace: Workspace, delivery: Delivery) -> Campaign:
    review = gate.get_review(session, delivery.review_id)
    return Campaign(delivery=delivery, review=review, plan=gate.verified_snapshot(review), workspace=workspace)


# -- facts an advance needs, loaded once per batch -------------------------------------------

class Facts:
    """What the program asks about a batch of entries (time zones, exits, waits, branches, suppression),
    each loaded with one query for the whole batch the first time it is asked."""

    def __init__(self, session: Session, campaign: Campaign, workspace_id: int, now: datetime,
                 batch: Sequence[dict[str, Any]], *, tz: dict[int, str] | None = None,
                 reasons: dict[int, str | None] | None = None) -> None:
        self.session, self.c, self.workspace_id, self.now = session, campaign, workspace_id, now
        self.ids = sorted({e["contact_id"] for e in batch})
        # Events that matter to any entry of the batch happened at or after its earliest entry.
        self.since = min((e["entered_at"] for e in batch), default=now)
        self._tz = tz
        self._reasons = reasons
        self._events: dict[Any, dict[int, list[tuple[datetime, str | None]]]] = {}
        self._branches: dict[int, set[int]] = {}
        self._compiler: Any = None

    def compiler(self) -> Any:
        if self._compiler is None:
            self._compiler = _compiler(self.session, self.c.workspace, self.c.plan, self.now)
        return self._compiler

    def tz(self, contact_id: int) -> ZoneInfo:
        if self._tz is None:
            rows = self.session.connection().execute(
                sa.select(contacts.c.id, contacts.c.timezone).where(contacts.c.id.in_(self.ids)))
            self._tz = {cid: tz for cid, tz in rows}
        return zone(self._tz.get(contact_id))

    def reason(self, contact_id: int) -> str | None:
        if self._reasons is None:
            query = decisions_query(self.session, self.c.workspace, self.workspace_id, self.c.plan, now=self.now,
                                    contact_ids=self.ids, with_segments=False)
            self._reasons = {row.id: row.reason for row in self.session.connection().execute(query)}
        return self._reasons.get(contact_id, "no_contact")  # a contact gone from the table: never send

    def _occurrences(self, key: Any, event: str, where: Sequence[Any]) -> dict[int, list[tuple[datetime, str | None]]]:
        if key not in self._events:
            compiler = self.compiler()
            match = self.c.plan.trigger.match_property
            spec = self.c.workspace.event(event)
            has_match = bool(match) and spec is not None and (
                match in {"category", "product", "value"} or any(p.name == match for p in spec.properties))
            value = compiler.property_operand(event, match).expr if has_match else sa.null()
            query = (sa.select(events.c.contact_id, events.c.occurred_at, value)
                     .where(events.c.workspace_id == self.workspace_id, events.c.contact_id.in_(self.ids),
                            events.c.occurred_at >= self.since, *compiler.event_conditions(event, list(where)))
                     .order_by(events.c.occurred_at))
            found: dict[int, list[tuple[datetime, str | None]]] = {}
            for cid, at, val in self.session.connection().execute(query):
                found.setdefault(cid, []).append((_aware(at), None if val is None else str(val)))
            self._events[key] = found
        return self._events[key]

    def first_event(self, key: Any, event: str, where: Sequence[Any], entry: dict[str, Any],
                    since: datetime) -> datetime | None:
        """The first matching event at or after ``since`` (and not after now) for this entry: same
        match key as the entry when the event carries one."""
        if since > self.now:
            return None
        for at, val in self._occurrences(key, event, where).get(entry["contact_id"], []):
            if since <= at <= self.now and (val is None or not entry["entry_key"] or val == entry["entry_key"]):
                return at
        return None

    def exit_event(self, entry: dict[str, Any]) -> tuple[datetime, str] | None:
        best: tuple[datetime, str] | None = None
        for i, cond in enumerate(self.c.plan.trigger.exit_conditions):
            at = self.first_event(("exit", i), cond.event, cond.where, entry, entry["entered_at"])
            if at is not None and (best is None or at < best[0]):
                best = (at, cond.event)
        return best

    def branch(self, pc: int, instr: Instruction, contact_id: int) -> bool:
        if pc not in self._branches:
            query = sa.select(contacts.c.id).where(contacts.c.id.in_(self.ids),
                                                   self.compiler().compile(instr.rule, "exists"))
            self._branches[pc] = {cid for (cid,) in self.session.connection().execute(query)}
        return contact_id in self._branches[pc]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- stepping entries ----------------------------------------------------------------------

def advance(campaign: Campaign, facts: Facts, entry: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Step ``entry`` (a dict of its columns, changed in place) as far as it can go by ``now``;
    returns the ledger rows its send steps decided."""
    program, plan = campaign.program, campaign.plan
    rows: list[dict[str, Any]] = []
    quiet = plan.suppression.quiet_hours
    for _guard in range(len(program) * 2 + 2):
        if entry["pc"] >= len(program):
            entry.update(state="done", next_at=None)
            return rows
        exit_ = facts.exit_event(entry) if plan.trigger.exit_conditions and entry["entered_at"] <= now else None
        if exit_ is not None:
            entry.update(state="exited", reason=f"{exit_[1]} at {exit_[0]:%Y-%m-%d %H:%M} UTC", next_at=None)
            return rows
        pc = entry["pc"]
        instr = program[pc]
        if instr.op == "delay":
            until = entry["step_at"] + timedelta(hours=instr.hours)
            if instr.at_local_time:
                until = next_local_time(until, instr.at_local_time, facts.tz(entry["contact_id"]))
            if until > now:
                entry["next_at"] = until
                return rows
            entry.update(pc=pc + 1, step_at=until)
        elif instr.op == "wait":
            seen = facts.first_event(("wait", pc), instr.event, instr.where, entry, entry["step_at"])
            if seen is not None:
                if instr.on_event == "exit":
                    entry.update(state="exited", reason=f"{instr.event} at {seen:%Y-%m-%d %H:%M} UTC", next_at=None)
                    return rows
                entry.update(pc=pc + 1, step_at=seen)
                continue
            deadline = entry["step_at"] + timedelta(hours=instr.hours)
            if deadline > now:
                entry["next_at"] = deadline
                return rows
            entry.update(pc=pc + 1, step_at=deadline)
        elif instr.op == "branch":
            holds = facts.branch(pc, instr, entry["contact_id"])
            entry["pc"] = pc + 1 if holds else instr.target
        elif instr.op == "jump":
            entry["pc"] = instr.target
        else:  # send
            due = entry["step_at"]
            status, reason = "queued", facts.reason(entry["contact_id"])
            if reason is not None:
                status = "suppressed"  # a rule stops the send, control group or not
            elif entry["control"]:
                status, reason = "held_out", "control_group"
            elif quiet is not None:
                later = quiet_until(due, quiet.start, quiet.end, facts.tz(entry["contact_id"]))
                if later is not None:
                    if quiet.fallback == "skip":
                        status, reason = "suppressed", "quiet_hours"
                    else:
                        due = later
            rows.append({
                "delivery_id": campaign.delivery.id, "entry_id": entry.get("id"), "contact_id": entry["contact_id"],
                "entry_no": entry["entry_no"], "step": instr.key, "message": instr.message,
                "segment": entry["segment"], "arm": entry["arm"], "status": status, "reason": reason, "detail": None,
                "due_at": due, "attempts": 0, "claimed_by": None, "lease_until": None, "message_id": None,
                "decided_at": now, "sent_at": None,
            })
            entry.update(pc=pc + 1, step_at=due)
    raise RuntimeError(f"journey program of delivery {campaign.delivery.id} does not terminate")  # pragma: no cover


def _new_entry(campaign: Campaign, *, contact_id: int, entry_no: int, entered_at: datetime, step_at: datetime,
               segment: str | None, entry_key: str = "", event_id: int | None = None,
               state: str = "active", reason: str | None = None, now: datetime) -> dict[str, Any]:
    return {"delivery_id": campaign.delivery.id, "contact_id": contact_id, "entry_no": entry_no,
            "entry_key": entry_key, "event_id": event_id, "entered_at": entered_at, "segment": segment,
            "arm": campaign.arm(segment, contact_id) if segment else None,
            "control": bool(segment) and campaign.control(contact_id), "state": state, "reason": reason,
            "pc": 0, "step_at": step_at, "next_at": None, "updated_at": now}


_ENTRY_COLUMNS = ("delivery_id", "contact_id", "entry_no", "entry_key", "event_id", "entered_at", "segment", "arm",
                  "control", "state", "reason", "pc", "step_at", "next_at", "updated_at")


def _insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new entries (already advanced) and the ledger rows their first steps decided."""
    if not rows:
        return
    ids = conn.execute(sa.insert(entries_t).returning(entries_t.c.id, sort_by_parameter_order=True),
                       [{k: r[k] for k in _ENTRY_COLUMNS} for r in rows]).scalars().all()
    decided = []
    for entry_id, row in zip(ids, rows, strict=True):
        for rec in row.get("_ledger", ()):
            rec["entry_id"] = entry_id
            decided.append(rec)
    if decided:
        conn.execute(sa.insert(ledger), decided)


# -- starting campaigns --------------------------------------------------------------------

def _start_moment(review: Review, plan: Plan) -> datetime:
    assert review.scheduled_for is not None
    at = _aware(review.scheduled_for)
    if plan.trigger.kind == "schedule" and plan.trigger.recipient_local_time:
        return at.astimezone(zone(review.schedule_timezone)).replace(tzinfo=UTC) - EARLIEST_OFFSET
    return at


def start_due(session: Session, *, now: datetime | None = None, control_percent: float = 10.0) -> list[int]:
    """Start every scheduled review whose moment has come: scheduled -> sending, and a delivery row.

    A snapshot that is not exactly the approved revision never sends: the review is cancelled with
    the reason. Returns the delivery ids started.
    """
    now = now or utcnow()
    started: list[int] = []
    horizon = now + EARLIEST_OFFSET + timedelta(hours=12)
    candidates = session.exec(select(Review).where(Review.state == "scheduled", Review.scheduled_for <= horizon)
                              .execution_options(populate_existing=True)).all()  # type: ignore[operator]
    for review in candidates:
        try:
            plan = gate.verified_snapshot(review)
        except ReviewStateError as exc:
            try:
                gate.refuse_sending(session, review, exc.message)
                session.commit()
            except ReviewStateError:
                session.rollback()
            continue
        if _start_moment(review, plan) > now:
            continue
        try:
            gate.begin_sending(session, review)
        except (StaleRevisionError, ReviewStateError):
            session.rollback()
            continue
        delivery = session.exec(select(Delivery).where(
            Delivery.review_id == review.id, Delivery.snapshot_hash == review.snapshot_hash)).first()
        kind = plan.trigger.kind
        starts_at = _aware(review.scheduled_for)  # type: ignore[arg-type]
        if delivery is None:
            delivery = Delivery(review_id=review.id or 0, workspace_id=review.workspace_id,
                                snapshot_hash=review.snapshot_hash or "", kind=kind, starts_at=starts_at,
                                schedule_timezone=review.schedule_timezone or "UTC", control_percent=control_percent)
        else:  # the same approved content rescheduled: its ledger still holds
            delivery.state, delivery.starts_at, delivery.finished_at = "running", starts_at, None
            delivery.schedule_timezone = review.schedule_timezone or "UTC"
        if kind == "schedule":
            delivery.run_no, delivery.run_at = max(delivery.run_no, 1), starts_at
        elif kind == "recurring":
            delivery.next_run_at = cron_next(plan.trigger.cron or "", starts_at - timedelta(minutes=1),
                                             zone(plan.trigger.timezone))
        session.add(delivery)
        session.commit()
        started.append(delivery.id or 0)
    return started


# -- the lease -----------------------------------------------------------------------------

def owner_is_gone(owner: str | None) -> bool:
    """True when ``owner`` (a worker_id) was a process of this host that no longer runs."""
    if not owner:
        return True
    host, pid, started = (owner.split(":") + ["", ""])[:3]
    if host != socket.gethostname():
        return False
    if int(pid or 0) == os.getpid():
        return started != str(_START)
    try:
        os.kill(int(pid or 0), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _lease(session: Session, delivery_id: int, owner: str, now: datetime) -> bool:
    """Take the delivery's lease: free, expired, ours, or held by a process of this host that died."""
    free = sa.or_(Delivery.lease_until.is_(None), Delivery.lease_until < now, Delivery.lease_owner == owner)  # type: ignore[union-attr]
    holder = session.exec(select(Delivery.lease_owner).where(Delivery.id == delivery_id)).first()
    if holder and holder != owner and owner_is_gone(holder):
        free = sa.or_(free, Delivery.lease_owner == holder)
    result = session.exec(sa.update(Delivery).where(Delivery.id == delivery_id, free)  # type: ignore[call-overload]
                          .values(lease_owner=owner, lease_until=now + LEASE))
    session.commit()
    return result.rowcount == 1


def _release(session: Session, delivery_id: int, owner: str) -> None:
    session.exec(sa.update(Delivery).where(Delivery.id == delivery_id, Delivery.lease_owner == owner)  # type: ignore[call-overload]
                 .values(lease_owner=None, lease_until=None))
    session.commit()


# -- pumping one delivery ------------------------------------------------------------------

@dataclass
class PumpResult:
    delivery_id: int
    state: str
    entered: int = 0
    decided: int = 0
    due_now: int = 0  # queued rows due now: a sender should run
    next_at: datetime | None = None  # when there is more to do
    more: bool = False  # the time budget ran out with work left
    finished: bool = False


def running_deliveries(session: Session) -> list[int]:
    return [int(i) for i in session.exec(select(Delivery.id).where(Delivery.state == "running"))]


def pump(session: Session, workspace_for: WorkspaceFor, delivery_id: int, *, now: datetime | None = None,
         budget: float = 20.0) -> PumpResult:
    """Freeze, enter and advance one delivery as far as ``now`` allows (or ``budget`` seconds)."""
    now = now or utcnow()
    owner = worker_id()
    result = PumpResult(delivery_id=delivery_id, state="?")
    if not _lease(session, delivery_id, owner, now):
        result.state = "leased"  # another live worker is on it
        return result
    try:
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None
        result.state = delivery.state
        if delivery.state != "running":
            return result
        review = gate.get_review(session, delivery.review_id)
        if review.state != "sending" or review.snapshot_hash != delivery.snapshot_hash:
            # cancelled, or (impossible through the gate) changed: nothing more is decided or sent
            _stop(session, delivery, "cancelled" if review.state == "cancelled" else "done", now)
            result.state = delivery.state
            return result
        workspace = workspace_for(delivery.workspace_id)
        campaign = load_campaign(session, workspace, delivery)
        deadline = _time.monotonic() + budget
        if delivery.kind == "recurring" and (delivery.frozen_at is not None or delivery.run_at is None):
            _maybe_next_run(session, campaign, now)
        if delivery.run_at is not None and delivery.frozen_at is None:
            result.entered += _freeze(session, campaign, now, deadline)
        if delivery.kind == "event":
            result.entered += _enter_from_events(session, campaign, now, deadline)
        result.decided += _advance_due(session, campaign, now, deadline)
        result.more = _time.monotonic() >= deadline
        result.due_now, result.next_at = _outlook(session, delivery, now)
        if not result.more and _finished(session, campaign):
            gate.finish_sending(session, review, data={"delivery": delivery.id})
            _stop(session, delivery, "done", now)
            result.finished = True
        result.state = delivery.state
        session.commit()
        return result
    finally:
        session.rollback()
        _release(session, delivery_id, owner)


def _stop(session: Session, delivery: Delivery, state: str, now: datetime) -> None:
    delivery.state, delivery.finished_at = state, now
    session.add(delivery)
    if state == "cancelled":
        _cancel_pending(session, delivery.id or 0, now)
    session.commit()


def _cancel_pending(session: Session, delivery_id: int, now: datetime) -> None:
    conn = session.connection()
    conn.execute(sa.update(ledger).where(ledger.c.delivery_id == delivery_id, ledger.c.status == "queued")
                 .values(status="cancelled", reason="cancelled", claimed_by=None, lease_until=None))
    conn.execute(sa.update(entries_t).where(entries_t.c.delivery_id == delivery_id, entries_t.c.state == "active")
                 .values(state="cancelled", next_at=None, updated_at=now))


def _maybe_next_run(session: Session, campaign: Campaign, now: datetime) -> None:
    d = campaign.delivery
    if d.next_run_at is None or _aware(d.next_run_at) > now:
        return
    d.run_no, d.run_at, d.freeze_after_id, d.frozen_at = d.run_no + 1, _aware(d.next_run_at), 0, None
    d.next_run_at = cron_next(campaign.plan.trigger.cron or "", _aware(d.next_run_at), zone(campaign.plan.trigger.timezone))
    session.add(d)
    session.commit()


def _base_time(campaign: Campaign, run_at: datetime, tz_name: str | None) -> datetime:
    """When the first step counts from for a contact: the run's moment, or its wall-clock time in the
    contact's zone for a local-time send."""
    trigger = campaign.plan.trigger
    if trigger.kind == "schedule" and trigger.recipient_local_time:
        wall = run_at.astimezone(zone(campaign.delivery.schedule_timezone))
        return local_time_on(wall, zone(tz_name))
    return run_at


def _freeze(session: Session, campaign: Campaign, now: datetime, deadline: float) -> int:
    """Enter the audience of the current run in chunks (resumable after ``freeze_after_id``)."""
    d = campaign.delivery
    assert d.run_at is not None
    run_at = _aware(d.run_at)
    entry_no = d.run_no if campaign.plan.trigger.kind == "recurring" else 0
    query = decisions_query(session, campaign.workspace, d.workspace_id, campaign.plan, now=run_at,
                            after_id=d.freeze_after_id)
    session.rollback()  # the read below runs on its own connection: one consistent snapshot
    entered = 0
    bind = session.get_bind()
    with bind.connect() as reader:
        stream = reader.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for chunk in stream.partitions(CHUNK):
            rows, tz, reasons = [], {}, {}
            for cid, tz_name, segment, reason in chunk:
                tz[cid], reasons[cid] = tz_name, reason
                base = _base_time(campaign, run_at, tz_name)
                rows.append(_new_entry(campaign, contact_id=cid, entry_no=entry_no, entered_at=run_at,
                                       step_at=base, segment=segment, now=now))
            facts = Facts(session, campaign, d.workspace_id, now, rows, tz=tz, reasons=reasons)
            for row in rows:
                row["_ledger"] = advance(campaign, facts, row, now)
            conn = session.connection()
            _insert_entries(conn, rows)
            d.freeze_after_id = chunk[-1][0]
            conn.execute(sa.update(deliveries).where(deliveries.c.id == d.id).values(
                freeze_after_id=d.freeze_after_id, lease_until=utcnow() + LEASE))
            session.commit()
            entered += len(rows)
            if _time.monotonic() >= deadline:
                return entered
    d.frozen_at = now
    session.exec(sa.update(Delivery).where(Delivery.id == d.id).values(frozen_at=now))  # type: ignore[call-overload]
    session.commit()
    return entered


def _enter_from_events(session: Session, campaign: Campaign, now: datetime, deadline: float) -> int:
    """New entry events since the watermark enter their contacts (once per the plan's re-entry rule);
    later events of any kind wake the entries of their contacts so waits and exits see them at once."""
    d, trigger = campaign.delivery, campaign.plan.trigger
    entered = 0
    compiler = _compiler(session, campaign.workspace, campaign.plan, now)
    watched = {c.event for c in trigger.exit_conditions} | {i.event for i in campaign.program if i.op == "wait"}
    names = sorted(watched | {trigger.entry_event or ""})
    # Look again at the last OVERLAP ids: on PostgreSQL a transaction may commit an event with a lower id
    # after a higher one was read. Entering is idempotent per event (entries remember their event).
    low = max(0, d.event_watermark - OVERLAP)
    while _time.monotonic() < deadline:
        match = trigger.match_property
        key_expr = compiler.property_operand(trigger.entry_event or "", match).expr if match else sa.null()
        entry_cond = sa.and_(*compiler.event_conditions(trigger.entry_event or "", list(trigger.entry_filter)))
        query = (sa.select(events.c.id, events.c.contact_id, events.c.name, events.c.occurred_at, key_expr,
                           entry_cond.label("is_entry"))
                 .where(events.c.workspace_id == d.workspace_id, events.c.id > low, events.c.name.in_(names))
                 .order_by(events.c.id).limit(CHUNK))
        found = session.connection().execute(query).all()
        if not found:
            break
        starts_at = _aware(d.starts_at)
        wake: set[int] = set()
        candidates: list[tuple[int, int, datetime, str]] = []
        for eid, cid, name, at, key, is_entry in found:
            at = _aware(at)
            if name in watched and eid > d.event_watermark:
                wake.add(cid)
            if name == trigger.entry_event and is_entry and starts_at <= at <= now + timedelta(minutes=5):
                candidates.append((eid, cid, at, "" if key is None else str(key)))
        entered += _enter(session, campaign, candidates, now)
        conn = session.connection()
        if wake:
            conn.execute(sa.update(entries_t).where(
                entries_t.c.delivery_id == d.id, entries_t.c.state == "active", entries_t.c.contact_id.in_(sorted(wake)),
                entries_t.c.next_at > now).values(next_at=now))
        low = found[-1][0]
        d.event_watermark = max(d.event_watermark, low)
        conn.execute(sa.update(deliveries).where(deliveries.c.id == d.id).values(
            event_watermark=d.event_watermark, lease_until=utcnow() + LEASE))
        session.commit()
    return entered


def _enter(session: Session, campaign: Campaign, candidates: list[tuple[int, int, datetime, str]],
           now: datetime) -> int:
    if not candidates:
        return 0
    d, trigger = campaign.delivery, campaign.plan.trigger
    ids = sorted({c[1] for c in candidates})
    conn = session.connection()
    past: dict[int, list[tuple[int, datetime, str, str]]] = {}
    used: set[int] = set()
    for cid, no, at, key, state, event_id in conn.execute(
            sa.select(entries_t.c.contact_id, entries_t.c.entry_no, entries_t.c.entered_at, entries_t.c.entry_key,
                      entries_t.c.state, entries_t.c.event_id)
            .where(entries_t.c.delivery_id == d.id, entries_t.c.contact_id.in_(ids))):
        past.setdefault(cid, []).append((no, _aware(at), key, state))
        if event_id is not None:
            used.add(event_id)
    query = decisions_query(session, campaign.workspace, d.workspace_id, campaign.plan, now=now, contact_ids=ids)
    decided = {row.id: (row.segment, row.timezone, row.reason) for row in conn.execute(query)}
    tz_rows = conn.execute(sa.select(contacts.c.id, contacts.c.timezone).where(contacts.c.id.in_(ids)))
    tz = {cid: name for cid, name in tz_rows}
    rows: list[dict[str, Any]] = []
    for eid, cid, at, key in candidates:
        if eid in used:
            continue  # this event already let them in (looked at again after a late commit)
        mine = past.setdefault(cid, [])
        if any(k == key and s == "active" for _, _, k, s in mine) and key:
            continue  # already on this journey for the same cart / product
        if mine and trigger.reentry == "once":
            continue
        if mine and trigger.reentry == "after_days" and at - max(a for _, a, _, _ in mine) < timedelta(
                days=trigger.reentry_days or 0):
            continue
        no = max((n for n, _, _, _ in mine), default=0) + 1
        segment = decided.get(cid, (None, None, None))[0]
        row = _new_entry(campaign, contact_id=cid, entry_no=no, entered_at=at, step_at=at, segment=segment,
                         entry_key=key, event_id=eid, now=now,
                         state="active" if segment else "not_eligible",
                         reason=None if segment else "matches no segment of the plan")
        mine.append((no, at, key, row["state"]))
        rows.append(row)
    active = [r for r in rows if r["state"] == "active"]
    facts = Facts(session, campaign, d.workspace_id, now, active or rows, tz=tz,
                  reasons={cid: v[2] for cid, v in decided.items()})
    for row in active:
        row["_ledger"] = advance(campaign, facts, row, now)
    _insert_entries(conn, rows)
    return len(rows)


def _advance_due(session: Session, campaign: Campaign, now: datetime, deadline: float) -> int:
    d = campaign.delivery
    decided = 0
    cols = [entries_t.c[k] for k in ("id", "contact_id", "entry_no", "entry_key", "entered_at", "segment", "arm",
                                     "control", "state", "reason", "pc", "step_at", "next_at")]
    while _time.monotonic() < deadline:
        batch = [dict(r._mapping) for r in session.connection().execute(
            sa.select(*cols).where(entries_t.c.delivery_id == d.id, entries_t.c.state == "active",
                                   entries_t.c.next_at <= now).order_by(entries_t.c.next_at, entries_t.c.id)
            .limit(CHUNK))]
        if not batch:
            break
        for e in batch:
            for k in ("entered_at", "step_at", "next_at"):
                if e[k] is not None:
                    e[k] = _aware(e[k])
        facts = Facts(session, campaign, d.workspace_id, now, batch)
        recs: list[dict[str, Any]] = []
        for e in batch:
            e["next_at"] = None
            recs += advance(campaign, facts, e, now)
        conn = session.connection()
        if recs:
            conn.execute(sa.insert(ledger), recs)
        conn.execute(sa.update(entries_t).where(entries_t.c.id == sa.bindparam("eid")).values(
            state=sa.bindparam("s"), reason=sa.bindparam("r"), pc=sa.bindparam("p"), step_at=sa.bindparam("t"),
            next_at=sa.bindparam("n"), updated_at=now),
            [{"eid": e["id"], "s": e["state"], "r": e["reason"], "p": e["pc"], "t": e["step_at"], "n": e["next_at"]}
             for e in batch])
        conn.execute(sa.update(deliveries).where(deliveries.c.id == d.id).values(lease_until=utcnow() + LEASE))
        session.commit()
        decided += len(recs)
    return decided


def _outlook(session: Session, delivery: Delivery, now: datetime) -> tuple[int, datetime | None]:
    conn = session.connection()
    due = conn.execute(sa.select(sa.func.count()).select_from(ledger).where(
        ledger.c.delivery_id == delivery.id, ledger.c.status == "queued", ledger.c.due_at <= now)).scalar_one()
    nexts = [conn.execute(sa.select(sa.func.min(ledger.c.due_at)).where(
        ledger.c.delivery_id == delivery.id, ledger.c.status == "queued", ledger.c.due_at > now)).scalar_one(),
        conn.execute(sa.select(sa.func.min(entries_t.c.next_at)).where(
            entries_t.c.delivery_id == delivery.id, entries_t.c.state == "active")).scalar_one(),
        delivery.next_run_at]
    times = [_aware(t) for t in nexts if t is not None]
    return int(due), min(times) if times else None


def _finished(session: Session, campaign: Campaign) -> bool:
    d = campaign.delivery
    if d.kind != "schedule" or d.frozen_at is None:
        return False  # journeys and recurring sends run until cancelled
    conn = session.connection()
    active = conn.execute(sa.select(sa.literal(1)).where(sa.exists(
        sa.select(entries_t.c.id).where(entries_t.c.delivery_id == d.id, entries_t.c.state == "active")))).first()
    pending = conn.execute(sa.select(sa.literal(1)).where(sa.exists(
        sa.select(ledger.c.id).where(ledger.c.delivery_id == d.id, ledger.c.status.in_(("queued", "sending")))))).first()
    return active is None and pending is None


def workspace_lookup(session: Session, runtime: Any) -> WorkspaceFor:
    """A ``workspace_for(workspace_id)`` over a runtime's loaded workspaces."""
    cache: dict[int, Workspace] = {}

    def workspace_for(workspace_id: int) -> Workspace:
        if workspace_id not in cache:
            record = session.get(WorkspaceRecord, workspace_id)
            assert record is not None
            cache[workspace_id] = runtime.workspace(record.slug)
        return cache[workspace_id]

    return workspace_for
