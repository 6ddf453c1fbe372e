"""Review queue index: drafts of one state in the order they were submitted.

The queue page filters by state and sorts by submission time (longest waiting first);
with this index both come from one index range scan instead of sorting every draft.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reviews_state_submitted", "reviews", ["state", "submitted_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_reviews_state_submitted", table_name="reviews")
