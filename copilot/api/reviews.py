"""JSON API of the review gate: the queue, one review, and every action the web UI has (submit,
approve, request changes, reject, override, acknowledge, comment, schedule, pause, resume,
cancel), with the same rules: each handler calls copilot.services.review, which checks the
access matrix (docs/access.md) and the state machine. Thin: no rules here.

Every action takes the ``version`` the caller last saw (from GET /api/reviews/{id}); if someone
acted first the answer is 409 and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import Session

from copilot.api.auth import provide_actor
from copilot.api.errors import responses
from copilot.models import Conversation, Review, User
from copilot.services import conversations as chat
from copilot.services import review as gate
from copilot.services import review_queue as queue

__all__ = ["ReviewController", "SubmitController", "ScheduledController", "review_to_dict", "ActionBody", "ReasonBody", "ScheduleBody",
           "CommentBody", "SubmitBody"]


@dataclass
class SubmitBody:
    version: int | None = None  # the review's version, when there is a review already
    comment: str = ""


@dataclass
class ActionBody:
    """approve (comment optional), request changes (comment required), resume (comment optional)."""

    version: int
    comment: str = ""


@dataclass
class ReasonBody:
    """reject and override (reason required), acknowledge, pause and cancel (reason optional)."""

    version: int
    reason: str = ""


@dataclass
class ScheduleBody:
    version: int
    at: str  # 2031-05-04T09:30, read in ``timezone`` unless it has an offset of its own
    timezone: str = "UTC"


@dataclass
class CommentBody:
    text: str


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def review_to_dict(session: Session, review: Review, actor: User) -> dict[str, Any]:
    """A review as the API shows it, with the actions the caller may take on it now."""
    return {
        "id": review.id, "conversation_id": review.conversation_id, "workspace_id": review.workspace_id,
        "author_id": review.author_id, "state": review.state, "version": review.version,
        "revision_id": review.revision_id, "revision_hash": review.revision_hash,
        "block_count": review.block_count, "warn_count": review.warn_count,
        "approved_hash": review.approved_hash, "approved_by_id": review.approved_by_id,
        "approved_at": _iso(review.approved_at), "scheduled_for": _iso(review.scheduled_for),
        "schedule_timezone": review.schedule_timezone, "snapshot_hash": review.snapshot_hash,
        "paused": review.paused_at is not None, "paused_at": _iso(review.paused_at),
        "submitted_at": _iso(review.submitted_at), "updated_at": _iso(review.updated_at),
        "actions": sorted(a.value for a in gate.available_actions(session, review, actor)),
    }


def _detail_to_dict(session: Session, detail: queue.ReviewDetail, actor: User) -> dict[str, Any]:
    status = detail.gate
    findings = []
    for f in detail.findings:
        data = f.to_dict()  # guards.Finding's one JSON form, with its row id
        data["resolution"] = ("overridden" if f.fingerprint in status.overridden else
                              "acknowledged" if f.fingerprint in status.acknowledged else
                              "needs_override" if f.severity == "block" else
                              "needs_acknowledgement" if gate.needs_acknowledgement(f) else None)
        findings.append(data)
    return {
        **review_to_dict(session, detail.review, actor),
        "title": detail.conversation.title, "author": detail.author.display_name,
        "revision": {"number": detail.revision.number, "content_hash": detail.revision.content_hash,
                     "plan": detail.revision.plan, "sizing": detail.revision.sizing},
        "findings": findings,
        "gate": {"clear": status.clear, "blocking": [f.id for f in status.blocking],
                 "unacknowledged": [f.id for f in status.unacknowledged]},
        "history": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from_state": e.from_state,
                     "to_state": e.to_state, "revision_hash": e.revision_hash, "comment": e.comment}
                    for e in detail.history],
    }


_ACTION = responses(400, 401, 403, 404, 409, 422)


class ReviewController(Controller):
    path = "/api/reviews"
    tags = ["reviews"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @get("", sync_to_thread=True, responses=responses(400, 401, 403))
    def list_queue(self, actor: NamedDependency[User], session: NamedDependency[Session],
                   status: FromQuery[str] = "in_review", author: FromQuery[int | None] = None,
                   risk: FromQuery[Literal["block", "warn", "clean"] | None] = None,
                   sort: FromQuery[Literal["age", "newest", "risk"]] = "age",
                   page: FromQuery[int] = 1, per_page: FromQuery[int] = 50) -> dict[str, Any]:
        """The review queue (reviewers and admins): submitted drafts filtered by state (or "all"), author and
        risk, sorted by waiting time (age), newest or risk."""
        f = queue.QueueFilter(status=status, author_id=author, risk=risk, sort=sort, page=page,
                              per_page=per_page).check()
        data = queue.list_queue(session, f, actor)
        return {"total": data.total, "page": f.page, "pages": data.pages, "per_page": f.per_page,
                "reviews": [{"id": r.id, "title": r.title, "author": r.author, "author_id": r.author_id,
                             "state": r.state, "block_count": r.block_count, "warn_count": r.warn_count,
                             "version": r.version, "submitted_at": _iso(r.submitted_at),
                             "updated_at": _iso(r.updated_at)} for r in data.rows]}

    @get("/{review_id:int}", sync_to_thread=True, responses=responses(401, 403, 404))
    def detail(self, review_id: FromPath[int], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """One review: state, version, the current revision's plan, findings (each named by segment, email and
        arm, with how it stands), the gate status, the audit history, and what the caller may do now."""
        return _detail_to_dict(session, queue.review_detail(session, review_id, actor), actor)

    def _answer(self, session: Session, review_id: int, actor: User) -> dict[str, Any]:
        return review_to_dict(session, gate.get_review(session, review_id), actor)

    @post("/{review_id:int}/submit", sync_to_thread=True, status_code=200, responses=_ACTION)
    def submit(self, review_id: FromPath[int], data: JSONBody[SubmitBody], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """Send the draft to the review queue (its author only)."""
        gate.submit(session, review_id, actor, data.version, comment=data.comment)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/approve", sync_to_thread=True, status_code=200, responses=_ACTION)
    def approve(self, review_id: FromPath[int], data: JSONBody[ActionBody], actor: NamedDependency[User],
                session: NamedDependency[Session]) -> dict[str, Any]:
        """Approve the current revision (bound to its hash); refused while a block or a needed acknowledgement
        stands, and always for the draft's author."""
        gate.approve(session, review_id, actor, data.version, comment=data.comment)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/request-changes", sync_to_thread=True, status_code=200, responses=_ACTION)
    def request_changes(self, review_id: FromPath[int], data: JSONBody[ActionBody], actor: NamedDependency[User],
                        session: NamedDependency[Session]) -> dict[str, Any]:
        """Send the draft back to its author with a comment saying what should change (comment required)."""
        gate.request_changes(session, review_id, actor, data.version, comment=data.comment)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/reject", sync_to_thread=True, status_code=200, responses=_ACTION)
    def reject(self, review_id: FromPath[int], data: JSONBody[ReasonBody], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """Reject the draft for good (reason required)."""
        gate.reject(session, review_id, actor, data.version, reason=data.reason)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/findings/{finding_id:int}/override", sync_to_thread=True, status_code=200,
          responses=_ACTION)
    def override(self, review_id: FromPath[int], finding_id: FromPath[int], data: JSONBody[ReasonBody],
                 actor: NamedDependency[User], session: NamedDependency[Session]) -> dict[str, Any]:
        """Override a blocking finding on the current revision with a written reason (recorded)."""
        gate.override_finding(session, review_id, actor, data.version, finding_id=finding_id, reason=data.reason)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/findings/{finding_id:int}/acknowledge", sync_to_thread=True, status_code=200,
          responses=_ACTION)
    def acknowledge(self, review_id: FromPath[int], finding_id: FromPath[int], data: JSONBody[ReasonBody],
                    actor: NamedDependency[User], session: NamedDependency[Session]) -> dict[str, Any]:
        """Acknowledge a warning that needs it (note optional)."""
        gate.acknowledge_finding(session, review_id, actor, data.version, finding_id=finding_id,
                                 reason=data.reason)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/comments", sync_to_thread=True, status_code=201, responses=_ACTION)
    def comment(self, review_id: FromPath[int], data: JSONBody[CommentBody], actor: NamedDependency[User],
                session: NamedDependency[Session]) -> dict[str, Any]:
        """Add a comment to the review's history (no version needed: it changes nothing else)."""
        entry = gate.add_comment(session, review_id, actor, text=data.text)
        return {"at": entry.at.isoformat(), "action": entry.action, "comment": entry.comment,
                "review_id": review_id}

    @post("/{review_id:int}/schedule", sync_to_thread=True, status_code=200, responses=_ACTION)
    def schedule(self, review_id: FromPath[int], data: JSONBody[ScheduleBody], actor: NamedDependency[User],
                 session: NamedDependency[Session]) -> dict[str, Any]:
        """Schedule an approved draft: the approved plan is copied into an immutable snapshot with its hash."""
        gate.schedule(session, review_id, actor, data.version, at=data.at, timezone=data.timezone)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/pause", sync_to_thread=True, status_code=200, responses=_ACTION)
    def pause(self, review_id: FromPath[int], data: JSONBody[ReasonBody], actor: NamedDependency[User],
              session: NamedDependency[Session]) -> dict[str, Any]:
        """Hold a scheduled or sending campaign until it is resumed."""
        gate.pause(session, review_id, actor, data.version, reason=data.reason)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/resume", sync_to_thread=True, status_code=200, responses=_ACTION)
    def resume(self, review_id: FromPath[int], data: JSONBody[ActionBody], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """Let a paused campaign go on."""
        gate.resume(session, review_id, actor, data.version, comment=data.comment)
        return self._answer(session, review_id, actor)

    @post("/{review_id:int}/cancel", sync_to_thread=True, status_code=200, responses=_ACTION)
    def cancel(self, review_id: FromPath[int], data: JSONBody[ReasonBody], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """Cancel a scheduled campaign before it sends (the snapshot stays for the record)."""
        gate.cancel(session, review_id, actor, data.version, reason=data.reason)
        return self._answer(session, review_id, actor)


class SubmitController(Controller):
    """Submit by conversation: the review is created with the conversation's first plan, so a client that
    only knows the conversation id submits here."""

    path = "/api/conversations"
    tags = ["reviews"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @post("/{conversation_id:int}/submit", sync_to_thread=True, status_code=200, responses=_ACTION)
    def submit(self, conversation_id: FromPath[int], actor: NamedDependency[User],
               session: NamedDependency[Session], data: JSONBody[SubmitBody | None] = None) -> dict[str, Any]:
        """Send the conversation's current plan to the review queue (its author only)."""
        conversation: Conversation = chat.get_conversation(session, conversation_id)
        body = data or SubmitBody()
        review = gate.submit(session, conversation, actor, body.version, comment=body.comment)
        return review_to_dict(session, review, actor)


class ScheduledController(Controller):
    path = "/api/scheduled"
    tags = ["reviews"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @get("", sync_to_thread=True, responses=responses(401))
    def scheduled(self, actor: NamedDependency[User], session: NamedDependency[Session]) -> list[dict[str, Any]]:
        """Scheduled campaigns the caller may read (a marketer sees their own), soonest first."""
        return [{"id": r.id, "title": r.title, "author": r.author, "author_id": r.author_id, "state": r.state,
                 "version": r.version, "scheduled_for": _iso(r.scheduled_for),
                 "schedule_timezone": r.schedule_timezone, "snapshot_hash": r.snapshot_hash,
                 "approved_by": r.approved_by, "paused": r.paused_at is not None,
                 "actions": sorted(a.value for a in r.actions)}
                for r in queue.list_scheduled(session, actor)]
