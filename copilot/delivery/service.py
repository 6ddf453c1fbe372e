"""What people do with a delivery and what they ask of it: pause, resume, cancel; live counts; and
"why did this person get it, or not?" from the send ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from copilot.delivery.engine import entries_t, ledger
from copilot.errors import NotFoundError, ReviewStateError
from copilot.models import AuditLog, Contact, Delivery, DeliveryEntry, Review, SendRecord, User, utcnow
from copilot.plan import Plan
from copilot.segments.decisions import decisions_query
from copilot.segments.english import describe_rule
from copilot.services import review as gate
from copilot.workspace import Workspace

__all__ = [
    "COUNTED",
    "delivery_for",
    "counts",
    "counts_by_review",
    "pause",
    "resume",
    "cancel",
    "explain",
    "Explanation",
    "REASONS",
]

# The live counts the Scheduled page shows (sending is counted with queued).
COUNTED = ("queued", "sent", "failed", "suppressed", "held_out", "cancelled")
REASONS = {
    "unsubscribed": "they had unsubscribed",
    "bounced": "their address had bounced",
    "suppressed": "their address is on the suppression list",
    "excluded": "the plan's exclusions matched them",
    "frequency_capped": "they had already had the most emails the frequency cap allows",
    "quiet_hours": "it would have arrived in their quiet hours, which this plan skips",
    "control_group": "they are in the control group, held out to measure the campaign",
    "no_contact": "the contact no longer exists",
    "cancelled": "the campaign was cancelled before it went out",
    "render": "the copy could not be rendered for them",
    "no_copy": "the plan has no copy for their segment and message",
    "retries_exhausted": "the mail server kept refusing it for now, and the retries ran out",
    "refused": "the mail server refused it",
}


def delivery_for(session: Session, review_id: int) -> Delivery | None:
    """The review's delivery for its current snapshot (the latest, if it was rescheduled)."""
    return session.exec(select(Delivery).where(Delivery.review_id == review_id)
                        .order_by(Delivery.id.desc())  # type: ignore[union-attr]
                        .execution_options(populate_existing=True)).first()


