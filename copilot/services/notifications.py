"""In-app notifications: who is told when a draft is submitted, sent back, approved or scheduled, the
unread count behind the badge, the list, and marking read.

The review gate calls ``notify`` in the transaction of the transition it records, so a person is told
about exactly the transitions that happened. Nobody is told about their own act.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import NotFoundError
from copilot.models import NOTIFICATION_KINDS, Conversation, Notification, Review, User, utcnow

__all__ = ["KINDS", "KIND_TEXT", "NotificationRow", "recipients", "notify", "unread_count", "list_notifications",
           "mark_read", "mark_all_read", "get_notification"]

KINDS = NOTIFICATION_KINDS
# "<actor> <text> <title>"
KIND_TEXT = {"submitted": "submitted for review", "changes_requested": "requested changes on",
             "approved": "approved", "scheduled": "scheduled"}
_DECIDERS = ("reviewer", "admin")


def recipients(session: Session, review: Review, kind: str, actor: User | None) -> list[int]:
    """Who is told: a submitted draft, every active reviewer and admin (they decide on it); changes
    requested or approved, the marketer who owns it; scheduled, its owner and whoever approved it."""
    if kind == "submitted":
        ids = list(session.exec(select(User.id).where(User.is_active == True, User.role.in_(_DECIDERS))  # type: ignore[attr-defined] # noqa: E712
                                .order_by(User.id)))  # type: ignore[arg-type]
    elif kind in ("changes_requested", "approved"):
        ids = [review.author_id]
    elif kind == "scheduled":
        ids = [review.author_id, *([review.approved_by_id] if review.approved_by_id else [])]
    else:
        raise ValueError(f"unknown notification kind {kind!r}")
    skip = {review.author_id} if kind == "submitted" else set()
    if actor is not None:
        skip.add(actor.id or 0)
    return [i for i in dict.fromkeys(int(x) for x in ids if x is not None) if i not in skip]


def notify(session: Session, review: Review, kind: str, actor: User | None, *, comment: str | None = None) -> int:
    """Tell everyone ``recipients`` names (not committed); how many were told."""
    people = recipients(session, review, kind, actor)
    session.add_all([Notification(user_id=uid, review_id=review.id or 0, kind=kind,
                                  actor_id=actor.id if actor else None, comment=comment) for uid in people])
    return len(people)


def unread_count(session: Session, user_id: int) -> int:
    return int(session.exec(select(sa.func.count()).select_from(Notification).where(  # type: ignore[call-overload]
        Notification.user_id == user_id, Notification.read_at.is_(None))).one())  # type: ignore[union-attr]


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    review_id: int
    conversation_id: int
    title: str
    actor: str | None
    comment: str | None
    created_at: datetime
    read: bool
    for_author: bool  # the reader owns the draft (their link goes to the chat, others' to the review)

    @property
    def text(self) -> str:
        return f"{self.actor or 'Someone'} {KIND_TEXT[self.kind]} “{self.title or 'Untitled campaign'}”"

    @property
    def href(self) -> str:
        return f"/chat/{self.conversation_id}" if self.for_author else f"/review/{self.review_id}"


def _rows(session: Session, user: User, *, only: int | None = None, limit: int = 100) -> list[NotificationRow]:
    actor = sa.orm.aliased(User)
    query = (select(Notification, Conversation.id, Conversation.title, Review.author_id, actor.display_name)
             .join(Review, Review.id == Notification.review_id)  # type: ignore[arg-type]
             .join(Conversation, Conversation.id == Review.conversation_id)  # type: ignore[arg-type]
             .join(actor, actor.id == Notification.actor_id, isouter=True)  # type: ignore[arg-type]
             .where(Notification.user_id == user.id))
    if only is not None:
        query = query.where(Notification.id == only)
    rows = session.exec(query.order_by(Notification.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
    return [NotificationRow(id=n.id or 0, kind=n.kind, review_id=n.review_id, conversation_id=int(cid),
                            title=title or "", actor=name, comment=n.comment, created_at=n.created_at,
                            read=n.read_at is not None, for_author=int(author_id) == user.id)
            for n, cid, title, author_id, name in rows]


def list_notifications(session: Session, user: User, *, limit: int = 100) -> list[NotificationRow]:
    """The person's notifications, newest first."""
    return _rows(session, user, limit=limit)


def get_notification(session: Session, user: User, notification_id: int) -> NotificationRow:
    """One of the person's own notifications (someone else's is not found, as if it did not exist)."""
    rows = _rows(session, user, only=notification_id, limit=1) if fits_id(notification_id) else []
    if not rows:
        raise NotFoundError(f"no notification {notification_id}", notification_id=notification_id)
    return rows[0]


def mark_read(session: Session, user: User, ids: Iterable[int]) -> int:
    """Mark the person's own notifications read (others' are untouched); how many changed."""
    wanted = [i for i in ids if fits_id(i)]
    if not wanted:
        return 0
    result = session.exec(sa.update(Notification).where(  # type: ignore[call-overload]
        Notification.user_id == user.id, Notification.id.in_(wanted),  # type: ignore[union-attr]
        Notification.read_at.is_(None)).values(read_at=utcnow()))  # type: ignore[union-attr]
    return int(result.rowcount or 0)


def mark_all_read(session: Session, user: User) -> int:
    result = session.exec(sa.update(Notification).where(  # type: ignore[call-overload]
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))  # type: ignore[union-attr]
    return int(result.rowcount or 0)
