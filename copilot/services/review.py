"""The review gate: the state machine every draft goes through before anything is scheduled.

    draft --submit--> in_review --approve--> approved --schedule--> scheduled --cancel--> cancelled
                        |  ^                     |                      +--send--> sending --> sent
                        |  |                     |                      |             +--cancel--> cancelled
                        |  +--- edit (voids) ----+---- edit (voids) ----+
                        +--request_changes--> changes_requested --submit--> in_review
                        +--reject--> rejected (final)

A scheduled (or sending) campaign can be paused and resumed: ``paused_at`` holds delivery
without leaving the state. Who may take each action is the access matrix's call
(copilot.services.access), checked first, before the state or the version.

Longer than most modules on purpose: every transition writes the same audit row, version check and
snapshot, so the state machine stays in one file.

Every action takes the ``expected_version`` the actor saw and writes with a conditional
``UPDATE ... WHERE version = :expected``: of two people acting on one draft at once,
exactly one wins and the other gets StaleRevisionError ("this draft changed"). Every
transition is written to the append-only audit log in the same transaction. The
database repeats the key rules in triggers (migration 0004).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import NotFoundError, ReviewInputError, ReviewStateError, StaleRevisionError
from copilot.models import (
    AuditLog,
    Conversation,
    FindingOverride,
    FindingRow,
    PlanRevision,
    Review,
    SectionApproval,
    User,
    utcnow,
)
from copilot.plan import Plan
from copilot.services import notifications
from copilot.services.access import (
    Action,
    Draft,
    draft_of_conversation,
    draft_of_review,
    permitted_actions,
    require,
)
from copilot.services.anchors import anchor_label, parse_anchor
from copilot.services.findings import list_findings
from copilot.services.sections import SECTIONS, finding_section, section_hashes
from guards import Finding

__all__ = [
    "TRANSITIONS",
    "GateStatus",
    "get_review",
    "review_for_conversation",
    "needs_acknowledgement",
    "gate_status",
    "on_revision_changed",
    "submit",
    "approve",
    "approve_section",
    "SectionState",
    "section_states",
    "request_changes",
    "reject",
    "override_finding",
    "acknowledge_finding",
    "schedule",
    "ScheduleProposal",
    "schedule_proposal",
    "pause",
    "resume",
    "cancel",
    "add_comment",
    "possible_actions",
    "available_actions",
    "conversation_actions",
    "begin_sending",
    "refuse_sending",
    "finish_sending",
    "verified_snapshot",
]

# from-state -> states it may move to (the triggers of migration 0004 hold the same list).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"in_review"}),
    "changes_requested": frozenset({"in_review"}),
    "cancelled": frozenset({"in_review", "draft"}),
    "in_review": frozenset({"changes_requested", "rejected", "approved"}),
    "approved": frozenset({"in_review", "changes_requested", "scheduled"}),
    "scheduled": frozenset({"in_review", "cancelled", "sending"}),
    "sending": frozenset({"sent", "cancelled"}),
    "rejected": frozenset(),
    "sent": frozenset(),
}
# A new revision moves a review from these states to the one given (None: stays put).
_ON_EDIT = {"draft": None, "changes_requested": None, "in_review": None,
            "approved": "in_review", "scheduled": "in_review", "cancelled": "draft"}
MAX_COMMENT = 4000


@dataclass(frozen=True)
class GateStatus:
    """What still stands between a review and approval on its current revision."""

    blocking: list[Finding]  # severity block, not overridden on this revision
    unacknowledged: list[Finding]  # warnings that need a reviewer's acknowledgement
    overridden: dict[str, FindingOverride]  # fingerprint -> override on this revision
    acknowledged: dict[str, FindingOverride]

    @property
    def clear(self) -> bool:
        return not self.blocking and not self.unacknowledged


# -- reading -------------------------------------------------------------------------------

def get_review(session: Session, review_id: int) -> Review:
    """The review as stored now (never a stale copy from the session's identity map)."""
    review = session.get(Review, review_id, populate_existing=True) if fits_id(review_id) else None
    if review is None:
        raise NotFoundError(f"no review {review_id}", review_id=review_id)
    return review


def review_for_conversation(session: Session, conversation_id: int) -> Review | None:
    return session.exec(
        select(Review).where(Review.conversation_id == conversation_id).execution_options(populate_existing=True)
    ).first()


def needs_acknowledgement(finding: Finding | FindingRow) -> bool:
    """A warning the guards marked as needing a reviewer's acknowledgement (e.g. unexpected but
    helpful data use): ``evidence["requires_acknowledgement"]`` is true (guards.provenance PROV_NEEDS_ACK)."""
    return finding.severity == "warn" and bool((finding.evidence or {}).get("requires_acknowledgement"))


def gate_status(session: Session, review: Review, *, findings: Sequence[Finding] | None = None,
                marks: Sequence[FindingOverride] | None = None) -> GateStatus:
    """``findings`` (the current revision's) and ``marks`` (the review's overrides and acknowledgements,
    any revision): pass them when already read, to save reading them again."""
    findings = list_findings(session, review.revision_id) if findings is None else findings
    marks = list(session.exec(select(FindingOverride).where(
        FindingOverride.review_id == review.id, FindingOverride.revision_hash == review.revision_hash))) \
        if marks is None else [m for m in marks if m.revision_hash == review.revision_hash]
    overridden = {m.fingerprint: m for m in marks if m.kind == "override"}
    acknowledged = {m.fingerprint: m for m in marks if m.kind == "acknowledge"}
    return GateStatus(
        blocking=[f for f in findings if f.severity == "block" and f.fingerprint not in overridden],
        unacknowledged=[f for f in findings if needs_acknowledgement(f) and f.fingerprint not in acknowledged],
        overridden=overridden,
        acknowledged=acknowledged,
    )


# -- the one way state changes -------------------------------------------------------------

def _resolve(session: Session, review: Review | int) -> Review:
    return get_review(session, review if isinstance(review, int) else _id(review))


def _id(review: Review) -> int:
    assert review.id is not None
    return review.id


def _check_version(review: Review, expected_version: int) -> None:
    if review.version != expected_version:
        raise StaleRevisionError(
            "this draft changed since you loaded it; reload to see the current version",
            review_id=review.id, expected_version=expected_version, current_version=review.version,
        )


def _check_transition(review: Review, to_state: str, action: str) -> None:
    if to_state != review.state and to_state not in TRANSITIONS.get(review.state, frozenset()):
        raise ReviewStateError(
            f"cannot {action.replace('_', ' ')} a review that is {review.state.replace('_', ' ')}",
            review_id=review.id, state=review.state, action=action,
        )


def _require_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ReviewInputError(f"{what} is required", field=what.split()[0])
    if len(text) > MAX_COMMENT:
        raise ReviewInputError(f"{what} is too long ({len(text)} characters, at most {MAX_COMMENT})",
                               field=what.split()[0])
    return text


def _optional_text(value: str | None) -> str | None:
    text = (value or "").strip()
    return _require_text(text, "comment") if text else None


def _require(session: Session, review: Review, actor: User, action: Action) -> None:
    require(actor, action, draft_of_review(session, review))


def _audit(session: Session, review: Review, actor: User | None, action: str, *, from_state: str | None,
           to_state: str | None, comment: str | None = None, data: dict[str, Any] | None = None) -> None:
    session.add(AuditLog(
        actor_id=actor.id if actor else None, workspace_id=review.workspace_id, entity_type="review",
        entity_id=review.id, action=action, from_state=from_state, to_state=to_state,
        revision_hash=review.revision_hash, comment=comment, data=data or {},
    ))


def _write(session: Session, review: Review, expected_version: int, actor: User | None, action: str,
           values: dict[str, Any], *, comment: str | None = None, data: dict[str, Any] | None = None) -> Review:
    """Apply ``values`` only if nobody changed the review since ``expected_version``; audit it."""
    from_state = review.state
    values = {**values, "version": expected_version + 1, "updated_at": utcnow()}
    try:
        result = session.exec(
            sa.update(Review).where(Review.id == review.id, Review.version == expected_version).values(**values)
        )
    except sa.exc.DBAPIError as exc:
        # Only a trigger of migration 0004 gets here: the service's own checks passed, so
        # the database saw something they did not (another writer, or a bug). Say so.
        raise ReviewStateError(f"the database refused to {action.replace('_', ' ')}: {_db_message(exc)}",
                               review_id=review.id, action=action) from exc
    if result.rowcount != 1:
        raise StaleRevisionError(
            "this draft changed since you loaded it; reload to see the current version",
            review_id=review.id, expected_version=expected_version,
        )
    session.refresh(review)
    _audit(session, review, actor, action, from_state=from_state, to_state=review.state, comment=comment, data=data)
    if action in notifications.KINDS:  # the people concerned are told in the same transaction
        notifications.notify(session, review, action, actor, comment=comment)
    session.flush()
    return review


def _db_message(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return text.split("review gate: ")[-1]


# -- revisions -----------------------------------------------------------------------------

def _counts(session: Session, revision_id: int) -> tuple[int, int]:
    rows = session.exec(
        select(FindingRow.severity, sa.func.count()).where(FindingRow.revision_id == revision_id)
        .group_by(FindingRow.severity)
    ).all()
    counts = {severity: int(n) for severity, n in rows}
    return counts.get("block", 0), counts.get("warn", 0)


def _revision(session: Session, revision: PlanRevision | int) -> PlanRevision:
    row = session.get(PlanRevision, revision if isinstance(revision, int) else revision.id)
    if row is None:
        raise NotFoundError(f"no plan revision {revision}", revision=str(revision))
    return row


def on_revision_changed(session: Session, *, conversation_id: int, revision: PlanRevision | int,
                        actor: User | None = None) -> Review:
    """Point the conversation's review at a new revision (call after its findings are stored).

    Creates the review (state draft) on the first revision. An edit of an approved or
    scheduled draft voids the approval (and the schedule): it goes back to in_review.
    Every reviewer's open view becomes stale (the version moves on). A rejected or sent
    review stays on the revision it was decided on.
    """
    rev = _revision(session, revision)
    if rev.conversation_id != conversation_id:
        raise ReviewStateError(f"revision {rev.id} belongs to conversation {rev.conversation_id}, "
                               f"not {conversation_id}", revision_id=rev.id)
    assert rev.id is not None
    blocks, warns = _counts(session, rev.id)
    review = review_for_conversation(session, conversation_id)
    if review is None:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFoundError(f"no conversation {conversation_id}", conversation_id=conversation_id)
        review = Review(conversation_id=conversation_id, workspace_id=conversation.workspace_id,
                        author_id=conversation.author_id, state="draft", revision_id=rev.id,
                        revision_hash=rev.content_hash, block_count=blocks, warn_count=warns)
        session.add(review)
        session.flush()
        _audit(session, review, actor, "created", from_state=None, to_state="draft",
               data={"revision": rev.number})
        session.flush()
        return review
    # An edit always lands: if a reviewer acts at the same moment, re-read and apply it on top.
    for _attempt in range(5):
        if review.state not in _ON_EDIT or review.revision_id == rev.id:
            return review
        try:
            return _point_at(session, review, rev, blocks, warns, actor)
        except StaleRevisionError:
            review = get_review(session, _id(review))
    raise StaleRevisionError("this draft kept changing; try again", review_id=review.id)


def _point_at(session: Session, review: Review, rev: PlanRevision, blocks: int, warns: int,
              actor: User | None) -> Review:
    to_state = _ON_EDIT[review.state] or review.state
    values: dict[str, Any] = {"revision_id": rev.id, "revision_hash": rev.content_hash,
                              "block_count": blocks, "warn_count": warns, "state": to_state}
    if review.approved_hash is not None:
        values.update(approved_hash=None, approved_by_id=None, approved_at=None)
    if review.state == "scheduled":
        values.update(scheduled_for=None, schedule_timezone=None, paused_at=None, paused_by_id=None)
    action = {"approved": "approval_voided", "scheduled": "schedule_voided"}.get(review.state, "revised")
    return _write(session, review, review.version, actor, action, values,
                  data={"revision": rev.number, "previous_hash": review.revision_hash})


# -- actions -------------------------------------------------------------------------------

def submit(session: Session, review_or_conversation: Review | Conversation | int, actor: User,
           expected_version: int | None = None, *, comment: str | None = None) -> Review:
    """Send the draft to the review queue (its author only: nobody else has seen it yet)."""
    if isinstance(review_or_conversation, Conversation):
        review = review_for_conversation(session, _conv_id(review_or_conversation))
        if review is None:
            require(actor, Action.SUBMIT, draft_of_conversation(session, review_or_conversation, None))
            latest = session.exec(select(PlanRevision).where(
                PlanRevision.conversation_id == review_or_conversation.id
            ).order_by(PlanRevision.number.desc())).first()  # type: ignore[union-attr]
            if latest is None:
                raise ReviewStateError("this conversation has no plan yet; nothing to submit",
                                       conversation_id=review_or_conversation.id)
            review = on_revision_changed(session, conversation_id=_conv_id(review_or_conversation),
                                         revision=latest, actor=actor)
    else:
        review = _resolve(session, review_or_conversation)
    _require(session, review, actor, Action.SUBMIT)
    expected = review.version if expected_version is None else expected_version
    _check_version(review, expected)
    _check_transition(review, "in_review", "submit")
    if review.state == "in_review":
        raise ReviewStateError("this draft is already in review", review_id=review.id, state=review.state)
    return _write(session, review, expected, actor, "submitted", {"state": "in_review", "submitted_at": utcnow()},
                  comment=_optional_text(comment))


def _conv_id(conversation: Conversation) -> int:
    assert conversation.id is not None
    return conversation.id


def approve(session: Session, review: Review | int, actor: User, expected_version: int, *,
            comment: str | None = None, expected_hash: str | None = None) -> Review:
    """Approve the exact current revision (bound to its content hash), every section at once. ``expected_hash``:
    the hash the approver confirmed (the web form sends it from its confirmation step; blank there is refused);
    it must still be the current one."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.APPROVE)
    _check_version(review, expected_version)
    if expected_hash is not None and not expected_hash:
        raise ReviewInputError("approving needs confirmation: open the draft, press Approve and confirm the "
                               "revision you approve", field="confirm", review_id=review.id)
    if expected_hash is not None and expected_hash != review.revision_hash:
        raise StaleRevisionError("the revision you confirmed is not the current one; reload to see the current version",
                                 review_id=review.id, expected_hash=expected_hash, current_hash=review.revision_hash)
    _check_transition(review, "approved", "approve")
    if review.state == "approved":
        raise ReviewStateError("this draft is already approved", review_id=review.id, state=review.state)
    text = _optional_text(comment)
    _check_gate(session, review)
    plan = _check_plan_hash(session, review)
    states = section_states(session, review, plan=plan)
    for section, state in states.items():  # the whole approval approves each section not yet approved
        if state.approval is None:
            session.add(SectionApproval(review_id=_id(review), section=section, section_hash=state.hash,
                                        revision_hash=review.revision_hash, actor_id=actor.id or 0, comment=text))
    return _approve_write(session, review, expected_version, actor, text)


def _check_gate(session: Session, review: Review) -> None:
    status = gate_status(session, review)
    if status.blocking:
        codes = sorted({f.code for f in status.blocking})
        raise ReviewStateError(
            f"{len(status.blocking)} blocking finding(s) must be resolved or overridden first: {', '.join(codes)}",
            review_id=review.id, blocking=[f.id for f in status.blocking],
        )
    if status.unacknowledged:
        codes = sorted({f.code for f in status.unacknowledged})
        raise ReviewStateError(
            f"{len(status.unacknowledged)} warning(s) need acknowledgement first: {', '.join(codes)}",
            review_id=review.id, unacknowledged=[f.id for f in status.unacknowledged],
        )


def _approve_write(session: Session, review: Review, expected_version: int, actor: User, comment: str | None,
                   data: dict[str, Any] | None = None) -> Review:
    return _write(session, review, expected_version, actor, "approved",
                  {"state": "approved", "approved_hash": review.revision_hash, "approved_by_id": actor.id,
                   "approved_at": utcnow()}, comment=comment, data=data)


# -- per-section approval --------------------------------------------------------------------

@dataclass(frozen=True)
class SectionState:
    """One section of the current revision: its hash, the approval that stands on it (if any), and the
    findings that hold it (blocking or needing acknowledgement, about this section or the whole plan)."""

    section: str
    hash: str
    approval: SectionApproval | None
    held_by: list[Finding]

    @property
    def approved(self) -> bool:
        return self.approval is not None


def section_states(session: Session, review: Review, *, plan: Plan | Mapping[str, Any] | None = None,
                   status: GateStatus | None = None) -> dict[str, SectionState]:
    """Each section of the review's current revision and where it stands. An approval stands while its
    section hash is the current one and it was not withdrawn. ``plan`` and ``status``: the current
    revision's plan and gate status when the caller has them already."""
    hashes = section_hashes(plan if plan is not None else _revision(session, review.revision_id).plan)
    rows = session.exec(select(SectionApproval).where(
        SectionApproval.review_id == review.id, SectionApproval.voided_at.is_(None))  # type: ignore[union-attr]
        .order_by(SectionApproval.id)).all()  # type: ignore[arg-type]
    standing = {r.section: r for r in rows if r.section_hash == hashes.get(r.section)}
    status = status or gate_status(session, review)
    held = [*status.blocking, *status.unacknowledged]
    return {s: SectionState(s, hashes[s], standing.get(s), [f for f in held if finding_section(f) in (s, None)])
            for s in SECTIONS}


def approve_section(session: Session, review: Review | int, actor: User, expected_version: int, *, section: str,
                    expected_hash: str, comment: str | None = None) -> Review:
    """Approve one section of the current revision (``expected_hash``: the section hash the reviewer
    confirmed). When it is the last section without a standing approval, the draft is approved."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.APPROVE)
    _check_version(review, expected_version)
    if section not in SECTIONS:
        raise ReviewInputError(f"unknown section {section!r}; sections: {', '.join(SECTIONS)}", field="section")
    _check_transition(review, "approved", "approve")
    if review.state != "in_review":
        raise ReviewStateError(f"only a draft in review is approved section by section (it is "
                               f"{review.state.replace('_', ' ')})", review_id=review.id, state=review.state)
    plan = _check_plan_hash(session, review)
    states = section_states(session, review, plan=plan)
    state = states[section]
    if not (expected_hash or "").strip():
        raise ReviewInputError(f"approving the {section} needs confirmation of the section you approve",
                               field="confirm", review_id=review.id)
    if expected_hash.strip() != state.hash:
        raise StaleRevisionError(f"the {section} changed since you loaded it; reload to see the current version",
                                 review_id=review.id, section=section)
    if state.approved:
        raise ReviewStateError(f"the {section} is already approved on this revision", review_id=review.id,
                               section=section)
    if state.held_by:
        codes = sorted({f.code for f in state.held_by})
        raise ReviewStateError(f"{len(state.held_by)} finding(s) about the {section} must be resolved, overridden "
                               f"or acknowledged first: {', '.join(codes)}", review_id=review.id, section=section)
    text = _optional_text(comment)
    review = _write(session, review, expected_version, actor, "section_approved", {}, comment=text,
                    data={"section": section, "section_hash": state.hash})
    session.add(SectionApproval(review_id=_id(review), section=section, section_hash=state.hash,
                                revision_hash=review.revision_hash, actor_id=actor.id or 0, comment=text))
    session.flush()
    if all(s.approved for name, s in states.items() if name != section):
        _check_gate(session, review)  # every section is clear, so the whole plan is: the gate agrees
        return _approve_write(session, review, review.version, actor, None, data={"by_sections": True})
    return review


def _void_sections(session: Session, review: Review) -> None:
    session.exec(sa.update(SectionApproval).where(  # type: ignore[call-overload]
        SectionApproval.review_id == review.id, SectionApproval.voided_at.is_(None)  # type: ignore[union-attr]
    ).values(voided_at=utcnow()))


def request_changes(session: Session, review: Review | int, actor: User, expected_version: int, *,
                    comment: str, anchor: str | Mapping[str, Any] | None = None) -> Review:
    """Send the draft back to its author with a comment (``anchor``: the segment, variant or field it is
    about). Withdrawing an approval withdraws every section's approval with it."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.REQUEST_CHANGES)
    _check_version(review, expected_version)
    text = _require_text(comment, "comment explaining the changes")
    _check_transition(review, "changes_requested", "request_changes")
    if review.state == "changes_requested":
        raise ReviewStateError("changes are already requested", review_id=review.id, state=review.state)
    data = _anchor_data(session, review, anchor)
    if review.state == "approved":
        _void_sections(session, review)
    return _write(session, review, expected_version, actor, "changes_requested",
                  {"state": "changes_requested", "approved_hash": None, "approved_by_id": None, "approved_at": None},
                  comment=text, data=data)


def _anchor_data(session: Session, review: Review, anchor: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The audit data naming a comment's anchor (checked against the current revision), or {}."""
    if anchor is None or (isinstance(anchor, str) and not anchor.strip()):
        return {}
    rev = _revision(session, review.revision_id)
    checked = parse_anchor(anchor, Plan.model_validate(rev.plan))
    if checked is None:
        return {}
    return {"anchor": checked, "anchor_label": anchor_label(checked), "revision": rev.number}


def reject(session: Session, review: Review | int, actor: User, expected_version: int, *, reason: str) -> Review:
    review = _resolve(session, review)
    _require(session, review, actor, Action.REJECT)
    _check_version(review, expected_version)
    text = _require_text(reason, "reason for rejecting")
    _check_transition(review, "rejected", "reject")
    if review.state == "rejected":
        raise ReviewStateError("this draft is already rejected", review_id=review.id, state=review.state)
    return _write(session, review, expected_version, actor, "rejected", {"state": "rejected"}, comment=text)


def _finding_on_review(session: Session, review: Review, finding_id: int) -> FindingRow:
    finding = session.get(FindingRow, finding_id) if fits_id(finding_id) else None
    if finding is None:
        raise NotFoundError(f"no finding {finding_id}", review_id=review.id, finding_id=finding_id)
    if finding.revision_id != review.revision_id:
        raise StaleRevisionError(
            f"finding {finding_id} is not on this draft's current revision; reload to see the current findings",
            review_id=review.id, finding_id=finding_id,
        )
    return finding


def _mark(session: Session, review: Review | int, actor: User, expected_version: int, *, finding_id: int,
          reason: str, kind: str) -> FindingOverride:
    review = _resolve(session, review)
    action = "override" if kind == "override" else "acknowledge"
    _require(session, review, actor, Action.OVERRIDE if kind == "override" else Action.ACKNOWLEDGE)
    _check_version(review, expected_version)
    if review.state != "in_review":
        raise ReviewStateError(f"findings can be {action}d only while the draft is in review "
                               f"(it is {review.state.replace('_', ' ')})", review_id=review.id, state=review.state)
    finding = _finding_on_review(session, review, finding_id)
    if kind == "override" and finding.severity != "block":
        raise ReviewStateError(f"finding {finding.code} is a {finding.severity}, not a block: nothing to override",
                               finding_id=finding_id)
    if kind == "acknowledge" and not needs_acknowledgement(finding):
        raise ReviewStateError(f"finding {finding.code} does not need acknowledgement", finding_id=finding_id)
    status = gate_status(session, review)
    if finding.fingerprint in (status.overridden if kind == "override" else status.acknowledged):
        raise ReviewStateError(f"finding {finding.code} is already {action}d on this revision",
                               finding_id=finding_id)
    text = _require_text(reason, "reason") if kind == "override" else (_optional_text(reason) or "acknowledged")
    # The version moves on first: the conditional update is what makes this race-safe.
    _write(session, review, expected_version, actor, "finding_" + ("overridden" if kind == "override" else
                                                                   "acknowledged"),
           {}, comment=text, data={"finding_id": finding.id, "code": finding.code, "fingerprint": finding.fingerprint})
    mark = FindingOverride(review_id=_id(review), revision_hash=review.revision_hash, fingerprint=finding.fingerprint,
                           code=finding.code, kind=kind, reason=text, actor_id=actor.id or 0)
    session.add(mark)
    session.flush()
    return mark


def override_finding(session: Session, review: Review | int, actor: User, expected_version: int, *,
                     finding_id: int, reason: str) -> FindingOverride:
    """A reviewer's written override of a blocking finding on the current revision."""
    return _mark(session, review, actor, expected_version, finding_id=finding_id, reason=reason, kind="override")


def acknowledge_finding(session: Session, review: Review | int, actor: User, expected_version: int, *,
                        finding_id: int, reason: str | None = None) -> FindingOverride:
    """A reviewer's acknowledgement of a warning that needs one (reason optional)."""
    return _mark(session, review, actor, expected_version, finding_id=finding_id, reason=reason or "",
                 kind="acknowledge")


# -- schedule ------------------------------------------------------------------------------

def _check_plan_hash(session: Session, review: Review) -> dict[str, Any]:
    """The revision's stored plan, after checking it still hashes to the revision hash."""
    rev = _revision(session, review.revision_id)
    try:
        actual = Plan.model_validate(rev.plan).content_hash()
    except ValidationError as exc:
        raise ReviewStateError("the revision's stored plan no longer parses; it cannot be approved or scheduled",
                               review_id=review.id) from exc
    if actual != review.revision_hash or rev.content_hash != review.revision_hash:
        raise ReviewStateError("the revision's stored plan does not match its content hash; refusing",
                               review_id=review.id, expected_hash=review.revision_hash, actual_hash=actual)
    return dict(rev.plan)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo((name or "").strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReviewInputError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin",
                               field="timezone") from exc


def _parse_time(at: datetime | str) -> datetime:
    if isinstance(at, datetime):
        return at
    try:
        return datetime.fromisoformat((at or "").strip())
    except ValueError as exc:
        raise ReviewInputError(f"send time {at!r} is not a date and time like 2031-05-04T09:30",
                               field="at") from exc


def schedule(session: Session, review: Review | int, actor: User, expected_version: int, *, at: datetime | str,
             timezone: str, now: datetime | None = None) -> Review:
    """Schedule an approved draft: the send time (one-off plans) or the trigger's activation
    (event and recurring plans) at ``at``, read in ``timezone`` when it has no zone of its own.

    The approved plan is copied into ``snapshot`` with its hash; that copy is what goes out.
    """
    review = _resolve(session, review)
    _require(session, review, actor, Action.SCHEDULE)
    _check_version(review, expected_version)
    _check_transition(review, "scheduled", "schedule")
    if review.state != "approved" or review.approved_hash != review.revision_hash:
        raise ReviewStateError("only an approved draft can be scheduled", review_id=review.id, state=review.state)
    zone = _zone(timezone)
    at = _parse_time(at)
    when = at if at.tzinfo is not None else at.replace(tzinfo=zone)
    when_utc = when.astimezone(ZoneInfo("UTC"))
    current = now or utcnow()
    if when_utc <= current:
        raise ReviewInputError(
            f"the send time {when:%Y-%m-%d %H:%M} {zone.key} is in the past: it is now "
            f"{current.astimezone(zone):%Y-%m-%d %H:%M} there; pick a later time", field="at")
    snapshot = _check_plan_hash(session, review)
    mode = "send" if snapshot.get("trigger", {}).get("kind") == "schedule" else "activate"
    return _write(session, review, expected_version, actor, "scheduled",
                  {"state": "scheduled", "scheduled_for": when_utc, "schedule_timezone": zone.key,
                   "snapshot": snapshot, "snapshot_hash": review.revision_hash},
                  data={"at": when_utc.isoformat(), "timezone": zone.key, "mode": mode})


@dataclass(frozen=True)
class ScheduleProposal:
    """What a schedule form starts from: a wall-clock time in ``timezone`` that is still ahead."""

    at: datetime  # aware, in ``timezone``
    timezone: str
    passed: datetime | None  # the plan's own send time, when it has already passed (shown in ``timezone``)
    recipient_local_time: bool  # the time is read on each recipient's clock; the zone only reads the form

    @property
    def form_value(self) -> str:
        return f"{self.at:%Y-%m-%dT%H:%M}"


LEAD = timedelta(minutes=10)  # a proposed time leaves this long to read the form and submit it


def schedule_proposal(plan: Plan, timezone: str, now: datetime) -> ScheduleProposal:
    """Where the schedule form starts: the plan's send time if it is still ahead, else the next
    quarter hour at least LEAD from ``now``, both in ``timezone`` (the brand's zone). Never in the past."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    current = now.astimezone(zone)
    soon = (current + LEAD).replace(second=0, microsecond=0)
    soon += timedelta(minutes=(-soon.minute) % 15)
    trigger = plan.trigger
    wanted: datetime | None = None
    if trigger.kind == "schedule" and trigger.send_at is not None:
        send_at = trigger.send_at
        if trigger.recipient_local_time:  # a wall-clock time; any offset on it means nothing
            wanted = send_at.replace(tzinfo=zone)
        else:
            wanted = (send_at if send_at.tzinfo else send_at.replace(tzinfo=UTC)).astimezone(zone)
    if wanted is not None and wanted > current:
        return ScheduleProposal(wanted, zone.key, None, trigger.recipient_local_time)
    return ScheduleProposal(soon, zone.key, wanted, trigger.kind == "schedule" and trigger.recipient_local_time)


def cancel(session: Session, review: Review | int, actor: User, expected_version: int, *,
           reason: str | None = None) -> Review:
    """Cancel a scheduled draft before it sends, or a sending one partway (messages not yet handed to
    the transport are not sent; the snapshot stays, for the record)."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.CANCEL)
    _check_version(review, expected_version)
    if review.state not in {"scheduled", "sending"}:
        raise ReviewStateError(f"only a scheduled or sending campaign can be cancelled "
                               f"(it is {review.state.replace('_', ' ')})", review_id=review.id, state=review.state)
    return _write(session, review, expected_version, actor, "cancelled",
                  {"state": "cancelled", "paused_at": None, "paused_by_id": None}, comment=_optional_text(reason))


PAUSABLE = frozenset({"scheduled", "sending"})


def pause(session: Session, review: Review | int, actor: User, expected_version: int, *,
          reason: str | None = None) -> Review:
    """Hold a scheduled or sending campaign: delivery sends nothing more until it is resumed."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.PAUSE)
    _check_version(review, expected_version)
    if review.state not in PAUSABLE:
        raise ReviewStateError(f"only a scheduled or sending campaign can be paused (it is "
                               f"{review.state.replace('_', ' ')})", review_id=review.id, state=review.state)
    if review.paused_at is not None:
        raise ReviewStateError("this campaign is already paused", review_id=review.id, state=review.state)
    return _write(session, review, expected_version, actor, "paused",
                  {"paused_at": utcnow(), "paused_by_id": actor.id}, comment=_optional_text(reason))


def resume(session: Session, review: Review | int, actor: User, expected_version: int, *,
           comment: str | None = None) -> Review:
    """Let a paused campaign go on (who may: the same people as for scheduling it)."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.RESUME)
    _check_version(review, expected_version)
    if review.paused_at is None or review.state not in PAUSABLE:
        raise ReviewStateError("only a paused campaign can be resumed", review_id=review.id, state=review.state)
    return _write(session, review, expected_version, actor, "resumed", {"paused_at": None, "paused_by_id": None},
                  comment=_optional_text(comment))


def add_comment(session: Session, review: Review | int, actor: User, *, text: str,
                anchor: str | Mapping[str, Any] | None = None) -> AuditLog:
    """A comment on the draft's review, kept in its history, optionally anchored to a segment, variant or
    field of the current revision (``anchor``, stored in the row's data). It changes neither the state nor
    the version: nobody's open form goes stale because someone else commented."""
    review = _resolve(session, review)
    _require(session, review, actor, Action.COMMENT)
    body = _require_text(text, "comment text")
    entry = AuditLog(actor_id=actor.id, workspace_id=review.workspace_id, entity_type="review", entity_id=review.id,
                     action="commented", from_state=review.state, to_state=review.state,
                     revision_hash=review.revision_hash, comment=body, data=_anchor_data(session, review, anchor))
    session.add(entry)
    session.flush()
    return entry


# -- what a page may offer -------------------------------------------------------------------

def possible_actions(state: str, *, paused: bool = False) -> frozenset[Action]:
    """The actions the state machine allows in ``state``, whoever asks (the matrix narrows it per person)."""
    possible = {Action.READ_REVIEW, Action.READ_DRAFT, Action.COMMENT}
    if state in ("draft", "changes_requested", "cancelled"):
        possible.add(Action.SUBMIT)
    if state in _ON_EDIT:
        possible.add(Action.EDIT)
    if state == "in_review":
        possible |= {Action.APPROVE, Action.REQUEST_CHANGES, Action.REJECT, Action.OVERRIDE, Action.ACKNOWLEDGE}
    if state == "approved":
        possible |= {Action.REQUEST_CHANGES, Action.SCHEDULE}
    if state in PAUSABLE:  # scheduled or sending: it can be held, resumed or stopped
        possible |= {Action.RESUME if paused else Action.PAUSE, Action.CANCEL}
    return frozenset(possible)


def available_actions(session: Session, review: Review, actor: User, *,
                      draft: Draft | None = None) -> frozenset[Action]:
    """What this person may do on this review now: the matrix and the state machine both agree.
    ``draft``: the review's ``draft_of_review``, when already at hand."""
    return possible_actions(review.state, paused=review.paused_at is not None) & \
        permitted_actions(actor, draft if draft is not None else draft_of_review(session, review))


def conversation_actions(session: Session, conversation: Conversation, actor: User) -> frozenset[Action]:
    """What this person may do on a conversation's draft now (before its first plan: a draft)."""
    review = review_for_conversation(session, _conv_id(conversation))
    if review is not None:
        return available_actions(session, review, actor)
    return possible_actions("draft") & permitted_actions(actor, draft_of_conversation(session, conversation, None))


# -- delivery (the system acts; no person) -------------------------------------------------

def verified_snapshot(review: Review) -> Plan:
    """The scheduled snapshot as a Plan, after checking it is exactly the approved revision: the
    snapshot hashes to ``snapshot_hash``, which is the approved hash and the current revision's."""
    if review.snapshot is None or review.snapshot_hash is None:
        raise ReviewStateError("this campaign has no scheduled snapshot", review_id=review.id)
    if not (review.snapshot_hash == review.approved_hash == review.revision_hash):
        raise ReviewStateError("the scheduled snapshot is not the approved revision; it cannot send",
                               review_id=review.id)
    try:
        plan = Plan.model_validate(review.snapshot)
    except ValidationError as exc:
        raise ReviewStateError("the scheduled snapshot no longer parses; it cannot send", review_id=review.id) from exc
    if plan.content_hash() != review.snapshot_hash:
        raise ReviewStateError("the scheduled snapshot does not match its hash; it cannot send",
                               review_id=review.id, expected_hash=review.snapshot_hash)
    return plan


def begin_sending(session: Session, review: Review | int) -> Review:
    """scheduled -> sending, by the delivery worker, once the snapshot checks out."""
    review = _resolve(session, review)
    if review.state != "scheduled":
        raise ReviewStateError(f"only a scheduled campaign starts sending (it is {review.state})",
                               review_id=review.id, state=review.state)
    verified_snapshot(review)
    return _write(session, review, review.version, None, "sending", {"state": "sending"},
                  data={"snapshot_hash": review.snapshot_hash})


def finish_sending(session: Session, review: Review | int, *, data: dict[str, Any] | None = None) -> Review:
    """sending -> sent, when every entry of the campaign has finished."""
    review = _resolve(session, review)
    if review.state != "sending":
        raise ReviewStateError(f"only a sending campaign can finish (it is {review.state})",
                               review_id=review.id, state=review.state)
    return _write(session, review, review.version, None, "sent", {"state": "sent"}, data=data)


def refuse_sending(session: Session, review: Review | int, reason: str) -> Review:
    """scheduled -> cancelled, by the delivery worker, when the snapshot is not the approved plan."""
    review = _resolve(session, review)
    return _write(session, review, review.version, None, "cancelled", {"state": "cancelled"},
                  comment=f"not sent: {reason}")
