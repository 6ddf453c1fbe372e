"""Read side of review: the queue (filtered, sorted, paged), one review's detail, the schedule list.

Queries return plain rows (SQLAlchemy Core) rather than ORM objects: the queue page is the
busiest page reviewers load, and building ORM objects costs more than the query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import InvalidRequestError, NotFoundError
from copilot.models import (
    REVIEW_STATES,
    AuditLog,
    Conversation,
    FindingOverride,
    PlanRevision,
    Review,
    User,
)
from copilot.services.access import (
    Action,
    Draft,
    draft_of_review,
    permitted_actions,
    reads_others_submitted,
    require,
    workspace_policy,
)
from copilot.services.findings import list_findings
from copilot.services.review import GateStatus, available_actions, gate_status, get_review, possible_actions
from guards import Finding

__all__ = [
    "QUEUE_SORTS",
    "RISK_LEVELS",
    "QueueFilter",
    "QueueRow",
    "QueuePage",
    "ScheduledRow",
    "AuditEntry",
    "ReviewDetail",
    "list_queue",
    "queue_statements",
    "authors_statement",
    "queue_row",
    "queue_authors",
    "review_detail",
    "list_scheduled",
    "audit_history",
    "review_states_for_conversation",
]

QUEUE_SORTS = ("age", "newest", "risk")
RISK_LEVELS = ("block", "warn", "clean")
MAX_PER_PAGE = 200

_reviews = Review.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]
_conversations = Conversation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. ``status`` "all" means every state; ``risk`` block / warn / clean."""

    status: str = "in_review"
    author_id: int | None = None
    risk: str | None = None
    sort: Literal["age", "newest", "risk"] = "age"
    page: int = 1
    per_page: int = 50
    workspace_id: int | None = None

    def check(self) -> QueueFilter:
        problems = []
        if self.status != "all" and self.status not in REVIEW_STATES:
            problems.append(f"status must be 'all' or one of {', '.join(REVIEW_STATES)}")
        if self.risk is not None and self.risk not in RISK_LEVELS:
            problems.append(f"risk must be one of {', '.join(RISK_LEVELS)}")
        if self.sort not in QUEUE_SORTS:
            problems.append(f"sort must be one of {', '.join(QUEUE_SORTS)}")
        if self.page < 1:
            problems.append("page starts at 1")
        elif not fits_id((self.page - 1) * self.per_page):
            problems.append(f"page {self.page} is past any possible page")
        if self.author_id is not None and not fits_id(self.author_id):
            problems.append(f"author {self.author_id} is not a user id")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            problems.append(f"per_page must be 1-{MAX_PER_PAGE}")
        if problems:
            raise InvalidRequestError("bad queue filter: " + "; ".join(problems), problems=problems)
        return self


@dataclass(frozen=True)
class QueueRow:
    id: int
    title: str
    author: str
    author_id: int
    state: str
    block_count: int
    warn_count: int
    version: int
    submitted_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    filter: QueueFilter

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filter.per_page))


def _queue_where(f: QueueFilter) -> list[Any]:
    where: list[Any] = []
    if f.workspace_id is not None:
        where.append(_reviews.c.workspace_id == f.workspace_id)
    if f.status != "all":
        where.append(_reviews.c.state == f.status)
    # Nobody sees another's unsubmitted draft (docs/access.md), so the queue never lists one.
    where.append(_reviews.c.submitted_at.is_not(None))
    if f.author_id is not None:
        where.append(_reviews.c.author_id == f.author_id)
    if f.risk == "block":
        where.append(_reviews.c.block_count > 0)
    elif f.risk == "warn":
        where.extend([_reviews.c.block_count == 0, _reviews.c.warn_count > 0])
    elif f.risk == "clean":
        where.extend([_reviews.c.block_count == 0, _reviews.c.warn_count == 0])
    return where


