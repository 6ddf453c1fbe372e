"""The sender: takes a delivery's queued ledger rows that are due, checks each person again, renders,
hands the message to the transport and records the outcome.

Claiming is an UPDATE that moves rows from queued to sending with this worker's id and a lease; only
rows still queued move, so two workers never take the same row. An outcome is recorded per message
(SMTP) or per batch (the outbox, which is idempotent), together with the ``email_sent`` event that
frequency caps count. A worker killed mid-batch leaves rows in ``sending``: ``release_dead_claims``
puts them back in the queue (at once for a process of this host that is gone, after the lease for
others), and the same Message-ID goes out again.

Pause and cancel are read between messages (at least every ``CHECK_EVERY`` seconds).
"""

from __future__ import annotations

import hashlib
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from copilot.audience.aggregates import add_event_rows
from copilot.delivery.engine import (
    Campaign,
    WorkspaceFor,
    deliveries,
    ledger,
    load_campaign,
    owner_is_gone,
    worker_id,
)
from copilot.delivery.message import Composer, sender_domain, unsubscribe_mailto
from copilot.delivery.program import quiet_until, zone
from copilot.delivery.tokens import UnsubscribeToken, sign
from copilot.delivery.transports import Envelope, PermanentFailure, TemporaryFailure, Transport, outbox_name
from copilot.errors import RenderError
from copilot.models import Delivery, Review, SuppressedAddress, utcnow
from copilot.plan import Variant
from copilot.segments.decisions import decisions_query
from copilot.segments.sizing import SENT_EVENT
from copilot.segments.sql import contacts, events
from copilot.workspace import CONTACT_COLUMNS

__all__ = ["SendOutcome", "Sender", "release_dead_claims", "message_id_for", "contact_values"]

CHECK_EVERY = 0.25
suppression_t: sa.Table = SuppressedAddress.__table__  # type: ignore[attr-defined]


def message_id_for(delivery_id: int, ledger_id: int, snapshot_hash: str, domain: str) -> str:
    """One Message-ID per ledger row, the same on every attempt (receivers can tell a resend)."""
    tag = hashlib.blake2b(f"{snapshot_hash}:{ledger_id}".encode(), digest_size=5).hexdigest()
    return f"<{delivery_id}.{ledger_id}.{tag}@{domain}>"


def contact_values(row: Any) -> dict[str, Any]:
    """A contact row (with its attributes and catalog columns) as the plain dict copy is rendered from."""
    mapping = row._mapping
    data: dict[str, Any] = dict(mapping["attributes"] or {})
    data.update((name, mapping[name]) for name in CONTACT_COLUMNS if name in mapping)
    return data