def counts_by_review(session: Session, review_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per review: ledger rows by status (queued includes rows being sent), for its latest delivery."""
    ids = list(review_ids)
    if not ids:
        return {}
    d = Delivery.__table__  # type: ignore[attr-defined]
    latest = sa.select(d.c.review_id, sa.func.max(d.c.id).label("id")).where(d.c.review_id.in_(ids)) \
        .group_by(d.c.review_id).subquery()
    rows = session.connection().execute(
        sa.select(latest.c.review_id, ledger.c.status, sa.func.count())
        .select_from(latest.join(ledger, ledger.c.delivery_id == latest.c.id))
        .group_by(latest.c.review_id, ledger.c.status))
    out = {rid: dict.fromkeys(COUNTED, 0) for rid in ids}
    for rid, status, n in rows:
        out[rid]["queued" if status == "sending" else status] += int(n)
    return out


def counts(session: Session, review_id: int) -> dict[str, Any]:
    delivery = delivery_for(session, review_id)
    data: dict[str, Any] = {"review": review_id, "delivery": None, "state": None,
                            **counts_by_review(session, [review_id])[review_id]}
    if delivery is not None:
        entry_rows = session.connection().execute(
            sa.select(entries_t.c.state, sa.func.count()).where(entries_t.c.delivery_id == delivery.id)
            .group_by(entries_t.c.state))
        data.update(delivery=delivery.id, state=delivery.state, entries={s: int(n) for s, n in entry_rows})
    return data


def _audit(session: Session, review: Review, actor: User, action: str, comment: str | None) -> None:
    session.add(AuditLog(actor_id=actor.id, workspace_id=review.workspace_id, entity_type="review",
                         entity_id=review.id, action=action, from_state=review.state, to_state=review.state,
                         revision_hash=review.revision_hash, comment=comment))


def _set_state(session: Session, delivery: Delivery, state: str, actor: User, now: datetime) -> None:
    # Conditional on the state read, so two people pausing and resuming at once cannot both win.
    result = session.exec(sa.update(Delivery).where(Delivery.id == delivery.id,  # type: ignore[call-overload]
                                                    Delivery.state == delivery.state)
                          .values(state=state, state_changed_by_id=actor.id, state_changed_at=now))
    if result.rowcount != 1:
        raise ReviewStateError("this campaign changed meanwhile; reload to see its state", delivery=delivery.id)


def _mirror(session: Session, review_id: int, actor: User, was: str, now_state: str) -> None:
    """The gate decided; a delivery in state ``was`` follows it into ``now_state``."""
    delivery = delivery_for(session, review_id)
    if delivery is not None and delivery.state == was:
        _set_state(session, delivery, now_state, actor, utcnow())
    session.flush()


def pause(session: Session, review_id: int, actor: User, expected_version: int | None = None, *,
          reason: str | None = None) -> Review:
    """Hold a scheduled or sending campaign: the review gate's pause (who may: the access matrix), which
    workers see before their next message; a running delivery is marked paused too. Queued messages wait."""
    review = gate.get_review(session, review_id)
    review = gate.pause(session, review, actor, review.version if expected_version is None else expected_version,
                        reason=reason)
    _mirror(session, review_id, actor, "running", "paused")
    return review


def resume(session: Session, review_id: int, actor: User, expected_version: int | None = None, *,
           reason: str | None = None) -> Review:
    """Let a paused campaign go on (the gate's resume), and its delivery with it."""
    review = gate.get_review(session, review_id)
    review = gate.resume(session, review, actor, review.version if expected_version is None else expected_version,
                         comment=reason)
    _mirror(session, review_id, actor, "paused", "running")
    return review


def cancel(session: Session, review_id: int, actor: User, expected_version: int | None = None, *,
           reason: str | None = None) -> Review:
    """Cancel a scheduled or sending campaign: nothing queued goes out after this. Who may is the access
    matrix's (copilot/services/access.py): the draft's author, a reviewer or an admin."""
    review = gate.get_review(session, review_id)
    review = gate.cancel(session, review, actor, review.version if expected_version is None else expected_version,
                         reason=reason)
    delivery = delivery_for(session, review_id)
    if delivery is not None and delivery.state in {"running", "paused"}:
        now = utcnow()
        session.exec(sa.update(Delivery).where(Delivery.id == delivery.id)  # type: ignore[call-overload]
                     .values(state="cancelled", state_changed_by_id=actor.id, state_changed_at=now, finished_at=now))
        conn = session.connection()
        conn.execute(sa.update(ledger).where(ledger.c.delivery_id == delivery.id, ledger.c.status == "queued")
                     .values(status="cancelled", reason="cancelled"))
        conn.execute(sa.update(entries_t).where(entries_t.c.delivery_id == delivery.id, entries_t.c.state == "active")
                     .values(state="cancelled", next_at=None, updated_at=now))
    session.flush()
    return review


# -- why -----------------------------------------------------------------------------------

@dataclass
class Explanation:
    """The answer to "why did (or didn't) this person get it?": sentences, and the rows behind them."""

    review: int
    contact: dict[str, Any]
    answer: list[str]
    entries: list[dict[str, Any]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _contact(session: Session, workspace_id: int, who: str | int) -> Contact:
    text = str(who).strip()
    query = select(Contact).where(Contact.workspace_id == workspace_id)
    query = query.where(Contact.id == int(text)) if text.isdigit() else query.where(Contact.email == text.lower())
    contact = session.exec(query).first()
    if contact is None:
        raise NotFoundError(f"no contact {text!r} in this workspace", contact=text)
    return contact


def _send_sentence(rec: SendRecord) -> str:
    what = f"{rec.message}" + (f" (variant {rec.arm}, segment {rec.segment!r})" if rec.segment else "")
    if rec.status == "sent":
        return f"Sent {what} at {_when(rec.sent_at)}, Message-ID {rec.message_id}."
    if rec.status in {"queued", "sending"}:
        return f"{what} is queued to go at {_when(rec.due_at)}" + (f" ({rec.detail})" if rec.detail else "") + "."
    if rec.status == "held_out":
        return f"Not sent {what}: {REASONS['control_group']}."
    why = REASONS.get(rec.reason or "", rec.reason or "no reason recorded")
    detail = f" ({rec.detail})" if rec.detail and rec.status == "failed" else ""
    verb = {"failed": "Failed", "cancelled": "Not sent", "suppressed": "Not sent"}.get(rec.status, rec.status)
    return f"{verb} {what}: {why}{detail} (decided {_when(rec.decided_at)})."


def explain(session: Session, workspace: Workspace, review_id: int, who: str | int, *,
            now: datetime | None = None) -> Explanation:
    """Why ``who`` (a contact id or email) got, or did not get, the review's campaign."""
    review = gate.get_review(session, review_id)
    contact = _contact(session, review.workspace_id, who)
    info = {"id": contact.id, "email": contact.email, "consent": contact.consent, "timezone": contact.timezone}
    delivery = delivery_for(session, review_id)
    if delivery is None:
        return Explanation(review_id, info, [f"The campaign has not started sending (it is {review.state})."])
    plan = Plan.model_validate(review.snapshot)
    entries = list(session.exec(select(DeliveryEntry).where(DeliveryEntry.delivery_id == delivery.id,
                                                            DeliveryEntry.contact_id == contact.id)
                                .order_by(DeliveryEntry.entry_no)))  # type: ignore[arg-type]
    sends = list(session.exec(select(SendRecord).where(SendRecord.delivery_id == delivery.id,
                                                       SendRecord.contact_id == contact.id)
                              .order_by(SendRecord.entry_no, SendRecord.id)))  # type: ignore[arg-type]
    answer: list[str] = []
    for entry in entries:
        how = (f"entered on {plan.trigger.entry_event} at {_when(entry.entered_at)}" if delivery.kind == "event"
               else f"was in the audience frozen at {_when(entry.entered_at)}")
        if entry.state == "not_eligible":
            answer.append(f"{contact.email} {how} but matched no segment of the plan, so nothing was sent.")
            continue
        segment = plan.segment(entry.segment or "")
        rule = f" ({describe_rule(segment.rule, workspace)})" if segment else ""
        answer.append(f"{contact.email} {how}, in segment {entry.segment!r}{rule}, arm {entry.arm}"
                      + (", control group" if entry.control else "") + ".")
        for rec in (s for s in sends if s.entry_id == entry.id):
            answer.append(_send_sentence(rec))
        if entry.state == "exited":
            answer.append(f"Left the journey: {entry.reason} (an exit condition of the plan).")
        elif entry.state == "active" and entry.next_at is not None:
            answer.append(f"Next step at {_when(entry.next_at)}.")
        elif entry.state == "cancelled":
            answer.append("The campaign was cancelled while they were on it.")
    if not entries:
        answer.append(_not_entered(session, workspace, review, delivery, plan, contact, now or utcnow()))
    return Explanation(
        review_id, info, answer,
        entries=[{k: (_when(v) if isinstance(v, datetime) else v) for k, v in e.model_dump().items()} for e in entries],
        sends=[{k: (_when(v) if isinstance(v, datetime) else v) for k, v in s.model_dump().items()
                if k not in {"claimed_by", "lease_until"}} for s in sends],
    )


def _not_entered(session: Session, workspace: Workspace, review: Review, delivery: Delivery, plan: Plan,
                 contact: Contact, now: datetime) -> str:
    if delivery.kind == "event":
        return (f"{contact.email} has not entered: no {plan.trigger.entry_event} event of theirs since the journey "
                f"opened at {_when(delivery.starts_at)} let them in (see the plan's entry and re-entry rules).")
    at = delivery.run_at or delivery.starts_at
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    query = decisions_query(session, workspace, review.workspace_id, plan, now=at, contact_ids=[contact.id or 0])
    row = session.connection().execute(query).first()
    if row is None:
        rules = "; ".join(f"{s.name}: {describe_rule(s.rule, workspace)}" for s in plan.segments)
        return (f"{contact.email} matched no segment when the audience was frozen at {_when(at)}, so the campaign "
                f"was never for them. Segments: {rules}.")
    if delivery.frozen_at is None:
        return f"{contact.email} matches segment {row.segment!r}; the audience is still being frozen."
    return (f"{contact.email} matches segment {row.segment!r} now, but was not in the audience frozen at {_when(at)} "
            f"(they joined or changed later).")

