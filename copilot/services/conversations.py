"""The copilot service: conversations, chat turns that become plan revisions, diffs, restores and copy edits.

The web UI, the JSON API, the CLI and the evals all plan through here. Write
functions commit: the marketer's message before any model call (invariant 7), a
revision with its findings and the assistant's answer in one transaction after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, select

from copilot.db import fits_id
from copilot.errors import (
    BriefError,
    CopilotError,
    NotFoundError,
    PlannerError,
    PlanValidationError,
    StaleRevisionError,
)
from copilot.models import (
    Contact,
    Conversation,
    FindingRow,
    Message,
    PlanRevision,
    User,
    WorkspaceRecord,
    utcnow,
)
from copilot.plan import Plan, Variant, content_hash
from copilot.planner.base import Planner, PlanRequest, PlanResult, TokenCallback, Turn, Usage
from copilot.segments import size_plan
from copilot.services import access
from copilot.services.audience_stats import audience_stats, fresh_audience_stats
from copilot.services.copy_check import find_variant
from copilot.services.plan_diff import PlanDiff, diff_plans
from copilot.services.review import on_revision_changed, review_for_conversation
from copilot.settings import Settings, get_settings
from copilot.validation import check_plan
from copilot.workspace import Workspace, format_loc
from guards import Finding, run_plan

__all__ = [
    "MAX_MESSAGE_CHARS",
    "EDITABLE_VARIANT_FIELDS",
    "TurnOutcome",
    "RevisionOutcome",
    "StreamEvent",
    "create_conversation",
    "get_conversation",
    "readable_conversation",
    "finding_to_dict",
    "list_conversations",
    "list_messages",
    "conversation_usage",
    "start_turn",
    "run_turn",
    "post_message",
    "stream_turn",
    "list_revisions",
    "get_revision",
    "latest_revision",
    "revision_plan",
    "list_findings",
    "revision_to_dict",
    "message_to_dict",
    "diff_revisions",
    "restore_revision",
    "edit_variant",
    "default_planner",
]

MAX_MESSAGE_CHARS = 4000
EDITABLE_VARIANT_FIELDS = ("subject", "preheader", "body", "cta_text", "cta_url", "locale", "merge_fields")
MANUAL_EDIT = "manual-edit"

T = TypeVar("T")


# --------------------------------------------------------------------------- results


@dataclass
class RevisionOutcome:
    """A stored revision, its findings, and what changed from the revision before it."""

    revision: PlanRevision
    findings: list[FindingRow]
    changes: PlanDiff | None = None
    created: bool = True  # False when an edit changed nothing and no revision was made

    def to_dict(self) -> dict[str, Any]:
        data = revision_to_dict(self.revision, self.findings)
        data["changes"] = self.changes.to_dict() if self.changes is not None else None
        data["created"] = self.created
        return data


@dataclass
class TurnOutcome:
    """One chat turn: the marketer's message, the answer, and the revision it made (if any)."""

    conversation: Conversation
    user_message: Message
    assistant_message: Message
    result: PlanResult
    revision: RevisionOutcome | None = None
    totals: Usage = field(default_factory=Usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation.id,
            "user_message": message_to_dict(self.user_message),
            "message": message_to_dict(self.assistant_message),
            "planner": self.result.planner,
            "questions": list(self.result.questions),
            "notes": list(self.result.notes),
            "revision": self.revision.to_dict() if self.revision is not None else None,
            "conversation_usage": _usage_dict(self.totals),
        }


@dataclass(frozen=True)
class StreamEvent:
    """token: a piece of the reply (str); done: the TurnOutcome as a dict; error: CopilotError.to_dict()."""

    event: Literal["token", "done", "error"]
    data: Any


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": round(usage.cost_usd, 6), "turns": usage.calls}


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "planner": message.planner,
        "status": message.status,
        "revision_id": message.revision_id,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "cost_usd": message.cost_usd,
        "created_at": message.created_at.isoformat(),
    }


