"""Builders for the delivery tests: an audience in the runtime's workspace and a campaign scheduled
through the real review gate (author submits, a reviewer approves, the schedule snapshots the plan)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, select

from copilot.audience.aggregates import add_event_rows
from copilot.models import (
    Contact,
    Conversation,
    Event,
    PlanRevision,
    Review,
    SendRecord,
    User,
    WorkspaceRecord,
)
from copilot.plan import Plan
from copilot.runtime import Runtime
from copilot.services import review as gate

HYP = {"attribute": "a", "tactic": "t", "metric": "conversion_rate", "expected_change": "+1 point"}
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("pw")


def workspace_id(runtime: Runtime) -> int:
    with runtime.session() as s:
        return s.exec(select(WorkspaceRecord.id).where(WorkspaceRecord.slug == runtime.default_workspace.slug)).one()


def add_contacts(runtime: Runtime, people: Sequence[Mapping[str, Any]]) -> list[int]:
    """Contacts (columns, other keys as attributes, ``events`` as a list) in the default workspace."""
    wid = workspace_id(runtime)
    columns = {c.name for c in Contact.__table__.columns}  # type: ignore[attr-defined]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i, p in enumerate(people):
        row = {"workspace_id": wid, "email": p.get("email", f"runner{i}@example.com"), "locale": "en",
               "timezone": "UTC", "consent": "subscribed", "created_at": now, "updated_at": now,
               "attributes": {k: v for k, v in p.items() if k not in columns and k != "events"}}
        row.update({k: v for k, v in p.items() if k in columns})
        rows.append(row)
    with runtime.engine.begin() as conn:
        table = Contact.__table__  # type: ignore[attr-defined]
        ids = [int(i) for i in conn.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                            rows).scalars()]
        evs = [{"workspace_id": wid, "contact_id": cid, "name": e["name"], "occurred_at": e["occurred_at"],
                "category": e.get("category"), "product": e.get("product"), "value": e.get("value"),
                "properties": {k: v for k, v in e.items() if k not in {"name", "occurred_at", "category", "product",
                                                                         "value"}}}
               for cid, p in zip(ids, people, strict=True) for e in p.get("events", [])]
        if evs:
            conn.execute(sa.insert(Event.__table__), evs)  # type: ignore[attr-defined]
            add_event_rows(conn, evs)
    return ids


def add_event(runtime: Runtime, contact_id: int, name: str, at: datetime, **props: Any) -> None:
    wid = workspace_id(runtime)
    cols = {k: props.pop(k) for k in ("category", "product", "value") if k in props}
    row = {"workspace_id": wid, "contact_id": contact_id, "name": name, "occurred_at": at, "properties": props, **cols}
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(Event.__table__).values(**row))  # type: ignore[attr-defined]
        add_event_rows(conn, [row])  # as every writer of events keeps the per-contact aggregates


def plan_data(**changes: Any) -> dict[str, Any]:
    """A one-segment, one-send plan on the demo catalog (everyone subscribed), changed by ``changes``."""
    data: dict[str, Any] = {
        "title": "Spring news", "brief": "tell subscribers about spring", "goal": "announcement",
        "segments": [{"name": "Subscribers", "priority": 1, "rule": {"type": "field", "field": "email", "op": "exists"},
                      "hypothesis": HYP}],
        "trigger": {"kind": "schedule", "send_at": "2030-03-01T09:00:00Z", "steps": [{"type": "send", "message": "email_1"}]},
        "suppression": {"frequency_cap": None, "quiet_hours": None},
        "variants": [{"segment": "Subscribers", "message": "email_1", "key": "A", "subject": "Hi {{ first_name }}",
                      "body": "Hello {{ first_name }}, spring is **here**.", "cta_text": "See what's new",
                      "cta_url": "https://northpeak.example/new",
                      "merge_fields": [{"name": "first_name", "fallback": "runner"}]}],
    }
    for key, value in changes.items():
        data[key] = copy.deepcopy(value)
    return Plan.model_validate(data).model_dump(mode="json")


def schedule_campaign(runtime: Runtime, plan: Mapping[str, Any], *, at: datetime | str, timezone: str = "UTC",
                      now: datetime | None = None, title: str = "Spring news") -> int:
    """The plan as an approved, scheduled review; returns its id."""
    with runtime.session() as s:
        author = _user(s, "author", "marketer")
        reviewer = _user(s, "checker", "reviewer")
        conv = Conversation(workspace_id=workspace_id(runtime), author_id=author.id or 0, title=title)
        s.add(conv)
        s.flush()
        rev = PlanRevision(conversation_id=conv.id or 0, number=1, plan=dict(plan), planner="test",
                           content_hash=Plan.model_validate(plan).content_hash())
        s.add(rev)
        s.flush()
        review = gate.on_revision_changed(s, conversation_id=conv.id or 0, revision=rev)
        gate.submit(s, review, author, review.version)
        gate.approve(s, review, reviewer, review.version)
        gate.schedule(s, review, reviewer, review.version, at=at, timezone=timezone,
                      now=now or datetime(2000, 1, 1, tzinfo=UTC))
        s.commit()
        return review.id or 0


def _user(s: Session, name: str, role: str) -> User:
    user = s.exec(select(User).where(User.username == name)).first()
    if user is None:
        user = User(username=name, display_name=name.title(), role=role, password_hash=_HASH)
        s.add(user)
        s.flush()
    return user


def ledger(runtime: Runtime, review_id: int | None = None) -> list[SendRecord]:
    with runtime.session() as s:
        query = select(SendRecord).order_by(SendRecord.contact_id, SendRecord.step)
        rows = list(s.exec(query))
    if review_id is None:
        return rows
    from copilot.models import Delivery

    with runtime.session() as s:
        ids = set(s.exec(select(Delivery.id).where(Delivery.review_id == review_id)))
    return [r for r in rows if r.delivery_id in ids]


def review_state(runtime: Runtime, review_id: int) -> str:
    with runtime.session() as s:
        return s.get(Review, review_id).state  # type: ignore[union-attr]


def outbox_messages(root: Path) -> dict[str, EmailMessage]:
    """Every .eml in the outbox, parsed, by file name."""
    out = {}
    for path in sorted(root.rglob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out[path.name] = msg
    return out


def api_client(runtime: Runtime, username: str = "checker", role: str = "reviewer") -> Any:
    """A JSON API client (no web UI) with a bearer token for ``username``."""
    from litestar.testing import TestClient

    from copilot.app import create_app
    from copilot.services.api_tokens import issue_token

    with runtime.session() as s:
        user = _user(s, username, role)
        _, token = issue_token(s, user.id or 0)
        s.commit()
    client = TestClient(create_app(runtime=runtime, plugins=[]))
    client.headers["Authorization"] = f"Bearer {token}"
    return client
