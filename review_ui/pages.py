"""What each page shows, gathered from the core services (no SQL and no rules here)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlmodel import Session

from copilot.models import Message, User, utcnow
from copilot.plan import Plan
from copilot.planner.clock import planning_now
from copilot.runtime import Runtime
from copilot.services import access
from copilot.services import conversations as chat
from copilot.services import review as gate
from copilot.services import review_queue as queue
from copilot.services.anchors import anchor_key, anchor_options
from copilot.services.copy_check import segment_samples
from copilot.services.plan_diff import diff_plans, word_diff
from copilot.services.sections import SECTION_LABELS
from review_ui.views import PlanView, plan_view

__all__ = ["ChatPage", "chat_page", "pending_message", "plan_panel", "detail_page", "diff_summary",
           "schedule_start", "word_level", "revision_diff", "anchored_notes", "section_rows", "revision_view"]


@dataclass
class ChatPage:
    conversations: list[Any]
    conversation: Any | None
    messages: list[Message]
    pending: Message | None
    revision: Any | None
    plan: PlanView | None
    review: Any | None
    pending_state: chat.AnswerState | None = None  # where the pending message's answer stands
    actions: frozenset[access.Action] = frozenset()  # what the viewer may do on this draft now
    review_notes: list[Any] = field(default_factory=list)  # the review's comments (queue.AuditEntry), in time order
    revisions: list[Any] = field(default_factory=list)  # the plan's revisions, oldest first (history, restore)
    anchored: dict[str, list[Any]] = field(default_factory=dict)  # anchored comments by part (anchored_notes)

    @property
    def timeline(self) -> list[tuple[str, Any]]:
        """Messages and review comments in the order they happened: ("message", Message) or ("note", entry)."""
        items = [(_aware(m.created_at), 0, "message", m) for m in self.messages]
        items += [(_aware(e.at), 1, "note", e) for e in self.review_notes]
        return [(kind, item) for _at, _order, kind, item in sorted(items, key=lambda x: (x[0], x[1]))]


# What reaches the marketer's chat from the review: the decisions and comments that carry words.
NOTE_ACTIONS = frozenset({"changes_requested", "commented", "rejected", "approved", "finding_overridden",
                          "section_approved"})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def pending_message(messages: list[Message]) -> Message | None:
    """The marketer's last message if nothing has answered it yet (the stream picks it up)."""
    last_user = next((m for m in reversed(messages) if m.role == "user"), None)
    if last_user is None:
        return None
    answered = any(m.role == "assistant" and (m.id or 0) > (last_user.id or 0) for m in messages)
    return None if answered else last_user


# A revision's plan view (its plan, sizing and findings, all fixed once the revision is stored, and the
# previews rendered from them) is built once and kept: the plan page re-renders it from memory. Per
# Runtime, so an app (and a test's database) never reads another's.
_VIEWS: WeakKeyDictionary[Runtime, OrderedDict[tuple[Any, ...], tuple[Any, PlanView]]] = WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()
_VIEWS_KEPT = 64


def revision_view(session: Session, runtime: Runtime, revision: Any, findings: Sequence[Any]) -> PlanView:
    """The plan view of a stored revision with its findings (built once per revision and workspace)."""
    workspace = runtime.default_workspace
    key = (revision.id, revision.content_hash, tuple(f.id for f in findings))
    with _VIEWS_LOCK:
        cache = _VIEWS.setdefault(runtime, OrderedDict())
        hit = cache.get(key)
        if hit is not None and hit[0] is workspace:
            cache.move_to_end(key)
            return hit[1]
    view = plan_view(chat.revision_plan(revision), revision.sizing, findings, workspace=workspace,
                     samples=segment_samples(session, revision))
    with _VIEWS_LOCK:
        cache[key] = (workspace, view)
        while len(cache) > _VIEWS_KEPT:
            cache.popitem(last=False)
    return view


def plan_panel(session: Session, runtime: Runtime, conversation_id: int) -> tuple[Any, PlanView | None]:
    revision = chat.latest_revision(session, conversation_id)
    if revision is None:
        return None, None
    return revision, revision_view(session, runtime, revision, chat.list_findings(session, revision.id or 0))


