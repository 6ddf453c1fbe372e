"""The per-contact decision query delivery freezes audiences with agrees with size_plan's counts, and
the suppression list is counted by both."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot.models import SuppressedAddress
from copilot.segments import size_plan
from copilot.segments.decisions import decisions_query
from copilot.workspace import Workspace

from .audience import NOW
from .test_sizing import audience, make_plan  # noqa: F401 - the fixture

EXCLUDE_MEMBERS = [{"type": "field", "field": "loyalty_tier", "op": "eq", "value": "member"}]


def test_decisions_name_per_contact_what_sizing_counts(engine: Engine, demo_workspace: Workspace,
                                                        audience: tuple[int, list[int]]) -> None:  # noqa: F811
    workspace_id, ids = audience
    with engine.begin() as conn:  # contact 7 (a recent buyer) is on the suppression list
        conn.execute(sa.insert(SuppressedAddress.__table__).values(  # type: ignore[attr-defined]
            workspace_id=workspace_id, email="p7@example.com", reason="complaint", created_at=NOW))
    plan = make_plan(exclusions=EXCLUDE_MEMBERS)
    with Session(engine) as session:
        report = size_plan(session, demo_workspace, workspace_id, plan, now=NOW)
        rows = session.connection().execute(
            decisions_query(session, demo_workspace, workspace_id, plan, now=NOW)).all()
    by_segment = Counter(r.segment for r in rows if r.reason is None)
    assert {s.name: s.size for s in report.segments} == {name: by_segment.get(name, 0) for name in
                                                         ("VIPs", "Shoe buyers", "Recent")}
    reasons = Counter(r.reason for r in rows if r.reason is not None)
    assert {k: v for k, v in report.suppression.items() if v} == dict(reasons)
    assert report.suppression["suppressed"] == 1
    assert {r.id: r.reason for r in rows}[ids[7]] == "suppressed"
    assert ids[6] not in {r.id for r in rows}  # in no segment: not in the decisions at all
