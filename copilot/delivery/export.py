"""Hand-off: an approved plan for teams that send elsewhere.

``listmonk``: the bodies of listmonk's ``POST /api/lists`` (one list per segment) and ``POST
/api/campaigns`` (one campaign per segment, message, A/B key and locale), copy translated to listmonk's
template syntax (``{{ .Subscriber.Attribs.first_name | default "runner" }}``, ``{{ UnsubscribeURL }}``).
``json``: a plain document with each segment as SQL (the same decision query delivery freezes the
audience with, for PostgreSQL and SQLite) and the copy per segment, message, key and locale.

Only an approved (or scheduled, sending, sent) plan exports, and always the approved revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from copilot.errors import CopilotError, ReviewStateError
from copilot.models import PlanRevision, Review, utcnow
from copilot.plan import Plan, Variant
from copilot.render import COPY_FIELD_NAMES, merge_parts
from copilot.segments.decisions import decisions_query
from copilot.segments.english import describe_rule
from copilot.workspace import CONTACT_COLUMNS, Workspace

__all__ = ["export", "FORMATS", "listmonk_template"]

FORMATS = ("json", "listmonk")
_DIALECTS = {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}
_EXPORTABLE = ("approved", "scheduled", "sending", "sent")


def _approved_plan(session: Session, review: Review) -> Plan:
    if review.state not in _EXPORTABLE or review.approved_hash is None:
        raise ReviewStateError(f"only an approved plan exports (this one is {review.state.replace('_', ' ')})",
                               review_id=review.id, state=review.state)
    if review.snapshot is not None and review.snapshot_hash == review.approved_hash:
        return Plan.model_validate(review.snapshot)
    revision = session.get(PlanRevision, review.revision_id)
    assert revision is not None
    plan = Plan.model_validate(revision.plan)
    if plan.content_hash() != review.approved_hash:
        raise ReviewStateError("the stored revision is not the approved one; refusing to export", review_id=review.id)
    return plan


def _sql(session: Session, workspace: Workspace, review: Review, plan: Plan, segment: str, dialect: str,
         now: datetime) -> str:
    decisions = decisions_query(session, workspace, review.workspace_id, plan, now=now, dialect=dialect).subquery()
    query = sa.select(decisions.c.id).where(decisions.c.segment == segment, decisions.c.reason.is_(None))
    return str(query.compile(dialect=_DIALECTS[dialect], compile_kwargs={"literal_binds": True}))


def _copy(variant: Variant) -> dict[str, Any]:
    return {**{name: getattr(variant, name) for name in COPY_FIELD_NAMES},
            "merge_fields": [m.model_dump() for m in variant.merge_fields]}


def listmonk_template(source: str, variant: Variant, *, kind: str = "text") -> str | None:
    """Copy in listmonk's Go template syntax, or None when it uses conditions (say so, don't guess)."""
    parts = merge_parts(source, kind=kind)
    if parts is None:
        return None
    declared = {m.name: m.fallback for m in variant.merge_fields}
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        name, _flt, default = part
        ref = ".Subscriber.Email" if name == "email" else f".Subscriber.Attribs.{name}"
        fallback = default if default not in (None, "") else declared.get(name)
        out.append(f"{{{{ {ref} | default {_go_string(fallback)} }}}}" if fallback else f"{{{{ {ref} }}}}")
    return "".join(out)


def _go_string(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _listmonk(workspace: Workspace, review: Review, plan: Plan, sql: dict[str, dict[str, str]]) -> dict[str, Any]:
    sender = workspace.brand.sender
    send_at = review.scheduled_for
    lists, campaigns, notes = [], [], []
    for seg in sorted(plan.segments, key=lambda s: s.priority):
        ref = f"segment-{seg.priority}"
        lists.append({"ref": ref, "body": {
            "name": f"{plan.title}: {seg.name}"[:200], "type": "private", "optin": "single",
            "tags": ["campaign-copilot", f"review-{review.id}"],
            "description": f"{describe_rule(seg.rule, workspace)} (priority {seg.priority}; members: the SQL in "
                           f"'sql' below, run on your copy of the audience)"},
            "sql": sql[seg.name]})
        for v in plan.variants_for(seg.name):
            body = listmonk_template(v.body, v, kind="markdown")
            subject = listmonk_template(v.subject, v)
            cta_url = listmonk_template(v.cta_url, v, kind="url")
            if body is None or subject is None or cta_url is None:
                notes.append(f"{seg.name} / {v.message} / {v.key} / {v.locale}: the copy uses conditions listmonk "
                             f"templates cannot take as they are; its body is left in copilot syntax to rewrite")
                body = body or v.body
                subject = subject or v.subject
                cta_url = cta_url or v.cta_url
            cta = f"\n\n[{listmonk_template(v.cta_text, v) or v.cta_text}]({cta_url})"
            footer = f"\n\n---\n\n{sender.postal_address} · [Unsubscribe]({{{{ UnsubscribeURL }}}})"
            campaigns.append({"ref": f"{ref}-{v.message}-{v.key}-{v.locale}", "list_refs": [ref], "body": {
                "name": f"{plan.title}: {seg.name} {v.message} {v.key} ({v.locale})"[:200],
                "subject": subject, "lists": [], "from_email": f"{sender.from_name} <{sender.from_email}>",
                "type": "regular", "content_type": "markdown", "messenger": "email",
                "body": body + cta + footer, "altbody": None,
                "send_at": send_at.astimezone(UTC).isoformat() if send_at and v.message == _first_message(plan) else None,
                "tags": ["campaign-copilot", f"review-{review.id}", v.message, f"variant-{v.key}"],
                "headers": [{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}],
                "template_id": None,
            }})
    if plan.trigger.kind != "schedule" or len([s for s in plan.trigger.steps if s.type == "send"]) > 1:
        notes.append("listmonk sends one-off campaigns to lists: this plan's trigger (journeys, waits, exits, "
                     "follow-ups) has no listmonk equivalent; send_at is set on the first message only")
    if any(len({v.key for v in plan.variants_for(s.name)}) > 1 for s in plan.segments):
        notes.append("listmonk has no A/B split: each variant key is its own campaign; split each list yourself")
    notes.append("'lists' in each campaign body is empty: fill it with the ids listmonk returns for its list_refs")
    return {"format": "listmonk", "lists": lists, "campaigns": campaigns, "notes": notes}


def _first_message(plan: Plan) -> str | None:
    return next((s.message for s in plan.trigger.steps if s.type == "send"), None)


def export(session: Session, workspace: Workspace, review: Review, fmt: str, *,
           now: datetime | None = None) -> dict[str, Any]:
    """The approved plan of ``review`` as ``fmt`` (json or listmonk)."""
    if fmt not in FORMATS:
        raise CopilotError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}", field="format")
    plan = _approved_plan(session, review)
    at = review.scheduled_for or now or utcnow()
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    sql = {s.name: {d: _sql(session, workspace, review, plan, s.name, d, at) for d in _DIALECTS} for s in plan.segments}
    if fmt == "listmonk":
        return _listmonk(workspace, review, plan, sql)
    copy: dict[str, Any] = {}
    for v in plan.variants:
        copy.setdefault(v.segment, {}).setdefault(v.message, {}).setdefault(v.key, {})[v.locale] = _copy(v)
    return {
        "format": "copilot-plan", "version": 1,
        "campaign": {"review": review.id, "title": plan.title, "goal": plan.goal, "brief": plan.brief,
                     "approved_hash": review.approved_hash,
                     "scheduled_for": review.scheduled_for.isoformat() if review.scheduled_for else None,
                     "sql_as_of": at.isoformat()},
        "contact_columns": sorted(CONTACT_COLUMNS),
        "segments": [{"name": s.name, "priority": s.priority, "english": describe_rule(s.rule, workspace),
                      "rule": s.rule.model_dump(mode="json"), "sql": sql[s.name]}
                     for s in sorted(plan.segments, key=lambda s: s.priority)],
        "trigger": plan.trigger.model_dump(mode="json"),
        "suppression": plan.suppression.model_dump(mode="json"),
        "copy": copy,
        "notes": ["each segment's SQL returns the contact ids it sends to: the highest-priority segment they match, "
                  "subscribed, not on the suppression list, not excluded, not frequency-capped, as of sql_as_of"],
    }