def _row_query() -> sa.Select[Any]:
    return (
        sa.select(_reviews.c.id, _conversations.c.title, _users.c.display_name, _reviews.c.author_id,
                  _reviews.c.state, _reviews.c.block_count, _reviews.c.warn_count, _reviews.c.version,
                  _reviews.c.submitted_at, _reviews.c.updated_at)
        .select_from(_reviews.join(_conversations, _conversations.c.id == _reviews.c.conversation_id)
                     .join(_users, _users.c.id == _reviews.c.author_id))
    )


def queue_row(session: Session, review_id: int) -> QueueRow:
    row = session.connection().execute(_row_query().where(_reviews.c.id == review_id)).first() \
        if fits_id(review_id) else None
    if row is None:
        raise NotFoundError(f"no review {review_id}", review_id=review_id)
    return QueueRow(*row)


def queue_statements(f: QueueFilter) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page query and the count query for a filter (the benchmark's floor runs these too)."""
    f.check()
    where = _queue_where(f)
    # Every state after draft went through submit, so submitted_at is set: sorting on the column
    # itself lets ix_reviews_state_submitted give the order. Drafts and "all" wait since creation.
    waited = _reviews.c.submitted_at if f.status not in ("draft", "all") else \
        sa.func.coalesce(_reviews.c.submitted_at, _reviews.c.created_at)
    order = {
        "age": [waited.asc(), _reviews.c.id.asc()],
        "newest": [waited.desc(), _reviews.c.id.desc()],
        "risk": [_reviews.c.block_count.desc(), _reviews.c.warn_count.desc(), waited.asc(), _reviews.c.id.asc()],
    }[f.sort]
    page = _row_query().where(*where).order_by(*order).limit(f.per_page).offset((f.page - 1) * f.per_page)
    count = sa.select(sa.func.count()).select_from(_reviews).where(*where)
    return page, count


def list_queue(session: Session, f: QueueFilter, actor: User) -> QueuePage:
    """One page of reviews (reviewers and admins). Age sorts by when the draft was submitted
    (longest waiting first). Drafts nobody submitted yet are their authors' alone: never listed."""
    require(actor, Action.READ_QUEUE)
    page, count = queue_statements(f)
    connection = session.connection()
    rows = [QueueRow(*row) for row in connection.execute(page)]
    # No approve form per row: approving happens on the open draft, after a confirmation (issue 20).
    return QueuePage(rows=rows, total=int(connection.execute(count).scalar_one()), filter=f)


def authors_statement(workspace_id: int | None = None) -> sa.Select[Any]:
    # EXISTS per user (a few dozen) probes ix_reviews_author_id; DISTINCT over every draft does not scale.
    has_draft = sa.select(_reviews.c.id).where(_reviews.c.author_id == _users.c.id)
    if workspace_id is not None:
        has_draft = has_draft.where(_reviews.c.workspace_id == workspace_id)
    return sa.select(_users.c.id, _users.c.display_name).where(has_draft.exists()).order_by(_users.c.display_name)


def queue_authors(session: Session, actor: User, workspace_id: int | None = None) -> list[tuple[int, str]]:
    """(id, display name) of everyone who has a draft, for the author filter."""
    require(actor, Action.READ_QUEUE)
    return [(int(i), str(n)) for i, n in session.connection().execute(authors_statement(workspace_id))]


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str | None
    action: str
    from_state: str | None
    to_state: str | None
    revision_hash: str | None
    comment: str | None
    data: dict[str, Any]


def audit_history(session: Session, review_id: int) -> list[AuditEntry]:
    rows = session.exec(
        select(AuditLog, User.display_name).join(User, User.id == AuditLog.actor_id, isouter=True)  # type: ignore[arg-type]
        .where(AuditLog.entity_type == "review", AuditLog.entity_id == review_id).order_by(AuditLog.id)  # type: ignore[arg-type]
    ).all()
    return [AuditEntry(at=a.at, actor=name, action=a.action, from_state=a.from_state, to_state=a.to_state,
                       revision_hash=a.revision_hash, comment=a.comment, data=dict(a.data or {}))
            for a, name in rows]


@dataclass
class ReviewDetail:
    review: Review
    conversation: Conversation
    author: User
    revision: PlanRevision
    previous: PlanRevision | None
    findings: list[Finding]
    gate: GateStatus
    overrides: list[FindingOverride]
    history: list[AuditEntry]
    approver: User | None = None
    actions: frozenset[Action] = frozenset()  # what the viewer may do on it now (matrix and state agree)
    extra: dict[str, Any] = field(default_factory=dict)


def review_detail(session: Session, review_id: int, actor: User) -> ReviewDetail:
    """Everything the review page shows, if the access matrix lets ``actor`` read this review."""
    review = get_review(session, review_id)
    draft = draft_of_review(session, review)
    require(actor, Action.READ_REVIEW, draft)
    conversation = session.get(Conversation, review.conversation_id)
    author = session.get(User, review.author_id)
    revision = session.get(PlanRevision, review.revision_id)
    assert conversation is not None and author is not None and revision is not None
    previous = None
    if revision.parent_number is not None:
        previous = session.exec(select(PlanRevision).where(
            PlanRevision.conversation_id == review.conversation_id,
            PlanRevision.number == revision.parent_number)).first()
    findings = list_findings(session, revision.id or 0)
    overrides = list(session.exec(select(FindingOverride).where(FindingOverride.review_id == review.id)
                                  .order_by(FindingOverride.id)))  # type: ignore[arg-type]
    return ReviewDetail(
        review=review, conversation=conversation, author=author, revision=revision, previous=previous,
        findings=findings, gate=gate_status(session, review, findings=findings, marks=overrides),
        overrides=overrides, history=audit_history(session, review_id),
        approver=session.get(User, review.approved_by_id) if review.approved_by_id else None,
        actions=available_actions(session, review, actor, draft=draft),
    )


@dataclass(frozen=True)
class ScheduledRow:
    id: int
    title: str
    author: str
    state: str
    version: int
    scheduled_for: datetime | None
    schedule_timezone: str | None
    snapshot_hash: str | None
    approved_by: str | None
    author_id: int
    paused_at: datetime | None
    actions: frozenset[Action] = frozenset()  # what the viewer may do on this row now


def list_scheduled(session: Session, actor: User, workspace_id: int | None = None, *,
                   states: tuple[str, ...] = ("scheduled",)) -> list[ScheduledRow]:
    """Scheduled drafts the actor may read, soonest first (a marketer sees their own)."""
    approvers = _users.alias("approvers")
    query = (
        sa.select(_reviews.c.id, _conversations.c.title, _users.c.display_name, _reviews.c.state,
                  _reviews.c.version, _reviews.c.scheduled_for, _reviews.c.schedule_timezone,
                  _reviews.c.snapshot_hash, approvers.c.display_name, _reviews.c.author_id,
                  _reviews.c.paused_at, _reviews.c.workspace_id)
        .select_from(_reviews.join(_conversations, _conversations.c.id == _reviews.c.conversation_id)
                     .join(_users, _users.c.id == _reviews.c.author_id)
                     .join(approvers, approvers.c.id == _reviews.c.approved_by_id, isouter=True))
        .where(_reviews.c.state.in_(states))
        .order_by(_reviews.c.scheduled_for.asc(), _reviews.c.id.asc())
    )
    if workspace_id is not None:
        query = query.where(_reviews.c.workspace_id == workspace_id)
    if not reads_others_submitted(actor):
        query = query.where(_reviews.c.author_id == actor.id)
    policies: dict[int, Any] = {}
    rows = []
    for *values, ws_id in session.connection().execute(query):
        row = ScheduledRow(*values)
        if ws_id not in policies:
            policies[ws_id] = workspace_policy(session, ws_id)
        draft = Draft(id=row.id, author_id=row.author_id, submitted=True, policy=policies[ws_id])
        actions = possible_actions(row.state, paused=row.paused_at is not None) & permitted_actions(actor, draft)
        rows.append(replace(row, actions=actions))
    return rows


def review_states_for_conversation(session: Session, conversation_id: int) -> Review | None:
    return session.exec(select(Review).where(Review.conversation_id == conversation_id)).first()
