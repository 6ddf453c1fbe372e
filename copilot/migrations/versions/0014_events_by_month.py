"""Events partitioned by month on PostgreSQL (nothing changes on SQLite).

At tens of millions of events one B-tree per index over the whole table makes every
bulk load and every vacuum touch all of it. Range partitions by ``occurred_at`` month
keep each load and each index build to the months it touches, let segment conditions
with a time window skip old months (partition pruning), and let old months be detached
or dropped in one statement. The primary key becomes (id, occurred_at), as PostgreSQL
requires the partition key in every unique constraint; ids still come from the one
sequence, so "the last event id seen" (journeys) keeps its meaning.

Partitions cover the months the table already holds through 24 months after this
migration; ``copilot.audience.partitions.ensure_event_partitions`` adds months ahead and
a default partition catches anything outside them, so no insert ever fails for want of one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from copilot.audience.partitions import create_month_partitions

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_events_workspace_id", "workspace_id"),
    ("ix_events_contact_name_time", "contact_id, name, occurred_at"),
    ("ix_events_name_time_contact", "name, occurred_at, contact_id"),
    ("ix_events_name_category_time_contact", "name, category, occurred_at, contact_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER INDEX events_pkey RENAME TO events_pkey_old")
    for name, _ in _INDEXES:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    op.execute("""
        CREATE TABLE events (
            id integer NOT NULL DEFAULT nextval('events_id_seq'),
            workspace_id integer NOT NULL REFERENCES workspaces (id),
            contact_id integer NOT NULL REFERENCES contacts (id),
            name varchar(64) NOT NULL,
            occurred_at timestamptz NOT NULL,
            category varchar(64),
            product varchar(128),
            value double precision,
            properties jsonb NOT NULL DEFAULT '{}',
            PRIMARY KEY (id, occurred_at)
        ) PARTITION BY RANGE (occurred_at)""")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    create_month_partitions(bind, months_ahead=24, since_table="events_unpartitioned")
    op.execute("INSERT INTO events SELECT id, workspace_id, contact_id, name, occurred_at, category, product, "
               "value, properties FROM events_unpartitioned")
    op.execute("DROP TABLE events_unpartitioned")
    for name, columns in _INDEXES:
        op.execute(f"CREATE INDEX {name} ON events ({columns})")
    op.execute("ANALYZE events")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER INDEX events_pkey RENAME TO events_pkey_part")
    for name, _ in _INDEXES:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_part")
    op.execute("""
        CREATE TABLE events (
            id integer NOT NULL DEFAULT nextval('events_id_seq') PRIMARY KEY,
            workspace_id integer NOT NULL REFERENCES workspaces (id),
            contact_id integer NOT NULL REFERENCES contacts (id),
            name varchar(64) NOT NULL,
            occurred_at timestamptz NOT NULL,
            category varchar(64),
            product varchar(128),
            value double precision,
            properties jsonb NOT NULL DEFAULT '{}'
        )""")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("INSERT INTO events SELECT * FROM events_partitioned")
    op.execute("DROP TABLE events_partitioned")  # drops every partition with it
    for name, columns in _INDEXES:
        op.execute(f"CREATE INDEX {name} ON events ({columns})")
