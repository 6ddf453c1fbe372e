"""Indexes the segment engine needs: a covering index for event conditions with a category filter.

"performed EVENT (category = X) in a window" reads (name, category, occurred_at,
contact_id) from the index alone; the existing (name, occurred_at, contact_id) serves
conditions without a category.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_name_category_time_contact", "events", ["name", "category", "occurred_at", "contact_id"])


def downgrade() -> None:
    op.drop_index("ix_events_name_category_time_contact", table_name="events")
