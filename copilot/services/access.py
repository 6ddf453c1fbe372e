"""Who may do what: the review gate's access matrix, one table that every service checks.

Rows are actions, columns the actor's relation to the draft: its ``author``, another
``marketer``, a ``reviewer``, an ``admin``. docs/access.md prints the same table for people
(and the HTTP tests walk that copy, so the two cannot drift apart unnoticed). A cell is:

    yes        allowed
    no         refused
    never      refused, and for the author column: whatever role the author also holds
    submitted  allowed once the draft was submitted for review (before that it is its author's alone)
    policy     allowed when the workspace's review_policy.authors_may_schedule is on (off by default)

An author who also holds the reviewer or admin role keeps that role's rights on their own
draft, except where the author column says ``never``: nobody decides on their own draft.
The state machine (copilot.services.review) decides separately *when* an action applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from copilot.errors import PermissionDeniedError
from copilot.models import Conversation, Review, User, WorkspaceRecord

__all__ = [
    "Action",
    "Cell",
    "COLUMNS",
    "MATRIX",
    "ACTION_TEXT",
    "Draft",
    "draft_of_review",
    "draft_of_conversation",
    "workspace_policy",
    "cell_for",
    "permitted",
    "require",
    "permitted_actions",
    "reads_others_submitted",
]


class Action(StrEnum):
    READ_QUEUE = "read_queue"
    READ_DRAFT = "read_draft"
    READ_REVIEW = "read_review"
    EDIT = "edit"
    COMMENT = "comment"
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    OVERRIDE = "override"
    ACKNOWLEDGE = "acknowledge"
    SCHEDULE = "schedule"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    MANAGE_USERS = "manage_users"


class Cell(StrEnum):
    YES = "yes"
    NO = "no"
    NEVER = "never"
    SUBMITTED = "submitted"
    POLICY = "policy"


COLUMNS = ("author", "marketer", "reviewer", "admin")

_Y, _N, _X, _S, _P = Cell.YES, Cell.NO, Cell.NEVER, Cell.SUBMITTED, Cell.POLICY
#                              author marketer reviewer admin
MATRIX: Mapping[Action, Mapping[str, Cell]] = {
    a: dict(zip(COLUMNS, cells, strict=True)) for a, cells in {
        Action.READ_QUEUE:      (_N, _N, _Y, _Y),
        Action.READ_DRAFT:      (_Y, _N, _S, _S),
        Action.READ_REVIEW:     (_Y, _N, _S, _S),
        Action.EDIT:            (_Y, _N, _N, _N),
        Action.COMMENT:         (_Y, _N, _S, _S),
        Action.SUBMIT:          (_Y, _N, _N, _N),
        Action.APPROVE:         (_X, _N, _Y, _Y),
        Action.REQUEST_CHANGES: (_X, _N, _Y, _Y),
        Action.REJECT:          (_X, _N, _Y, _Y),
        Action.OVERRIDE:        (_X, _N, _Y, _Y),
        Action.ACKNOWLEDGE:     (_X, _N, _Y, _Y),
        Action.SCHEDULE:        (_P, _N, _Y, _Y),
        Action.PAUSE:           (_Y, _N, _Y, _Y),
        Action.RESUME:          (_P, _N, _Y, _Y),
        Action.CANCEL:          (_Y, _N, _Y, _Y),
        Action.MANAGE_USERS:    (_N, _N, _N, _Y),
    }.items()
}

# "only a reviewer or admin may <text>", "the author of a draft cannot <text> it"
ACTION_TEXT: Mapping[Action, str] = {
    Action.READ_QUEUE: "read the review queue",
    Action.READ_DRAFT: "read this draft",
    Action.READ_REVIEW: "read this review",
    Action.EDIT: "change this draft",
    Action.COMMENT: "comment on this draft",
    Action.SUBMIT: "submit this draft for review",
    Action.APPROVE: "approve",
    Action.REQUEST_CHANGES: "request changes",
    Action.REJECT: "reject",
    Action.OVERRIDE: "override a finding",
    Action.ACKNOWLEDGE: "acknowledge a finding",
    Action.SCHEDULE: "schedule",
    Action.PAUSE: "pause",
    Action.RESUME: "resume",
    Action.CANCEL: "cancel",
    Action.MANAGE_USERS: "manage users",
}
_POLICY_KEY = "authors_may_schedule"


@dataclass(frozen=True)
class Draft:
    """What the matrix needs to know about the draft an action concerns."""

    id: int | None
    author_id: int
    submitted: bool  # sent for review at least once
    policy: Mapping[str, Any] = field(default_factory=dict)  # the workspace's review_policy


def workspace_policy(session: Session, workspace_id: int) -> Mapping[str, Any]:
    """The workspace's review_policy as registered from its brand folder ({} when unknown)."""
    record = session.get(WorkspaceRecord, workspace_id)
    return dict(record.policy or {}) if record is not None else {}