def finding_to_dict(row: FindingRow) -> dict[str, Any]:
    """A stored finding for the API: where it is by segment, email (``message_key``) and arm (``variant``)."""
    return {
        "guard": row.guard, "code": row.code, "severity": row.severity, "segment": row.segment,
        "message_key": (row.evidence or {}).get("message_key"), "variant": row.variant, "field": row.field,
        "span": [row.span_start, row.span_end] if row.span_start is not None else None,
        "message": row.message, "evidence": row.evidence, "fix": row.fix, "fingerprint": row.fingerprint,
    }


def revision_to_dict(revision: PlanRevision, findings: Sequence[FindingRow] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": revision.id,
        "conversation_id": revision.conversation_id,
        "number": revision.number,
        "parent_number": revision.parent_number,
        "content_hash": revision.content_hash,
        "planner": revision.planner,
        "prompt_versions": revision.prompt_versions,
        "note": revision.note,
        "created_by_id": revision.created_by_id,
        "created_at": revision.created_at.isoformat(),
        "plan": revision.plan,
        "sizing": revision.sizing,
    }
    if findings is not None:
        data["findings"] = [finding_to_dict(f) for f in findings]
    return data


# --------------------------------------------------------------------------- conversations


def create_conversation(session: Session, *, workspace_id: int, author_id: int, title: str = "") -> Conversation:
    """Start a conversation owned by ``author_id`` (committed)."""
    title = title.strip()
    if len(title) > 200:
        raise BriefError(f"title is {len(title)} characters; at most 200 are allowed", field="title")
    _active_user(session, author_id)
    if session.get(WorkspaceRecord, workspace_id) is None:
        raise NotFoundError(f"no workspace with id {workspace_id}", workspace_id=workspace_id)
    conversation = Conversation(workspace_id=workspace_id, author_id=author_id, title=title)
    session.add(conversation)
    session.commit()
    return conversation


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id) if fits_id(conversation_id) else None
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}", conversation_id=conversation_id)
    return conversation