@dataclass
class SendOutcome:
    sent: int = 0
    already: int = 0  # the idempotent transport already had it (a resend after a crash)
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    more_due: bool = False
    stopped: str | None = None  # paused, cancelled, done, leased
    errors: list[str] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Sender:
    """Sends one delivery's due rows with one transport (one SMTP connection)."""

    def __init__(self, session: Session, workspace_for: WorkspaceFor, delivery_id: int, transport: Transport, *,
                 signer: Any, base_url: str, retries: int = 5, backoff: float = 60.0, batch: int = 100,
                 lease: timedelta = timedelta(minutes=5)) -> None:
        self.session = session
        self.workspace_for = workspace_for
        self.delivery_id = delivery_id
        self.transport = transport
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff, self.batch, self.lease = retries, backoff, batch, lease
        self.me = worker_id()
        self._composers: dict[int, Composer] = {}
        self._campaign: Campaign | None = None
        self._checked = 0.0

    # -- state ---------------------------------------------------------------------------
    def _state(self) -> str | None:
        """None while the delivery may send; else why not (paused, cancelled, done)."""
        row = self.session.connection().execute(
            sa.select(deliveries.c.state, deliveries.c.snapshot_hash, Review.__table__.c.state,  # type: ignore[attr-defined]
                      Review.__table__.c.snapshot_hash, Review.__table__.c.paused_at)  # type: ignore[attr-defined]
            .join_from(deliveries, Review.__table__, Review.__table__.c.id == deliveries.c.review_id)  # type: ignore[attr-defined]
            .where(deliveries.c.id == self.delivery_id)).one()
        self._checked = _time.monotonic()
        d_state, d_hash, r_state, r_hash, paused_at = row
        if d_state != "running":
            return d_state
        if paused_at is not None:  # the review gate's pause (reviews.paused_at) holds every send
            return "paused"
        if r_state != "sending" or r_hash != d_hash:
            return "cancelled" if r_state == "cancelled" else "done"
        return None

    def campaign(self) -> Campaign:
        if self._campaign is None:
            delivery = self.session.get(Delivery, self.delivery_id)
            assert delivery is not None
            self._campaign = load_campaign(self.session, self.workspace_for(delivery.workspace_id), delivery)
        return self._campaign

    # -- claiming ------------------------------------------------------------------------
    def _claim(self, now: datetime) -> list[Any]:
        pick = (sa.select(ledger.c.id).where(ledger.c.delivery_id == self.delivery_id, ledger.c.status == "queued",
                                             ledger.c.due_at <= now)
                .order_by(ledger.c.due_at, ledger.c.id).limit(self.batch))
        if self.session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        result = self.session.connection().execute(
            sa.update(ledger).where(ledger.c.id.in_(pick.scalar_subquery()), ledger.c.status == "queued")
            .values(status="sending", claimed_by=self.me, lease_until=now + self.lease, attempts=ledger.c.attempts + 1)
            .returning(ledger.c.id, ledger.c.contact_id, ledger.c.entry_id, ledger.c.step, ledger.c.message,
                       ledger.c.segment, ledger.c.arm, ledger.c.attempts, ledger.c.due_at))
        rows = sorted(result.all(), key=lambda r: (r.due_at, r.id))
        self.session.commit()
        return rows

    def _contacts(self, ids: list[int]) -> dict[int, Any]:
        cols = [contacts.c.id, contacts.c.attributes] + [contacts.c[name] for name in CONTACT_COLUMNS if name in contacts.c]
        return {row.id: row for row in self.session.connection().execute(sa.select(*cols).where(contacts.c.id.in_(ids)))}

    # -- the loop ------------------------------------------------------------------------
    def run(self, *, budget: float = 60.0, now_fn: Any = utcnow) -> SendOutcome:
        out = SendOutcome()
        stop_at = _time.monotonic() + budget
        try:
            while True:
                why = self._state()
                if why is not None:
                    out.stopped = why
                    return out
                if _time.monotonic() >= stop_at:
                    out.more_due = True
                    return out
                rows = self._claim(now_fn())
                if not rows:
                    return out
                self._send_batch(rows, now_fn(), out)
                if out.stopped:
                    return out
        finally:
            self.session.rollback()
            self._release_mine()

    def _release_mine(self) -> None:
        """Rows this worker claimed but did not send go back to the queue (paused, out of time), or are
        cancelled with the rest when the campaign was cancelled meanwhile."""
        cancelled = self._state() == "cancelled"
        values: dict[str, Any] = {"status": "cancelled", "reason": "cancelled", "lease_until": None} if cancelled \
            else {"status": "queued", "claimed_by": None, "lease_until": None, "attempts": ledger.c.attempts - 1}
        self.session.connection().execute(
            sa.update(ledger).where(ledger.c.delivery_id == self.delivery_id, ledger.c.status == "sending",
                                    ledger.c.claimed_by == self.me).values(**values))
        self.session.commit()

    def _send_batch(self, rows: list[Any], now: datetime, out: SendOutcome) -> None:
        campaign = self.campaign()
        d = campaign.delivery
        plan, workspace = campaign.plan, campaign.workspace
        people = self._contacts(sorted({r.contact_id for r in rows}))
        query = decisions_query(self.session, workspace, d.workspace_id, plan, now=now,
                                contact_ids=sorted(people), with_segments=False)
        reasons = {r.id: r.reason for r in self.session.connection().execute(query)}
        date = format_datetime(now.astimezone(UTC))
        domain = sender_domain(workspace)
        quiet = plan.suppression.quiet_hours
        done: list[dict[str, Any]] = []  # recorded together (idempotent transport) or one by one
        for row in rows:
            if _time.monotonic() - self._checked >= CHECK_EVERY and self._state() is not None:
                out.stopped = self._state()
                break
            person = people.get(row.contact_id)
            reason = reasons.get(row.contact_id, "no_contact") if person is not None else "no_contact"
            if reason is None and quiet is not None:
                later = quiet_until(now, quiet.start, quiet.end, zone(person.timezone))
                if later is not None:
                    if quiet.fallback == "skip":
                        reason = "quiet_hours"
                    else:
                        self._record([{"id": row.id, "status": "queued", "due_at": later, "detail":
                                       "held until quiet hours end", "attempts": row.attempts - 1}], out)
                        out.deferred += 1
                        continue
            if reason is not None:
                self._record([{"id": row.id, "status": "suppressed", "reason": reason,
                               "detail": "re-checked at send time"}], out)
                out.suppressed += 1
                continue
            variant = self._variant(campaign, row, person.locale)
            if variant is None:
                self._record([{"id": row.id, "status": "failed", "reason": "no_copy",
                               "detail": f"no variant for segment {row.segment!r} message {row.message!r}"}], out)
                out.failed += 1
                continue
            message_id = message_id_for(d.id or 0, row.id, d.snapshot_hash, domain)
            token = sign(self.signer, UnsubscribeToken(d.workspace_id, row.contact_id, d.id or 0))
            try:
                composed = self._composer(campaign, variant).compose(
                    contact_values(person), to=person.email, message_id=message_id, date=date,
                    unsubscribe_url=f"{self.base_url}/unsubscribe/{token}",
                    unsubscribe_mailto=unsubscribe_mailto(workspace, token))
            except RenderError as exc:
                self._record([{"id": row.id, "status": "failed", "reason": "render", "detail": exc.message}], out)
                out.failed += 1
                continue
            envelope = Envelope(sender=workspace.brand.sender.from_email, recipient=person.email, data=composed.data,
                                folder=self._folder(campaign),
                                name=outbox_name(person.email, row.message, f"L{row.id}"))
            try:
                fresh = self.transport.send(envelope)
            except TemporaryFailure as exc:
                if row.attempts > self.retries:
                    self._record([{"id": row.id, "status": "failed", "reason": "retries_exhausted",
                                   "detail": exc.message}], out)
                    out.failed += 1
                else:
                    wait = self.backoff * (2 ** (row.attempts - 1))
                    self._record([{"id": row.id, "status": "queued", "due_at": now + timedelta(seconds=wait),
                                   "detail": f"attempt {row.attempts} failed: {exc.message}; retry in {wait:g} s"}], out)
                    out.deferred += 1
                continue
            except PermanentFailure as exc:
                self._record([{"id": row.id, "status": "failed", "reason": "bounced" if exc.bounce else "refused",
                               "detail": exc.message}], out)
                if exc.bounce:
                    self._bounce(d.workspace_id, row.contact_id, person.email, exc.message, now)
                out.failed += 1
                continue
            rec = {"id": row.id, "status": "sent", "sent_at": utcnow(), "message_id": message_id,
                   "contact_id": row.contact_id, "message": row.message}
            if fresh:
                out.sent += 1
            else:
                out.already += 1
            if self.transport.idempotent:
                done.append(rec)
            else:
                self._record([rec], out)
        if done:
            self._record(done, out)

    def _variant(self, campaign: Campaign, row: Any, locale: str) -> Variant | None:
        options = [v for v in campaign.plan.variants if v.segment == row.segment and v.message == row.message]
        if not options:
            return None
        in_arm = [v for v in options if v.key == row.arm] or [v for v in options if v.key == min(o.key for o in options)]
        lang = (locale or "").split("-")[0].lower()
        default = campaign.workspace.brand.default_locale
        return (next((v for v in in_arm if v.locale == locale), None)
                or next((v for v in in_arm if v.locale.split("-")[0].lower() == lang), None)
                or next((v for v in in_arm if v.locale == default), None) or in_arm[0])

    def _folder(self, campaign: Campaign) -> str:
        """The campaign's outbox folder: review number and title, e.g. 0012-spring-win-back."""
        title = "-".join(campaign.plan.title.lower().split())[:60]
        return outbox_name(f"{campaign.review.id:04d}-{title}")

    def _composer(self, campaign: Campaign, variant: Variant) -> Composer:
        key = id(variant)
        if key not in self._composers:
            self._composers[key] = Composer(campaign.workspace, variant)
        return self._composers[key]

    # -- recording -----------------------------------------------------------------------
    _SENT = (sa.update(ledger).where(ledger.c.id == sa.bindparam("rid"), ledger.c.claimed_by == sa.bindparam("me"),
                                     ledger.c.status == "sending")
             .values(status="sent", lease_until=None, sent_at=sa.bindparam("at"), message_id=sa.bindparam("mid")))
    _EVENT = sa.insert(events)

    def _record(self, updates: list[dict[str, Any]], out: SendOutcome) -> None:
        """Write outcomes (only for rows this worker still holds) and the sends' email_sent events."""
        conn = self.session.connection()
        campaign = self.campaign()
        sent_events: list[dict[str, Any]] = []
        sent = [u for u in updates if u["status"] == "sent"]
        if len(sent) > 1:  # a batch of the idempotent transport: one prepared statement for all
            result = conn.execute(self._SENT, [{"rid": u["id"], "me": self.me, "at": u["sent_at"],
                                                "mid": u["message_id"]} for u in sent])
            if result.rowcount != len(sent):  # pragma: no cover - rows are claimed by this worker alone
                self.session.rollback()
                for u in sent:
                    self._record([u], out)
                sent = []
            else:
                sent_events = [self._event(campaign, u) for u in sent]
            updates = [u for u in updates if u["status"] != "sent"]
        for u in updates:
            if u["status"] == "sent":
                result = conn.execute(self._SENT, {"rid": u["id"], "me": self.me, "at": u["sent_at"],
                                                   "mid": u["message_id"]})
            else:
                # claimed_by stays on a finished row: it says which worker handled it.
                values: dict[str, Any] = {"status": u["status"], "lease_until": None}
                if u["status"] == "queued":
                    values["claimed_by"] = None
                for k in ("reason", "detail", "due_at", "attempts"):
                    if k in u:
                        values[k] = u[k]
                result = conn.execute(sa.update(ledger).where(ledger.c.id == u["id"], ledger.c.claimed_by == self.me,
                                                              ledger.c.status == "sending").values(**values))
            if result.rowcount == 1 and u["status"] == "sent":
                sent_events.append(self._event(campaign, u))
        if sent_events:
            conn.execute(self._EVENT, sent_events)
            add_event_rows(conn, sent_events)
        self.session.commit()

    @staticmethod
    def _event(campaign: Campaign, u: dict[str, Any]) -> dict[str, Any]:
        """The email_sent event frequency caps count, recorded with the send."""
        return {"workspace_id": campaign.delivery.workspace_id, "contact_id": u["contact_id"], "name": SENT_EVENT,
                "occurred_at": u["sent_at"], "category": None, "product": None, "value": None,
                "properties": {"campaign": campaign.key, "message": u["message"]}}

    def _bounce(self, workspace_id: int, contact_id: int, email: str, detail: str, now: datetime) -> None:
        """A permanent refusal of the address: the contact is bounced and the address suppressed."""
        conn = self.session.connection()
        conn.execute(sa.update(contacts).where(contacts.c.id == contact_id).values(
            consent="bounced", consent_updated_at=now, updated_at=now))
        exists = conn.execute(sa.select(suppression_t.c.id).where(
            suppression_t.c.workspace_id == workspace_id, suppression_t.c.email == email)).first()
        if exists is None:
            conn.execute(sa.insert(suppression_t).values(workspace_id=workspace_id, email=email, reason="bounce",
                                                         detail=detail, created_at=now))
        self.session.commit()


def release_dead_claims(session: Session, *, now: datetime | None = None) -> int:
    """Put rows claimed by a worker that is gone back in the queue: a process of this host that no longer
    runs at once, any other after its lease. Their next attempt reuses the same Message-ID."""
    now = now or utcnow()
    conn = session.connection()
    claims = conn.execute(sa.select(ledger.c.claimed_by, sa.func.min(ledger.c.lease_until))
                          .where(ledger.c.status == "sending").group_by(ledger.c.claimed_by)).all()
    released = 0
    for owner, lease_until in claims:
        if owner is None:
            continue
        if owner_is_gone(owner) or (lease_until is not None and _aware(lease_until) < now):
            released += conn.execute(sa.update(ledger).where(ledger.c.status == "sending", ledger.c.claimed_by == owner)
                                     .values(status="queued", claimed_by=None, lease_until=None)).rowcount
    session.commit()
    return released