def draft_of_review(session: Session, review: Review) -> Draft:
    return Draft(id=review.id, author_id=review.author_id, submitted=review.submitted_at is not None,
                 policy=workspace_policy(session, review.workspace_id))


def draft_of_conversation(session: Session, conversation: Conversation, review: Review | None) -> Draft:
    return Draft(id=review.id if review is not None else None, author_id=conversation.author_id,
                 submitted=review is not None and review.submitted_at is not None,
                 policy=workspace_policy(session, conversation.workspace_id))


def _holds(cell: Cell, draft: Draft | None) -> bool:
    if cell is Cell.YES:
        return True
    if cell is Cell.SUBMITTED:
        return draft is not None and draft.submitted
    if cell is Cell.POLICY:
        return draft is not None and bool(draft.policy.get(_POLICY_KEY))
    return False


def cell_for(actor: User, action: Action, draft: Draft | None) -> tuple[str, Cell]:
    """The column that decides for this actor, and its cell (for the author: the author column
    unless their role's column allows more and the author column does not say never)."""
    row = MATRIX[action]
    if draft is None or actor.id != draft.author_id:
        return actor.role, row[actor.role]
    author = row["author"]
    if author is Cell.NEVER or _holds(author, draft) or actor.role == "marketer":
        return "author", author
    return (actor.role, row[actor.role]) if _holds(row[actor.role], draft) else ("author", author)


def permitted(actor: User, action: Action, draft: Draft | None = None) -> bool:
    if not actor.is_active:
        return False
    return _holds(cell_for(actor, action, draft)[1], draft)


def _who(action: Action) -> str:
    """"the draft's author, a reviewer or an admin": everyone some cell of the row lets in."""
    row = MATRIX[action]
    who = [label for column, label in (("author", "the draft's author"), ("reviewer", "a reviewer"),
                                       ("admin", "an admin")) if row[column] not in (Cell.NO, Cell.NEVER)]
    return ", ".join(who[:-1]) + " or " + who[-1] if len(who) > 1 else who[0]


def require(actor: User, action: Action, draft: Draft | None = None) -> None:
    """Raise PermissionDeniedError (403) with the reason when the matrix refuses."""
    if permitted(actor, action, draft):
        return
    _column, cell = cell_for(actor, action, draft)
    text = ACTION_TEXT[action]
    context: dict[str, Any] = {"action": action.value, "role": actor.role, "cell": cell.value}
    if draft is not None and draft.id is not None:
        context["review_id"] = draft.id
    if not actor.is_active:
        message = "this account is deactivated"
    elif cell is Cell.NEVER:
        message = f"the author of a draft cannot {text} on it" if action in (Action.OVERRIDE, Action.ACKNOWLEDGE, Action.REQUEST_CHANGES) \
            else f"the author of a draft cannot {text} it"
    elif cell is Cell.SUBMITTED:
        message = f"this draft has not been submitted for review yet; only its author may {text}"
    elif cell is Cell.POLICY:
        message = (f"only a reviewer or an admin may {text} this draft: this workspace does not let authors "
                   f"{text} their own drafts (review_policy.{_POLICY_KEY} is off)")
    else:
        message = f"only {_who(action)} may {text}"
    raise PermissionDeniedError(message, **context)


def permitted_actions(actor: User, draft: Draft | None) -> frozenset[Action]:
    """Every action the matrix allows this actor on this draft (the state machine narrows it further)."""
    return frozenset(a for a in Action if permitted(actor, a, draft))


def reads_others_submitted(actor: User) -> bool:
    """May the actor read other people's submitted drafts (lists: queue, Scheduled)?"""
    return permitted(actor, Action.READ_REVIEW, Draft(id=None, author_id=-1, submitted=True))