def chat_page(session: Session, runtime: Runtime, user: User, workspace_id: int,
              conversation_id: int | None) -> ChatPage:
    conversations = chat.list_conversations(session, workspace_id=workspace_id, author_id=user.id)
    if conversation_id is None:
        return ChatPage(conversations, None, [], None, None, None, None)
    conversation = chat.readable_conversation(session, conversation_id, user.id or 0)
    messages = chat.list_messages(session, conversation_id)
    revision, view = plan_panel(session, runtime, conversation_id)
    pending = pending_message(messages)
    review = gate.review_for_conversation(session, conversation_id)
    notes = [e for e in queue.audit_history(session, review.id) if e.comment and e.action in NOTE_ACTIONS] \
        if review is not None and review.id is not None else []
    return ChatPage(conversations=conversations, conversation=conversation, messages=messages,
                    pending=pending, revision=revision, plan=view,
                    review=review, review_notes=notes, revisions=chat.revision_summaries(session, conversation_id),
                    anchored=anchored_notes(notes),
                    pending_state=chat.answer_state(session, pending.id or 0) if pending is not None else None,
                    actions=gate.conversation_actions(session, conversation, user))


def _words(before: Any, after: Any) -> list[tuple[str, str]] | None:
    if isinstance(before, str | None) and isinstance(after, str | None):
        return word_diff(before or "", after or "")
    return None


def word_level(before: Plan, after: Plan) -> dict[str, Any]:
    """What changed from ``before`` to ``after`` (copilot.services.plan_diff), with every changed text
    field as word runs: a copy field, a segment's text part, the plan's title or summary. A one-word
    edit reads as one word struck and one added, never the whole field."""
    data = diff_plans(before, after).to_dict()
    for change in data["copy_changes"]:
        words = _words(change["before"], change["after"])
        if words is not None:
            change["words"] = words
    for change in data["segments_changed"]:
        change["words"] = {p: w for p in change["parts"]
                           if (w := _words(change["before"].get(p), change["after"].get(p))) is not None}
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    data["plan_words"] = {p: w for p in data["plan_parts_changed"] if (w := _words(old.get(p), new.get(p))) is not None}
    return data


def revision_diff(session: Session, conversation_id: int, before: int, after: int) -> dict[str, Any]:
    """Revision ``before`` -> ``after`` of a conversation, word-level (word_level)."""
    old = chat.get_revision(session, conversation_id, before)
    new = chat.get_revision(session, conversation_id, after)
    data = word_level(chat.revision_plan(old), chat.revision_plan(new))
    data.update(before_number=old.number, after_number=new.number)
    return data


def diff_summary(session: Session, detail: queue.ReviewDetail) -> dict[str, Any] | None:
    if detail.previous is None:
        return None
    return revision_diff(session, detail.conversation.id or 0, detail.previous.number, detail.revision.number)


def anchored_notes(entries: list[Any]) -> dict[str, list[Any]]:
    """Comments anchored to a part of the plan, filed by part: "segment:<name>" and a variant's key (the
    variant's own comments and its fields' comments together, each entry naming its anchor)."""
    out: dict[str, list[Any]] = {}
    for e in entries:
        anchor = (e.data or {}).get("anchor")
        if not anchor:
            continue
        key = anchor_key(anchor).split("#", 1)[0]
        out.setdefault(key, []).append(e)
    return out


def section_rows(session: Session, detail: queue.ReviewDetail, plan: Plan) -> list[dict[str, Any]]:
    """The review page's per-section approval rows: each section, its hash, who approved it, what holds it."""
    states = gate.section_states(session, detail.review, plan=plan, status=detail.gate)
    names = {u.id: u.display_name for u in (session.get(User, s.approval.actor_id)
                                            for s in states.values() if s.approval is not None) if u is not None}
    return [{"section": s.section, "label": SECTION_LABELS[s.section], "hash": s.hash,
             "approval": s.approval, "approved_by": names.get(s.approval.actor_id) if s.approval else None,
             "held_by": s.held_by} for s in states.values()]


def schedule_start(runtime: Runtime, plan: Plan) -> gate.ScheduleProposal:
    """The schedule form's starting time: from now in the brand's zone (the planner's clock, which a
    fixed COPILOT_NOW moves, but never before the wall clock: a send cannot go out in the past)."""
    workspace = runtime.default_workspace
    return gate.schedule_proposal(plan, workspace.brand.timezone, max(planning_now(workspace), utcnow()))


def detail_page(session: Session, runtime: Runtime, review_id: int, user: User,
                schedule_error: dict[str, str] | None = None) -> dict[str, Any]:
    """``schedule_error``: the field, message and typed values of a refused schedule form, shown beside it."""
    detail = queue.review_detail(session, review_id, user)
    view = revision_view(session, runtime, detail.revision, detail.findings)
    notes = [e for e in detail.history if e.comment and e.action in NOTE_ACTIONS]
    return {"d": detail, "plan": view, "diff": diff_summary(session, detail),
            "sections": section_rows(session, detail, view.plan), "anchored": anchored_notes(notes),
            "anchor_choices": anchor_options(view.plan),
            "needs_ack": {f.id for f in detail.findings if gate.needs_acknowledgement(f)},
            "start": schedule_start(runtime, view.plan), "schedule_error": schedule_error or {}}
