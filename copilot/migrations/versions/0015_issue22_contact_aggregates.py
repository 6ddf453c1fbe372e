"""Per-contact event aggregates: count, first and last time, value summed, per event name and category.

Segment rules over a contact's history ("ordered ever", "ordered before, not in the last 180 days",
"signed up in the last 30 days") read one row per contact here instead of every event, which on
a partitioned ``events`` table (0014) was one index probe per monthly partition. Writers of events
keep the table in step (``copilot.audience.aggregates``); this migration fills it from the events
already stored (issue 22).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from copilot.audience.aggregates import rebuild_aggregates

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_aggregates",
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_sum", sa.Float, nullable=False, server_default="0"),
    )
    # The backfill goes in before the indexes: one sort per index instead of row-by-row inserts.
    rebuild_aggregates(op.get_bind())
    op.create_index("ix_contact_aggregates_last", "contact_aggregates",
                    ["workspace_id", "name", "category", "last_at", "contact_id"])
    op.create_index("ix_contact_aggregates_first", "contact_aggregates",
                    ["workspace_id", "name", "category", "first_at", "contact_id"])
    op.execute("ANALYZE contact_aggregates")


def downgrade() -> None:
    op.drop_index("ix_contact_aggregates_first", table_name="contact_aggregates")
    op.drop_index("ix_contact_aggregates_last", table_name="contact_aggregates")
    op.drop_table("contact_aggregates")
