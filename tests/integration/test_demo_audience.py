"""The demo audience in the database: lifecycle moments are real and attributes agree with events."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from copilot.audience import build_demo_audience, ensure_demo
from copilot.audience.bulk import deferred_indexes
from copilot.errors import WorkspaceError
from copilot.models import Contact, Event, User
from copilot.runtime import Runtime
from copilot.services.users import authenticate
from copilot.services.workspaces import register_workspace
from copilot.workspace import Workspace

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def built(engine: Engine, demo_workspace: Workspace) -> int:
    with Session(engine) as session:
        workspace_id = register_workspace(session, demo_workspace).id
        session.commit()
    assert workspace_id is not None
    stats = build_demo_audience(engine, demo_workspace, workspace_id, contacts=2_000, now=NOW)
    assert stats.contacts == 2_000 and stats.events > 15_000
    return workspace_id


def _contacts_with_event(session: Session, name: str, since: datetime) -> set[int]:
    rows = session.exec(select(Event.contact_id).where(Event.name == name, Event.occurred_at >= since)).all()
    return set(rows)


def test_lifecycle_moments_are_present(engine: Engine, built: int) -> None:
    with Session(engine) as session:
        contacts = session.exec(select(Contact).where(Contact.workspace_id == built)).all()
        cart_3d = _contacts_with_event(session, "cart_abandoned", NOW - timedelta(days=3))
        viewed_30d = _contacts_with_event(session, "product_viewed", NOW - timedelta(days=30))
        emailed_120d = _contacts_with_event(session, "email_opened", NOW - timedelta(days=120)) | \
            _contacts_with_event(session, "email_clicked", NOW - timedelta(days=120))
    attrs = {c.id: c.attributes for c in contacts}
    new = [c for c in contacts if c.signed_up_at >= NOW - timedelta(days=14)]
    lapsed = [i for i, a in attrs.items() if a["order_count"] and
              datetime.fromisoformat(a["last_order_at"]) < NOW - timedelta(days=180)]
    inactive = [c for c in contacts if c.consent == "subscribed" and c.id not in emailed_120d
                and c.signed_up_at < NOW - timedelta(days=180)]
    assert len(cart_3d) >= 40
    assert len(new) >= 50
    assert len([i for i in viewed_30d if attrs[i]["order_count"] == 0]) >= 100  # browsers
    assert sum(a["order_count"] == 1 for a in attrs.values()) >= 100
    assert sum(a["order_count"] >= 2 for a in attrs.values()) >= 200
    assert sum(a["loyalty_tier"] == "vip" for a in attrs.values()) >= 40
    assert len(lapsed) >= 150
    assert len(inactive) >= 150
    assert all(attrs[i]["email_engagement"] == "inactive" for i in (c.id for c in inactive))
    consent = defaultdict(int)
    for c in contacts:
        consent[c.consent] += 1
    assert consent["unsubscribed"] >= 60 and consent["bounced"] >= 20
    assert sum(c.first_name is None for c in contacts) >= 60
    assert sum(c.first_name is not None and not c.first_name.strip() for c in contacts) >= 20
    assert {c.locale for c in contacts} == {"en", "es", "de"}


def test_order_attributes_agree_with_order_events(engine: Engine, built: int) -> None:
    with Session(engine) as session:
        orders = session.exec(
            select(Event.contact_id, func.count(), func.sum(Event.value), func.max(Event.occurred_at))
            .where(Event.workspace_id == built, Event.name == "order_placed").group_by(Event.contact_id)
        ).all()
        contacts = {c.id: c for c in session.exec(select(Contact).where(Contact.workspace_id == built))}
    by_contact = {cid: (n, total, last) for cid, n, total, last in orders}
    for cid, contact in contacts.items():
        a = contact.attributes
        n, total, last = by_contact.get(cid, (0, 0.0, None))
        assert a["order_count"] == n
        assert a["lifetime_value"] == pytest.approx(total or 0.0, abs=0.01)
        if n:
            last_at = last if isinstance(last, datetime) else datetime.fromisoformat(last).replace(tzinfo=UTC)
            assert datetime.fromisoformat(a["last_order_at"]) == last_at.replace(microsecond=0).astimezone(UTC)
        else:
            assert "last_order_at" not in a


def test_bulk_timestamps_read_and_compare_like_orm_ones(engine: Engine, built: int) -> None:
    with Session(engine) as session:
        contact = session.exec(select(Contact).where(Contact.workspace_id == built).limit(1)).one()
        assert contact.signed_up_at.tzinfo is not None
        # An ORM-bound parameter finds the bulk-written row: same storage format.
        same = session.exec(select(Contact.id).where(Contact.signed_up_at == contact.signed_up_at)).all()
        assert contact.id in same
        event = session.exec(select(Event).where(Event.contact_id == contact.id).limit(1)).one()
        assert event.occurred_at <= NOW and event.occurred_at.utcoffset() == timedelta(0)


def test_a_second_build_is_refused_unless_replacing(engine: Engine, built: int, demo_workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="already has 2,000 contacts"):
        build_demo_audience(engine, demo_workspace, built, contacts=100, now=NOW)
    build_demo_audience(engine, demo_workspace, built, contacts=300, now=NOW, replace=True)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Contact)).one() == 300
        orphans = session.exec(select(func.count()).select_from(Event).where(
            Event.contact_id.not_in(select(Contact.id)))).one()  # type: ignore[union-attr]
        assert orphans == 0
        # New contacts can still be added after explicit ids were used (sequence moved on).
        session.add(Contact(workspace_id=built, email="late@example.com"))
        session.commit()


def test_deferred_indexes_are_back_after_a_bulk_load(engine: Engine) -> None:
    before = {i["name"] for i in sa.inspect(engine).get_indexes("events")}
    with engine.begin() as conn:
        with deferred_indexes(conn, Event.__table__, rows_coming=1_000_000):  # type: ignore[attr-defined]
            assert {i["name"] for i in sa.inspect(conn).get_indexes("events")} == set()
    assert {i["name"] for i in sa.inspect(engine).get_indexes("events")} == before
    assert before == {i.name for i in Event.__table__.indexes} != set()  # type: ignore[attr-defined]


def test_ensure_demo_builds_once_then_reuses(runtime: Runtime) -> None:
    stats = ensure_demo(runtime, contacts=400)
    assert stats is not None and stats.contacts == 400
    assert ensure_demo(runtime, contacts=400) is None
    rebuilt = ensure_demo(runtime, contacts=250, rebuild=True)
    assert rebuilt is not None and rebuilt.contacts == 250
    with runtime.session() as session:
        assert session.exec(select(func.count()).select_from(Contact)).one() == 250
        roles = {u.username: u.role for u in session.exec(select(User))}
        assert roles == {"marketer": "marketer", "reviewer": "reviewer", "admin": "admin"}
        assert authenticate(session, "reviewer", runtime.settings.demo_password) is not None