def list_conversations(session: Session, *, workspace_id: int, author_id: int | None = None,
                       limit: int = 100) -> list[Conversation]:
    """Newest first."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if author_id is not None:
        query = query.where(Conversation.author_id == author_id)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)  # type: ignore[attr-defined]
    return list(session.exec(query))


def list_messages(session: Session, conversation_id: int) -> list[Message]:
    get_conversation(session, conversation_id)
    return list(session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)  # type: ignore[arg-type]
    ))


def conversation_usage(session: Session, conversation_id: int) -> Usage:
    """Tokens and estimated cost over every answered turn of the conversation."""
    row = session.exec(
        select(
            sa.func.coalesce(sa.func.sum(Message.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(Message.completion_tokens), 0),
            sa.func.coalesce(sa.func.sum(Message.cost_usd), 0.0),
            sa.func.count(),
        ).where(Message.conversation_id == conversation_id, Message.role == "assistant")
    ).one()
    return Usage(prompt_tokens=int(row[0]), completion_tokens=int(row[1]), cost_usd=float(row[2]), calls=int(row[3]))


def _active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user with id {user_id}", user_id=user_id)
    return user


def readable_conversation(session: Session, conversation_id: int, actor_id: int) -> Conversation:
    """The conversation, if the access matrix lets the actor read it (its author; reviewers and
    admins once it was submitted for review)."""
    conversation = get_conversation(session, conversation_id)
    actor = _active_user(session, actor_id)
    access.require(actor, access.Action.READ_DRAFT, _draft(session, conversation))
    return conversation


def _owned_conversation(session: Session, conversation_id: int, actor_id: int) -> Conversation:
    """The conversation, if the actor may change it: only its author (reviewers must stay independent)."""
    conversation = get_conversation(session, conversation_id)
    actor = _active_user(session, actor_id)
    access.require(actor, access.Action.EDIT, _draft(session, conversation))
    return conversation


def _draft(session: Session, conversation: Conversation) -> access.Draft:
    return access.draft_of_conversation(session, conversation, review_for_conversation(session, conversation.id or 0))


# --------------------------------------------------------------------------- chat turns


def default_planner(settings: Settings | None = None) -> Planner:
    """The planner the settings ask for (the model when configured, else the offline playbooks)."""
    from copilot.planner.factory import get_planner

    return get_planner(settings or get_settings())


def start_turn(session: Session, *, conversation_id: int, actor_id: int, text: str) -> Message:
    """Check and store the marketer's message, committed before any model is called (invariant 7)."""
    conversation = _owned_conversation(session, conversation_id, actor_id)
    text = (text or "").strip()
    if not text:
        raise BriefError("the message is empty; say what the campaign should do", field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BriefError(f"the message is {len(text)} characters; at most {MAX_MESSAGE_CHARS} are allowed",
                         field="text", length=len(text))
    message = Message(conversation_id=conversation_id, role="user", content=text)
    session.add(message)
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.commit()
    return message


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking database work off the event loop; if cancelled, let it finish so the session stays sound."""
    future = asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            await future
        finally:
            raise


def _history(session: Session, conversation_id: int, before_id: int) -> list[Turn]:
    rows = session.exec(
        select(Message.role, Message.content)
        .where(Message.conversation_id == conversation_id, Message.id < before_id,  # type: ignore[operator]
               Message.role.in_(("user", "assistant")), Message.status == "ok")  # type: ignore[attr-defined]
        .order_by(Message.id)  # type: ignore[arg-type]
    ).all()
    return [Turn(role=role, content=content) for role, content in rows]  # type: ignore[arg-type]


def _build_request(session: Session, user_message: Message, workspace: Workspace,
                   now: datetime | None) -> PlanRequest:
    conversation = get_conversation(session, user_message.conversation_id)
    current = latest_revision(session, conversation.id or 0)
    return PlanRequest(
        brief=user_message.content,
        workspace=workspace,
        history=_history(session, conversation.id or 0, user_message.id or 0),
        current_plan=revision_plan(current) if current is not None else None,
        audience=audience_stats(session, workspace, conversation.workspace_id),
        now=now,
    )


def _reply_text(result: PlanResult) -> str:
    parts = [result.reply.strip()] if result.reply.strip() else []
    missing_questions = [q for q in result.questions if q not in result.reply]
    if missing_questions:
        parts.append("\n".join(f"- {q}" for q in missing_questions))
    parts.extend(f"Note: {n}" for n in result.notes if n not in result.reply)
    if not parts:
        parts.append("Here is the plan." if result.plan is not None else "I could not make a plan from that.")
    return "\n\n".join(parts)


def _record_turn(session: Session, user_message: Message, result: PlanResult, workspace: Workspace,
                 actor_id: int, now: datetime | None) -> TurnOutcome:
    conversation = get_conversation(session, user_message.conversation_id)
    revision = None
    if result.plan is not None:
        revision = _store_revision(
            session, conversation, result.plan, workspace=workspace, planner_name=result.planner,
            prompt_versions=result.prompt_versions, note="\n".join(result.notes), actor_id=actor_id, now=now,
        )
    assistant = Message(
        conversation_id=conversation.id or 0, role="assistant", content=_reply_text(result),
        planner=result.planner, revision_id=revision.revision.id if revision else None,
        prompt_tokens=result.usage.prompt_tokens, completion_tokens=result.usage.completion_tokens,
        cost_usd=result.usage.cost_usd,
    )
    session.add(assistant)
    if not conversation.title and result.plan is not None:
        conversation.title = result.plan.title[:200]
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.commit()
    return TurnOutcome(conversation=conversation, user_message=user_message, assistant_message=assistant,
                       result=result, revision=revision, totals=conversation_usage(session, conversation.id or 0))


def _record_failure(session: Session, user_message: Message, planner: Planner, exc: BaseException) -> None:
    session.rollback()
    reason = exc.message if isinstance(exc, CopilotError) else "an unexpected error"
    session.add(Message(
        conversation_id=user_message.conversation_id, role="assistant", status="error",
        planner=getattr(planner, "name", None),
        content=f"I could not answer this time ({reason}). Your message is saved; send it again to retry.",
    ))
    session.commit()


async def run_turn(session: Session, user_message: Message, *, workspace: Workspace, planner: Planner | None = None,
                   on_token: TokenCallback | None = None, now: datetime | None = None) -> TurnOutcome:
    """Plan from a stored marketer message: ask the planner, size, guard, store the revision and the answer.

    On a planner failure the answer is stored as an error message and the error re-raised;
    the marketer's message stays stored either way.
    """
    planner = planner or default_planner()
    actor_id = get_conversation(session, user_message.conversation_id).author_id
    try:
        if fresh_audience_stats(session, workspace, get_conversation(session, user_message.conversation_id)
                                .workspace_id) is not None:
            # Counts are cached: the rest is a few indexed reads, cheaper than two thread hops on
            # the way to the first streamed token.
            request = _build_request(session, user_message, workspace, now)
        else:
            request = await _in_thread(_build_request, session, user_message, workspace, now)
        result = await planner.plan(request, on_token=on_token)
        return await _in_thread(_record_turn, session, user_message, result, workspace, actor_id, now)
    except Exception as exc:
        await _in_thread(_record_failure, session, user_message, planner, exc)
        if isinstance(exc, CopilotError):
            raise
        raise PlannerError(f"planning failed: {type(exc).__name__}: {exc}",
                           conversation_id=user_message.conversation_id) from exc


async def post_message(session: Session, *, conversation_id: int, actor_id: int, text: str, workspace: Workspace,
                       planner: Planner | None = None, on_token: TokenCallback | None = None,
                       now: datetime | None = None) -> TurnOutcome:
    """One whole chat turn: store the message (committed first), then plan and store the answer."""
    user_message = start_turn(session, conversation_id=conversation_id, actor_id=actor_id, text=text)
    return await run_turn(session, user_message, workspace=workspace, planner=planner, on_token=on_token, now=now)


async def stream_turn(session: Session, user_message: Message, *, workspace: Workspace,
                      planner: Planner | None = None, now: datetime | None = None) -> AsyncIterator[StreamEvent]:
    """``run_turn`` as a stream: reply tokens as they arrive, then one ``done`` (or ``error``) event."""
    queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

    async def on_token(text: str) -> None:
        await queue.put(StreamEvent("token", text))

    async def run() -> None:
        try:
            outcome = await run_turn(session, user_message, workspace=workspace, planner=planner,
                                     on_token=on_token, now=now)
            await queue.put(StreamEvent("done", outcome.to_dict()))
        except CopilotError as exc:
            await queue.put(StreamEvent("error", exc.to_dict()))
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())
    try:
        while (event := await queue.get()) is not None:
            yield event
        await task
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


# --------------------------------------------------------------------------- revisions


def list_revisions(session: Session, conversation_id: int) -> list[PlanRevision]:
    get_conversation(session, conversation_id)
    return list(session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id)
        .order_by(PlanRevision.number)  # type: ignore[arg-type]
    ))


def latest_revision(session: Session, conversation_id: int) -> PlanRevision | None:
    return session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id)
        .order_by(PlanRevision.number.desc()).limit(1)  # type: ignore[attr-defined]
    ).first()


def get_revision(session: Session, conversation_id: int, number: int) -> PlanRevision:
    revision = session.exec(
        select(PlanRevision).where(PlanRevision.conversation_id == conversation_id, PlanRevision.number == number)
    ).first() if fits_id(conversation_id) and fits_id(number) else None
    if revision is None:
        get_conversation(session, conversation_id)
        raise NotFoundError(f"conversation {conversation_id} has no revision {number}",
                            conversation_id=conversation_id, number=number)
    return revision


def revision_plan(revision: PlanRevision) -> Plan:
    return Plan.model_validate(revision.plan)


def list_findings(session: Session, revision_id: int) -> list[FindingRow]:
    return list(session.exec(
        select(FindingRow).where(FindingRow.revision_id == revision_id).order_by(FindingRow.id)  # type: ignore[arg-type]
    ))


def diff_revisions(session: Session, conversation_id: int, before: int, after: int) -> PlanDiff:
    """Segments added, removed or changed and copy changes per variant field, from ``before`` to ``after``."""
    old = get_revision(session, conversation_id, before)
    new = get_revision(session, conversation_id, after)
    return diff_plans(revision_plan(old), revision_plan(new))


def restore_revision(session: Session, *, conversation_id: int, number: int, actor_id: int, workspace: Workspace,
                     now: datetime | None = None) -> RevisionOutcome:
    """Make revision ``number``'s plan current again, as a new revision (history is never rewritten)."""
    conversation = _owned_conversation(session, conversation_id, actor_id)
    source = get_revision(session, conversation_id, number)
    note = f"Restored revision {number}."
    outcome = _store_revision(
        session, conversation, revision_plan(source), workspace=workspace, planner_name=source.planner,
        prompt_versions=source.prompt_versions, note=note, actor_id=actor_id, now=now,
    )
    _system_message(session, conversation, outcome.revision, note)
    session.commit()
    return outcome


def edit_variant(session: Session, *, conversation_id: int, actor_id: int, workspace: Workspace, base_number: int,
                 segment: str, key: str = "A", message: str = "email_1", changes: Mapping[str, Any],
                 now: datetime | None = None) -> RevisionOutcome:
    """Edit one variant's copy by hand: a new revision with the guards re-run.

    ``base_number`` is the revision the editor saw; if another revision landed since,
    StaleRevisionError is raised instead of silently overwriting it.
    """
    conversation = _owned_conversation(session, conversation_id, actor_id)
    base = latest_revision(session, conversation_id)
    if base is None:
        raise NotFoundError(f"conversation {conversation_id} has no plan to edit yet", conversation_id=conversation_id)
    if base.number != base_number:
        raise StaleRevisionError(
            f"revision {base_number} is no longer the latest (revision {base.number} is); reload and edit again",
            conversation_id=conversation_id, expected=base_number, current=base.number,
        )
    plan = revision_plan(base)
    index, _ = find_variant(plan, segment, key, message)
    unknown = sorted(set(changes) - set(EDITABLE_VARIANT_FIELDS))
    if unknown:
        raise PlanValidationError(
            f"cannot edit {', '.join(unknown)}; editable fields are {', '.join(EDITABLE_VARIANT_FIELDS)}",
            problems=[{"path": f"variants[{index}].{name}", "message": "not an editable field"} for name in unknown],
        )
    if not changes:
        raise PlanValidationError("nothing to change: give at least one field", problems=[])
    try:
        edited = Variant.model_validate({**plan.variants[index].model_dump(mode="json"), **changes})
    except ValidationError as exc:
        problems = [{"path": f"variants[{index}]." + format_loc(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise PlanValidationError(f"the edited variant is invalid: {problems[0]['path']}: {problems[0]['message']}",
                                  problems=problems) from exc
    variants = list(plan.variants)
    variants[index] = edited
    new_plan = plan.model_copy(update={"variants": variants})
    if content_hash(new_plan) == base.content_hash:
        return RevisionOutcome(revision=base, findings=list_findings(session, base.id or 0), created=False)
    note = f"Edited {', '.join(sorted(changes))} of {segment} variant {key} ({message})."
    outcome = _store_revision(session, conversation, new_plan, workspace=workspace, planner_name=MANUAL_EDIT,
                              prompt_versions={}, note=note, actor_id=actor_id, now=now)
    _system_message(session, conversation, outcome.revision, note)
    session.commit()
    return outcome


def _system_message(session: Session, conversation: Conversation, revision: PlanRevision, note: str) -> None:
    session.add(Message(conversation_id=conversation.id or 0, role="system", content=note,
                        revision_id=revision.id))
    conversation.updated_at = utcnow()
    session.add(conversation)


# --------------------------------------------------------------------------- storing a revision


def _contact_sample(contact: Contact) -> dict[str, Any]:
    data: dict[str, Any] = dict(contact.attributes or {})
    for name in ("email", "first_name", "last_name", "city", "country", "locale", "timezone", "consent",
                 "signed_up_at"):
        data[name] = getattr(contact, name)
    return data


def _size(session: Session, workspace: Workspace, workspace_id: int, plan: Plan,
          now: datetime | None) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The sizing report (as a dict) and a few member contacts per segment for the guards (never for a prompt)."""
    report = size_plan(session, workspace, workspace_id, plan, now=now).to_dict()
    samples: dict[str, list[dict[str, Any]]] = {}
    for seg in report.get("segments", []):
        ids = list(seg.get("sample_ids") or [])
        if ids:
            contacts = session.exec(select(Contact).where(Contact.id.in_(ids))).all()  # type: ignore[union-attr]
            samples[seg["name"]] = [_contact_sample(c) for c in contacts]
    return report, samples


def _finding_row(revision_id: int, finding: Finding) -> FindingRow:
    evidence = dict(finding.evidence or {})
    if finding.message_key:  # the table has no column for it; the review UI reads it from here
        evidence.setdefault("message_key", finding.message_key)
    span = finding.span
    return FindingRow(
        revision_id=revision_id, guard=finding.guard, code=finding.code, severity=finding.severity,
        segment=finding.segment, variant=finding.variant, field=finding.field,
        span_start=span[0] if span else None, span_end=span[1] if span else None,
        message=finding.message, evidence=evidence, fix=finding.fix, fingerprint=finding.fingerprint,
    )


def _notify_revision_changed(session: Session, conversation_id: int, revision: PlanRevision,
                             actor_id: int | None) -> None:
    """Tell the review state machine a new revision is current, so an approval of the old one is voided.

    Runs inside the revision's transaction: if the review refuses (ReviewStateError, e.g.
    the campaign is sending), the revision is not stored.
    """
    actor = session.get(User, actor_id) if actor_id is not None else None
    on_revision_changed(session, conversation_id=conversation_id, revision=revision, actor=actor)


def _store_revision(session: Session, conversation: Conversation, plan: Plan, *, workspace: Workspace,
                    planner_name: str, prompt_versions: Mapping[str, Any], note: str, actor_id: int | None,
                    now: datetime | None) -> RevisionOutcome:
    """Validate, size and guard ``plan``, then store it as the conversation's next revision (not committed)."""
    check_plan(plan, workspace)
    sizing, samples = _size(session, workspace, conversation.workspace_id, plan, now)
    findings = run_plan(plan, workspace, samples=samples)
    # Lock the conversation row so two writers cannot both take the same revision number.
    session.exec(select(Conversation.id).where(Conversation.id == conversation.id).with_for_update()).first()
    previous = latest_revision(session, conversation.id or 0)
    revision = PlanRevision(
        conversation_id=conversation.id or 0,
        number=(previous.number + 1) if previous else 1,
        parent_number=previous.number if previous else None,
        plan=plan.model_dump(mode="json"),
        content_hash=content_hash(plan),
        planner=planner_name,
        prompt_versions=dict(prompt_versions),
        note=note,
        sizing=sizing,
        created_by_id=actor_id,
    )
    session.add(revision)
    session.flush()
    rows = [_finding_row(revision.id or 0, f) for f in findings]
    session.add_all(rows)
    session.flush()
    _notify_revision_changed(session, conversation.id or 0, revision, actor_id)
    changes = diff_plans(revision_plan(previous), plan) if previous is not None else None
    return RevisionOutcome(revision=revision, findings=rows, changes=changes)
