"""Attribute expression indexes: created when a workspace is registered, and used to drive a segment."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from copilot.plan import AllRule, EventRule, EventWindow, FieldRule
from copilot.segments.indexes import attribute_index_fields, indexed_attributes
from copilot.segments.sql import RuleCompiler, contacts
from copilot.services.workspaces import register_workspace
from copilot.workspace import Workspace

from .audience import NOW


def test_registering_a_workspace_indexes_its_enum_attributes(engine: Engine, demo_workspace: Workspace) -> None:
    with Session(engine) as session:
        register_workspace(session, demo_workspace)
        register_workspace(session, demo_workspace)  # a second time is a no-op
        session.commit()
    with engine.connect() as conn:
        present = indexed_attributes(conn)
    assert present == set(attribute_index_fields(demo_workspace))
    assert {"loyalty_tier", "email_engagement", "favorite_activity"} <= present
    assert "hometown" not in present  # analytics only: never a segment filter


def test_sqlite_drives_an_attribute_equality_from_its_index(engine: Engine, demo_workspace: Workspace) -> None:
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL chooses with statistics; the plan shape is SQLite's concern
    with Session(engine) as session:
        register_workspace(session, demo_workspace)
        session.commit()
    with engine.connect() as conn:
        compiler = RuleCompiler(demo_workspace, None, now=NOW, dialect="sqlite", indexed_attributes=indexed_attributes(conn))
        rule = AllRule(rules=[EventRule(event="order_placed", window=EventWindow(kind="within_days", days=90)),
                              FieldRule(field="loyalty_tier", op="eq", value="vip")])
        query = sa.select(contacts.c.id).where(contacts.c.workspace_id == 1, compiler.compile_segment(rule))
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "USING INDEX ix_contacts_attr_loyalty_tier" in plan
    assert "CORRELATED" in plan  # the order condition is probed per VIP, not materialised
