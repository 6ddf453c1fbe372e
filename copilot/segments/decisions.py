"""Per-contact answers for delivery: which segment a contact falls in (priority decides) and the first
suppression reason that stops a send, as one SQL query built by the same RuleCompiler as sizing.

``size_plan`` counts; ``decisions_query`` names, row by row, in the same order of reasons
(SUPPRESSION_REASONS), so what a plan was sized at and what delivery freezes agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from copilot.plan import Plan
from copilot.segments.sizing import _compiler, _ordered, suppression_reason
from copilot.segments.sql import RuleCompiler, contacts
from copilot.workspace import Workspace

__all__ = ["decisions_query", "suppression_reason"]


def decisions_query(session: Session, workspace: Workspace, workspace_id: int, plan: Plan, *,
                    now: datetime, contact_ids: Sequence[int] | None = None, after_id: int | None = None,
                    with_segments: bool = True, dialect: str | None = None) -> sa.Select[Any]:
    """SELECT id, timezone, segment, reason over the workspace's contacts, ascending by id.

    With ``with_segments`` only contacts some segment's rule matches are returned, each with the
    highest-priority segment it matches; without, ``segment`` is NULL and every contact given in
    ``contact_ids`` is returned (delivery's re-check of consent, lists, exclusions and caps at send
    time). ``after_id`` resumes a freeze after the last contact written. ``dialect`` builds the query for
    another database than the session's (exports print it as SQL).
    """
    now = now.astimezone(UTC)
    if dialect is None or dialect == session.get_bind().dialect.name:
        compiler = _compiler(session, workspace, plan, now, workspace_id)
        dialect = session.get_bind().dialect.name
    else:
        compiler = RuleCompiler(workspace, plan, now=now, dialect=dialect, workspace_id=workspace_id)
    conds: list[ColumnElement[bool]] = [contacts.c.workspace_id == workspace_id]
    if contact_ids is not None:
        conds.append(contacts.c.id.in_(list(contact_ids)))
    if after_id:
        conds.append(contacts.c.id > after_id)
    if with_segments:
        ordered = _ordered(plan)
        conds.append(sa.or_(*[compiler.compile_segment(s.rule) for s in ordered]))
        segment: ColumnElement[Any] = sa.case(*[(compiler.compile(s.rule, "exists"), s.name) for s in ordered],
                                              else_=sa.null())
    else:
        segment = sa.null()
    reason = suppression_reason(plan, workspace, compiler, now, dialect)
    return (sa.select(contacts.c.id, contacts.c.timezone, segment.label("segment"), reason.label("reason"))
            .where(*conds).order_by(contacts.c.id))
